"""Predicates with PMML's three-valued logic (TRUE, FALSE, UNKNOWN when a value is missing).

Batch: an ``int8`` array, 1 = TRUE, 0 = FALSE, -1 = UNKNOWN.  Single record: ``True``,
``False`` or ``None``.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np
import pandas as pd

from pmmlserve.exceptions import InvalidMarkupError, UnsupportedMarkupError
from pmmlserve.pmml import _document as d
from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._scope import BatchContext, FieldInfo, NamedField, Node, Scope
from pmmlserve.scoring._values import is_numeric, isin, missing_mask, parse_constant

__all__ = ["CompiledPredicate", "compile_predicate", "compile_simple", "Comparison", "Membership"]

TRUE, FALSE, UNKNOWN = np.int8(1), np.int8(0), np.int8(-1)

_COMPARE = {
    "equal": (operator.eq, "=="),
    "notEqual": (operator.ne, "!="),
    "lessThan": (operator.lt, "<"),
    "lessOrEqual": (operator.le, "<="),
    "greaterThan": (operator.gt, ">"),
    "greaterOrEqual": (operator.ge, ">="),
}


class CompiledPredicate:
    """Base class; ``always`` is True/False for constant predicates, else None."""

    always: Optional[bool] = None

    def batch(self, ctx: BatchContext) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def emit(self, gen: Codegen) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(eq=False)
class Constant(CompiledPredicate):
    value: bool

    def __post_init__(self) -> None:
        self.always = self.value

    def batch(self, ctx: BatchContext) -> np.ndarray:
        return np.full(ctx.n, TRUE if self.value else FALSE, dtype=np.int8)

    def emit(self, gen: Codegen) -> str:
        return "True" if self.value else "False"


def _field_test_batch(self, ctx: BatchContext) -> np.ndarray:
    """A test of one field's value: UNKNOWN where the value is missing."""
    col = self.field.batch(ctx)
    out = self.hits(col).astype(np.int8)
    out[missing_mask(col)] = UNKNOWN
    return out


def _field_test_emit(self, gen: Codegen) -> str:
    v = self.field.emit(gen)
    test = self.test(gen, v)
    return f"({test})" if not self.field.info.nullable else f"(None if {v} is None else {test})"


@dataclass(eq=False)
class Comparison(CompiledPredicate):
    """``field <op> value`` for the six comparison operators."""

    field: NamedField
    op: str
    value: Any

    def hits(self, col: np.ndarray) -> np.ndarray:
        fn = _COMPARE[self.op][0]
        if col.dtype == object:
            return np.array([v is not None and fn(v, self.value) for v in col.tolist()],
                            dtype=bool)
        with np.errstate(invalid="ignore"):
            return fn(col, self.value)

    def test(self, gen: Codegen, v: str) -> str:
        return f"{v} {_COMPARE[self.op][1]} {gen.const(self.value)}"

    batch = _field_test_batch
    emit = _field_test_emit


@dataclass(eq=False)
class Missingness(CompiledPredicate):
    field: NamedField
    missing: bool  # isMissing (True) or isNotMissing (False)

    def batch(self, ctx: BatchContext) -> np.ndarray:
        m = missing_mask(self.field.batch(ctx))
        return (m if self.missing else ~m).astype(np.int8)

    def emit(self, gen: Codegen) -> str:
        v = self.field.emit(gen)
        return f"({v} is None)" if self.missing else f"({v} is not None)"


@dataclass(eq=False)
class Membership(CompiledPredicate):
    """``field isIn {values}`` / ``isNotIn``."""

    field: NamedField
    values: frozenset
    negate: bool

    def hits(self, col: np.ndarray) -> np.ndarray:
        return isin(col, self.values) != self.negate

    def test(self, gen: Codegen, v: str) -> str:
        return f"{v} {'not in' if self.negate else 'in'} {gen.const(self.values, 'set')}"

    batch = _field_test_batch
    emit = _field_test_emit


@dataclass(eq=False)
class Compound(CompiledPredicate):
    op: str
    parts: tuple

    def batch(self, ctx: BatchContext) -> np.ndarray:
        vals = [p.batch(ctx) for p in self.parts]
        if self.op == "surrogate":
            out = vals[0].copy()
            for v in vals[1:]:
                out = np.where(out == UNKNOWN, v, out)
            return out.astype(np.int8)
        if self.op in ("and", "or"):
            # Kleene logic on the order FALSE < UNKNOWN < TRUE: 'and' is the minimum, 'or' the
            # maximum.  Recode -1/0/1 as 1/0/2 to get that order, then back.
            stack = np.stack(vals)
            ranked = np.where(stack == UNKNOWN, 1, np.where(stack == TRUE, 2, 0))
            best = ranked.min(axis=0) if self.op == "and" else ranked.max(axis=0)
            return np.where(best == 1, UNKNOWN, np.where(best == 2, TRUE, FALSE)).astype(np.int8)
        # xor: UNKNOWN if any operand is UNKNOWN
        stack = np.stack(vals)
        unknown = (stack == UNKNOWN).any(axis=0)
        parity = (stack == TRUE).sum(axis=0) % 2
        return np.where(unknown, UNKNOWN, parity).astype(np.int8)

    def emit(self, gen: Codegen) -> str:
        parts = [gen.assign(p.emit(gen), "p") for p in self.parts]
        return f"{gen.const(_SCALAR_COMPOUND[self.op], self.op)}({', '.join(parts)})"


def _and(*xs):
    if any(x is False for x in xs):
        return False
    return None if any(x is None for x in xs) else True


def _or(*xs):
    if any(x is True for x in xs):
        return True
    return None if any(x is None for x in xs) else False


def _xor(*xs):
    if any(x is None for x in xs):
        return None
    return sum(1 for x in xs if x) % 2 == 1


def _surrogate(*xs):
    for x in xs:
        if x is not None:
            return x
    return None


_SCALAR_COMPOUND = {"and": _and, "or": _or, "xor": _xor, "surrogate": _surrogate}


class _Rank(Node):
    """An ordinal value's position among its field's values (missing for other values)."""

    def __init__(self, field: NamedField, order: tuple):
        self.field = field
        self.ranks = {v: float(i) for i, v in enumerate(order)}
        self.index = pd.Index(list(order), dtype=object)
        self.info = FieldInfo("double", "ordinal", True)

    def batch(self, ctx: BatchContext) -> np.ndarray:
        pos = self.index.get_indexer(pd.Index(self.field.batch(ctx), dtype=object, copy=False))
        return np.where(pos < 0, np.nan, pos.astype(np.float64))

    def emit(self, gen: Codegen) -> str:
        return f"{gen.const(self.ranks, 'rank')}.get({self.field.emit(gen)})"


def _rank(field: NamedField, order: tuple) -> NamedField:
    node = _Rank(field, order)
    return NamedField(f"rank({field.name})", node.info, node)


def _parse(text: Optional[str], field: NamedField, element: str, line) -> Any:
    if text is None:
        raise InvalidMarkupError("a value is required", element=element, line=line)
    try:
        return parse_constant(text, field.info.data_type)
    except ValueError:
        raise InvalidMarkupError(f"{text!r} is not a {field.info.data_type} value of field "
                                 f"{field.name!r}", element=element, line=line) from None


def compile_simple(field: NamedField, operator: str, value: Union[None, str, tuple[str, ...]],
                   line: Optional[int]) -> CompiledPredicate:
    """A SimplePredicate (``value`` its text) or a SimpleSetPredicate (``value`` the tuple of
    its Array's texts) on ``field``, already looked up."""
    if type(value) is tuple:
        if operator not in ("isIn", "isNotIn"):
            raise InvalidMarkupError(f"booleanOperator={operator!r} is not isIn/isNotIn",
                                     element="SimpleSetPredicate", line=line)
        values = frozenset(_parse(v, field, "SimpleSetPredicate", line) for v in value)
        return Membership(field, values, operator == "isNotIn")
    if operator in ("isMissing", "isNotMissing"):
        return Missingness(field, operator == "isMissing")
    if operator not in _COMPARE:
        raise UnsupportedMarkupError(f"operator={operator!r} is not supported",
                                     element="SimplePredicate", line=line)
    value = _parse(value, field, "SimplePredicate", line)
    if not is_numeric(field.info.data_type) and operator not in ("equal", "notEqual"):
        order = field.info.order
        if order is None or value not in order:
            raise UnsupportedMarkupError(
                f"operator {operator!r} needs an ordinal field with {value!r} among its "
                f"values; {field.name!r} is not", element="SimplePredicate", line=line)
        return Comparison(_rank(field, order), operator, float(order.index(value)))
    return Comparison(field, operator, value)


def compile_predicate(p: d.Predicate, scope: Scope) -> CompiledPredicate:
    """Compile one predicate against the fields visible in ``scope``."""
    if isinstance(p, d.TruePredicate):
        return Constant(True)
    if isinstance(p, d.FalsePredicate):
        return Constant(False)
    if isinstance(p, d.SimplePredicate):
        field = scope.lookup(p.field, element="SimplePredicate", line=p.line)
        return compile_simple(field, p.operator, p.value, p.line)
    if isinstance(p, d.SimpleSetPredicate):
        field = scope.lookup(p.field, element="SimpleSetPredicate", line=p.line)
        return compile_simple(field, p.operator, p.values, p.line)
    if isinstance(p, d.CompoundPredicate):
        if p.operator not in _SCALAR_COMPOUND:
            raise InvalidMarkupError(f"booleanOperator={p.operator!r} is unknown",
                                     element="CompoundPredicate", line=p.line)
        if len(p.predicates) < 2:
            raise InvalidMarkupError("CompoundPredicate needs at least two predicates",
                                     element="CompoundPredicate", line=p.line)
        return Compound(p.operator, tuple(compile_predicate(x, scope) for x in p.predicates))
    raise UnsupportedMarkupError(f"{type(p).__name__} is not supported")  # pragma: no cover
