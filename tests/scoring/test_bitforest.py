"""The bit-vector tree kernel against scikit-learn's own predictions, and against the
level-by-level kernel it replaces for trees of up to 64 leaves; for one record, against
scikit-learn and against the trees written out as code."""

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
from pmmlserve.scoring import _bitforest, _forest

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


# ---------------------------------------------------------------------------- one record
def _records(X: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
            for r in X.to_dict("records")]


def _one_record_kernel(model) -> bool:
    return "_reached" in model._score_one.__pmmlserve_source__


@pytest.fixture
def bits_for_one_record(monkeypatch):
    """Every forest the bit kernel holds scores one record with it (otherwise large ones)."""
    monkeypatch.setattr(_forest, "_BITS_PATHS", 0)


ONE_RECORD = [
    # 8-, 16-, 32- and 64-bit words (the residue tables differ)
    GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0),
    HistGradientBoostingRegressor(max_iter=20, max_leaf_nodes=16, random_state=0),
    HistGradientBoostingClassifier(max_iter=20, max_leaf_nodes=31, random_state=0),
    HistGradientBoostingRegressor(max_iter=8, max_leaf_nodes=64, min_samples_leaf=5,
                                  random_state=0),
    # averaged trees, and stumps
    RandomForestRegressor(n_estimators=8, max_leaf_nodes=24, random_state=0),
    RandomForestRegressor(n_estimators=4, max_depth=1, random_state=0),
]


@pytest.mark.parametrize("estimator", ONE_RECORD, ids=lambda e: type(e).__name__)
def test_one_record_bit_kernel_scores_like_sklearn(estimator, bits_for_one_record):
    X = frame(800, 30)
    plain = not isinstance(estimator, (HistGradientBoostingRegressor,
                                       HistGradientBoostingClassifier))
    y = target(X)
    if hasattr(estimator, "predict_proba"):
        y = (y > 0.2).astype(int)
    estimator.fit(X.fillna(0.0) if plain else X, y)
    model = pmmlserve.load(export(estimator), verify=False)
    assert _one_record_kernel(model)
    test = on_thresholds(frame(400, 31), estimator, 32)
    if plain:
        test = test.fillna(0.0)
    if hasattr(estimator, "predict_proba"):
        column, expected = "probability(1)", estimator.predict_proba(test)[:, 1]
    else:
        column, expected = model.target_fields[0].name, estimator.predict(test)
    got = [model.predict_one(r)[column] for r in _records(test)]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_one_record_bit_kernel_on_native_categories(bits_for_one_record):
    # codes: unseen categories take sklearn's "missing" branch, missing ones the last row
    _, model, test, expected = native_categorical_case(33, max_iter=15)
    assert _one_record_kernel(model)
    got = [model.predict_one(r)["probability(1)"] for r in _records(test)]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_one_record_bit_kernel_over_several_chunks(bits_for_one_record, monkeypatch):
    monkeypatch.setattr(_bitforest, "_CHUNK_BYTES", 1 << 10)
    X = frame(600, 34)
    estimator = HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(X, target(X))
    model = pmmlserve.load(export(estimator), verify=False)
    forest = model._score_one.__globals__
    reached = next(v for k, v in forest.items() if k.startswith("_reached"))
    assert reached.__name__ == "reached_chunks"
    test = on_thresholds(frame(300, 35), estimator, 36)
    got = [model.predict_one(r)[model.target_fields[0].name] for r in _records(test)]
    np.testing.assert_allclose(got, estimator.predict(test), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("estimator", ONE_RECORD[:3], ids=lambda e: type(e).__name__)
def test_one_record_bit_kernel_and_written_trees_agree_bit_for_bit(estimator, monkeypatch):
    # a consistency check, also on values beyond every threshold (sklearn is the oracle of
    # both above)
    X = frame(600, 37)
    estimator.fit(X.fillna(0.0), target(X) > 0.2 if hasattr(estimator, "predict_proba")
                  else target(X))
    document = export(estimator)
    test = on_thresholds(frame(500, 38), estimator, 39)
    test.loc[::7, "b"] = np.inf
    test.loc[3::7, "c"] = -np.inf
    monkeypatch.setattr(_forest, "_BITS_PATHS", 0)
    bits = pmmlserve.load(document, verify=False)
    monkeypatch.setattr(_forest, "_BITS_PATHS", 1 << 30)
    written = pmmlserve.load(document, verify=False)
    assert _one_record_kernel(bits) and not _one_record_kernel(written)
    for record in _records(test):
        assert bits.predict_one(record) == written.predict_one(record)


def test_large_forests_score_one_record_with_the_bit_kernel():
    X = frame(800, 40)
    small = HistGradientBoostingRegressor(max_iter=5, random_state=0).fit(X, target(X))
    large = HistGradientBoostingRegressor(max_iter=60, max_leaf_nodes=31,
                                          random_state=0).fit(X, target(X))
    assert not _one_record_kernel(pmmlserve.load(export(small), verify=False))
    assert _one_record_kernel(pmmlserve.load(export(large), verify=False))
