"""Compiled NormContinuous, NormDiscrete, Discretize and MapValues: piecewise-linear
normalisation, indicator columns, interval binning and table lookups."""

from __future__ import annotations

import math
from typing import Any, Callable, Optional

import numpy as np
import pandas as pd

from pmmlserve.exceptions import InvalidMarkupError
from pmmlserve.pmml import _document as d
from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._conversions import FillMissing, map_missing, numeric
from pmmlserve.scoring._scope import BatchContext, FieldInfo, Node, Scope
from pmmlserve.scoring._values import (
    check_supported,
    is_numeric,
    missing_column,
    missing_mask,
    parse_constant,
    refuse_nan,
)

__all__ = ["norm_continuous", "norm_discrete", "discretize", "map_values", "interval_test"]


# --------------------------------------------------------------------------- normalisation


class _NormContinuous(Node):
    def __init__(self, inner: Node, norms: tuple[d.LinearNorm, ...], outliers: str):
        self.inner = inner
        self.orig = np.array([n.orig for n in norms])
        self.norm = np.array([n.norm for n in norms])
        self.outliers = outliers
        self.info = FieldInfo("double", "continuous",
                              inner.info.nullable or outliers == "asMissingValues")

    def _scalar(self, x: float) -> Optional[float]:
        o, n = self.orig, self.norm
        if x < o[0] or x > o[-1]:
            if self.outliers == "asMissingValues":
                return None
            if self.outliers == "asExtremeValues":
                return float(n[0] if x < o[0] else n[-1])
        i = int(np.searchsorted(o, x, side="right")) - 1
        i = min(max(i, 0), len(o) - 2)
        return float(n[i] + (x - o[i]) * (n[i + 1] - n[i]) / (o[i + 1] - o[i]))

    def batch(self, ctx: BatchContext) -> np.ndarray:
        x = self.inner.batch(ctx)
        o, n = self.orig, self.norm
        i = np.clip(np.searchsorted(o, x, side="right") - 1, 0, len(o) - 2)
        y = n[i] + (x - o[i]) * (n[i + 1] - n[i]) / (o[i + 1] - o[i])
        if self.outliers != "asIs":
            low, high = x < o[0], x > o[-1]
            if self.outliers == "asMissingValues":
                y = np.where(low | high, np.nan, y)
            else:
                y = np.where(low, n[0], np.where(high, n[-1], y))
        return y

    def emit(self, gen: Codegen) -> str:
        v = gen.assign(self.inner.emit(gen))
        if len(self.orig) == 2 and self.outliers == "asIs":
            o0, o1 = (gen.const(float(a)) for a in self.orig)
            n0, n1 = (gen.const(float(a)) for a in self.norm)
            body = f"{n0} + ({v} - {o0}) * ({n1} - {n0}) / ({o1} - {o0})"
        else:
            body = f"{gen.const(self._scalar, 'normc')}({v})"
        return f"(None if {v} is None else {body})"


def norm_continuous(expr: d.NormContinuous, scope: Scope) -> Node:
    if len(expr.norms) < 2:
        raise InvalidMarkupError("NormContinuous needs at least two LinearNorm elements",
                                 element="NormContinuous", line=expr.line)
    if any(b.orig <= a.orig for a, b in zip(expr.norms, expr.norms[1:])):
        raise InvalidMarkupError("LinearNorm/@orig values must increase", element="NormContinuous",
                                 line=expr.line)
    field = scope.lookup(expr.field, element="NormContinuous", line=expr.line)
    node: Node = _NormContinuous(numeric(field, "NormContinuous", expr.line), expr.norms,
                                 expr.outliers)
    if expr.map_missing_to is not None:
        node = FillMissing(node, refuse_nan(float(expr.map_missing_to), element="NormContinuous",
                                            line=expr.line, what="mapMissingTo"))
    return node


class _Equals(Node):
    """1.0 when the value equals a constant, else 0.0 (NormDiscrete)."""

    def __init__(self, inner: Node, value: Any):
        self.inner = inner
        self.value = value
        self.info = FieldInfo("double", "continuous", inner.info.nullable)

    def batch(self, ctx: BatchContext) -> np.ndarray:
        col = self.inner.batch(ctx)
        out = (col == self.value).astype(np.float64)
        out[missing_mask(col)] = np.nan
        return out

    def emit(self, gen: Codegen) -> str:
        v = gen.assign(self.inner.emit(gen))
        return f"(None if {v} is None else (1.0 if {v} == {gen.const(self.value)} else 0.0))"


def norm_discrete(expr: d.NormDiscrete, scope: Scope) -> Node:
    field = scope.lookup(expr.field, element="NormDiscrete", line=expr.line)
    try:
        value = parse_constant(expr.value, field.info.data_type)
    except ValueError:
        raise InvalidMarkupError(f"value={expr.value!r} is not a {field.info.data_type}",
                                 element="NormDiscrete", line=expr.line) from None
    node: Node = _Equals(field, value)
    if expr.map_missing_to is not None:
        node = FillMissing(node, refuse_nan(float(expr.map_missing_to), element="NormContinuous",
                                            line=expr.line, what="mapMissingTo"))
    return node


# --------------------------------------------------------------------------- lookups


def interval_test(interval: d.Interval) -> tuple[Callable, Callable]:
    """(batch mask function, scalar predicate) for membership in a PMML Interval."""
    left = -math.inf if interval.left is None else interval.left
    right = math.inf if interval.right is None else interval.right
    closed_left = interval.closure.startswith("closed")
    closed_right = interval.closure.endswith("Closed")

    def batch(x: np.ndarray) -> np.ndarray:
        lo = (x >= left) if closed_left else (x > left)
        hi = (x <= right) if closed_right else (x < right)
        return lo & hi

    def scalar(x: float) -> bool:
        return ((x >= left) if closed_left else (x > left)) and \
            ((x <= right) if closed_right else (x < right))

    return batch, scalar


class _Discretize(Node):
    def __init__(self, inner: Node, bins, default: Any, data_type: str):
        self.inner = inner
        self.tests = [interval_test(b.interval) for b in bins]
        self.values = [parse_constant(b.bin_value, data_type) for b in bins]
        self.default = default
        self.info = FieldInfo(data_type, "categorical" if not is_numeric(data_type) else "ordinal",
                              nullable=True)

    def _scalar(self, x: float) -> Any:
        for (_, test), value in zip(self.tests, self.values):
            if test(x):
                return value
        return self.default

    def batch(self, ctx: BatchContext) -> np.ndarray:
        x = self.inner.batch(ctx)
        out = missing_column(ctx.n, self.info.data_type)
        todo = ~np.isnan(x)
        for (test, _), value in zip(self.tests, self.values):
            hit = todo & test(x)
            out[hit] = value
            todo &= ~hit
        if self.default is not None:
            out[todo] = self.default
        return out

    def emit(self, gen: Codegen) -> str:
        v = gen.assign(self.inner.emit(gen))
        return f"(None if {v} is None else {gen.const(self._scalar, 'disc')}({v}))"


def discretize(expr: d.Discretize, scope: Scope) -> Node:
    field = numeric(scope.lookup(expr.field, element="Discretize", line=expr.line), "Discretize",
                     expr.line)
    data_type = expr.data_type or "string"
    check_supported(data_type, element="Discretize", line=expr.line)
    default = parse_constant(expr.default_value, data_type) if expr.default_value is not None else None
    node: Node = _Discretize(field, expr.bins, default, data_type)
    for value in (*node.values, default):
        refuse_nan(value, element="Discretize", line=expr.line, what="a bin value or defaultValue")
    return map_missing(node, expr.map_missing_to, data_type, "Discretize", expr.line)


class _MapValues(Node):
    def __init__(self, inputs: list[Node], table: dict, default: Any, data_type: str):
        self.inputs = inputs
        self.table = table
        self.default = default
        self.info = FieldInfo(data_type, "categorical" if not is_numeric(data_type) else "continuous")
        keys = list(table)
        self._index = pd.Index(keys if len(inputs) == 1 else pd.MultiIndex.from_tuples(keys)) \
            if keys else None
        self._outputs = np.array(list(table.values()) + [default],
                                 dtype=np.float64 if is_numeric(data_type) else object)

    def batch(self, ctx: BatchContext) -> np.ndarray:
        cols = [node.batch(ctx) for node in self.inputs]
        missing = np.zeros(ctx.n, dtype=bool)
        for c in cols:
            missing |= missing_mask(c)
        if self._index is None:
            pos = np.full(ctx.n, -1)
        elif len(cols) == 1:
            pos = self._index.get_indexer(cols[0])
        else:
            pos = self._index.get_indexer(pd.MultiIndex.from_arrays(cols))
        pos = np.where(pos < 0, len(self._outputs) - 1, pos)
        out = self._outputs[pos]
        if missing.any():
            out = out.copy()
            out[missing] = np.nan if out.dtype != object else None
        return out

    def emit(self, gen: Codegen) -> str:
        vs = [gen.assign(node.emit(gen)) for node in self.inputs]
        table, default = gen.const(self.table, "map"), gen.const(self.default)
        key = vs[0] if len(vs) == 1 else "(" + ", ".join(vs) + ",)"
        none = " or ".join(f"{v} is None" for v in vs)
        return f"(None if {none} else {table}.get({key}, {default}))"


def map_values(expr: d.MapValues, scope: Scope) -> Node:
    if not expr.field_columns:
        raise InvalidMarkupError("MapValues needs a FieldColumnPair", element="MapValues",
                                 line=expr.line)
    inputs = [scope.lookup(f, element="MapValues", line=expr.line) for f, _ in expr.field_columns]
    data_type = expr.data_type or "string"
    check_supported(data_type, element="MapValues", line=expr.line)
    table: dict = {}
    for row in expr.table.rows:
        try:
            key = tuple(parse_constant(row[c], node.info.data_type)
                        for (_, c), node in zip(expr.field_columns, inputs))
            value = parse_constant(row[expr.output_column], data_type)
        except KeyError as exc:
            raise InvalidMarkupError(f"InlineTable row lacks column {exc.args[0]!r}",
                                     element="MapValues", line=expr.line) from None
        except ValueError as exc:
            raise InvalidMarkupError(str(exc), element="MapValues", line=expr.line) from None
        table.setdefault(key[0] if len(key) == 1 else key, value)
    default = parse_constant(expr.default_value, data_type) if expr.default_value is not None else None
    for value in (*table.values(), default):
        refuse_nan(value, element="MapValues", line=expr.line, what="an output value or defaultValue")
    node: Node = _MapValues(inputs, table, default, data_type)
    return map_missing(node, expr.map_missing_to, data_type, "MapValues", expr.line)
