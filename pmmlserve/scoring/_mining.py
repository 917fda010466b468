"""MiningModel: segmentations (ensembles, model chains, selections)."""

from __future__ import annotations

import statistics
from typing import Any, Callable, Optional

import numpy as np

from pmmlserve.exceptions import UnsupportedMarkupError
from pmmlserve.pmml import _document as d
from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._forest import Forest
from pmmlserve.scoring._predicates import compile_predicate
from pmmlserve.scoring._results import BatchResult, CompiledModel, ScalarResult, predicted_label
from pmmlserve.scoring._scope import BatchContext, NamedField, Scope
from pmmlserve.scoring._tree import LabelSpec, leaf_score
from pmmlserve.scoring._treeir import lower_tree

__all__ = ["MiningKernel"]

_REGRESSION = ("sum", "weightedSum", "average", "weightedAverage", "median", "max",
               "modelChain", "selectFirst")
_CLASSIFICATION = ("majorityVote", "weightedMajorityVote", "average", "weightedAverage", "max",
                   "median", "modelChain", "selectFirst")


def _f32_cumsum(values: list) -> Optional[float]:
    if any(v is None for v in values):
        return None
    return float(np.cumsum(np.asarray(values, dtype=np.float32))[-1])


def _plain_segment(seg: d.Segment) -> bool:
    m = seg.model
    c = m.common
    return (isinstance(m, d.TreeModel) and isinstance(seg.predicate, d.TruePredicate)
            and not c.output_fields and not c.targets and not c.local_fields
            and all(mf.missing_value_replacement is None and mf.invalid_value_treatment ==
                    "returnInvalid" and mf.outliers == "asIs" for mf in c.mining_fields))


class MiningKernel(CompiledModel):
    def __init__(self, model: d.MiningModel, scope: Scope, labels: LabelSpec,
                 compile_unit: Callable):
        common = model.common
        self.function = common.function_name
        self.math_context = common.math_context
        self.method = model.method
        self.weights = [s.weight for s in model.segments]
        self.return_missing = model.missing_prediction_treatment == "returnMissing"
        allowed = _REGRESSION if self.function == "regression" else _CLASSIFICATION
        if self.method not in allowed:
            raise UnsupportedMarkupError(
                f"multipleModelMethod={self.method!r} is not supported for {self.function} "
                f"(supported: {', '.join(allowed)})", element="Segmentation", line=common.line)
        if not model.segments:
            raise UnsupportedMarkupError("a Segmentation without segments cannot score",
                                         element="Segmentation", line=common.line)
        self.labels = labels.declared if self.function == "classification" else None
        self.forest: Optional[Forest] = None
        if self.method in ("sum", "weightedSum", "average", "weightedAverage") \
                and self.function == "regression" \
                and all(_plain_segment(s) and s.model.common.function_name == "regression"
                        for s in model.segments):
            self._compile_forest(model, scope)
            return
        self.units = []
        self.predicates = []
        #: every segment's output fields in a modelChain (visible to the parent's Output)
        self.chain_outputs: list = []
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
                for label in (u.kernel.labels or ()):
                    if label not in found:
                        found.append(label)
            self.labels = tuple(found)
        last = self.units[-1]
        #: output fields of the final segment, exposed as this model's own (as JPMML does)
        self.exposed = last.exposed if self.method in ("modelChain", "selectFirst") else []

    # ------------------------------------------------------------------ tree-ensemble fast path
    def _compile_forest(self, model: d.MiningModel, scope: Scope) -> None:
        roots = []
        for seg in model.segments:
            root, _ = lower_tree(seg.model, scope)
            roots.append(root)
        self.forest = Forest(roots)
        ctx_name = [s.model.common.math_context for s in model.segments]
        float_math = self.math_context == "float" or "float" in ctx_name
        self._float_sum = float_math
        self.leaf_values = np.array([leaf_score(leaf, "float" if float_math else "double")
                                     for leaf in self.forest.leaves])
        self._pos = {id(leaf): i for i, leaf in enumerate(self.forest.leaves)}
        self.exposed = []
        self.units = []
        self.chain_outputs = []

    def _combine_forest(self, vals: np.ndarray) -> np.ndarray:
        w = np.asarray(self.weights)
        if self.method in ("weightedSum", "weightedAverage"):
            vals = vals * w
        if self._float_sum:
            total = np.cumsum(vals.astype(np.float32), axis=1, dtype=np.float32)[:, -1]
            total = total.astype(np.float64)
        else:
            total = vals[:, 0].copy()
            for t in range(1, vals.shape[1]):
                total += vals[:, t]
        if self.method == "average":
            total = total / vals.shape[1]
        elif self.method == "weightedAverage":
            total = total / w.sum()
        return total

    def _forest_batch(self, ctx: BatchContext) -> BatchResult:
        li = self.forest.leaf_indices(ctx)
        vals = self.leaf_values[li]
        total = self._combine_forest(vals)
        if np.isnan(vals).any():
            total[np.isnan(vals).any(axis=1)] = np.nan
        return BatchResult(total)

    def _forest_emit(self, gen: Codegen) -> ScalarResult:
        fields = self.forest.emit_fields(gen)
        names = []
        for t in range(len(self.forest.roots)):
            v = gen.var("tv")
            names.append(v)
            self.forest.emit_tree(gen, t, fields, lambda g, leaf, v=v: g.line(
                f"{v} = {_literal(g, self.leaf_values[self._pos[id(leaf)]])}"))
        weighted = self.method in ("weightedSum", "weightedAverage")
        terms = [f"{gen.const(w)} * {n}" if weighted else n for n, w in zip(names, self.weights)]
        nullable = any(np.isnan(self.leaf_values))
        if self._float_sum:
            total = gen.assign(f"{gen.const(_f32_cumsum, 'f32sum')}([{', '.join(terms)}])", "s")
        else:
            total = gen.assign(" + ".join(terms), "s") if not nullable else gen.assign(
                f"(None if None in ({', '.join(names)},) else {' + '.join(terms)})", "s")
        if self.method == "average":
            total = gen.assign(f"(None if {total} is None else {total} / {len(names)})", "s")
        elif self.method == "weightedAverage":
            total = gen.assign(f"(None if {total} is None else {total} / "
                               f"{gen.const(float(sum(self.weights)))})", "s")
        return ScalarResult(total)

    # ------------------------------------------------------------------ general batch
    def batch(self, ctx: BatchContext) -> BatchResult:
        if self.forest is not None:
            return self._forest_batch(ctx)
        n = ctx.n
        applies = [p.batch(ctx) == 1 for p in self.predicates]
        results = [u.batch(ctx)[0] for u in self.units]
        m = self.method
        if m in ("modelChain", "selectFirst"):
            return self._select(results, applies, n, first=(m == "selectFirst"))
        if self.function == "regression":
            return BatchResult(self._aggregate_values(results, applies, n))
        return self._aggregate_classes(results, applies, n)

    def _select(self, results, applies, n, first: bool) -> BatchResult:
        chosen = np.full(n, -1)
        order = range(len(results)) if not first else reversed(range(len(results)))
        for i in order:
            chosen = np.where(applies[i], i, chosen)
        base = results[-1]
        value = np.array(base.value, copy=True)
        value[:] = None if value.dtype == object else np.nan
        probs = None
        if self.function == "classification":
            probs = {label: np.full(n, np.nan) for label in self.labels}
        entity = np.full(n, None, dtype=object)
        for i, r in enumerate(results):
            rows = chosen == i
            if not rows.any():
                continue
            value[rows] = np.asarray(r.value)[rows]
            if probs is not None and r.probabilities is not None:
                for label, col in r.probabilities.items():
                    probs.setdefault(label, np.full(n, np.nan))[rows] = col[rows]
            if r.entity_id is not None:
                entity[rows] = r.entity_id[rows]
        return BatchResult(value, probs, entity)

    def _aggregate_values(self, results, applies, n) -> np.ndarray:
        vals = np.stack([np.asarray(r.value, dtype=np.float64) for r in results], axis=1)
        use = np.stack(applies, axis=1)
        missing = use & np.isnan(vals)
        w = np.broadcast_to(np.asarray(self.weights), vals.shape)
        use_ok = use & ~missing
        m = self.method
        with np.errstate(invalid="ignore", divide="ignore"):
            if m in ("sum", "weightedSum", "average", "weightedAverage"):
                x = np.where(use_ok, vals, 0.0)
                if m.startswith("weighted"):
                    x = x * w
                total = x[:, 0].copy()
                for t in range(1, x.shape[1]):
                    total += x[:, t]
                if m == "average":
                    total = total / use_ok.sum(axis=1)
                elif m == "weightedAverage":
                    total = total / np.where(use_ok, w, 0.0).sum(axis=1)
            elif m == "median":
                total = np.nanmedian(np.where(use_ok, vals, np.nan), axis=1)
            else:  # max
                total = np.nanmax(np.where(use_ok, vals, np.nan), axis=1)
        if self.return_missing:
            total[missing.any(axis=1)] = np.nan
        total[~use_ok.any(axis=1)] = np.nan
        return total

    def _aggregate_classes(self, results, applies, n) -> BatchResult:
        labels = self.labels
        m = self.method
        use = np.stack(applies, axis=1)
        probs = {label: np.zeros(n) for label in labels}
        if m in ("majorityVote", "weightedMajorityVote"):
            total = np.zeros(n)
            for i, r in enumerate(results):
                w = self.weights[i] if m == "weightedMajorityVote" else 1.0
                votes = np.asarray(r.value, dtype=object)
                ok = use[:, i] & np.array([v is not None for v in votes.tolist()])
                for label in labels:
                    probs[label] += np.where(ok & (votes == label), w, 0.0)
                total += np.where(ok, w, 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                probs = {label: p / total for label, p in probs.items()}
        else:
            stack = {label: np.stack([
                (r.probabilities or {}).get(label, np.full(n, np.nan)) for r in results], axis=1)
                for label in labels}
            ok = use & ~np.isnan(stack[labels[0]])
            w = np.broadcast_to(np.asarray(self.weights), ok.shape)
            with np.errstate(invalid="ignore", divide="ignore"):
                for label in labels:
                    x = np.where(ok, stack[label], np.nan)
                    if m == "average":
                        probs[label] = np.nansum(x, axis=1) / ok.sum(axis=1)
                    elif m == "weightedAverage":
                        probs[label] = np.nansum(x * w, axis=1) / np.where(ok, w, 0).sum(axis=1)
                    elif m == "median":
                        probs[label] = np.nanmedian(x, axis=1)
                    else:  # max
                        probs[label] = np.nanmax(x, axis=1)
        if self.return_missing:
            missing = np.zeros(n, dtype=bool)
            for i, r in enumerate(results):
                if r.probabilities is not None:
                    first = next(iter(r.probabilities.values()))
                    missing |= use[:, i] & np.isnan(first)
                else:
                    missing |= use[:, i] & np.array([v is None for v in
                                                     np.asarray(r.value, dtype=object).tolist()])
            for label in labels:
                probs[label] = np.where(missing, np.nan, probs[label])
        value = predicted_label(probs, labels, n)
        return BatchResult(value, probs)

    # ------------------------------------------------------------------ general one record
    def emit(self, gen: Codegen) -> ScalarResult:
        if self.forest is not None:
            return self._forest_emit(gen)
        results = []
        m = self.method
        for i, (pred, unit) in enumerate(zip(self.predicates, self.units)):
            if pred.always is True:
                res, _ = unit.emit(gen)
                results.append(("True", res))
                continue
            p = gen.assign(pred.emit(gen), "sp")
            # locals the block assigns must exist when it does not run
            slots = {"value": gen.var("sv")}
            gen.line(f"{slots['value']} = None")
            out_vars = {}
            for of, nf in unit.outputs:
                out_vars[id(nf)] = gen.var("so")
                gen.line(f"{out_vars[id(nf)]} = None")
            prob_slots = {label: gen.var("sq") for label in (self.labels or ())}
            for v in prob_slots.values():
                gen.line(f"{v} = None")
            with gen.block(f"if {p} is True"):
                res, outs = unit.emit(gen)
                gen.line(f"{slots['value']} = {res.value}")
                for label, v in (res.probabilities or {}).items():
                    if label in prob_slots:
                        gen.line(f"{prob_slots[label]} = {v}")
                for of, nf in unit.outputs:
                    gen.line(f"{out_vars[id(nf)]} = {outs[of.name]}")
            for of, nf in unit.outputs:
                gen.bind(nf, out_vars[id(nf)])
            results.append((p, ScalarResult(slots["value"], prob_slots or None)))
        if m in ("modelChain", "selectFirst"):
            return self._emit_select(gen, results, first=(m == "selectFirst"))
        packed = "[" + ", ".join(
            f"({a} is True, {r.value}, "
            + ("{" + ", ".join(f"{gen.const(l)}: {v}" for l, v in (r.probabilities or {}).items())
               + "}" if self.function == "classification" else "None") + ")"
            for a, r in results) + "]"
        agg = gen.assign(f"{gen.const(self._scalar_aggregate, 'agg')}({packed})", "agg")
        if self.function == "regression":
            return ScalarResult(agg)
        value = gen.assign(f"{agg}[0]", "lbl")
        probs = {label: gen.assign(f"{agg}[1].get({gen.const(label)})", "p")
                 for label in self.labels}
        return ScalarResult(value, probs)

    def _emit_select(self, gen: Codegen, results, first: bool) -> ScalarResult:
        value = gen.var("sel")
        gen.line(f"{value} = None")
        probs = {label: gen.var("sp") for label in (self.labels or ())}
        for v in probs.values():
            gen.line(f"{v} = None")
        entity = None
        order = list(reversed(results)) if first else results
        for applies, r in order:
            with gen.block(f"if {applies} is True" if applies != "True" else "if True"):
                gen.line(f"{value} = {r.value}")
                for label, v in probs.items():
                    src = (r.probabilities or {}).get(label)
                    gen.line(f"{v} = {src if src is not None else 'None'}")
            if r.entity_id is not None and applies == "True":
                entity = r.entity_id
        return ScalarResult(value, probs or None, entity)

    def _scalar_aggregate(self, packed: list) -> Any:
        m = self.method
        used = [(v, p, w) for (a, v, p), w in zip(packed, self.weights) if a]
        if self.function == "regression":
            vals = [(v, w) for v, _, w in used]
            if any(v is None for v, _ in vals):
                if self.return_missing:
                    return None
                vals = [(v, w) for v, w in vals if v is not None]
            if not vals:
                return None
            if m in ("sum", "weightedSum"):
                total = 0.0
                for v, w in vals:
                    total += v * w if m == "weightedSum" else v
                return total
            if m == "average":
                total = 0.0
                for v, _ in vals:
                    total += v
                return total / len(vals)
            if m == "weightedAverage":
                total = 0.0
                for v, w in vals:
                    total += v * w
                return total / sum(w for _, w in vals)
            if m == "median":
                return float(statistics.median(v for v, _ in vals))
            return max(v for v, _ in vals)
        labels = self.labels
        if self.return_missing and any(
                v is None and (not p or None in p.values()) for v, p, _ in used):
            return None, dict.fromkeys(labels)
        probs = dict.fromkeys(labels, 0.0)
        if m in ("majorityVote", "weightedMajorityVote"):
            total = 0.0
            for v, _, w in used:
                if v is None:
                    continue
                ww = w if m == "weightedMajorityVote" else 1.0
                probs[v] = probs.get(v, 0.0) + ww
                total += ww
            probs = {k: (p / total if total else None) for k, p in probs.items()}
        else:
            ok = [(p, w) for _, p, w in used if p and None not in p.values()]
            if not ok:
                return None, dict.fromkeys(labels)
            for label in labels:
                xs = [(p.get(label, 0.0), w) for p, w in ok]
                if m == "average":
                    probs[label] = sum(x for x, _ in xs) / len(xs)
                elif m == "weightedAverage":
                    probs[label] = sum(x * w for x, w in xs) / sum(w for _, w in xs)
                elif m == "median":
                    probs[label] = float(statistics.median(x for x, _ in xs))
                else:
                    probs[label] = max(x for x, _ in xs)
        from pmmlserve.scoring._results import scalar_argmax
        return scalar_argmax(probs), probs


def _literal(gen: Codegen, x: float) -> str:
    if x != x:
        return "None"
    return repr(float(x)) if np.isfinite(x) else gen.const(float(x))
