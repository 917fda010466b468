"""Decision trees as compact PMML, and the ensembles built from them.

A tree arrives as parallel arrays (treelite's layout): ``left``/``right`` child indices (-1 at a
leaf), the split ``feature`` and a ``route`` telling, for a value of that feature, whether it
goes left (a NaN value stands for a missing one).  Each library describes its own comparison
(``x <= t`` in double, float32 ``x <= t``, float32 ``x < t``, category sets) through a
:class:`Split`.

The markup is the compact form JPMML writes: ``missingValueStrategy="none"`` and
``noTrueChildStrategy="returnLastPrediction"``.  A binary split keeps one explicit child with
a predicate; the other side's children are hoisted into the parent, whose own score is the
prediction when no child matches.  The explicit side is chosen so that a missing value makes
its predicate UNKNOWN (treated as false under ``"none"``) exactly when the library sends
missing values the other way, which encodes NaN routing without ``defaultChild`` ids.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from pmmlserve.exceptions import ExportError
from pmmlserve.export._encoder import Encoder
from pmmlserve.export._features import Categorical, Continuous, Feature
from pmmlserve.export._model import decision_output, mining_schema
from pmmlserve.export._writer import element, fmt_double, fmt_float, fmt_value, value_type

__all__ = ["Split", "NumericSplit", "CategorySplit", "Tree", "tree_model", "tree_sum"]


def _float32_floor(t: float) -> np.float32:
    """The largest float32 <= ``t``: ``float32(x) <= t`` iff ``float32(x) <= floor32(t)``."""
    f = np.float32(t)
    if float(f) > t:
        f = np.nextafter(f, np.float32(-np.inf))
    return f


@dataclass(frozen=True)
class NumericSplit:
    """``x <= t`` (``strict``: ``x < t``), optionally after rounding ``x`` to float32.

    ``missing_left`` sends a missing value left; None means the library converts a missing
    value to ``nan_as`` first (LightGBM without missing-value support).
    """

    threshold: float
    missing_left: bool
    float32: bool = False
    strict: bool = False

    def threshold_text(self) -> str:
        if not self.float32:
            return fmt_double(self.threshold)
        t = np.float32(self.threshold) if self.strict else _float32_floor(self.threshold)
        return fmt_float(t)

    def goes_left(self, v: float) -> bool:
        if math.isnan(v):
            return self.missing_left
        if self.float32:
            x = np.float32(v)
            t = np.float32(self.threshold) if self.strict else _float32_floor(self.threshold)
            return bool(x < t) if self.strict else bool(x <= t)
        return v < self.threshold if self.strict else v <= self.threshold


@dataclass(frozen=True)
class CategorySplit:
    """``int(x)`` in ``left`` goes left; ``known`` values outside it go right; anything else
    (NaN, negative or unseen codes) goes left iff ``other_left``."""

    left: frozenset
    known: frozenset
    other_left: bool

    def goes_left(self, v: float) -> bool:
        if math.isnan(v) or v < 0:
            return self.other_left
        code = int(v)
        if code in self.left:
            return True
        return False if code in self.known else self.other_left


Split = Any  # NumericSplit | CategorySplit


@dataclass(frozen=True)
class Tree:
    """A binary tree as parallel arrays.

    ``values[node]`` is the leaf payload: a score (regression) or class probabilities.
    ``splits[node]`` is the Split of an internal node (None at a leaf).
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    splits: Sequence[Split | None]
    values: np.ndarray


def _quote(text: str) -> str:
    """An Array item: quoted (with escapes) only when it holds a blank, quote or backslash."""
    if text and not any(ch in text for ch in ' \t\n"\\'):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _array(type_: str, items: list[str]):
    text = " ".join(_quote(i) if type_ == "string" else i for i in items)
    return element("Array", {"type": type_, "n": str(len(items))}, text=text)


class _Predicates:
    """Builds the predicate of one side of a split on one feature."""

    def __init__(self, features: list[Feature], encoder: Encoder):
        self.features = features
        self.encoder = encoder

    def explicit(self, feature: Feature, split: Split) -> tuple[bool, Any]:
        """(side, predicate): which side (True = left) gets the explicit child, and its
        predicate.  The other side must be exactly where the predicate is false or UNKNOWN."""
        if isinstance(feature, Continuous):
            return self._numeric(feature, split)
        return self._categorical(feature, split)

    def _numeric(self, feature: Continuous, split: Split):
        if isinstance(split, CategorySplit):
            raise ExportError("a categorical split on a numeric feature cannot be exported")
        field = (self.encoder.float_field(feature) if split.float32
                 else self.encoder.numeric_field(feature))
        # the explicit side is the one a missing value does not take
        left = not split.missing_left
        if math.isinf(split.threshold):
            # "x <= +inf" only separates missing values (HistGradientBoosting writes it)
            present_left = split.threshold > 0
            if present_left == split.missing_left:  # everything goes one way
                return not present_left, element("False")
            return present_left, element(
                "SimplePredicate", {"field": feature.field, "operator": "isNotMissing"})
        if left:
            op = "lessThan" if split.strict else "lessOrEqual"
        else:
            op = "greaterOrEqual" if split.strict else "greaterThan"
        return left, element("SimplePredicate", {"field": field, "operator": op,
                                                 "value": split.threshold_text()})

    def _categorical(self, feature: Categorical, split: Split):
        categories = feature.categories
        left = frozenset(c for c, v in feature.mapping if split.goes_left(v))
        missing_left = split.goes_left(feature.missing)
        unknown_left = None if feature.unknown is None else split.goes_left(feature.unknown)
        options = []
        for side in (True, False):
            members = left if side else frozenset(categories) - left
            missing = missing_left == side
            unknown = unknown_left is not None and unknown_left == side
            # rank: avoid compound predicates first, then set negation, then long sets
            options.append(((missing, unknown, len(members)), side, members, missing, unknown))
        _, side, members, missing, unknown = min(options, key=lambda o: o[0])
        pred = self._set_predicate(feature.field, categories, members, unknown)
        if missing:
            pred = element("CompoundPredicate", {"booleanOperator": "or"},
                           element("SimplePredicate", {"field": feature.field,
                                                       "operator": "isMissing"}),
                           pred)
        return side, pred

    def _set_predicate(self, field: str, categories, members, unknown: bool):
        """True for ``members`` (and for unseen values when ``unknown``); UNKNOWN if missing."""
        ordered = [c for c in categories if c in members]
        if unknown:
            ordered = [c for c in categories if c not in members]
            op, single = "isNotIn", "notEqual"
        else:
            op, single = "isIn", "equal"
        if not ordered:
            # isNotIn of nothing: any present value; isIn of nothing: never
            if unknown:
                return element("SimplePredicate", {"field": field, "operator": "isNotMissing"})
            return element("False")
        if len(ordered) == 1:
            return element("SimplePredicate", {"field": field, "operator": single,
                                               "value": fmt_value(ordered[0])})
        kind = {"string": "string", "integer": "int"}.get(value_type(categories), "real")
        return element("SimpleSetPredicate", {"field": field, "booleanOperator": op},
                       _array(kind, [fmt_value(c) for c in ordered]))


def _node(predicate, payload_attrs: dict, payload_children: list, children: list):
    return element("Node", payload_attrs, predicate, *payload_children, *children)


def encode_tree(tree: Tree, features: list[Feature], encoder: Encoder,
                payload: Callable[[np.ndarray], tuple[dict, list]]):
    """The root ``Node`` of ``tree`` in compact form; ``payload(values)`` gives a leaf's
    attributes and child elements (``score``, ``ScoreDistribution``)."""
    predicates = _Predicates(features, encoder)

    def branch(node: int) -> tuple[list, int]:
        """The children a node contributes and the leaf whose payload applies otherwise."""
        kids = []
        while tree.left[node] >= 0:
            feature = features[tree.feature[node]]
            side, pred = predicates.explicit(feature, tree.splits[node])
            explicit = tree.left[node] if side else tree.right[node]
            other = tree.right[node] if side else tree.left[node]
            kids.append(build(explicit, pred))
            node = other
        return kids, node

    def build(node: int, predicate):
        kids, last = branch(node)
        attrs, extra = payload(tree.values[last])
        return _node(predicate, attrs, extra, kids)

    return build(0, element("True"))


def regression_payload(values: np.ndarray) -> tuple[dict, list]:
    # float32 leaf values (XGBoost) are written in their short float32 spelling
    if values.dtype == np.float32:
        return {"score": fmt_float(values[0])}, []
    return {"score": fmt_double(values[0])}, []


def classification_payload(classes: Sequence[Any]):
    labels = [fmt_value(c) for c in classes]

    def payload(values: np.ndarray) -> tuple[dict, list]:
        best = int(np.argmax(values))
        dist = [element("ScoreDistribution", {"value": label, "recordCount": fmt_double(v)})
                for label, v in zip(labels, values)]
        return {"score": labels[best]}, dist

    return payload


def tree_model(tree: Tree, features: list[Feature], encoder: Encoder, *,
               classes: Sequence[Any] | None = None, output=None, algorithm=None):
    """A TreeModel; with ``classes``, leaves carry class probabilities."""
    payload = regression_payload if classes is None else classification_payload(classes)
    return element(
        "TreeModel",
        {"functionName": "regression" if classes is None else "classification",
         "algorithmName": algorithm,
         "missingValueStrategy": "none",
         "noTrueChildStrategy": "returnLastPrediction"},
        mining_schema(),
        output,
        encode_tree(tree, features, encoder, payload),
    )


def segmentation(method: str, models: Sequence[Any]):
    return element(
        "Segmentation",
        {"multipleModelMethod": method},
        *(element("Segment", {"id": str(i + 1)}, element("True"), m)
          for i, m in enumerate(models)),
    )


def tree_sum(trees: Sequence[Tree], features: list[Feature], encoder: Encoder, *,
             output_name: str | None = None, factor: float = 1.0, constant: float = 0.0,
             algorithm: str | None = None, target: str | None = None):
    """``constant + factor * sum(tree scores)`` as a regression MiningModel.

    With ``output_name`` the sum is an intermediate output for a later chain segment; with
    ``target`` it is the document's prediction (then ``Target`` must name the field).
    """
    rescale = {"field": target}
    if factor != 1.0:
        rescale["rescaleFactor"] = fmt_double(factor)
    if constant != 0.0:
        rescale["rescaleConstant"] = fmt_double(constant)
    return element(
        "MiningModel",
        {"functionName": "regression", "algorithmName": algorithm},
        mining_schema(),
        decision_output(output_name) if output_name else None,
        element("Targets", None, element("Target", rescale)) if len(rescale) > 1 else None,
        segmentation("sum", [tree_model(t, features, encoder) for t in trees]),
    )
