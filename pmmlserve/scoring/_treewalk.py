"""Classification trees whose missing value strategy follows several branches at once.

``weightedConfidence``: where a child's predicate is UNKNOWN, every child that is not FALSE is
followed, weighted by its share of the parent's records, and the leaves' confidences are
combined with those weights.  ``aggregateNodes``: the record counts of every leaf reached
through non-FALSE predicates are summed per category.  (JPMML implements neither; these follow
the PMML 4.4 TreeModel specification.)

The batch path walks the tree once, node by node, with a weight column over all rows; the
single-record path walks it in Python over the record's predicate values.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from pmmlserve.exceptions import UnsupportedMarkupError
from pmmlserve.pmml import _document as d
from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._predicates import compile_predicate
from pmmlserve.scoring._results import BatchResult, CompiledModel, ScalarResult
from pmmlserve.scoring._scope import BatchContext, Scope

__all__ = ["WalkingTreeKernel", "WALKING_STRATEGIES"]

WALKING_STRATEGIES = ("weightedConfidence", "aggregateNodes")


class _Node:
    __slots__ = ("children", "ratios", "payload", "predicates")

    def __init__(self):
        self.children: list[_Node] = []
        self.predicates: list[int] = []   # index into the kernel's predicate list
        self.ratios: list[float] = []     # child recordCount / this node's recordCount
        self.payload: Optional[np.ndarray] = None  # per-label confidences or record counts


class WalkingTreeKernel(CompiledModel):
    def __init__(self, model: d.TreeModel, scope: Scope, labels) -> None:
        common = model.common
        if common.function_name != "classification":
            raise UnsupportedMarkupError(
                f"missingValueStrategy={model.missing_value_strategy!r} applies to "
                "classification trees", element="TreeModel", line=common.line)
        self.function = "classification"
        self.math_context = common.math_context
        self.aggregate = model.missing_value_strategy == "aggregateNodes"
        self.last_prediction = model.no_true_child_strategy == "returnLastPrediction"
        found = list(labels.declared)
        self._parse = labels.parse
        root = model.nodes()
        self._collect_labels(root, found)
        self.labels = tuple(found)
        self.predicates = []
        self.root = self._build(root, scope)

    def _collect_labels(self, node: d.TreeNode, found: list) -> None:
        for s in node.distributions:
            if self._parse(s.value) not in found:
                found.append(self._parse(s.value))
        for child in node.children:
            self._collect_labels(child, found)

    def _payload(self, node: d.TreeNode) -> Optional[np.ndarray]:
        if not node.distributions:
            return None
        by_label = {self._parse(s.value): s for s in node.distributions}
        if self.aggregate:
            return np.array([by_label[l].record_count if l in by_label else 0.0
                             for l in self.labels])
        total = sum(s.record_count for s in node.distributions) or 1.0
        return np.array([
            (by_label[l].confidence if by_label[l].confidence is not None
             else by_label[l].record_count / total) if l in by_label else 0.0
            for l in self.labels])

    def _build(self, node: d.TreeNode, scope: Scope) -> _Node:
        out = _Node()
        out.payload = self._payload(node)
        for child in node.children:
            self.predicates.append(compile_predicate(child.predicate, scope))
            out.predicates.append(len(self.predicates) - 1)
            share = (child.record_count / node.record_count
                     if child.record_count is not None and node.record_count else 1.0)
            out.ratios.append(1.0 if self.aggregate else share)
            out.children.append(self._build(child, scope))
        return out

    # ------------------------------------------------------------------ walk
    def _walk(self, node: _Node, w, preds, acc, xp) -> None:
        """Add ``w`` times each reached leaf's payload into ``acc`` (xp: numpy or scalars)."""
        if not node.children:
            if node.payload is not None:
                acc += xp.outer(w, node.payload) if xp is np else w * node.payload
            return
        values = [preds[i] for i in node.predicates]
        if xp is np:
            stack = np.stack(values)
            unknown = (stack == -1).any(axis=0)
            is_true = stack == 1
            first = np.where(is_true.any(axis=0), np.argmax(is_true, axis=0), -1)
            for k, child in enumerate(node.children):
                wk = np.where(~unknown & (first == k), w, 0.0)
                wk = wk + np.where(unknown & (stack[k] != 0), w * node.ratios[k], 0.0)
                if wk.any():
                    self._walk(child, wk, preds, acc, xp)
            rest = np.where(~unknown & (first < 0), w, 0.0)
            if self.last_prediction and node.payload is not None and rest.any():
                acc += np.outer(rest, node.payload)
            return
        if any(v is None for v in values):
            for k, child in enumerate(node.children):
                if values[k] is not False:
                    self._walk(child, w * node.ratios[k], preds, acc, xp)
            return
        for k, child in enumerate(node.children):
            if values[k]:
                self._walk(child, w, preds, acc, xp)
                return
        if self.last_prediction and node.payload is not None:
            acc += w * node.payload

    def _finish(self, acc: np.ndarray) -> tuple[np.ndarray, dict]:
        total = acc.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            probs = acc / total[:, None] if self.aggregate else acc
        probs = np.where((total > 0)[:, None], probs, np.nan)
        labels = np.array(self.labels, dtype=object)
        value = labels[np.argmax(np.where(np.isnan(probs), -np.inf, probs), axis=1)]
        value[total <= 0] = None
        return value, {label: probs[:, j] for j, label in enumerate(self.labels)}

    def batch(self, ctx: BatchContext) -> BatchResult:
        preds = [p.batch(ctx) for p in self.predicates]
        acc = np.zeros((ctx.n, len(self.labels)))
        self._walk(self.root, np.ones(ctx.n), preds, acc, np)
        value, probs = self._finish(acc)
        if self.aggregate:
            return BatchResult(value, probs)
        return BatchResult(value, probs, confidence=probs)

    def _scalar(self, *preds) -> tuple[Any, dict]:
        acc = np.zeros(len(self.labels))
        self._walk(self.root, 1.0, preds, acc, None)
        value, probs = self._finish(acc[None, :])
        return value[0], {k: (None if np.isnan(v[0]) else float(v[0])) for k, v in probs.items()}

    def emit(self, gen: Codegen) -> ScalarResult:
        preds = [gen.assign(p.emit(gen), "wp") for p in self.predicates]
        out = gen.assign(f"{gen.const(self._scalar, 'walk')}({', '.join(preds)})", "wk")
        value = gen.assign(f"{out}[0]", "lbl")
        probs = {label: gen.assign(f"{out}[1][{gen.const(label)}]", "p") for label in self.labels}
        return ScalarResult(value, probs, confidence=None if self.aggregate else dict(probs))
