"""The bit-vector tree kernel against scikit-learn's own predictions, and against the
level-by-level kernel it replaces for trees of up to 64 leaves."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import (
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestRegressor,
)
from sklearn.tree import DecisionTreeRegressor

import pmmlserve
from pmmlserve.export import export
from pmmlserve.scoring import _bitforest

NUMERIC = ["a", "b", "c"]


def _frame(n, seed, categorical=False):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({name: rng.normal(size=n).round(2) for name in NUMERIC})
    X.loc[rng.random(n) < 0.1, "a"] = np.nan
    if categorical:
        X["color"] = pd.Categorical(rng.choice(["red", "green", "blue", "black"], n))
    return X


def _target(X):
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


def _on_thresholds(X, estimator, seed):
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


@pytest.fixture
def calls(monkeypatch):
    """How many batches the bit kernel scored."""
    seen = []
    original = _bitforest.BitKernel.leaf_indices

    def counted(self, *args, **kwargs):
        seen.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(_bitforest.BitKernel, "leaf_indices", counted)
    return seen


ESTIMATORS = [
    (GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=0), True),
    (HistGradientBoostingRegressor(max_iter=30, max_leaf_nodes=31, random_state=0), True),
    (DecisionTreeRegressor(max_leaf_nodes=64, random_state=0), True),
    # unbounded trees have hundreds of leaves: the level-by-level kernel scores them
    (RandomForestRegressor(n_estimators=3, random_state=0), False),
]


@pytest.mark.parametrize("estimator,bits", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_trees_score_like_sklearn_on_thresholds_and_missing_values(estimator, bits, calls):
    X = _frame(800, 0)
    estimator.fit(X.fillna(0.0) if isinstance(estimator, GradientBoostingRegressor) else X,
                  _target(X))
    model = pmmlserve.load(export(estimator), verify=False)
    test = _on_thresholds(_frame(600, 1), estimator, 2)
    if isinstance(estimator, GradientBoostingRegressor):
        test = test.fillna(0.0)
    got = model.predict(test).iloc[:, 0].to_numpy()
    np.testing.assert_allclose(got, estimator.predict(test), rtol=1e-12, atol=1e-12)
    assert bool(calls) == bits


def test_native_categorical_splits_score_like_sklearn(calls):
    X = _frame(800, 3, categorical=True)
    est = HistGradientBoostingClassifier(max_iter=20, categorical_features=["color"],
                                         random_state=0)
    est.fit(X, (_target(X) > 0.2).astype(int))
    model = pmmlserve.load(export(est), verify=False)
    test = _frame(500, 4, categorical=True)
    test["color"] = test["color"].astype(object)
    test.loc[test.index % 7 == 0, "color"] = "purple"  # unseen: sklearn's "missing" branch
    test.loc[test.index % 11 == 0, "color"] = None
    expected = est.predict_proba(test.astype({"color": "category"}))[:, 1]
    got = model.predict(test)["probability(1)"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert calls


@pytest.mark.parametrize("estimator", [e for e, bits in ESTIMATORS if bits],
                         ids=lambda e: type(e).__name__)
def test_bit_kernel_and_level_kernel_agree_bit_for_bit(estimator, monkeypatch):
    X = _frame(500, 5)
    estimator.fit(X.fillna(0.0), _target(X))
    document = export(estimator)
    test = _on_thresholds(_frame(2000, 6), estimator, 7)
    with_bits = pmmlserve.load(document, verify=False).predict(test)
    monkeypatch.setattr(_bitforest.BitKernel, "build", classmethod(lambda cls, *a: None))
    without = pmmlserve.load(document, verify=False).predict(test)
    pd.testing.assert_frame_equal(with_bits, without, check_exact=True)


@pytest.mark.parametrize("leaves,dtype", [(8, np.uint8), (16, np.uint16), (32, np.uint32),
                                          (64, np.uint64)])
def test_lowest_set_bit_of_every_word_size(leaves, dtype):
    bits = np.arange(leaves)
    words = (np.ones(leaves, dtype=np.uint64) << bits.astype(np.uint64)).astype(dtype)
    above = words | (words << dtype(1))  # a higher bit set as well must not matter
    assert _bitforest._lowest_bit(words).tolist() == bits.tolist()
    assert _bitforest._lowest_bit(above).tolist() == bits.tolist()
