"""MiningModel: segmentations (ensembles, model chains, selections).

Every segment is compiled to a :class:`~pmmlserve.scoring._unit.Unit`; the combination rules live
in :mod:`pmmlserve.scoring._aggregate`.  A sum or average of plain regression trees (the
gradient-boosting and random-forest shape) skips the units: see :mod:`pmmlserve.scoring._ensemble`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import pandas as pd

from pmmlserve.exceptions import InvalidMarkupError, UnsupportedMarkupError
from pmmlserve.pmml import _document as d
from pmmlserve.scoring._aggregate import (
    CLASS_METHODS,
    TREATMENTS,
    VALUE_METHODS,
    VOTE_METHODS,
    Combiner,
)
from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._ensemble import TreeEnsemble
from pmmlserve.scoring._predicates import compile_predicate
from pmmlserve.scoring._results import BatchResult, CompiledModel, ScalarResult
from pmmlserve.scoring._scope import BatchContext, FieldInfo, NamedField, Node, Scope
from pmmlserve.scoring._tree import LabelSpec
from pmmlserve.scoring._values import is_numeric

__all__ = ["MiningKernel"]

_SELECTIONS = ("modelChain", "selectFirst", "selectAll")
#: the supported multipleModelMethod values, per functionName (read by the support table)
_REGRESSION = VALUE_METHODS + _SELECTIONS
_CLASSIFICATION = CLASS_METHODS + _SELECTIONS


def _missing(value: np.ndarray) -> np.ndarray:
    return pd.isna(value) if value.dtype == object else np.isnan(value)


@dataclass
class _Segments:
    """One batch's segment results: who applied, what each predicted, which were evaluated."""

    use: np.ndarray        # rows × segments: the predicate is TRUE
    missing: np.ndarray    # rows × segments: the prediction is missing
    results: list          # BatchResult per segment
    outputs: list          # {output name: column} per segment
    evaluated: np.ndarray  # rows × segments: it ran (selectFirst, returnMissing stop early)


@dataclass
class _Emitted:
    """One segment in the generated code: its predicate flag and the locals of its result."""

    applied: str           # "True" for a constant TRUE predicate, else a local (True/False/None)
    result: ScalarResult
    outputs: dict          # output name -> local

    @property
    def flag(self) -> str:
        return "True" if self.applied == "True" else f"{self.applied} is True"


class MiningKernel(CompiledModel):
    """A Segmentation: the segments' units (or a forest) and how their results combine.

    ``function`` is the model's functionName, except ``"selectAll"`` for that method: its result
    is a list per record (JPMML's reading), which no Targets or class rules apply to.
    """

    def __init__(self, model: d.MiningModel, scope: Scope, labels: LabelSpec,
                 compile_unit: Callable):
        common = model.common
        self.function = common.function_name
        self.math_context = common.math_context
        self.method = model.method
        self.treatment = model.missing_prediction_treatment
        self.weights = [s.weight for s in model.segments]
        self._check(model)
        self.segment_ids = [s.id if s.id is not None else str(i + 1)
                            for i, s in enumerate(model.segments)]
        if len(set(self.segment_ids)) != len(self.segment_ids):
            raise InvalidMarkupError("two Segments have the same id", element="Segmentation",
                                     line=common.line)
        self.labels = labels.declared if self.function == "classification" else None
        self.forest: Optional[TreeEnsemble] = None
        self.units: list = []
        self.predicates: list = []
        #: every segment's output fields in a modelChain (visible to the parent's Output)
        self.chain_outputs: list = []
        #: output fields of the final segment, exposed as this model's own (as JPMML does)
        self.exposed: list = []
        self._segment_nodes: list[_SegmentOutput] = []
        wants_segments = any(of.segment_id is not None for of in common.output_fields)
        if self.function == "regression" and not wants_segments \
                and TreeEnsemble.takes(model):
            self.forest = TreeEnsemble(model, scope, float_sum=self.math_context == "float")
            return
        chain_scope = Scope(scope) if self.method == "modelChain" else scope
        for seg in model.segments:
            self.predicates.append(compile_predicate(seg.predicate, chain_scope))
            unit = compile_unit(seg.model, chain_scope)
            self.units.append(unit)
            if self.method == "modelChain":
                for of, nf in unit.outputs:
                    chain_scope.define(nf)
                    self.chain_outputs.append((of, nf))
        if self.function == "classification":
            found = list(self.labels or ())
            for u in self.units:
                found += [label for label in (u.kernel.labels or ()) if label not in found]
            self.labels = tuple(found)
        if self.method in ("modelChain", "selectFirst"):
            self.exposed = self.units[-1].exposed
        self.combiner = Combiner(self.method, self.weights, self.treatment,
                                 model.missing_threshold, self.labels,
                                 float_sum=self.math_context == "float")
        if self.method == "selectAll":
            self.function = "selectAll"

    def _check(self, model: d.MiningModel) -> None:
        line = model.common.line
        allowed = _REGRESSION if self.function == "regression" else _CLASSIFICATION
        if self.method not in allowed:
            raise UnsupportedMarkupError(
                f"multipleModelMethod={self.method!r} is not supported for {self.function} "
                f"(supported: {', '.join(allowed)})", element="Segmentation", line=line)
        if not model.segments:
            raise UnsupportedMarkupError("a Segmentation without segments cannot score",
                                         element="Segmentation", line=line)
        if self.treatment not in TREATMENTS:
            raise InvalidMarkupError(f"missingPredictionTreatment={self.treatment!r} is not "
                                     f"one of {', '.join(TREATMENTS)}", element="Segmentation",
                                     line=line)
        if not 0.0 <= model.missing_threshold <= 1.0:
            raise InvalidMarkupError(f"missingThreshold={model.missing_threshold!r} is not "
                                     "between 0 and 1", element="Segmentation", line=line)
        if self.treatment == "skipSegment" and self.method == "modelChain":
            raise InvalidMarkupError("skipSegment cannot be used with modelChain",
                                     element="Segmentation", line=line)
        if self.treatment == "skipSegment" and self.method == "selectAll":
            raise UnsupportedMarkupError("skipSegment with selectAll is not supported",
                                         element="Segmentation", line=line)

    # ------------------------------------------------------------------ tree-ensemble fast path
    # ------------------------------------------------------------------ batch
    def _segments(self, ctx: BatchContext) -> _Segments:
        state = ctx.cache.get(id(self))
        if state is None:
            use = np.stack([p.batch(ctx) == 1 for p in self.predicates], axis=1)
            scored = [u.batch(ctx) for u in self.units]
            results = [r for r, _ in scored]
            missing = np.stack([_missing(np.asarray(r.value)) for r in results], axis=1)
            state = _Segments(use, missing, results, [o for _, o in scored],
                              self._evaluated(use, missing))
            ctx.cache[id(self)] = state
        return state

    def _evaluated(self, use: np.ndarray, missing: np.ndarray) -> np.ndarray:
        k = use.shape[1]
        stop = np.full(len(use), k - 1)
        if self.method == "selectFirst":
            pick = use & ~missing if self.treatment == "skipSegment" else use
            stop = np.where(pick.any(axis=1), np.argmax(pick, axis=1), stop)
        if self.treatment == "returnMissing":
            bad = use & missing & (np.arange(k) <= stop[:, None])
            stop = np.where(bad.any(axis=1), np.argmax(bad, axis=1), stop)
        return use & (np.arange(k) <= stop[:, None])

    def batch(self, ctx: BatchContext) -> BatchResult:
        if self.forest is not None:
            return self.forest.batch(ctx)
        s = self._segments(ctx)
        if self.method in ("modelChain", "selectFirst"):
            return self._select(s, ctx.n)
        if self.method == "selectAll":
            return BatchResult(self._select_all(s, ctx.n))
        if self.function == "regression":
            vals = np.stack([np.asarray(r.value, dtype=np.float64) for r in s.results], axis=1)
            return BatchResult(self.combiner.values(vals, s.use))
        if self.method in VOTE_METHODS:
            values = np.stack([np.asarray(r.value, dtype=object) for r in s.results], axis=1)
            return BatchResult(*self.combiner.votes(values, s.missing, s.use))
        P = np.full((len(self.labels), ctx.n, len(s.results)), np.nan)
        for i, r in enumerate(s.results):
            for j, label in enumerate(self.labels):
                col = (r.probabilities or {}).get(label)
                if col is not None:
                    P[j, :, i] = col
        return BatchResult(*self.combiner.probabilities(P, s.missing, s.use))

    def _select(self, s: _Segments, n: int) -> BatchResult:
        k = s.use.shape[1]
        if self.method == "selectFirst":
            chosen = np.where(s.use.any(axis=1), np.argmax(s.use, axis=1), -1)
            if self.treatment == "skipSegment":  # when every TRUE segment is missing: the first
                pick = s.use & ~s.missing
                chosen = np.where(pick.any(axis=1), np.argmax(pick, axis=1), chosen)
        else:  # modelChain: the last segment that ran
            chosen = np.where(s.use.any(axis=1), k - 1 - np.argmax(s.use[:, ::-1], axis=1), -1)
        if self.treatment == "returnMissing":  # no result at all, not even the segment's id
            chosen[(s.evaluated & s.missing).any(axis=1)] = -1
        value = np.full(n, np.nan) if self.function == "regression" \
            else np.full(n, None, dtype=object)
        classes = self.function == "classification"
        probs = {label: np.full(n, np.nan) for label in self.labels} if classes else None
        conf = {label: np.full(n, np.nan) for label in self.labels} \
            if classes and any(r.confidence is not None for r in s.results) else None
        entity = np.full(n, None, dtype=object)
        for i, r in enumerate(s.results):
            rows = chosen == i
            if not rows.any():
                continue
            value[rows] = np.asarray(r.value)[rows]
            for target, source in ((probs, r.probabilities), (conf, r.confidence)):
                if target is not None and source is not None:
                    for label, col in source.items():
                        target.setdefault(label, np.full(n, np.nan))[rows] = col[rows]
            entity[rows] = self.segment_ids[i]
        return BatchResult(value, probs, entity, conf)

    def _select_all(self, s: _Segments, n: int) -> np.ndarray:
        """Per record, the list of the TRUE segments' predictions (None = missing)."""
        vals = np.stack([np.asarray(r.value, dtype=object) for r in s.results], axis=1)
        vals[s.missing] = None
        lists = np.full(n, None, dtype=object)
        # one list-building step per distinct pattern of TRUE segments, not per row
        patterns, inverse = np.unique(s.use, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        for j, pattern in enumerate(patterns):
            if pattern.any():
                rows = np.flatnonzero(inverse == j)
                # numpy stores each inner list as one object (the target is 1-d and object)
                lists[rows] = vals[np.ix_(rows, np.flatnonzero(pattern))].tolist()
        if self.treatment == "returnMissing":
            lists[(s.use & s.missing).any(axis=1)] = None
        return lists

    # ------------------------------------------------------------------ one record
    def emit(self, gen: Codegen) -> ScalarResult:
        if self.forest is not None:
            return self.forest.emit(gen)
        segs = [self._emit_segment(gen, i) for i in range(len(self.units))]
        if self.method in ("modelChain", "selectFirst"):
            result = self._emit_select(gen, segs)
        elif self.method == "selectAll":
            result = self._emit_all(gen, segs)
        else:
            result = self._emit_combine(gen, segs)
        if self._segment_nodes:
            self._emit_segment_outputs(gen, segs)
        return result

    def _emit_segment(self, gen: Codegen, i: int) -> _Emitted:
        pred, unit = self.predicates[i], self.units[i]
        if pred.always is True:
            res, outs = unit.emit(gen)
            return _Emitted("True", res, outs)
        p = gen.assign(pred.emit(gen), "sp")
        # locals the block assigns must exist when it does not run
        value, entity = gen.var("sv"), gen.var("se")
        labels = list(self.labels or ())
        labels += [label for label in (unit.kernel.labels or ()) if label not in labels]
        kinds = ("probabilities", "confidence") if self.method in _SELECTIONS \
            else ("probabilities",)
        slots = {kind: {label: gen.var("sq") for label in labels} for kind in kinds}
        outs = {of.name: gen.var("so") for of, _ in unit.outputs}
        for v in (value, entity, *outs.values(), *(v for d in slots.values() for v in d.values())):
            gen.line(f"{v} = None")
        with gen.block(f"if {p} is True"):
            res, inner = unit.emit(gen)
            gen.line(f"{value} = {res.value}")
            if res.entity_id is not None:
                gen.line(f"{entity} = {res.entity_id}")
            for kind, targets in slots.items():
                for label, v in (getattr(res, kind) or {}).items():
                    if label in targets:
                        gen.line(f"{targets[label]} = {v}")
            for name, v in inner.items():
                gen.line(f"{outs[name]} = {v}")
        for of, nf in unit.outputs:
            gen.bind(nf, outs[of.name])
        found = {kind: slots[kind] if getattr(res, kind) is not None else None for kind in kinds}
        return _Emitted(p, ScalarResult(value, found["probabilities"],
                                        entity if res.entity_id is not None else None,
                                        found.get("confidence")), outs)

    def _emit_select(self, gen: Codegen, segs: list) -> ScalarResult:
        first = self.method == "selectFirst"
        value, entity = gen.var("sel"), gen.var("sid")
        labels = self.labels or ()
        slots = {kind: {label: gen.var("sp") for label in labels}
                 for kind in ("probabilities", "confidence")}
        every = (value, entity, *(v for d in slots.values() for v in d.values()))
        order = [(i, s, "") for i, s in enumerate(segs)]
        if not first:
            order.reverse()
        elif self.treatment == "skipSegment":  # the first TRUE one with a prediction, else first
            order = [(i, s, f" and {s.result.value} is not None") for i, s, _ in order] + order
        # a segment whose predicate is <True/> ends the chain of tests
        always = next((k for k, (_, s, extra) in enumerate(order)
                       if s.flag == "True" and not extra), None)
        if always is None:
            for v in every:
                gen.line(f"{v} = None")
        else:
            order = order[:always + 1]
        keyword = "if"
        for k, (i, s, extra) in enumerate(order):
            header = "if True" if k == always == 0 else \
                "else" if k == always else f"{keyword} {s.flag}{extra}"
            with gen.block(header):
                gen.line(f"{value} = {s.result.value}")
                for kind, targets in slots.items():
                    source = getattr(s.result, kind) or {}
                    for label, v in targets.items():
                        gen.line(f"{v} = {source.get(label) or 'None'}")
                gen.line(f"{entity} = {gen.const(self.segment_ids[i])}")
            keyword = "elif"
        if self.treatment == "returnMissing":  # no result at all, not even the segment's id
            if first:
                cond = f"{value} is None"
            else:
                cond = " or ".join(f"{s.result.value} is None" if s.flag == "True" else
                                   f"({s.flag} and {s.result.value} is None)" for s in segs)
            with gen.block(f"if {cond}"):
                for v in every:
                    gen.line(f"{v} = None")
        if self.function != "classification":
            return ScalarResult(value, None, entity)
        confident = any(s.result.confidence is not None for s in segs)
        return ScalarResult(value, slots["probabilities"], entity,
                            slots["confidence"] if confident else None)

    def _emit_all(self, gen: Codegen, segs: list) -> ScalarResult:
        pairs = ", ".join(f"({s.flag}, {s.result.value})" for s in segs)
        lst = gen.assign(f"[v for a, v in ({pairs},) if a]", "sa")
        if self.treatment == "returnMissing":
            gen.line(f"{lst} = None if None in {lst} else ({lst} or None)")
        else:
            gen.line(f"{lst} = {lst} or None")
        return ScalarResult(lst)

    def _emit_combine(self, gen: Codegen, segs: list) -> ScalarResult:
        applied = "[" + ", ".join(s.flag for s in segs) + "]"
        values = "[" + ", ".join(s.result.value for s in segs) + "]"
        c = self.combiner
        if self.function == "regression":
            return ScalarResult(gen.assign(f"{gen.const(c.one_value, 'agg')}({applied}, {values})",
                                           "agg"))
        probs = "None"
        if self.method not in VOTE_METHODS:
            probs = "[" + ", ".join(_dict_literal(gen, s.result.probabilities) for s in segs) + "]"
        pair = gen.assign(f"{gen.const(c.one_class, 'agg')}({applied}, {values}, {probs})", "agg")
        value = gen.assign(f"{pair}[0]", "lbl")
        return ScalarResult(value, {label: gen.assign(f"{pair}[1].get({gen.const(label)})", "p")
                                    for label in self.labels})

    # ------------------------------------------------------------------ OutputField/@segmentId
    def segment_output(self, of: d.OutputField) -> NamedField:
        """The field an OutputField with ``segmentId`` defines: that segment's own result,
        missing where the segment did not run (its predicate was not TRUE, or the evaluation
        stopped before it: selectFirst, returnMissing)."""
        node = _SegmentOutput(self, of)
        self._segment_nodes.append(node)
        return NamedField(of.name, node.info, node)

    def _emit_segment_outputs(self, gen: Codegen, segs: list) -> None:
        applied = "[" + ", ".join(s.flag for s in segs) + "]"
        missing = "[" + ", ".join(f"{s.result.value} is None" for s in segs) + "]"
        ev = gen.assign(f"{gen.const(self._evaluated_one, 'sev')}({applied}, {missing})", "sev")
        for node in self._segment_nodes:
            s = segs[node.index]
            gen.bind(node, f"({node.scalar(gen, s.result, s.outputs)} if {ev}[{node.index}] "
                           "else None)", "sg")

    def _evaluated_one(self, applied: list, missing: list) -> list:
        stop = len(applied) - 1
        if self.method == "selectFirst":
            skip = self.treatment == "skipSegment"
            stop = next((i for i, a in enumerate(applied) if a and not (skip and missing[i])),
                        stop)
        if self.treatment == "returnMissing":
            stop = next((i for i in range(stop + 1) if applied[i] and missing[i]), stop)
        return [bool(a) and i <= stop for i, a in enumerate(applied)]


class _SegmentOutput(Node):
    """The value of an OutputField with ``segmentId``, read from that segment's result."""

    _FEATURES = ("predictedValue", "probability", "entityId", "transformedValue", "decision")

    def __init__(self, kernel: MiningKernel, of: d.OutputField):
        if of.segment_id not in kernel.segment_ids:
            raise InvalidMarkupError(f"segmentId={of.segment_id!r} names no Segment",
                                     element="OutputField", line=of.line)
        if of.feature not in self._FEATURES:
            raise UnsupportedMarkupError(f"OutputField feature={of.feature!r} with segmentId is "
                                         f"not supported (supported: {', '.join(self._FEATURES)})",
                                         element="OutputField", line=of.line)
        self.kernel, self.of = kernel, of
        self.index = kernel.segment_ids.index(of.segment_id)
        unit = kernel.units[self.index]
        self.label = None
        if of.feature == "probability" and of.value is not None:
            self.label = unit.labels.parse(of.value) if unit.labels else of.value
        if of.feature in ("transformedValue", "decision"):
            source = {o.name: nf for o, nf in unit.outputs}.get(of.value)
            if source is None:
                raise InvalidMarkupError(f"value={of.value!r} names no OutputField of segment "
                                         f"{of.segment_id!r}", element="OutputField", line=of.line)
            data_type = source.info.data_type
        elif of.feature == "predictedValue":
            data_type = "double" if unit.kernel.function == "regression" \
                else (unit.target_type or "string")
        else:
            data_type = "double" if of.feature == "probability" else "string"
        data_type = of.data_type or data_type
        self.info = FieldInfo(data_type, of.optype or ("continuous" if is_numeric(data_type)
                                                       else "categorical"))

    def _entity(self, entity):
        if entity is None:
            raise UnsupportedMarkupError(f"segment {self.of.segment_id!r} has no entity ids",
                                         element="OutputField", line=self.of.line)
        return entity

    def batch(self, ctx: BatchContext) -> np.ndarray:
        s = self.kernel._segments(ctx)
        res, outs = s.results[self.index], s.outputs[self.index]
        f = self.of.feature
        if f == "predictedValue":
            col = np.asarray(res.value)
        elif f == "entityId":
            col = self._entity(res.entity_id)
        elif f in ("transformedValue", "decision"):
            col = np.asarray(outs[self.of.value])
        else:
            probs = res.probabilities or {}
            if self.label is not None:
                col = probs.get(self.label, np.zeros(ctx.n))
            else:
                col = np.full(ctx.n, np.nan)
                for label, p in probs.items():
                    col = np.where(res.value == label, p, col)
        ran = s.evaluated[:, self.index]
        if col.dtype == object:
            return np.where(ran, col, None)
        return np.where(ran, col, np.nan)

    def scalar(self, gen: Codegen, res: ScalarResult, outs: dict) -> str:
        f = self.of.feature
        if f == "predictedValue":
            return res.value
        if f == "entityId":
            return self._entity(res.entity_id)
        if f in ("transformedValue", "decision"):
            return outs[self.of.value]
        if self.label is not None:
            return (res.probabilities or {}).get(self.label) or "0.0"
        return f"{_dict_literal(gen, res.probabilities)}.get({res.value})"

    def emit(self, gen: Codegen) -> str:  # bound by the kernel when it is emitted
        var = gen.lookup(self)
        if var is None:
            raise AssertionError(f"output {self.of.name!r} used before its model was emitted")
        return var


def _dict_literal(gen: Codegen, probabilities: Optional[dict]) -> str:
    if probabilities is None:
        return "None"
    return "{" + ", ".join(f"{gen.const(label)}: {v}" for label, v in probabilities.items()) + "}"
