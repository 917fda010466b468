"""Conversions between PMML data types for compiled expressions: casts with JPMML's rules, the
string form JPMML gives numbers, and replacements of missing values."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
import pandas as pd

from pmmlserve.exceptions import InvalidMarkupError
from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._scope import BatchContext, FieldInfo, Node
from pmmlserve.scoring._values import f32, is_numeric, missing_mask, parse_constant, refuse_nan

__all__ = ["java_string", "cast", "FillMissing", "map_missing", "numeric"]


def java_string(x: Any) -> Optional[str]:
    """Render a scalar the way JPMML renders a number that becomes a string value."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    if isinstance(x, str):
        return x
    if isinstance(x, bool):
        return "true" if x else "false"
    x = float(x)
    if x.is_integer() and abs(x) < 1e7:
        return f"{x:.1f}"
    if 1e-3 <= abs(x) < 1e7:
        return repr(x)
    mantissa, exponent = f"{x!r}".replace("e+", "e").split("e") if "e" in repr(x) \
        else (repr(x), "0")
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}E{int(exponent)}"


def _to_number(text: Any) -> float:
    if text is None:
        return math.nan
    if isinstance(text, (int, float)):
        return float(text)
    try:
        return float(text)
    except ValueError:
        return math.nan


class _Cast(Node):
    """Convert a value to a field's data type (float rounding, number <-> string)."""

    def __init__(self, inner: Node, data_type: str, optype: str):
        self.inner = inner
        src, dst = inner.info.data_type, data_type
        self.kind = ("f32" if dst == "float" and src != "float" and is_numeric(src)
                     else "tostr" if not is_numeric(dst) and is_numeric(src)
                     else "tonum" if is_numeric(dst) and not is_numeric(src)
                     else "int" if dst == "integer" and src in ("double", "float")
                     else "float" if dst == "double" and src == "boolean"  # True -> 1.0
                     else None)
        # text that is not a number becomes a missing value; rounding keeps a number a number
        self.info = FieldInfo(data_type, optype, inner.info.nullable or self.kind == "tonum",
                              never_nan=inner.info.never_nan and self.kind in ("f32", "int",
                                                                               "float", None))

    def batch(self, ctx: BatchContext) -> np.ndarray:
        col = self.inner.batch(ctx)
        if self.kind == "f32":
            return col.astype(np.float32).astype(np.float64)
        if self.kind == "int":
            return np.trunc(col)
        if self.kind == "tostr":
            return np.array([java_string(v) for v in col.tolist()], dtype=object)
        if self.kind == "tonum":
            return pd.to_numeric(pd.Series(col, dtype=object), errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan)
        return col

    def emit(self, gen: Codegen) -> str:
        v = gen.assign(self.inner.emit(gen))
        if self.kind == "tostr":
            return f"{gen.const(java_string, 'jstr')}({v})"
        if self.kind == "f32":
            call = f"{gen.const(f32, 'f32')}({v})"
        elif self.kind == "int":
            call = f"{gen.const(_truncate, 'trunc')}({v})"
        elif self.kind == "tonum":
            call = f"{gen.const(_scalar_number, 'num')}({v})"
        elif self.kind == "float":
            call = f"float({v})"
        else:
            return v
        # a value that cannot be missing needs no test (nor does the compiler parse one)
        return f"(None if {v} is None else {call})" if self.inner.info.nullable else call


def _truncate(v: float) -> float:
    """``math.trunc`` as a float, an infinity kept as it is (as ``np.trunc`` keeps it): the
    integer it was meant to be is refused where the value leaves the model, naming the field."""
    return float(math.trunc(v)) if math.isfinite(v) else v


def _scalar_number(v: Any) -> Optional[float]:
    x = _to_number(v)
    return None if x != x else x


def cast(node: Node, data_type: Optional[str], optype: Optional[str] = None) -> Node:
    """Wrap ``node`` so that its values are of ``data_type`` (no-op when they already are)."""
    if data_type is None or data_type == node.info.data_type:
        if optype and optype != node.info.optype:
            wrapped = _Cast(node, node.info.data_type, optype)
            wrapped.kind = None
            return wrapped
        return node
    return _Cast(node, data_type, optype or node.info.optype)


class FillMissing(Node):
    """``value if present else replacement`` (FieldRef/@mapMissingTo and friends)."""

    def __init__(self, inner: Node, replacement: Any):
        self.inner = inner
        self.replacement = replacement
        self.info = FieldInfo(inner.info.data_type, inner.info.optype, nullable=False)

    def batch(self, ctx: BatchContext) -> np.ndarray:
        col = self.inner.batch(ctx)
        mask = missing_mask(col)
        if mask.any():
            col = col.copy()
            col[mask] = self.replacement
        return col

    def emit(self, gen: Codegen) -> str:
        v = gen.assign(self.inner.emit(gen))
        return f"({gen.const(self.replacement)} if {v} is None else {v})"


def map_missing(node: Node, text: Optional[str], data_type: str, element: str, line) -> Node:
    """``node`` with missing values replaced by ``text`` parsed as ``data_type`` (``mapMissingTo``);
    ``node`` itself when ``text`` is None."""
    if text is None:
        return node
    try:
        value = parse_constant(text, data_type)
    except ValueError:
        raise InvalidMarkupError(f"mapMissingTo={text!r} is not a {data_type}", element=element,
                                 line=line) from None
    return FillMissing(node, refuse_nan(value, element=element, line=line, what="mapMissingTo"))


def numeric(node: Node, element: str, line) -> Node:
    """``node`` itself if it is numeric, else cast to double (a function that wants a number)."""
    if not is_numeric(node.info.data_type):
        return cast(node, "double")
    return node
