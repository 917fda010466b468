"""Converter for xgboost.XGBClassifier / XGBRegressor (read from the booster's JSON dump).

XGBoost rounds inputs to float32 and sends ``x < threshold`` left, a missing value along the
node's default direction, and categories listed at a categorical split right.  Splits read a
``dataType="float"`` copy of their input, so routing is exact.

XGBoost also *adds* leaf values in float32, one tree after the other, starting from the base
margin.  JPMML-XGBoost reproduces that with ``x-mathContext="float"``, which is not in the PMML
4.4 schema; a double sum drifts from XGBoost's by many float32 ULPs over a few hundred trees.
So each tree is a segment of a model chain whose ``transformedValue`` output adds the tree's
score to the running sum as a ``dataType="float"`` field: a double addition of two floats
rounded to float is exactly float32 addition, so the margin is bit-exact in standard PMML.
"""

from __future__ import annotations

import json
import math

import numpy as np

from pmmlserve.exceptions import ExportError
from pmmlserve.export._features import Categorical, Continuous
from pmmlserve.export._model import (
    FLOAT_PRECISION,
    Exported,
    chain,
    check_classes,
    link_model,
    target_field,
)
from pmmlserve.export._registry import class_path
from pmmlserve.export._tree import CategorySplit, NumericSplit, Tree, tree_model
from pmmlserve.export._writer import element, fmt_float

__all__ = ["xgboost"]

_IDENTITY = {"reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror",
             "reg:quantileerror"}
_LOG = {"count:poisson", "reg:gamma", "reg:tweedie"}
_CLASSIFIERS = {"binary:logistic", "multi:softprob", "multi:softmax"}


def _base_margin(objective: str, base_score: np.ndarray) -> np.ndarray:
    """The raw score before any tree (XGBoost's ``ProbToMargin`` of ``base_score``)."""
    base = base_score.astype(np.float32)
    if objective == "binary:logistic":
        one = np.float32(1.0)
        return -np.log(one / base - one)
    if objective in _LOG:
        return np.log(base)
    return base


def _parse_base_score(text: str) -> np.ndarray:
    text = text.strip()
    if text.startswith("["):
        return np.array([float(v) for v in text.strip("[]").split(",")], dtype=np.float32)
    return np.array([float(text)], dtype=np.float32)


def _categorical_inputs(est, features, encoder):
    """Turn inputs XGBoost treats as categorical into category lookups (codes in its order)."""
    booster = est.get_booster()
    types = booster.feature_types or []
    if "c" not in types:
        return features
    categories = dict(booster.get_categories(export_to_arrow=True).to_arrow())
    out = []
    for name, kind, feature in zip(booster.feature_names, types, features):
        if kind != "c":
            out.append(feature)
            continue
        values = categories.get(name)
        if values is None or not isinstance(feature, Continuous):
            raise ExportError(f"XGBoost categorical feature {name!r} must be an input column")
        cats = values.to_pylist()
        encoder.declare_categorical(feature.field, cats, accept_unknown=True)
        out.append(Categorical(feature.field, tuple((c, float(i)) for i, c in enumerate(cats)),
                               math.nan, math.nan))
    return out


def _to_tree(node: dict, features) -> Tree:
    left = np.asarray(node["left_children"], dtype=np.int64)
    right = np.asarray(node["right_children"], dtype=np.int64)
    feature = np.asarray(node["split_indices"], dtype=np.int64)
    conditions = np.asarray(node["split_conditions"], dtype=np.float32)
    default_left = node["default_left"]
    kinds = node.get("split_type", [0] * len(left))
    right_sets = {}
    cats = node.get("categories", [])
    for nid, start, size in zip(node.get("categories_nodes", []),
                                node.get("categories_segments", []),
                                node.get("categories_sizes", [])):
        right_sets[nid] = frozenset(int(c) for c in cats[start:start + size])
    splits = []
    for i in range(len(left)):
        if left[i] < 0:
            splits.append(None)
        elif kinds[i] == 1:
            f = features[feature[i]]
            known = frozenset(int(v) for _, v in getattr(f, "mapping", ()) if not math.isnan(v))
            splits.append(CategorySplit(known - right_sets.get(i, frozenset()), known,
                                        bool(default_left[i])))
        else:
            splits.append(NumericSplit(float(conditions[i]), bool(default_left[i]),
                                       float32=True, strict=True))
    return Tree(left, right, feature, splits, conditions.reshape(-1, 1))


def xgboost(est, features, encoder, target):
    if not (est.missing is None or (isinstance(est.missing, float) and math.isnan(est.missing))):
        raise ExportError(f"XGBoost with missing={est.missing!r} is not supported (only NaN)")
    booster = est.get_booster()
    learner = json.loads(bytes(booster.save_raw(raw_format="json")))["learner"]
    objective = learner["objective"]["name"]
    gbm = learner["gradient_booster"]
    if gbm["name"] != "gbtree":
        raise ExportError(f"XGBoost booster={gbm['name']!r} is not supported (only gbtree)")
    if objective not in _IDENTITY | _LOG | _CLASSIFIERS:
        raise ExportError(f"XGBoost objective {objective!r} is not supported")
    model = gbm["model"]
    features = _categorical_inputs(est, list(features), encoder)
    trees, tree_info = model["trees"], model["tree_info"]
    indptr = model.get("iteration_indptr")
    # like XGBModel.predict: an early-stopped model predicts with its best iteration
    best = booster.attr("best_iteration")
    best = int(best) if best is not None else None
    if best is not None and indptr is not None:
        trees, tree_info = trees[:indptr[best + 1]], tree_info[:indptr[best + 1]]
    base = _base_margin(objective, _parse_base_score(learner["learner_model_param"]["base_score"]))
    classes = check_classes(est.classes_) if objective in _CLASSIFIERS else None
    n_raw = max(tree_info, default=0) + 1 if classes is not None and len(classes) > 2 else 1
    if base.size == 1 and n_raw > 1:
        base = np.repeat(base, n_raw)
    if not trees:
        raise ExportError("an XGBoost model without trees cannot be exported")
    segments, sums = [], [None] * n_raw
    for i, (node, group) in enumerate(zip(trees, tree_info)):
        segment, sums[group] = _accumulate(i, _to_tree(node, features), features, encoder,
                                           sums[group], base[group], group)
        segments.append(segment)
    if classes is None:
        final = link_model(sums, None, "exp" if objective in _LOG else "none")
    else:
        final = link_model(sums, classes, "logit" if n_raw == 1 else "softmax", float32=True)
    model = chain("regression" if classes is None else "classification",
                  [*segments, final], algorithm=class_path(est))
    return Exported(model, target_field(target, classes), classes, FLOAT_PRECISION,
                    complement=classes is not None and n_raw == 1)


def _accumulate(i, tree, features, encoder, previous, base, group):
    """Tree ``i`` as a TreeModel whose output adds its score to its group's float32 sum."""
    score = f"xgbTree({i})"
    total = f"xgbSum({group},{i})"
    before = (element("FieldRef", {"field": previous}) if previous is not None
              else element("Constant", {"dataType": "float"}, text=fmt_float(base)))
    output = element(
        "Output", None,
        element("OutputField", {"name": score, "optype": "continuous", "dataType": "float",
                                "feature": "predictedValue", "isFinalResult": "false"}),
        element("OutputField", {"name": total, "optype": "continuous", "dataType": "float",
                                "feature": "transformedValue", "isFinalResult": "false"},
                element("Apply", {"function": "+"}, before,
                        element("FieldRef", {"field": score}))),
    )
    return tree_model(tree, features, encoder, output=output), total
