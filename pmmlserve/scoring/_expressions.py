"""Compile PMML expressions (Constant, FieldRef, Apply, and through :mod:`._transforms`
NormContinuous, NormDiscrete, Discretize and MapValues) into nodes with a numpy backend and a
single-record code backend."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Optional

import numpy as np

from pmmlserve.exceptions import EvaluationError, InvalidMarkupError, UnsupportedMarkupError
from pmmlserve.pmml import _document as d
from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._conversions import cast, map_missing, numeric
from pmmlserve.scoring._scope import BatchContext, FieldInfo, NamedField, Node, Scope
from pmmlserve.scoring._transforms import discretize, map_values, norm_continuous, norm_discrete
from pmmlserve.scoring._values import (
    check_supported,
    isin,
    is_numeric,
    missing_column,
    missing_mask,
    parse_constant,
    refuse_nan,
)

__all__ = ["compile_expression", "compile_derived_field"]

_MAX_INLINE_DEPTH = 32


# --------------------------------------------------------------------------- leaves


class ConstantNode(Node):
    def __init__(self, value: Any, data_type: str):
        self.value = value
        self.info = FieldInfo(data_type, "continuous" if is_numeric(data_type) else "categorical",
                              nullable=value is None, never_nan=_number(value) is not None)

    def batch(self, ctx: BatchContext) -> np.ndarray:
        if self.value is None:
            return missing_column(ctx.n, self.info.data_type)
        if is_numeric(self.info.data_type):
            return np.full(ctx.n, float(self.value))
        return np.full(ctx.n, self.value, dtype=object)

    def emit(self, gen: Codegen) -> str:
        return "None" if self.value is None else gen.const(self.value)


def _constant(expr: d.Constant, scope: Scope) -> Node:
    if expr.missing or expr.value is None:
        return ConstantNode(None, expr.data_type or "double")
    data_type = expr.data_type
    if data_type is None:  # infer as the specification says: a number if it parses as one
        try:
            float(expr.value)
            data_type = "integer" if expr.value.strip().lstrip("+-").isdigit() else "double"
        except ValueError:
            data_type = "string"
    check_supported(data_type, element="Constant", line=expr.line)
    try:
        value = parse_constant(expr.value, data_type)
    except ValueError as exc:
        raise InvalidMarkupError(str(exc), element="Constant", line=expr.line) from None
    return ConstantNode(refuse_nan(value, element="Constant", line=expr.line, what="the value"),
                        data_type)


def _field_ref(expr: d.FieldRef, scope: Scope) -> Node:
    field = scope.lookup(expr.field, element="FieldRef", line=expr.line)
    return map_missing(field, expr.map_missing_to, field.info.data_type, "FieldRef", expr.line)


# --------------------------------------------------------------------------- Apply


class _Apply(Node):
    def __init__(self, fn, args: list[Node], data_type: str,
                 map_missing_to: Any, default_value: Any, invalid: str = "returnInvalid"):
        self.fn = fn
        self.args = args
        self.map_missing_to = map_missing_to
        self.default_value = default_value
        # an "invalid result" is NaN from present arguments (ln(-1), 0/0...): an error by
        # default, or a missing value (then defaultValue applies) or kept as is
        self.invalid = invalid
        self.owner: Optional[str] = None  # the DerivedField an error should name
        # missing only from a missing argument, a function that makes missing values, or an
        # invalid result turned into a missing one
        nullable = (any(a.info.nullable for a in args) and map_missing_to is None) \
            or fn.handles_missing or invalid != "returnInvalid"
        # (a mapMissingTo or defaultValue written as NaN is refused at load: refuse_nan)
        self.info = FieldInfo(data_type, "continuous" if is_numeric(data_type) else "categorical",
                              nullable=nullable and default_value is None,
                              never_nan=_arithmetic_never_nan(fn.name, args))

    def batch(self, ctx: BatchContext) -> np.ndarray:
        if self.info.never_nan and self.map_missing_to is None and self.default_value is None:
            # + - * / that cannot make a NaN from present values (see _arithmetic_never_nan):
            # a missing (NaN) argument gives NaN, the missing result, by IEEE rules alone, so
            # the same operations with nothing to test or fill (a scaler's (x - m) / s is two)
            with np.errstate(all="ignore"):
                return np.asarray(self.fn.batch(*(a.batch(ctx) for a in self.args)),
                                  dtype=np.float64)
        cols = [a.batch(ctx) for a in self.args]
        any_missing = None
        if not self.fn.handles_missing or self.map_missing_to is not None:
            any_missing = np.zeros(ctx.n, dtype=bool)
            for c in cols:
                any_missing |= missing_mask(c)
        with np.errstate(all="ignore"):
            out = self.fn.batch(*cols)
        out = np.asarray(out)
        if out.ndim == 0:
            out = np.full(ctx.n, out.item(), dtype=out.dtype)
        if out.dtype != object and self.invalid != "asIs" and not self.fn.handles_missing:
            bad = np.isnan(out)
            if any_missing is not None:
                bad &= ~any_missing
            if bad.any() and self.invalid == "returnInvalid":
                row = int(np.flatnonzero(bad)[0])
                raise EvaluationError(f"function {self.fn.name!r} gives an invalid result",
                                      field=self.owner, row=row)
        if any_missing is not None and any_missing.any() and not self.fn.handles_missing:
            out = out.astype(np.float64 if is_numeric(self.info.data_type) else object, copy=True)
            out[any_missing] = np.nan if out.dtype != object else None
        if self.default_value is not None:
            out = _fill(out, missing_mask(out), self.default_value)
        if self.map_missing_to is not None and any_missing is not None and any_missing.any():
            out = _fill(out, any_missing, self.map_missing_to)
        if is_numeric(self.info.data_type) and out.dtype == object:
            out = out.astype(np.float64)
        return out

    _INLINE = {"+": "+", "-": "-", "*": "*"}

    def _inline(self, gen: Codegen, vs: list[str]) -> Optional[str]:
        """Plain Python arithmetic for + - * / on doubles (the library's results are the same
        IEEE operations; division goes through the library only for a zero divisor)."""
        if len(vs) != 2 or self.info.data_type != "double" \
                or any(a.info.data_type != "double" for a in self.args):
            return None
        op = self.fn.name
        if op in self._INLINE:
            return f"({vs[0]} {op} {vs[1]})"
        if op == "/":
            if type(self.args[1]) is ConstantNode and _number(self.args[1].value):  # k != 0
                return f"({vs[0]} / {vs[1]})"
            return f"({vs[0]} / {vs[1]} if {vs[1]} else {gen.const(self.fn.scalar, 'fn')}" \
                   f"({vs[0]}, {vs[1]}))"
        return None

    def _check_scalar(self, value: float) -> None:
        if self.invalid == "returnInvalid":
            raise EvaluationError(f"function {self.fn.name!r} gives an invalid result",
                                  field=self.owner)
        return None

    def emit(self, gen: Codegen) -> str:
        vs = [gen.assign(a.emit(gen)) for a in self.args]
        nullable = [v for v, a in zip(vs, self.args) if a.info.nullable]
        call = self._inline(gen, vs) or f"{gen.const(self.fn.scalar, 'fn')}({', '.join(vs)})"
        if not self.fn.handles_missing and nullable:
            none = " or ".join(f"{v} is None" for v in nullable)
            missing = "None" if self.map_missing_to is None else gen.const(self.map_missing_to)
            expr = f"({missing} if {none} else {call})"
        elif self.map_missing_to is not None and nullable:
            none = " or ".join(f"{v} is None" for v in nullable)
            expr = f"({gen.const(self.map_missing_to)} if {none} else {call})"
        else:
            expr = call
        if self.invalid != "asIs" and is_numeric(self.info.data_type) \
                and not self.fn.handles_missing and not self.info.never_nan:
            r = gen.assign(expr)
            check = gen.const(self._check_scalar, "inv")
            expr = f"({check}({r}) if {r} != {r} else {r})"
        if self.default_value is not None:
            r = gen.assign(expr)
            expr = f"({gen.const(self.default_value)} if {r} is None else {r})"
        return expr


def _number(value: Any) -> Optional[float]:
    """``value`` as a finite float, or None (missing, not a number, NaN or infinite)."""
    if type(value) not in (float, int):
        return None
    return float(value) if math.isfinite(value) else None


def _arithmetic_never_nan(name: str, args: list[Node]) -> bool:
    """Whether ``name`` (+ - * /) of two arguments that are never NaN is never NaN either.

    Infinite values are the danger (inf - inf, inf * 0, inf / inf); a finite constant operand
    rules them out: ``x + k``, ``x - k``, ``k - x``, ``x * k`` and ``x / k`` with ``k`` finite,
    and not 0 for ``*`` and ``/``.  Doubles only: integer arithmetic overflows into NaN (Java
    int semantics).  Anything else may be NaN (then the code tests for it).
    """
    if name not in ("+", "-", "*", "/") or len(args) != 2 \
            or not all(a.info.never_nan and a.info.data_type == "double" for a in args):
        return False
    constants = [_number(a.value) if type(a) is ConstantNode else None for a in args]
    if name in ("+", "-"):
        return any(k is not None for k in constants)
    if name == "*":
        return any(k for k in constants)  # finite and not 0
    return bool(constants[1])


class _If(Node):
    """``if(condition, then[, else])``: each branch is evaluated only on the rows that take it,
    so an error (an invalid value, ln of a negative number) in the branch not taken is none."""

    def __init__(self, cond: Node, then: Node, other: Optional[Node], map_missing_to: Any,
                 default_value: Any):
        self.cond, self.then, self.other = cond, then, other
        self.map_missing_to = map_missing_to
        self.default_value = default_value
        types = {then.info.data_type} | ({other.info.data_type} if other is not None else set())
        data_type = then.info.data_type if len(types) == 1 else (
            "double" if all(is_numeric(t) for t in types) else "string")
        self.info = FieldInfo(data_type, then.info.optype)

    def batch(self, ctx: BatchContext) -> np.ndarray:
        cond = self.cond.batch(ctx)
        out = missing_column(ctx.n, self.info.data_type)
        branches = [(cond == 1.0, self.then)]
        if self.other is not None:
            branches.append((cond == 0.0, self.other))
        for mask, node in branches:
            if mask.any():
                sub = ctx.subset(mask)
                try:
                    values = node.batch(sub)
                except EvaluationError as exc:
                    sub.locate(exc)
                    raise
                out[mask] = values
        if self.map_missing_to is not None:
            out = _fill(out, np.isnan(cond), self.map_missing_to)
        if self.default_value is not None:
            out = _fill(out, missing_mask(out), self.default_value)
        return out

    def emit(self, gen: Codegen) -> str:
        c = gen.assign(self.cond.emit(gen), "c")
        out = gen.var("r")
        with gen.block(f"if {c} is None"):
            mm = "None" if self.map_missing_to is None else gen.const(self.map_missing_to)
            gen.line(f"{out} = {mm}")
        with gen.block(f"elif {c}"):
            gen.line(f"{out} = {self.then.emit(gen)}")
        with gen.block("else"):
            gen.line(f"{out} = {self.other.emit(gen) if self.other is not None else 'None'}")
        if self.default_value is not None:
            return f"({gen.const(self.default_value)} if {out} is None else {out})"
        return out


class _Validity(Node):
    """1.0 / 0.0 / missing: whether a field's value is valid (isValid, isNotValid).

    Only an input field has a validity domain (its DataField's values and intervals); a value
    with ``invalidValueTreatment="asIs"`` reaches the model invalid.  Any other present value
    is valid.
    """

    def __init__(self, inner: Node):
        self.inner = inner
        source = getattr(inner, "source", None)
        self.rules = getattr(source, "rules", None)
        self.info = FieldInfo("double", "continuous", True)

    def _valid(self, x: Any) -> bool:
        r = self.rules
        if r is None:
            return True
        if r.invalid and x in r.invalid or r.valid is not None and x not in r.valid:
            return False
        return not r.intervals or any(test(x) for _, test in r.intervals)

    def batch(self, ctx: BatchContext) -> np.ndarray:
        col = self.inner.batch(ctx)
        ok = np.ones(ctx.n, dtype=bool)
        r = self.rules
        if r is not None:
            if r.invalid:
                ok &= ~isin(col, r.invalid)
            if r.valid is not None:
                ok &= isin(col, r.valid)
            if r.intervals:
                inside = np.zeros(ctx.n, dtype=bool)
                with np.errstate(invalid="ignore"):
                    for test, _ in r.intervals:
                        inside |= test(col)
                ok &= inside
        out = ok.astype(np.float64)
        out[missing_mask(col)] = np.nan
        return out

    def emit(self, gen: Codegen) -> str:
        v = gen.assign(self.inner.emit(gen))
        return f"(None if {v} is None else float({gen.const(self._valid, 'valid')}({v})))"


def _fill(col: np.ndarray, mask: np.ndarray, value: Any) -> np.ndarray:
    if not mask.any():
        return col
    if col.dtype != object and isinstance(value, str):
        col = col.astype(object)
    col = col.copy()
    col[mask] = value
    return col


def _function_result_type(fn, args: list[Node]) -> str:
    if fn.result_type is not None:
        return fn.result_type
    types = {a.info.data_type for a in args if a.info.data_type is not None}
    if not types:
        return "double"
    if types <= {"integer"}:
        return "integer"
    if types <= {"float", "integer"}:
        return "float" if "float" in types else "integer"
    if all(is_numeric(t) for t in types):
        return "double"
    return "string" if "string" in types else "double"


def _apply(expr: d.Apply, scope: Scope, depth: int = 0, owner: Optional[str] = None) -> Node:
    user = scope.functions.get(expr.function)
    args = [compile_expression(a, scope, depth, owner) for a in expr.arguments]
    if user is not None:
        return _inline_user_function(user, args, scope, expr, depth)
    from pmmlserve.scoring import _functions  # the function library imports numpy helpers only

    if expr.function == "if":
        if len(args) not in (2, 3):
            raise InvalidMarkupError(f"function 'if' takes 2 or 3 arguments, got {len(args)}",
                                     element="Apply", line=expr.line)
        then_type = args[1].info.data_type
        mm = _parse_for(expr.map_missing_to, then_type, expr)
        dv = _parse_for(expr.default_value, then_type, expr)
        return _If(numeric(args[0], "Apply", expr.line), args[1],
                   args[2] if len(args) == 3 else None, mm, dv)
    try:
        fn = _functions.lookup(expr.function, [a.info.data_type for a in args])
    except KeyError:
        raise UnsupportedMarkupError(f"function {expr.function!r} is not supported",
                                     element="Apply", line=expr.line) from None
    if len(args) < fn.min_args or (fn.max_args is not None and len(args) > fn.max_args):
        raise InvalidMarkupError(f"function {expr.function!r} takes "
                                 f"{fn.min_args}..{fn.max_args or 'n'} arguments, got {len(args)}",
                                 element="Apply", line=expr.line)
    converted = []
    for i, a in enumerate(args):
        kind = fn.kind_of(i)
        if kind == "numeric":
            a = numeric(a, "Apply", expr.line)
        elif kind == "string":
            a = cast(a, "string")
        elif kind == "validity":
            a = _Validity(a)
        converted.append(a)
    args = converted
    data_type = _function_result_type(fn, args)
    mm = expr.map_missing_to
    dv = expr.default_value
    try:
        mm = parse_constant(mm, data_type) if mm is not None else None
        dv = parse_constant(dv, data_type) if dv is not None else None
    except ValueError:
        raise InvalidMarkupError("mapMissingTo/defaultValue does not match the result type",
                                 element="Apply", line=expr.line) from None
    refuse_nan(mm, element="Apply", line=expr.line, what="mapMissingTo")
    refuse_nan(dv, element="Apply", line=expr.line, what="defaultValue")
    if expr.invalid_value_treatment not in ("returnInvalid", "asIs", "asMissing"):
        raise UnsupportedMarkupError(
            f"invalidValueTreatment={expr.invalid_value_treatment!r} is not supported on Apply",
            element="Apply", line=expr.line)
    node = _Apply(fn, args, data_type, mm, dv, expr.invalid_value_treatment)
    node.owner = owner
    return node


def _parse_for(text: Optional[str], data_type: str, expr: d.Apply) -> Any:
    if text is None:
        return None
    try:
        value = parse_constant(text, data_type)
    except ValueError:
        raise InvalidMarkupError(f"{text!r} is not a {data_type} value", element="Apply",
                                 line=expr.line) from None
    return refuse_nan(value, element="Apply", line=expr.line, what="mapMissingTo/defaultValue")


def _inline_user_function(fn: d.DefineFunction, args: list[Node], scope: Scope, expr: d.Apply,
                          depth: int) -> Node:
    if depth > _MAX_INLINE_DEPTH:
        raise InvalidMarkupError(f"function {fn.name!r} nests deeper than {_MAX_INLINE_DEPTH} calls "
                                 "(recursive?)", element="DefineFunction", line=fn.line)
    if len(args) != len(fn.parameters):
        raise InvalidMarkupError(f"function {fn.name!r} takes {len(fn.parameters)} arguments, "
                                 f"got {len(args)}", element="Apply", line=expr.line)
    # Parameters see only the arguments (and other functions), not the caller's fields.
    inner = Scope(None, functions=scope.functions)
    for param, arg in zip(fn.parameters, args):
        node = cast(arg, param.data_type, param.optype)
        inner.define(NamedField(param.name, node.info, node))
    body = compile_expression(fn.expression, inner, depth + 1)
    return cast(body, fn.data_type, fn.optype)


# --------------------------------------------------------------------------- entry points

_COMPILERS = {
    d.Constant: _constant,
    d.FieldRef: _field_ref,
    d.NormContinuous: norm_continuous,
    d.NormDiscrete: norm_discrete,
    d.Discretize: discretize,
    d.MapValues: map_values,
}


def compile_expression(expr: d.Expression, scope: Scope, depth: int = 0,
                       owner: Optional[str] = None) -> Node:
    """Compile one expression against the fields visible in ``scope``.

    ``owner`` names the field being defined, for the errors of invalid function results.
    """
    if isinstance(expr, d.Apply):
        return _apply(expr, scope, depth, owner)
    return _COMPILERS[type(expr)](expr, scope)


def compile_derived_field(field: d.DerivedField, scope: Scope) -> NamedField:
    """Compile a DerivedField into a named field of its declared type."""
    if field.data_type is not None:
        check_supported(field.data_type, element="DerivedField", line=field.line)
    expr = field.expression
    if isinstance(expr, (d.MapValues, d.Discretize)) and expr.data_type is None \
            and field.data_type is not None:
        # the table's values are of the field's type (sklearn2pmml's encoders rely on this)
        expr = dataclasses.replace(expr, data_type=field.data_type)
    node = compile_expression(expr, scope, owner=field.name)
    node = cast(node, field.data_type, field.optype)
    return NamedField(field.name, node.info, node)
