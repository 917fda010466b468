"""Converters for scikit-learn's trees and tree ensembles (from public fitted attributes).

scikit-learn compares ``float32(x) <= threshold`` (the input is cast to float32, the threshold
is a double), so splits read a ``dataType="float"`` copy of their input and the threshold is
written as the largest float32 not above it, which selects exactly the same rows.
"""

from __future__ import annotations

import numpy as np

from pmmlserve.exceptions import ExportError
from pmmlserve.export._model import (
    Exported,
    boosted_model,
    check_classes,
    decision_names,
    mining_schema,
    probability_output,
    target_field,
)
from pmmlserve.export._registry import class_path
from pmmlserve.export._tree import NumericSplit, Tree, segmentation, tree_model, tree_sum
from pmmlserve.export._writer import element

__all__ = ["decision_tree", "forest", "gradient_boosting", "to_tree"]


def to_tree(est, *, probabilities: bool) -> Tree:
    """The parallel-array form of a fitted scikit-learn tree estimator."""
    t = est.tree_
    if t.n_outputs != 1:
        raise ExportError(f"{type(est).__name__} with several outputs is not supported")
    missing_left = getattr(t, "missing_go_to_left", np.zeros(t.node_count, dtype=np.uint8))
    splits = [
        NumericSplit(float(t.threshold[i]), bool(missing_left[i]), float32=True)
        if t.children_left[i] >= 0 else None
        for i in range(t.node_count)
    ]
    values = t.value[:, 0, :].astype(np.float64)
    if probabilities:
        # what predict_proba does: normalise each leaf's class weights to sum to 1
        total = values.sum(axis=1, keepdims=True)
        total[total == 0.0] = 1.0
        values = values / total
    return Tree(t.children_left, t.children_right, t.feature, splits, values)


def _is_classifier(est) -> bool:
    return hasattr(est, "classes_")


def decision_tree(est, features, encoder, target):
    classes = check_classes(est.classes_) if _is_classifier(est) else None
    tree = to_tree(est, probabilities=classes is not None)
    model = tree_model(tree, features, encoder, classes=classes,
                       output=probability_output(classes) if classes else None,
                       algorithm=class_path(est))
    return Exported(model, target_field(target, classes), classes)


def forest(est, features, encoder, target):
    """Random forests and extra trees: the average of the trees' predictions."""
    classes = check_classes(est.classes_) if _is_classifier(est) else None
    trees = [
        tree_model(to_tree(e, probabilities=classes is not None), features, encoder,
                   classes=classes)
        for e in est.estimators_
    ]
    model = element(
        "MiningModel",
        {"functionName": "regression" if classes is None else "classification",
         "algorithmName": class_path(est)},
        mining_schema(),
        probability_output(classes) if classes else None,
        segmentation("average", trees),
    )
    return Exported(model, target_field(target, classes), classes)


def _init_raw(est, n_raw: int) -> np.ndarray:
    """The raw score of GradientBoosting's initial estimator, from its public ``init_``.

    It mirrors ``sklearn.ensemble._gb._init_raw_predictions``: the init estimator's constant
    prediction mapped through the loss's link function.
    """
    from scipy.special import logit
    from sklearn.dummy import DummyClassifier, DummyRegressor

    init = est.init_
    if isinstance(init, str) and init == "zero":
        return np.zeros(n_raw)
    x0 = np.zeros((1, est.n_features_in_))
    if isinstance(init, DummyRegressor):
        return np.asarray(init.predict(x0), dtype=np.float64).reshape(-1)
    if not isinstance(init, DummyClassifier):
        raise ExportError(f"GradientBoosting with init={type(init).__name__} is not supported")
    eps = np.finfo(np.float64).eps
    proba = np.clip(init.predict_proba(x0)[0], eps, 1 - eps, dtype=np.float64)
    if n_raw == 1:
        raw = logit(proba[1])
        return np.array([0.5 * raw if est.loss == "exponential" else raw])
    log = np.log(proba)
    return log - np.mean(log)


def gradient_boosting(est, features, encoder, target):
    stages = est.estimators_
    n_raw = stages.shape[1]
    init = _init_raw(est, n_raw)
    classes = check_classes(est.classes_) if _is_classifier(est) else None
    names = decision_names(classes, n_raw)
    sums = [
        tree_sum([to_tree(tree, probabilities=False) for tree in stages[:, k]], features,
                 encoder, factor=est.learning_rate, constant=init[k],
                 output_name=names[k] if classes is not None else None,
                 target=None if classes is not None else target)
        for k in range(n_raw)
    ]
    # the exponential loss models half the log-odds
    scale = 2.0 if getattr(est, "loss", None) == "exponential" else 1.0
    return boosted_model(est, sums, target, classes=classes, coefficient=scale)
