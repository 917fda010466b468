"""Converter for lightgbm.LGBMClassifier / LGBMRegressor (read from ``booster_.dump_model()``).

LightGBM predicts in double: ``x <= threshold`` goes left.  A missing value follows the node's
default direction when the split learned one (``missing_type="NaN"``); otherwise LightGBM
replaces it by 0 before comparing.  A categorical split sends the listed category codes left
and everything else (other codes, negative codes, NaN) right.  Pandas categorical columns are
coded by their position in the categories LightGBM saw in training (``pandas_categorical``);
an unseen category becomes NaN, so it goes right too.
"""

from __future__ import annotations

import math

import numpy as np

from pmmlserve.exceptions import ExportError
from pmmlserve.export._features import Categorical, Continuous
from pmmlserve.export._model import Exported, boosted_model, check_classes, decision_names
from pmmlserve.export._tree import CategorySplit, NumericSplit, Tree, tree_sum

__all__ = ["lightgbm"]

_IDENTITY = {"regression", "regression_l1", "huber", "fair", "quantile", "mape"}
_LOG = {"poisson", "gamma", "tweedie"}


def _categorical_inputs(dump: dict, features, encoder):
    """Turn the input columns LightGBM treats as categorical into lookups of its codes.

    A pandas categorical column is coded by position in the categories LightGBM saw; a numeric
    column declared categorical holds the codes themselves.  Anything else becomes NaN, which
    every categorical split sends right, as LightGBM does with unseen codes.
    """
    pandas_categories = list(dump.get("pandas_categorical") or [])
    infos = dump.get("feature_infos", {})
    out = []
    for name, feature in zip(dump["feature_names"], features):
        codes = infos.get(name, {}).get("values")
        if not codes or isinstance(feature, Categorical):
            out.append(feature)  # numeric, or already a lookup (an OrdinalEncoder upstream)
            continue
        if not isinstance(feature, Continuous) or feature.field not in encoder.columns:
            raise ExportError(f"LightGBM categorical feature {name!r} must be an input column")
        if pandas_categories:
            cats = list(pandas_categories.pop(0))
            mapping = tuple((c, float(i)) for i, c in enumerate(cats))
        else:
            cats = sorted(int(c) for c in codes if int(c) >= 0)
            mapping = tuple((c, float(c)) for c in cats)
        encoder.declare_categorical(feature.field, cats, accept_unknown=True)
        out.append(Categorical(feature.field, mapping, math.nan, math.nan))
    return out


def _split(node: dict):
    if node["decision_type"] == "==":
        left = frozenset(int(c) for c in str(node["threshold"]).split("||"))
        return CategorySplit(left, frozenset(), other_left=False)
    if node["decision_type"] != "<=":
        raise ExportError(f"LightGBM decision type {node['decision_type']!r} is not supported")
    threshold = float(node["threshold"])
    kind = node.get("missing_type", "None")
    if kind == "NaN":
        return NumericSplit(threshold, bool(node["default_left"]))
    if kind == "None":  # LightGBM compares 0 instead of a missing value
        return NumericSplit(threshold, 0.0 <= threshold)
    raise ExportError("LightGBM zero_as_missing (missing_type 'Zero') is not supported")


def _to_tree(structure: dict) -> Tree:
    """Flatten LightGBM's nested tree dump into parallel arrays (root first)."""
    left, right, feature, splits, values = [], [], [], [], []
    stack = [(structure, None, None)]
    while stack:
        node, parent, is_left = stack.pop()
        index = len(left)
        if parent is not None:
            (left if is_left else right)[parent] = index
        left.append(-1)
        right.append(-1)
        if "leaf_value" in node or "split_feature" not in node:
            if "leaf_coeff" in node:
                raise ExportError("LightGBM linear trees (linear_tree=True) are not supported")
            feature.append(-1)
            splits.append(None)
            values.append(float(node.get("leaf_value", 0.0)))
            continue
        feature.append(int(node["split_feature"]))
        splits.append(_split(node))
        values.append(math.nan)
        stack.append((node["right_child"], index, False))
        stack.append((node["left_child"], index, True))
    return Tree(np.array(left), np.array(right), np.array(feature), splits,
                np.array(values, dtype=np.float64).reshape(-1, 1))


def lightgbm(est, features, encoder, target) -> Exported:
    dump = est.booster_.dump_model()
    if dump.get("average_output"):
        raise ExportError("LightGBM boosting_type='rf' is not supported")
    objective, *params = dump["objective"].split()
    options = dict(p.split(":", 1) for p in params if ":" in p)
    classifier = objective in {"binary", "multiclass"}
    if not classifier and objective not in _IDENTITY | _LOG:
        raise ExportError(f"LightGBM objective {objective!r} is not supported")
    features = _categorical_inputs(dump, list(features), encoder)
    n_raw = int(dump["num_tree_per_iteration"])
    trees = dump["tree_info"]
    best = getattr(est, "best_iteration_", None)
    if best:
        trees = trees[:best * n_raw]
    classes = check_classes(est.classes_) if classifier else None
    names = decision_names(classes, n_raw)
    chained = classifier or objective in _LOG
    sums = [
        tree_sum([_to_tree(t["tree_structure"]) for t in trees[k::n_raw]], features, encoder,
                 output_name=names[k] if chained else None, target=None if chained else target)
        for k in range(n_raw)
    ]
    scale = float(options.get("sigmoid", 1.0))
    return boosted_model(est, sums, target, classes=classes,
                         log_link=objective in _LOG, coefficient=scale)
