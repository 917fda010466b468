"""Value representation shared by the batch and single-record paths.

Batch: a column is a 1-D numpy array.  Numeric and boolean data types are ``float64`` with NaN
for missing (booleans are 1.0/0.0); ``float`` fields hold float64 copies of float32-rounded
values, so comparisons in float64 give float32's answers.  String data is an ``object`` array of
``str`` with ``None`` for missing.

Single record: ``float`` (booleans ``True``/``False``), ``str``, or ``None`` for missing.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
import pandas as pd

from pmmlserve.exceptions import UnsupportedMarkupError

__all__ = [
    "NUMERIC_TYPES",
    "is_numeric",
    "parse_constant",
    "refuse_nan",
    "to_column",
    "scalar_converter",
    "missing_mask",
    "f32",
    "missing_column",
]

NUMERIC_TYPES = frozenset({"double", "float", "integer", "boolean"})
STRING_TYPES = frozenset({"string"})
_SUPPORTED = NUMERIC_TYPES | STRING_TYPES


def is_numeric(data_type: str | None) -> bool:
    """Whether values of ``data_type`` use the numeric (float64) representation."""
    return data_type in NUMERIC_TYPES or data_type is None


def check_supported(data_type: str, *, element: str, line: int | None) -> None:
    """Raise :class:`UnsupportedMarkupError` for data types pmmlserve does not evaluate."""
    if data_type not in _SUPPORTED:
        raise UnsupportedMarkupError(
            f"dataType={data_type!r} is not supported (supported: {', '.join(sorted(_SUPPORTED))})",
            element=element, line=line,
        )


def f32(x: float) -> float:
    """Round a Python float to the nearest float32, returned as a float."""
    return float(np.float32(x))


_BOOLEAN_TEXT = {"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0}


def refuse_nan(value: Any, *, element: str, line: Optional[int], what: str) -> Any:
    """``value``, unless it is a NaN the document writes as a value (a Constant, a replacement,
    a ``mapMissingTo``...): both paths hold a missing number as NaN, and the batch one cannot
    tell the two apart, so such a value would be evaluated as missing where JPMML evaluates it
    as a number (``isMissing`` FALSE, arithmetic an invalid result).  Refused at load with
    :class:`UnsupportedMarkupError` rather than scored differently."""
    if type(value) is float and value != value:
        raise UnsupportedMarkupError(
            f"{what} NaN is not supported (a NaN value would be evaluated as a missing value)",
            element=element, line=line)
    return value


def parse_constant(text: str, data_type: str | None) -> Any:
    """Parse document text (a ``value`` attribute, a table cell) into the scalar representation.

    Raises ``ValueError`` when the text is not a value of that type.
    """
    if data_type in (None, "string"):
        return text
    if data_type == "boolean":
        try:
            return _BOOLEAN_TEXT[text.strip().lower()]
        except KeyError:
            raise ValueError(f"{text!r} is not a boolean") from None
    x = float(text)
    if data_type == "integer":
        if not x.is_integer():
            raise ValueError(f"{text!r} is not an integer")
    elif data_type == "float":
        x = f32(x)
    return x


def missing_column(n: int, data_type: str | None) -> np.ndarray:
    """A column of ``n`` missing values."""
    if is_numeric(data_type):
        return np.full(n, np.nan)
    return np.full(n, None, dtype=object)


def missing_mask(column: np.ndarray) -> np.ndarray:
    """Boolean mask of the missing entries of a column in either representation."""
    if column.dtype == object:
        return pd.isna(column)
    return np.isnan(column)


def to_column(raw: Any, n: int, data_type: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert user data for one field into the batch representation.

    Returns
    -------
    column : ndarray
        The converted values (missing where the input was ``None``/NaN or unconvertible).
    bad : ndarray of bool
        Entries present in the input that are not values of ``data_type`` (these are *invalid*
        values in PMML's sense; the caller applies the field's invalid value treatment).
    """
    if not is_numeric(data_type):
        decoded = _arrow_strings(raw)
        if decoded is not None and len(decoded) == n:
            return decoded, np.zeros(n, dtype=bool)
    values = raw.to_numpy() if isinstance(raw, (pd.Series, pd.Index)) else np.asarray(raw)
    if values.ndim != 1 or len(values) != n:
        values = np.broadcast_to(values, (n,)) if values.ndim == 0 else values.reshape(n)
    if is_numeric(data_type):
        return _numeric_column(values, data_type)
    return _string_column(values)


def _arrow_strings(raw: Any) -> Optional[np.ndarray]:
    """Decode an Arrow-backed string column (pandas' default ``str`` dtype) to objects through
    its dictionary encoding: each distinct string becomes one Python object, shared by its
    rows, which is several times faster than converting row by row."""
    array = getattr(raw, "array", None)
    if array is None or not hasattr(array, "__arrow_array__") \
            or not pd.api.types.is_string_dtype(raw.dtype):
        return None
    chunked = array.__arrow_array__()
    encoded = chunked.dictionary_encode()
    if hasattr(encoded, "combine_chunks"):
        encoded = encoded.combine_chunks()
    indices = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    dictionary = np.array(encoded.dictionary.to_pylist() + [None], dtype=object)
    return dictionary[indices]


def _numeric_column(values: np.ndarray, data_type: str) -> tuple[np.ndarray, np.ndarray]:
    kind = values.dtype.kind
    if kind in "fiub":
        col = values.astype(np.float64)
        bad = np.zeros(len(col), dtype=bool)
    else:
        col = np.full(len(values), np.nan)
        bad = np.zeros(len(values), dtype=bool)
        convert = scalar_converter(data_type)
        for i, v in enumerate(values.tolist()):
            if v is None or v is pd.NA or v is pd.NaT:
                continue
            try:
                x = convert(v)
            except (TypeError, ValueError):
                bad[i] = True
                continue
            col[i] = math.nan if x is None else x
        return col, bad
    if data_type == "float":
        col = col.astype(np.float32).astype(np.float64)
    elif data_type == "integer":
        frac = np.isfinite(col) & (col != np.floor(col))
        if frac.any():
            bad = bad | frac
            col = np.where(frac, np.nan, col)
    return col, bad


def _string_column(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bad = np.zeros(len(values), dtype=bool)
    if values.dtype.kind in "US":
        return values.astype(str).astype(object), bad
    if values.dtype.kind in "fiub":
        col = np.array([_format_number(v) for v in values.tolist()], dtype=object)
        return col, bad
    col = values.astype(object, copy=True)
    missing = pd.isna(col)
    # The common case, strings and missing values only, is checked in C; only other objects
    # (numbers, booleans) need a Python-level conversion.
    if pd.api.types.infer_dtype(col, skipna=True) not in ("string", "empty"):
        for i, v in enumerate(col.tolist()):
            if not missing[i] and not isinstance(v, str):
                col[i] = _format_number(v) if isinstance(v, (int, float, np.number)) else str(v)
    if missing.any():
        col[missing] = None
    return col, bad


def isin(col: np.ndarray, values) -> np.ndarray:
    """Hash-based membership test of a column's entries in ``values`` (any representation)."""
    values = list(values)
    if not values:
        return np.zeros(len(col), dtype=bool)
    if col.dtype == object:
        return pd.Index(values, dtype=object).get_indexer(
            pd.Index(col, dtype=object, copy=False)) >= 0
    return np.isin(col, np.asarray(values, dtype=np.float64))


def _format_number(v: Any) -> str | None:
    # How the Java side renders a number handed to a string field (JPMML gets Python ints as
    # Integer and floats as Double): 1 -> "1", 1.5 -> "1.5", 1.0 -> "1.0".
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    return str(v.item() if isinstance(v, np.generic) else v)


def scalar_converter(data_type: str):
    """Return ``convert(value) -> scalar`` for one record's value of ``data_type``.

    ``convert`` raises ``ValueError``/``TypeError`` for values that are not of the type; it is
    never called with a missing value.
    """
    if data_type == "string":
        def convert(v):
            return v if type(v) is str else _format_number(v)
        return convert
    if data_type == "boolean":
        def convert(v):
            if isinstance(v, str):
                return parse_constant(v, "boolean")
            x = float(v)
            if x not in (0.0, 1.0):
                raise ValueError(f"{v!r} is not a boolean")
            return x
        return convert
    if data_type == "integer":
        def convert(v):
            x = float(v) if not isinstance(v, str) else float(v.strip())
            if not x.is_integer():
                raise ValueError(f"{v!r} is not an integer")
            return x
        return convert
    if data_type == "float":
        def convert(v):
            return f32(float(v) if not isinstance(v, str) else float(v.strip()))
        return convert

    def convert(v):
        return float(v) if not isinstance(v, str) else float(v.strip())
    return convert


def is_missing_scalar(v: Any) -> bool:
    """Whether one record's value counts as missing (``None``, NaN, pandas' NA)."""
    if v is None:
        return True
    if type(v) is float:
        return v != v
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
