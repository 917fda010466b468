"""The record type of a PMML built-in function and the helpers its kernels share.

Kept apart from :mod:`pmmlserve.scoring._functions` (the registry) so that the kernel modules
(``_functions_numeric``, ``_functions_text``) can build their entries without importing the
registry that imports them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from pmmlserve.exceptions import EvaluationError

__all__ = [
    "BuiltinFunction",
    "INT_MIN",
    "INT_MAX",
    "NUMERIC_DATA_TYPES",
    "common_numeric_type",
    "fail_at",
    "present",
    "to_float32",
    "boolean_array",
]

#: Java's ``int`` range: JPMML computes integer-typed arithmetic in 32 bits and reports overflow.
INT_MIN = -(2**31)
INT_MAX = 2**31 - 1

NUMERIC_DATA_TYPES = ("integer", "float", "double")

_KINDS = frozenset({"numeric", "string", "any", "validity", "mixed"})


@dataclass(frozen=True)
class BuiltinFunction:
    """One PMML built-in function with a batch (numpy) and a scalar (one record) backend.

    Attributes
    ----------
    name : str
        The PMML name (``"+"``, ``"log10"``, ``"isMissing"``, ``"substring"``...).
    min_args, max_args : int, int or None
        The accepted number of arguments (``max_args=None``: variadic).
    batch : callable
        ``batch(*columns) -> column``.  Numeric and boolean columns are float64 arrays with NaN
        for missing (booleans 1.0/0.0); string columns are object arrays of ``str`` with
        ``None`` for missing.  A kernel may receive missing values at rows the caller masks
        afterwards: it returns missing there and never raises because of them.
    scalar : callable
        ``scalar(*values) -> value`` for one record: ``float`` (booleans may be ``bool``),
        ``str``, or ``None`` for missing.  Numeric results are ``float``, boolean results
        ``bool``.
    handles_missing : bool
        ``False``: the caller returns missing itself when any argument is missing (and never
        passes a missing value to ``scalar``).  ``True``: the function receives missing values
        and applies PMML's rule itself (``isMissing``, ``if``, the aggregates, ``isIn``...).
    result_type : str or None
        The PMML dataType of the result when fixed; ``None`` when it follows the arguments
        (:func:`pmmlserve.scoring._functions.lookup` with ``arg_types`` resolves it).
    argument_kind : str
        The representation the caller converts the arguments to: ``"numeric"``, ``"string"``,
        ``"any"`` (each argument in its own natural representation) or ``"validity"``
        (``isValid``/``isNotValid``: 1.0 valid, 0.0 invalid, missing for missing; only the
        caller knows a value's validity) or ``"mixed"`` (see ``argument_kinds``).
    argument_kinds : tuple of str
        Per-position kinds when they differ (``substring``: string, numeric, numeric); the last
        entry repeats for further arguments.  Empty when ``argument_kind`` applies to all.
    missing_is_error : bool
        JPMML raises a record error (``MissingArgumentException``) when an argument is missing,
        where the PMML spec returns a missing value.  For ``if`` this concerns the condition
        only.  A caller that follows JPMML raises :class:`~pmmlserve.exceptions.EvaluationError`
        instead of returning missing (unless the Apply has ``mapMissingTo``).

    Notes
    -----
    A NaN result at a row whose arguments were all present means the result is *invalid*
    (``sqrt(-1)``, ``0/0``, integer overflow, integer division by zero): JPMML then applies the
    Apply's ``invalidValueTreatment`` (default ``returnInvalid``: a record error; ``asMissing``:
    the ``defaultValue`` or missing).  Hard errors that JPMML does not route through
    ``invalidValueTreatment`` (``substring`` with ``startPos < 1``, ``round`` of a value beyond
    the 32-bit range, a bad ``formatNumber`` pattern...) raise
    :class:`~pmmlserve.exceptions.EvaluationError` naming the first offending row.

    Examples
    --------
    >>> from pmmlserve.scoring._functions import lookup
    >>> lookup("log10").scalar(1000.0)
    3.0
    """

    name: str
    min_args: int
    max_args: int | None
    batch: Callable[..., np.ndarray]
    scalar: Callable[..., Any]
    handles_missing: bool
    result_type: str | None
    argument_kind: str
    argument_kinds: tuple[str, ...] = ()
    missing_is_error: bool = True

    def __post_init__(self) -> None:
        kinds = {self.argument_kind, *self.argument_kinds}
        if not kinds <= _KINDS:
            raise ValueError(f"{self.name}: unknown argument kind in {sorted(kinds)}")

    def kind_of(self, position: int) -> str:
        """Return the argument kind of the argument at ``position`` (0-based).

        Examples
        --------
        >>> from pmmlserve.scoring._functions import lookup
        >>> lookup("substring").kind_of(0), lookup("substring").kind_of(2)
        ('string', 'numeric')
        """
        if not self.argument_kinds:
            return self.argument_kind
        return self.argument_kinds[min(position, len(self.argument_kinds) - 1)]


def common_numeric_type(types: Iterable[str | None]) -> str:
    """The data type JPMML gives the result of numeric arithmetic on ``types``.

    integer with integer stays integer, float with float or integer stays float, anything
    with double is double.  Unknown or non-numeric types count as double.

    Examples
    --------
    >>> common_numeric_type(["integer", "float"])
    'float'
    """
    seen = {t if t in NUMERIC_DATA_TYPES else "double" for t in types}
    for candidate in ("double", "float", "integer"):
        if candidate in seen:
            return candidate
    return "double"


def present(*columns: np.ndarray) -> np.ndarray:
    """Mask of the rows where every numeric column is present (not NaN)."""
    mask = np.ones(len(columns[0]), dtype=bool)
    for column in columns:
        mask &= ~np.isnan(column)
    return mask


def fail_at(bad: np.ndarray, message: str, values: Sequence[Any]) -> None:
    """Raise an :class:`EvaluationError` naming the first row where ``bad`` holds."""
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = values[row]
        raise EvaluationError(message, value=value.item() if hasattr(value, "item") else value,
                              row=row)


def to_float32(column: np.ndarray) -> np.ndarray:
    """Round to float32 and back: JPMML narrows results of float-typed arithmetic."""
    return column.astype(np.float32).astype(np.float64)


def boolean_array(mask: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    """A boolean column (1.0/0.0) from a bool mask, NaN where ``missing`` holds."""
    out = mask.astype(np.float64)
    if missing is not None:
        out[missing] = math.nan
    return out
