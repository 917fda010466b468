"""A model element with everything around it: its field scope (MiningSchema,
LocalTransformations), its kernel, Targets post-processing, and Output fields."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from pmmlserve.exceptions import InvalidMarkupError, UnsupportedMarkupError
from pmmlserve.pmml import _document as d
from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._conversions import cast
from pmmlserve.scoring._expressions import compile_derived_field, compile_expression
from pmmlserve.scoring._prepare import TreatedNode, field_rules
from pmmlserve.scoring._results import (
    BatchResult,
    CompiledModel,
    ScalarResult,
    predicted_label,
    scalar_argmax,
)
from pmmlserve.scoring._scope import BatchContext, FieldInfo, NamedField, Node, Scope
from pmmlserve.scoring._tree import LabelSpec
from pmmlserve.scoring._values import f32, is_numeric, parse_constant

__all__ = ["Unit", "compile_unit", "OUTPUT_FEATURES"]

OUTPUT_FEATURES = ("predictedValue", "predictedDisplayValue", "probability", "confidence",
                   "transformedValue", "decision", "entityId")


class _OutputNode(Node):
    """One Output field's value, read from the unit's result."""

    def __init__(self, unit: "Unit", field: d.OutputField, info: FieldInfo):
        self.unit = unit
        self.field = field
        self.info = info

    def batch(self, ctx: BatchContext) -> np.ndarray:
        return self.unit.batch(ctx)[1][self.field.name]

    def emit(self, gen: Codegen) -> str:  # bound by the unit when it is emitted
        raise AssertionError(f"output {self.field.name!r} used before its model was emitted")


class Unit:
    """A compiled model element with its scope, targets and outputs."""

    def __init__(self, model: d.Model, scope: Scope, kernel: CompiledModel, target: Optional[str],
                 target_type: Optional[str], labels: Optional[LabelSpec]):
        self.common = model.common
        self.scope = scope
        self.kernel = kernel
        self.target = target
        self.target_type = target_type
        self.labels = labels
        self.float_math = self.common.math_context == "float"
        self.rules = next((t for t in self.common.targets
                           if t.field is None or t.field == target), None)
        self._check_targets()
        self.outputs: list[tuple[d.OutputField, NamedField]] = []
        self._output_scope = Scope(scope)
        for _, nf in getattr(kernel, "chain_outputs", ()):
            self._output_scope.define(nf)
        for of in self.common.output_fields:
            self._add_output(of)
        #: output fields a parent model exposes as its own (the final ones)
        self.exposed: list[tuple[d.OutputField, NamedField]] = [
            (of, nf) for of, nf in self.outputs if of.is_final_result]

    # ------------------------------------------------------------------ outputs
    def _add_output(self, of: d.OutputField) -> None:
        if of.feature not in OUTPUT_FEATURES:
            raise UnsupportedMarkupError(
                f"OutputField feature={of.feature!r} is not supported (supported: "
                f"{', '.join(OUTPUT_FEATURES)})", element="OutputField", line=of.line)
        if of.segment_id is not None:
            segment_output = getattr(self.kernel, "segment_output", None)
            if segment_output is None:
                raise InvalidMarkupError("OutputField/@segmentId needs a MiningModel",
                                         element="OutputField", line=of.line)
            nf = segment_output(of)  # the named segment's own result
            self._output_scope.define(nf)
            self.outputs.append((of, nf))
            return
        if of.feature in ("transformedValue", "decision"):
            if of.expression is None:
                raise InvalidMarkupError(f"OutputField {of.name!r} needs an expression",
                                         element="OutputField", line=of.line)
            node = compile_expression(of.expression, self._output_scope)
            node = cast(node, of.data_type, of.optype)
            nf = NamedField(of.name, node.info, node)
        else:
            if of.feature in ("probability", "confidence"):
                data_type = "double"
            elif of.feature == "predictedValue":
                data_type = ("double" if self.kernel.function == "regression"
                             else (self.target_type or "string"))
            else:
                data_type = "string"
            data_type = of.data_type or data_type
            info = FieldInfo(data_type, of.optype or ("continuous" if is_numeric(data_type)
                                                      else "categorical"))
            nf = NamedField(of.name, info, _OutputNode(self, of, info))
        self._output_scope.define(nf)
        self.outputs.append((of, nf))

    # ------------------------------------------------------------------ targets
    def _check_targets(self) -> None:
        t = self.rules
        if t is not None and t.cast_integer not in (None, "round", "ceiling", "floor"):
            raise UnsupportedMarkupError(f"castInteger={t.cast_integer!r} is not supported",
                                         element="Target", line=t.line)

    def _priors(self) -> Optional[dict]:
        t = self.rules
        if t is None or not t.values or self.labels is None:
            return None
        priors = {self.labels.parse(v.value): v.prior_probability for v in t.values
                  if v.value is not None and v.prior_probability is not None}
        return priors or None

    def _default(self) -> Optional[float]:
        t = self.rules
        if t is None:
            return None
        for v in t.values:
            if v.default_value is not None:
                return v.default_value
        return None

    def _rescale_batch(self, y: np.ndarray) -> np.ndarray:
        t = self.rules
        if t is None:
            return y
        if t.min is not None:
            y = np.fmax(y, t.min)
        if t.max is not None:
            y = np.fmin(y, t.max)
        if t.rescale_factor != 1.0 or t.rescale_constant != 0.0:
            if self.float_math:
                y32 = y.astype(np.float32) * np.float32(t.rescale_factor)
                y = (y32 + np.float32(t.rescale_constant)).astype(np.float64)
            else:
                y = y * t.rescale_factor + t.rescale_constant
        if t.cast_integer is not None:
            y = {"round": lambda a: np.floor(a + 0.5), "ceiling": np.ceil,
                 "floor": np.floor}[t.cast_integer](y)
        default = self._default()
        if default is not None:
            y = np.where(np.isnan(y), default, y)
        return y

    def _rescale_scalar(self, y: Optional[float]) -> Optional[float]:
        t = self.rules
        if y is None:
            return self._default()
        if t.min is not None:
            y = max(y, t.min)
        if t.max is not None:
            y = min(y, t.max)
        if t.rescale_factor != 1.0 or t.rescale_constant != 0.0:
            if self.float_math:
                y = f32(f32(y * f32(t.rescale_factor)) + f32(t.rescale_constant))
            else:
                y = y * t.rescale_factor + t.rescale_constant
        if t.cast_integer == "round":
            y = float(math.floor(y + 0.5))
        elif t.cast_integer == "ceiling":
            y = float(math.ceil(y))
        elif t.cast_integer == "floor":
            y = float(math.floor(y))
        return y

    # ------------------------------------------------------------------ batch
    def batch(self, ctx: BatchContext) -> tuple[BatchResult, dict]:
        key = id(self)
        cached = ctx.cache.get(key)
        if cached is not None:
            return cached
        result = self.kernel.batch(ctx)
        if self.kernel.function == "regression":
            result.value = self._rescale_batch(np.asarray(result.value, dtype=np.float64))
        else:
            priors = self._priors()
            if result.probabilities is not None and priors is not None:
                none = np.isnan(np.stack(list(result.probabilities.values()))).all(axis=0)
                if none.any():
                    for label, col in result.probabilities.items():
                        col[none] = priors.get(label, 0.0)
                    if result.value.dtype == object:
                        result.value = result.value.copy()
                        result.value[none] = max(priors, key=priors.get)
            if result.probabilities is not None and _all_none(result.value):
                result.value = predicted_label(result.probabilities, self.kernel.labels, ctx.n)
        outputs: dict[str, np.ndarray] = {}
        ctx.cache[key] = (result, outputs)
        for of, nf in self.outputs:
            outputs[of.name] = self._output_batch(of, nf, result, ctx)
        return result, outputs

    def _output_batch(self, of: d.OutputField, nf: NamedField, result: BatchResult,
                      ctx: BatchContext) -> np.ndarray:
        f = of.feature
        if f in ("transformedValue", "decision") or of.segment_id is not None:
            return nf.source.batch(ctx)
        if f == "predictedValue":
            col = result.value
            if is_numeric(nf.info.data_type) and col.dtype == object:
                col = np.array([np.nan if v is None else float(v) for v in col.tolist()])
            return _round_output(col, nf.info.data_type)
        if f == "predictedDisplayValue":
            return np.array([self._display(v) for v in result.value.tolist()], dtype=object)
        if f == "entityId":
            if result.entity_id is None:
                raise UnsupportedMarkupError("entityId is only defined for tree models here",
                                             element="OutputField", line=of.line)
            return result.entity_id
        # probability or confidence
        probs = result.probabilities if f == "probability" else result.confidence
        if probs is None:
            raise UnsupportedMarkupError(f"OutputField {of.name!r}: this model has no {f}",
                                         element="OutputField", line=of.line)
        if of.value is None:
            labels = list(probs)
            stack = np.stack([probs[l] for l in labels]) if labels else np.empty((0, ctx.n))
            pos = {l: i for i, l in enumerate(labels)}
            out = np.full(ctx.n, np.nan)
            for i, v in enumerate(result.value.tolist()):
                if v in pos:
                    out[i] = stack[pos[v], i]
            return _round_output(out, nf.info.data_type)
        label = self._label(of)
        col = probs.get(label)
        return _round_output(col if col is not None else np.zeros(ctx.n), nf.info.data_type)

    def _label(self, of: d.OutputField) -> Any:
        try:
            return self.labels.parse(of.value) if self.labels else of.value
        except ValueError:
            raise InvalidMarkupError(f"value={of.value!r} is not a class label",
                                     element="OutputField", line=of.line) from None

    def _display(self, v: Any) -> Optional[str]:
        if v is None:
            return None
        if self.rules is not None:
            for tv in self.rules.values:
                if tv.value is not None and self.labels and self.labels.parse(tv.value) == v \
                        and tv.display_value is not None:
                    return tv.display_value
        return _label_text(v, self.target_type)

    # ------------------------------------------------------------------ one record
    def emit(self, gen: Codegen) -> tuple[ScalarResult, dict]:
        result = self.kernel.emit(gen)
        if self.kernel.function == "regression":
            if self.rules is not None:
                result.value = gen.assign(
                    f"{gen.const(self._rescale_scalar, 'tgt')}({result.value})", "y")
        else:
            priors = self._priors()
            if priors is not None and result.probabilities:
                ps = list(result.probabilities.items())
                cond = " and ".join(f"{v} is None" for _, v in ps)
                with gen.block(f"if {cond}"):
                    for label, v in ps:
                        gen.line(f"{v} = {gen.const(priors.get(label, 0.0))}")
                    if result.value != "None":
                        gen.line(f"{result.value} = {gen.const(max(priors, key=priors.get))}")
            if result.probabilities and result.value == "None":
                result.value = gen.assign(_argmax_emit(gen, result.probabilities), "lbl")
        outputs = {}
        for of, nf in self.outputs:
            var = self._output_emit(gen, of, nf, result)
            var = gen.bind(nf, var, "o")
            outputs[of.name] = var
        return result, outputs

    def _output_emit(self, gen: Codegen, of: d.OutputField, nf: NamedField,
                     result: ScalarResult) -> str:
        f = of.feature
        if f in ("transformedValue", "decision") or of.segment_id is not None:
            return nf.source.emit(gen)
        if f == "predictedValue":
            v = result.value
            if is_numeric(nf.info.data_type) and self.kernel.function != "regression":
                v = f"(None if {v} is None else float({v}))"
            return _round_emit(gen, v, nf.info.data_type)
        if f == "predictedDisplayValue":
            return f"{gen.const(self._display, 'disp')}({result.value})"
        if f == "entityId":
            if result.entity_id is None:
                raise UnsupportedMarkupError("entityId is only defined for tree models here",
                                             element="OutputField", line=of.line)
            return result.entity_id
        source = result.probabilities if f == "probability" else result.confidence
        if source is None:
            raise UnsupportedMarkupError(f"OutputField {of.name!r}: this model has no {f}",
                                         element="OutputField", line=of.line)
        if of.value is None:
            probs = "{" + ", ".join(f"{gen.const(l)}: {v}" for l, v in source.items()) + "}"
            return _round_emit(gen, f"{probs}.get({result.value})", nf.info.data_type)
        var = source.get(self._label(of))
        return _round_emit(gen, var if var is not None else "0.0", nf.info.data_type)


def _argmax_emit(gen: Codegen, probabilities: dict) -> str:
    """:func:`scalar_argmax` as an expression; inline for two classes (ties and NaN go to
    the first, as its loop does)."""
    if len(probabilities) == 2:
        (l0, p0), (l1, p1) = probabilities.items()
        return (f"({gen.const(l1)} if {p1} is not None and ({p0} is None or {p1} > {p0}) "
                f"else ({gen.const(l0)} if {p0} is not None else None))")
    d_ = "{" + ", ".join(f"{gen.const(l)}: {v}" for l, v in probabilities.items()) + "}"
    return f"{gen.const(scalar_argmax, 'argmax')}({d_})"


def _all_none(col: np.ndarray) -> bool:
    return col.dtype == object and all(v is None for v in col.tolist())


def _round_output(col: np.ndarray, data_type: str) -> np.ndarray:
    if data_type == "float" and col.dtype != object:
        return col.astype(np.float32).astype(np.float64)
    return col


def _round_emit(gen: Codegen, v: str, data_type: str) -> str:
    if data_type == "float":
        v = gen.assign(v)
        return f"(None if {v} is None else {gen.const(f32, 'f32')}({v}))"
    return v


def _label_text(v: Any, data_type: Optional[str]) -> str:
    if isinstance(v, float) and data_type == "integer":
        return str(int(v))
    return str(v)


# --------------------------------------------------------------------------- compilation


def _target_field(common: d.ModelCommon) -> Optional[str]:
    for mf in common.mining_fields:
        if mf.usage_type == "target":
            return mf.name
    return None


def build_scope(common: d.ModelCommon, parent: Scope, nested: bool,
                data_fields: dict[str, d.DataField]) -> Scope:
    """The model's own scope: MiningSchema treatments (nested models) and LocalTransformations."""
    scope = Scope(parent)
    if nested:
        for mf in common.mining_fields:
            if mf.usage_type not in ("active", "supplementary", "group", "order"):
                continue
            if mf.missing_value_replacement is None and mf.invalid_value_treatment == \
                    "returnInvalid" and mf.outliers == "asIs":
                continue  # nothing to apply: the parent's value passes through
            inner = parent.lookup(mf.name, element="MiningField", line=mf.line)
            df = data_fields.get(mf.name) or d.DataField(mf.name, inner.info.optype,
                                                          inner.info.data_type)
            rules = field_rules(df, mf)
            node = TreatedNode(inner, rules)
            scope.define(NamedField(mf.name, node.info, node))
    for df in common.local_fields:
        scope.define_lazy(df.name, lambda df=df: compile_derived_field(df, scope))
    return scope


def label_spec(target: Optional[str], data_fields: dict[str, d.DataField]) -> tuple[LabelSpec, Optional[str]]:
    field = data_fields.get(target) if target else None
    data_type = field.data_type if field is not None else "string"

    def parse(text: str) -> Any:
        try:
            return parse_constant(text, data_type)
        except ValueError:
            return text

    declared = tuple(parse(v.value) for v in field.values if v.property == "valid") \
        if field is not None else ()
    return LabelSpec(parse, declared), (field.data_type if field is not None else None)


def compile_unit(model: d.Model, parent: Scope, data_fields: dict[str, d.DataField],
                 nested: bool, compile_kernel, parent_target: Optional[str] = None) -> Unit:
    """Compile ``model`` (any model element) into a :class:`Unit` under ``parent``'s fields.

    A nested model without a target MiningField predicts its parent's target.
    """
    common = model.common
    scope = build_scope(common, parent, nested, data_fields)
    target = _target_field(common) or parent_target
    labels, target_type = label_spec(target, data_fields)
    kernel = compile_kernel(model, scope, labels, target)
    if common.function_name == "regression":
        labels = None
    return Unit(model, scope, kernel, target, target_type, labels)
