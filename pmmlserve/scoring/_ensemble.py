"""A sum or average of plain regression trees (the gradient-boosting and random-forest shape):
one :class:`~pmmlserve.scoring._forest.Forest` instead of a unit per segment.

For one record, a large forest the bit kernel holds is scored by its masks (see
:meth:`Forest.emit_reached`); other forests are written out tree by tree.  A large forest of
plain trees is lowered without IR (see :mod:`pmmlserve.scoring._directforest`).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from pmmlserve.pmml import _document as d
from pmmlserve.scoring._aggregate import Combiner
from pmmlserve.scoring._directforest import direct_forest
from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._forest import Forest
from pmmlserve.scoring._results import BatchResult, ScalarResult
from pmmlserve.scoring._scope import BatchContext, Scope
from pmmlserve.scoring._tree import leaf_score
from pmmlserve.scoring._treeir import lower_tree

__all__ = ["TreeEnsemble"]

_METHODS = ("sum", "weightedSum", "average", "weightedAverage")


def _plain_segment(seg: d.Segment) -> bool:
    m = seg.model
    c = m.common
    return (isinstance(m, d.TreeModel) and isinstance(seg.predicate, d.TruePredicate)
            and c.function_name == "regression"
            and not c.output_fields and not c.targets and not c.local_fields
            and all(mf.missing_value_replacement is None and mf.invalid_value_treatment ==
                    "returnInvalid" and mf.outliers == "asIs" for mf in c.mining_fields))


class TreeEnsemble:
    """The segments of a regression Segmentation of plain trees, combined as one forest.

    Parameters
    ----------
    model : the MiningModel (see :meth:`takes`).
    scope : where the trees' fields are defined.
    float_sum : whether the combination runs in float32 (``x-mathContext="float"``).
    """

    def __init__(self, model: d.MiningModel, scope: Scope, float_sum: bool):
        predicates: dict = {}
        segments = model.segments
        self._pos: Optional[dict] = None
        direct = direct_forest([seg.model for seg in segments], scope, predicates)
        if direct is not None:
            self.forest, self.leaf_values = direct
        else:
            roots = [lower_tree(seg.model, scope, predicates)[0] for seg in segments]
            self.forest = Forest(roots)
            # a tree's scores are float32 in its own float context; the sum is float32 in ours
            contexts = [seg.model.common.math_context for seg in segments]
            self.leaf_values = np.array([leaf_score(leaf, contexts[t])
                                         for leaf, t in zip(self.forest.leaves,
                                                            self.forest.leaf_trees)])
            self._pos = {id(leaf): i for i, leaf in enumerate(self.forest.leaves)}
        self.combiner = Combiner(model.method, [s.weight for s in segments],
                                 model.missing_prediction_treatment, model.missing_threshold,
                                 float_sum=float_sum)

    @staticmethod
    def takes(model: d.MiningModel) -> bool:
        """Whether ``model``'s segmentation is a sum or average of plain regression trees."""
        return model.method in _METHODS and all(_plain_segment(s) for s in model.segments)

    def batch(self, ctx: BatchContext) -> BatchResult:
        return BatchResult(self.combiner.values(self.forest.leaf_values(ctx, self.leaf_values)))

    def emit(self, gen: Codegen) -> ScalarResult:
        """Write the one-record code; the IR is dropped afterwards (the batch kernels need only
        the forest's arrays)."""
        bits = self.forest.record_bits
        fields = self.forest.emit_fields(gen, trees=not bits)
        if not self.combiner.float_sum and self.combiner.treatment != "skipSegment":
            result = self._emit_running_sum(gen, fields, bits)
        elif bits:
            result = self._emit_combined(gen, self.forest.emit_reached(gen, fields,
                                                                       self.leaf_values))
        else:
            result = self._emit_trees(gen, fields)
        self.forest.release()
        self._pos = None
        return result

    def _emit_trees(self, gen: Codegen, fields: dict) -> ScalarResult:
        names = []
        emitted: list[float] = []  # leaf values the generated code can actually reach

        def value_of(leaf) -> str:
            value = self.leaf_values[self._pos[id(leaf)]]
            emitted.append(value)
            return _literal(gen, value)

        for t in range(len(self.forest.roots)):
            names.append(gen.var("tv"))
            self.forest.emit_tree(gen, t, fields, names[-1], "=", value_of)
        # a null leaf reached only through a missing value of a field that cannot be missing
        # is never emitted, so the sum needs no missing check
        return self._combine(gen, f"[{', '.join(names)}]", np.asarray(emitted))

    def _emit_combined(self, gen: Codegen, reached: str) -> ScalarResult:
        if self._f32_sum(self.leaf_values):  # straight from the array, no list per record
            return ScalarResult(gen.assign(f"{gen.const(_f32_sum, 'f32sum')}({reached})", "s"))
        names = gen.assign(f"{gen.const(_missing_as_none, 'nones')}({reached})", "tv")
        return self._combine(gen, names, self.leaf_values)

    def _f32_sum(self, reachable: np.ndarray) -> bool:
        """Whether the result is the float32 running sum of leaves none of which is null."""
        return self.combiner.float_sum and self.combiner.method == "sum" and \
            not np.isnan(reachable).any()

    def _combine(self, gen: Codegen, values: str, reachable: np.ndarray) -> ScalarResult:
        """The combiner over ``values`` (a list of the trees' predictions, None = missing)."""
        if self._f32_sum(reachable):
            return ScalarResult(gen.assign(
                f"{gen.const(_f32_sum, 'f32sum')}({gen.const(np.array, 'array')}({values}))", "s"))
        c = self.combiner
        return ScalarResult(gen.assign(f"{gen.const(c.one_value, 'agg')}(None, {values})", "s"))

    def _emit_running_sum(self, gen: Codegen, fields: dict, bits: bool) -> ScalarResult:
        """Each tree adds its leaf (times its weight, rounded as JPMML rounds ``w * v``) to
        one running total, in document order; a null leaf adds NaN, so the total is missing
        when any tree's prediction is."""
        c = self.combiner
        if bits:
            values = self.leaf_values
            if c.weighted:
                values = values * np.asarray(c.weights, dtype=np.float64)[self.forest.leaf_trees]
            reached = self.forest.emit_reached(gen, fields, values)
            total = gen.assign(f"{gen.const(_sequential_sum, 'sum')}({reached})", "s")
            return self._total(gen, total, bool(np.isnan(values).any()))
        total = gen.var("s")
        nullable = False
        values, pos = self.leaf_values.tolist(), self._pos
        for t in range(len(self.forest.roots)):
            w = c.weights[t]

            def term(leaf, w=w) -> str:
                nonlocal nullable
                value = values[pos[id(leaf)]]
                nullable = nullable or value != value
                return gen.literal(w * value if c.weighted else value)

            self.forest.emit_tree(gen, t, fields, total, "=" if t == 0 else "+=", term)
        return self._total(gen, total, nullable)

    def _total(self, gen: Codegen, total: str, nullable: bool) -> ScalarResult:
        """The running total as the segmentation's result (missing if NaN, averaged...)."""
        c = self.combiner
        if nullable:
            gen.line(f"{total} = None if {total} != {total} else {total}")
        if c.method == "average":
            total = gen.assign(f"(None if {total} is None else {total} / {len(c.weights)})", "s")
        elif c.method == "weightedAverage":
            total = gen.assign(f"(None if {total} is None or {gen.const(c.weight_sum)} == 0 "
                               f"else {total} / {gen.const(c.weight_sum)})", "s")
        return ScalarResult(total)


def _sequential_sum(values: np.ndarray) -> float:
    """The sum of ``values`` added in order, as ``s += v`` would (``np.sum`` adds pairwise)."""
    return float(_accumulate(values)[-1])


def _f32_sum(values: np.ndarray) -> float:
    """:func:`_sequential_sum` in float32 (every value is a float32 already)."""
    return float(_accumulate(values, dtype=np.float32)[-1])


_accumulate = np.add.accumulate


def _missing_as_none(values: np.ndarray) -> list:
    return [None if v != v else v for v in values.tolist()]


def _literal(gen: Codegen, x: float) -> str:
    if x != x:
        return "None"
    return repr(float(x)) if np.isfinite(x) else gen.const(float(x))
