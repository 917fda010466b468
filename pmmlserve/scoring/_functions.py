"""The PMML 4.4 built-in functions, each with a batch (numpy) and a scalar (one record) backend.

Registry
--------
:data:`BUILTINS` maps every supported PMML name to a :class:`BuiltinFunction`;
:func:`lookup` fetches one, optionally specialised to the argument data types (JPMML computes
``integer`` operands in 32-bit integers and narrows ``float`` results to float32).

The families live in their own modules: ``_functions_numeric`` (arithmetic, aggregates,
mathematics, rounding, the normal distribution, with ``_functions_special`` for erf),
``_functions_text`` (strings and ``formatNumber``, with ``_functions_format`` for Java's
formatter).  This module holds the rest: missing-value tests, comparisons, boolean logic,
``isIn``/``isNotIn`` and ``if``.

PMML 4.4 lists, and pmmlserve implements: ``+ - * /``, ``min max sum avg median product``,
``log10 ln sqrt abs exp pow threshold floor ceil round modulo``,
``isMissing isNotMissing isValid isNotValid``,
``equal notEqual lessThan lessOrEqual greaterThan greaterOrEqual``, ``and or not``,
``isIn isNotIn``, ``if``, ``uppercase lowercase stringLength substring trimBlanks concat replace
matches formatNumber``, ``normalCDF normalPDF normalIDF stdNormalCDF stdNormalPDF stdNormalIDF
erf``, ``expm1 hypot ln1p rint``, ``sin asin sinh cos acos cosh tan atan tanh``; and JPMML's
extension ``x-atan2``.  Not implemented (``lookup`` raises ``KeyError``): the date functions
``formatDatetime dateDaysSinceYear dateSecondsSinceYear dateSecondsSinceMidnight``, which need
date values the scorer does not represent.

Where JPMML and the spec differ, pmmlserve follows JPMML (the reference) and says so:

* Missing arguments: the spec returns missing from any function not noted otherwise; JPMML does
  so only for ``+ - * / modulo``, the aggregates, ``concat`` and the missing-value tests, and
  raises a record error for every other function (``BuiltinFunction.missing_is_error``).
* ``and``/``or``/``not``/``if`` need boolean arguments; JPMML raises for a missing condition.
* Comparisons (``lessThan``...) are numeric: JPMML refuses categorical strings ("cannot be used
  in comparison operations"); ordinal strings must arrive as their rank in the value list.
  ``equal``/``notEqual``/``isIn`` compare values of one type: JPMML converts the other
  arguments to the first argument's data type (``equal(x, "1")`` with a double ``x`` is true
  for 1.0; ``equal(s, 1.0)`` with a string ``s`` compares with ``"1.0"``), so the caller
  converts before calling.
* Further differences are listed in each family module's docstring.
"""

from __future__ import annotations

import math
import operator
from dataclasses import replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from pmmlserve.exceptions import EvaluationError
from pmmlserve.scoring._functions_base import (
    NUMERIC_DATA_TYPES,
    BuiltinFunction,
    boolean_array,
    common_numeric_type,
    fail_at,
)
from pmmlserve.scoring._functions_numeric import NUMERIC_FUNCTIONS, specialize
from pmmlserve.scoring._functions_text import TEXT_FUNCTIONS, specialize_format

__all__ = ["BUILTINS", "BuiltinFunction", "lookup"]


def _missing(column: np.ndarray) -> np.ndarray:
    if column.dtype == object:
        return np.array([v is None or (isinstance(v, float) and v != v) for v in column],
                        dtype=bool)
    return np.isnan(column)


def _is_none(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


# --------------------------------------------------------------------------- missing and valid


def _missing_tests() -> list[BuiltinFunction]:
    """isMissing/isNotMissing see the value; isValid/isNotValid see its validity (1/0/missing),
    which only the caller knows (it depends on the field's value space and treatments)."""
    def entry(name: str, batch: Callable[..., Any], scalar: Callable[..., Any], kind: str):
        return BuiltinFunction(name, 1, 1, batch, scalar, handles_missing=True,
                               result_type="boolean", argument_kind=kind, missing_is_error=False)
    return [
        entry("isMissing", lambda c: boolean_array(_missing(c)), _is_none, "any"),
        entry("isNotMissing", lambda c: boolean_array(~_missing(c)),
              lambda v: not _is_none(v), "any"),
        entry("isValid", lambda c: boolean_array(c == 1.0),
              lambda v: v is not None and bool(v), "validity"),
        entry("isNotValid", lambda c: boolean_array(c == 0.0),
              lambda v: v is not None and not v, "validity"),
    ]


# --------------------------------------------------------------------------- comparisons


def _comparison(name: str, compare: Callable[[Any, Any], Any], kind: str) -> BuiltinFunction:
    """One of the six comparisons: the same ``operator`` function serves both backends."""
    def batch(left: np.ndarray, right: np.ndarray) -> np.ndarray:
        result = np.asarray(compare(left, right), dtype=bool)
        return boolean_array(result, _missing(left) | _missing(right))

    def scalar(left: Any, right: Any) -> bool:
        return bool(compare(left, right))
    return BuiltinFunction(name, 2, 2, batch, scalar, handles_missing=False,
                           result_type="boolean", argument_kind=kind)


_COMPARISONS = [
    ("equal", operator.eq, "any"), ("notEqual", operator.ne, "any"),
    ("lessThan", operator.lt, "numeric"), ("lessOrEqual", operator.le, "numeric"),
    ("greaterThan", operator.gt, "numeric"), ("greaterOrEqual", operator.ge, "numeric"),
]


# --------------------------------------------------------------------------- boolean logic


def _check_booleans(name: str, columns: Sequence[np.ndarray]) -> None:
    for column in columns:
        fail_at(~np.isnan(column) & (column != 0.0) & (column != 1.0),
                f"{name}: expected a boolean value", column)


def _logical(name: str, fold: Callable[[np.ndarray, np.ndarray], np.ndarray],
             fold_scalar: Callable[[Any], bool]) -> BuiltinFunction:
    def batch(*columns: np.ndarray) -> np.ndarray:
        _check_booleans(name, columns)
        result = columns[0] == 1.0
        for column in columns[1:]:
            result = fold(result, column == 1.0)
        missing = np.zeros(len(columns[0]), dtype=bool)
        for column in columns:
            missing |= np.isnan(column)
        return boolean_array(result, missing)

    def scalar(*values: Any) -> bool:
        return fold_scalar([_boolean_scalar(name, v) for v in values])
    return BuiltinFunction(name, 2, None, batch, scalar, handles_missing=False,
                           result_type="boolean", argument_kind="numeric")


def _boolean_scalar(name: str, value: Any) -> bool:
    if value not in (True, False):  # 1.0 == True, so numeric booleans pass
        raise EvaluationError(f"{name}: expected a boolean value", value=value)
    return bool(value)


def _not_batch(column: np.ndarray) -> np.ndarray:
    _check_booleans("not", [column])
    return boolean_array(column == 0.0, np.isnan(column))


# --------------------------------------------------------------------------- isIn and if


def _value_set(name: str, negate: bool) -> BuiltinFunction:
    """isIn/isNotIn: a missing value is "in" the set when the set holds a missing constant."""
    def batch(value: np.ndarray, *members: np.ndarray) -> np.ndarray:
        value_missing = _missing(value)
        found = np.zeros(len(value), dtype=bool)
        for member in members:
            member_missing = _missing(member)
            same = np.asarray(value == member, dtype=bool) & ~value_missing & ~member_missing
            found |= same | (value_missing & member_missing)
        return boolean_array(found != negate)

    def scalar(value: Any, *members: Any) -> bool:
        if _is_none(value):
            found = any(_is_none(m) for m in members)
        else:
            found = any(not _is_none(m) and value == m for m in members)
        return found != negate
    return BuiltinFunction(name, 2, None, batch, scalar, handles_missing=True,
                           result_type="boolean", argument_kind="any", missing_is_error=False)


def _if_batch(condition: np.ndarray, then: np.ndarray,
              otherwise: np.ndarray | None = None) -> np.ndarray:
    _check_booleans("if", [condition])
    take_then = condition == 1.0
    if otherwise is None:
        otherwise = np.full(len(condition), None if then.dtype == object else math.nan,
                            dtype=then.dtype)
    if then.dtype == object or otherwise.dtype == object:
        then, otherwise = then.astype(object), otherwise.astype(object)
        out = np.where(take_then, then, otherwise)
        out[np.isnan(condition)] = None
        return out
    return np.where(np.isnan(condition), math.nan, np.where(take_then, then, otherwise))


def _if_scalar(condition: Any, then: Any, otherwise: Any = None) -> Any:
    if _is_none(condition):
        return None
    return then if _boolean_scalar("if", condition) else otherwise


_IF = BuiltinFunction(
    "if", 2, 3, _if_batch, _if_scalar, handles_missing=True, result_type=None,
    argument_kind="mixed", argument_kinds=("numeric", "any"),
    # JPMML raises for a missing condition (the spec returns missing, as the kernels do); a
    # missing branch is simply the result.  The caller should evaluate a branch only where it
    # is taken: JPMML never evaluates the other one, so its errors must not surface.
    missing_is_error=True,
)


# --------------------------------------------------------------------------- registry


def _build() -> dict[str, BuiltinFunction]:
    functions = [*NUMERIC_FUNCTIONS, *TEXT_FUNCTIONS, *_missing_tests(), _IF,
                 _value_set("isIn", negate=False), _value_set("isNotIn", negate=True),
                 _logical("and", operator.and_, all), _logical("or", operator.or_, any),
                 BuiltinFunction("not", 1, 1, _not_batch, lambda v: not _boolean_scalar("not", v),
                                 handles_missing=False,
                                 result_type="boolean", argument_kind="numeric")]
    functions += [_comparison(name, compare, kind) for name, compare, kind in _COMPARISONS]
    registry = {fn.name: fn for fn in functions}
    assert len(registry) == len(functions), "duplicate built-in function name"
    return registry


BUILTINS: Mapping[str, BuiltinFunction] = _build()


def lookup(name: str, arg_types: Sequence[str | None] | None = None) -> BuiltinFunction:
    """Return the built-in function ``name``, specialised to ``arg_types`` when given.

    Parameters
    ----------
    name : str
        The PMML function name (``Apply/@function``).
    arg_types : sequence of str or None, optional
        The PMML dataType of each argument, when the caller knows them.  With them, integer
        operands get JPMML's 32-bit integer kernels (``/`` truncates, overflow is invalid),
        float results are narrowed to float32, ``formatNumber`` formats an integer input as
        Java formats an ``Integer``, and ``result_type`` is resolved for numeric functions.

    Returns
    -------
    BuiltinFunction

    Raises
    ------
    KeyError
        If PMML has no built-in function ``name`` or pmmlserve does not implement it (the date
        functions); the caller reports it as an unsupported markup error.

    Examples
    --------
    >>> lookup("/").scalar(7.0, 2.0)
    3.5
    >>> lookup("/", ["integer", "integer"]).scalar(7.0, 2.0)
    3.0
    >>> lookup("round").scalar(-2.5)
    -2.0
    """
    fn = BUILTINS[name]
    if arg_types is None:
        return fn
    if name == "formatNumber":
        return specialize_format(fn, arg_types)
    if fn.argument_kind == "numeric":
        return specialize(fn, arg_types)
    if name == "if" and len(arg_types) > 1:
        branches = {t for t in arg_types[1:] if t is not None}
        if len(branches) == 1:
            return replace(fn, result_type=branches.pop())
        if branches and branches <= set(NUMERIC_DATA_TYPES):
            return replace(fn, result_type=common_numeric_type(branches))
    return fn
