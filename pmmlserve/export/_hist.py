"""Converter for HistGradientBoostingClassifier/Regressor.

Splits compare the double input with a double threshold; NaN goes where the tree's
``missing_go_to_left`` says.  Categorical features are first ordinal-encoded by the model's own
preprocessor (we probe it like any OrdinalEncoder), then split on category sets; a category
the model did not see in training follows the missing-value direction, as in scikit-learn.
"""

from __future__ import annotations

import math

import numpy as np

from pmmlserve.exceptions import ExportError
from pmmlserve.export._features import Categorical, Feature
from pmmlserve.export._model import boosted_model, check_classes, decision_names
from pmmlserve.export._preprocessing import ordinal_encoder
from pmmlserve.export._private import HistTree, hist_internals
from pmmlserve.export._tree import CategorySplit, NumericSplit, Tree, tree_sum

__all__ = ["hist_gradient_boosting"]

# HistGradientBoostingRegressor losses whose prediction is exp(raw score)
_LOG_LINK = {"poisson", "gamma"}


def _bitset_members(bitset: np.ndarray) -> frozenset:
    words = np.asarray(bitset, dtype=np.uint32)
    return frozenset(
        32 * w + b for w in range(words.size) for b in range(32) if (int(words[w]) >> b) & 1
    )


def _codes(feature: Feature) -> frozenset:
    if isinstance(feature, Categorical):
        return frozenset(int(v) for _, v in feature.mapping if not math.isnan(v))
    return frozenset()


def _to_tree(hist: HistTree, features: list[Feature]) -> Tree:
    nodes = hist.nodes
    leaf = nodes["is_leaf"].astype(bool)
    splits = []
    for node in nodes:
        if node["is_leaf"]:
            splits.append(None)
        elif node["is_categorical"]:
            splits.append(CategorySplit(
                _bitset_members(hist.left_categories[node["bitset_idx"]]),
                _codes(features[node["feature_idx"]]),
                bool(node["missing_go_to_left"]),
            ))
        else:
            splits.append(NumericSplit(float(node["num_threshold"]),
                                       bool(node["missing_go_to_left"])))
    left = np.where(leaf, -1, nodes["left"].astype(np.int64))
    right = np.where(leaf, -1, nodes["right"].astype(np.int64))
    values = nodes["value"].astype(np.float64).reshape(-1, 1)
    return Tree(left, right, nodes["feature_idx"].astype(np.int64), splits, values)


def _recode(feature: Feature, categories) -> Categorical:
    """``feature`` (already a lookup) followed by the model's internal OrdinalEncoder."""
    position = {float(c): float(i) for i, c in enumerate(categories) if not math.isnan(c)}

    def code(v):
        return position.get(v, math.nan) if v is not None else math.nan

    return Categorical(
        feature.field,
        tuple((c, code(v)) for c, v in feature.mapping),
        code(feature.missing),
        None if feature.unknown is None else code(feature.unknown),
    )


def _preprocess(preprocessor, features: list[Feature], encoder) -> list[Feature]:
    """Apply the model's categorical preprocessor: encoded categorical columns first."""
    if preprocessor is None:
        return features
    out: list[Feature] = []
    for name, step, mask in preprocessor.transformers_:
        selected = [f for f, keep in zip(features, mask) if keep]
        if name != "encoder" or not selected:
            out += selected  # the "numerical" part only validates its input
        elif all(isinstance(f, Categorical) for f in selected):
            # already encoded upstream: compose the two lookups
            out += [_recode(f, cats) for f, cats in zip(selected, step.categories_)]
        elif not any(isinstance(f, Categorical) for f in selected):
            out += ordinal_encoder(step, selected, encoder)
        else:
            raise ExportError("mixing raw and encoded categorical columns is not supported")
    return out


def hist_gradient_boosting(est, features, encoder, target):
    internals = hist_internals(est)
    features = _preprocess(internals.preprocessor, list(features), encoder)
    classes = check_classes(est.classes_) if hasattr(est, "classes_") else None
    loss = getattr(est, "loss", None)
    if classes is None and loss not in {"squared_error", "absolute_error", "quantile",
                                        *_LOG_LINK}:
        raise ExportError(f"HistGradientBoostingRegressor(loss={loss!r}) is not supported")
    n_raw = internals.baseline.size
    names = decision_names(classes, n_raw)
    log_link = classes is None and loss in _LOG_LINK
    chained = classes is not None or log_link
    sums = [
        tree_sum([_to_tree(iteration[k], features) for iteration in internals.trees],
                 features, encoder, constant=float(internals.baseline[k]),
                 output_name=names[k] if chained else None,
                 target=None if chained else target)
        for k in range(n_raw)
    ]
    return boosted_model(est, sums, target, classes=classes, log_link=log_link)
