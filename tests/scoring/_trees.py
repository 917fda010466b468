"""Shared data for the tree kernel tests: a small regression table with missing values (and
optionally a string category), rows placed on split thresholds, and a fitted native-categorical
HistGradientBoosting model with test rows holding unseen and missing categories."""

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

import pmmlserve
from pmmlserve.export import export

NUMERIC = ["a", "b", "c"]


def frame(n, seed, categorical=False):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({name: rng.normal(size=n).round(2) for name in NUMERIC})
    X.loc[rng.random(n) < 0.1, "a"] = np.nan
    if categorical:
        X["color"] = pd.Categorical(rng.choice(["red", "green", "blue", "black"], n))
    return X


def target(X):
    y = np.sin(X["a"].fillna(0.3) * 2) + X["b"] * X["c"]
    if "color" in X:
        y = y + (X["color"] == "red") - 0.5 * (X["color"] == "blue")
    return y.to_numpy()


def _thresholds(estimator):
    """Every split threshold of the fitted trees, per feature index."""
    out = {}
    if hasattr(estimator, "_predictors"):
        for per_class in estimator._predictors:
            for predictor in per_class:
                nodes = predictor.nodes[~predictor.nodes["is_leaf"].astype(bool)]
                for f, t, cat in zip(nodes["feature_idx"], nodes["num_threshold"],
                                     nodes["is_categorical"]):
                    if not cat:
                        out.setdefault(int(f), []).append(float(t))
        return out
    trees = getattr(estimator, "estimators_", [estimator])
    for tree in np.ravel(trees):
        t = tree.tree_
        for f, thr in zip(t.feature, t.threshold):
            if f >= 0:
                out.setdefault(int(f), []).append(float(thr))
    return out


def on_thresholds(X, estimator, seed):
    """Rows whose values sit exactly on split thresholds (where <= and < part ways)."""
    rng = np.random.default_rng(seed)
    X = X.copy()
    for f, ts in _thresholds(estimator).items():
        ts = [t for t in ts if np.isfinite(t)]
        rows = rng.random(len(X)) < 0.5
        if not ts:
            continue
        X.loc[rows, NUMERIC[f]] = rng.choice(ts, int(rows.sum()))
    return X


def native_categorical_case(seed: int, max_iter: int):
    """(fitted estimator, its loaded PMML, test rows, sklearn's P(class 1) for them); one test
    row in 7 has a category unseen in training ("purple"), one in 11 a missing one."""
    X = frame(800, seed, categorical=True)
    est = HistGradientBoostingClassifier(max_iter=max_iter, categorical_features=["color"],
                                         random_state=0)
    est.fit(X, (target(X) > 0.2).astype(int))
    model = pmmlserve.load(export(est), verify=False)
    test = frame(500, seed + 1, categorical=True)
    test["color"] = test["color"].astype(object)
    test.loc[test.index % 7 == 0, "color"] = "purple"  # unseen: sklearn's "missing" branch
    test.loc[test.index % 11 == 0, "color"] = None
    expected = est.predict_proba(test.astype({"color": "category"}))[:, 1]
    return est, model, test, expected
