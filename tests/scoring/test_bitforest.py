"""The bit-vector tree kernel against scikit-learn's own predictions, and against the
level-by-level kernel it replaces for trees of up to 64 leaves."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import (
    GradientBoostingRegressor,
    HistGradientBoostingRegressor,
    RandomForestRegressor,
)
from sklearn.tree import DecisionTreeRegressor

import pmmlserve
from pmmlserve.export import export
from pmmlserve.scoring import _bitforest

from tests.scoring._trees import frame, native_categorical_case, on_thresholds, target


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
    X = frame(800, 0)
    estimator.fit(X.fillna(0.0) if isinstance(estimator, GradientBoostingRegressor) else X,
                  target(X))
    model = pmmlserve.load(export(estimator), verify=False)
    test = on_thresholds(frame(600, 1), estimator, 2)
    if isinstance(estimator, GradientBoostingRegressor):
        test = test.fillna(0.0)
    got = model.predict(test).iloc[:, 0].to_numpy()
    np.testing.assert_allclose(got, estimator.predict(test), rtol=1e-12, atol=1e-12)
    assert bool(calls) == bits


def test_native_categorical_splits_score_like_sklearn(calls):
    _, model, test, expected = native_categorical_case(3, max_iter=20)
    got = model.predict(test)["probability(1)"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert calls


@pytest.mark.parametrize("estimator", [e for e, bits in ESTIMATORS if bits],
                         ids=lambda e: type(e).__name__)
def test_bit_kernel_and_level_kernel_agree_bit_for_bit(estimator, monkeypatch):
    X = frame(500, 5)
    estimator.fit(X.fillna(0.0), target(X))
    document = export(estimator)
    test = on_thresholds(frame(2000, 6), estimator, 7)
    with_bits = pmmlserve.load(document, verify=False).predict(test)
    monkeypatch.setattr(_bitforest.BitKernel, "build", classmethod(lambda cls, *a: None))
    without = pmmlserve.load(document, verify=False).predict(test)
    pd.testing.assert_frame_equal(with_bits, without, check_exact=True)


@pytest.mark.parametrize("leaves,dtype", [(16, np.uint16), (32, np.uint32), (64, np.uint64)])
def test_lowest_set_bit_of_16_32_and_64_bit_words(leaves, dtype):
    bits = np.arange(leaves)
    words = (np.ones(leaves, dtype=np.uint64) << bits.astype(np.uint64)).astype(dtype)
    above = words | (words << dtype(1))  # a higher bit set as well must not matter
    assert _bitforest._lowest_bit(words).tolist() == bits.tolist()
    assert _bitforest._lowest_bit(above).tolist() == bits.tolist()
