"""TreeModel: a lowered tree run by the forest kernel, with its leaf payloads."""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from pmmlserve.exceptions import InvalidMarkupError
from pmmlserve.pmml import _document as d
from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._forest import Forest
from pmmlserve.scoring._results import BatchResult, CompiledModel, ScalarResult
from pmmlserve.scoring._scope import BatchContext, Scope
from pmmlserve.scoring._treeir import Leaf, lower_tree
from pmmlserve.scoring._values import f32

__all__ = ["TreeKernel", "LabelSpec", "leaf_score"]


class LabelSpec:
    """How a model's class labels are spelled: parse document text into label keys."""

    def __init__(self, parse: Callable[[str], Any], declared: tuple = ()):
        self.parse = parse
        self.declared = declared


def leaf_score(leaf: Leaf, math_context: str) -> float:
    """The numeric score of a regression leaf (NaN for a null prediction)."""
    node = leaf.node
    if node is None or node.score is None:
        return np.nan
    try:
        x = float(node.score)
    except ValueError:
        raise InvalidMarkupError(f"score={node.score!r} is not a number", element="Node",
                                 line=node.line) from None
    return f32(x) if math_context == "float" else x


def _distribution(node: d.TreeNode, labels: tuple, parse) -> list[float]:
    dist = {parse(s.value): s for s in node.distributions}
    if any(s.probability is not None for s in node.distributions):
        return [dist[l].probability if l in dist and dist[l].probability is not None else 0.0
                for l in labels]
    total = node.record_count if node.record_count else sum(s.record_count
                                                             for s in node.distributions)
    if not total:
        return [np.nan] * len(labels)
    return [dist[l].record_count / total if l in dist else 0.0 for l in labels]


def _confidences(node: d.TreeNode, labels: tuple, parse, probabilities) -> list[float]:
    """ScoreDistribution@confidence per label (the probability where it is absent)."""
    given = {parse(s.value): s.confidence for s in node.distributions}
    return [given[l] if given.get(l) is not None else p for l, p in zip(labels, probabilities)]


def _none_rows(matrix: np.ndarray) -> list:
    return [tuple(None if np.isnan(x) else float(x) for x in row) for row in matrix]


class TreeKernel(CompiledModel):
    def __init__(self, model: d.TreeModel, scope: Scope, labels: Optional[LabelSpec]):
        self.function = model.common.function_name
        self.math_context = model.common.math_context
        # each use of a defaultChild multiplies the confidence by the penalty
        self.penalty = (model.missing_value_penalty
                        if model.missing_value_strategy == "defaultChild" else 1.0)
        self.conf = None
        root = lower_tree(model, scope)[0]
        self.forest = Forest([root])
        leaves = self.forest.leaves
        self._pos = {id(leaf): i for i, leaf in enumerate(leaves)}
        self.entity_ids = np.array([leaf.entity_id for leaf in leaves], dtype=object)
        if self.function == "regression":
            self.labels = None
            self.values = np.array([leaf_score(leaf, self.math_context) for leaf in leaves])
            self.probs = None
        else:
            parse = labels.parse
            found = list(labels.declared)
            for leaf in leaves:
                if leaf.node is not None:
                    for s in leaf.node.distributions:
                        if parse(s.value) not in found:
                            found.append(parse(s.value))
            self.labels = tuple(found)
            self.values = np.array([None if leaf.node is None or leaf.node.score is None
                                    else parse(leaf.node.score) for leaf in leaves], dtype=object)
            self.probs = np.array([
                _distribution(leaf.node, self.labels, parse) if leaf.node is not None
                and leaf.node.distributions else [np.nan] * len(self.labels)
                for leaf in leaves
            ], dtype=np.float64).reshape(len(leaves), len(self.labels))
            self.conf = np.array([
                _confidences(leaf.node, self.labels, parse, row) if leaf.node is not None
                else [np.nan] * len(self.labels)
                for leaf, row in zip(leaves, self.probs)
            ], dtype=np.float64).reshape(len(leaves), len(self.labels))
            # a leaf with a distribution but no score predicts its most probable class
            for i, leaf in enumerate(leaves):
                if self.values[i] is None and leaf.node is not None and leaf.node.distributions:
                    row = self.probs[i]
                    if not np.isnan(row).all():
                        self.values[i] = self.labels[int(np.nanargmax(row))]

    def batch(self, ctx: BatchContext) -> BatchResult:
        counted = self.penalty != 1.0 and self.conf is not None
        li = self.forest.leaf_indices(ctx, count_unknown=counted)
        li, steps = (li[0][:, 0], li[1][:, 0]) if counted else (li[:, 0], None)
        probs = conf = None
        if self.probs is not None:
            probs = {label: self.probs[li, j] for j, label in enumerate(self.labels)}
            scale = self.penalty ** steps if counted else 1.0
            conf = {label: self.conf[li, j] * scale for j, label in enumerate(self.labels)}
        return BatchResult(self.values[li], probs, self.entity_ids[li], conf)

    def emit(self, gen: Codegen) -> ScalarResult:
        result = self._emit(gen)
        # the code is written: the batch path needs only the forest's arrays
        self.forest.release()
        self._pos = None
        return result

    def _emit(self, gen: Codegen) -> ScalarResult:
        fields = self.forest.emit_fields(gen)
        leaf = gen.var("leaf")
        counter = None
        if self.penalty != 1.0 and self.conf is not None:
            counter = gen.var("steps")
            gen.line(f"{counter} = 0")
        self.forest.emit_tree(gen, 0, fields, leaf, "=", lambda lf: str(self._pos[id(lf)]),
                              counter)
        values = gen.const([None if isinstance(v, float) and v != v else v
                            for v in self.values.tolist()], "vals")
        value = gen.assign(f"{values}[{leaf}]", "y")
        entity = gen.assign(f"{gen.const(self.entity_ids.tolist(), 'ids')}[{leaf}]", "eid")
        probs = None
        if self.probs is not None:
            rows = gen.const([tuple(None if np.isnan(p) else float(p) for p in row)
                              for row in self.probs], "dist")
            r = gen.assign(f"{rows}[{leaf}]", "pr")
            probs = {label: gen.assign(f"{r}[{j}]", "p") for j, label in enumerate(self.labels)}
            crow = gen.assign(f"{gen.const(_none_rows(self.conf), 'conf')}[{leaf}]", "cr")
            scale = f" * {gen.const(self.penalty)} ** {counter}" if counter else ""
            conf = {label: gen.assign(f"(None if {crow}[{j}] is None else {crow}[{j}]{scale})",
                                      "cf") for j, label in enumerate(self.labels)}
            return ScalarResult(value, probs, entity, conf)
        return ScalarResult(value, probs, entity)
