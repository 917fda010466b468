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


# ---------------------------------------------------------------------------- layout
def _arrays(n_leaves: int, decisions: dict[int, tuple[int, int, int]]):
    """Forest arrays as BitKernel.build takes them: node -> (child when x > thr, child when
    x <= thr, child when missing); every decision tests feature 0 against ``node / 10``."""
    m = n_leaves + len(decisions)
    child = np.repeat(np.arange(m), 2)
    unk = np.arange(m)
    thr = np.full(m, np.inf)
    for node, (gt, le, missing) in decisions.items():
        child[2 * node], child[2 * node + 1], unk[node] = gt, le, missing
        thr[node] = node / 10
    return child, unk, np.zeros(m, dtype=np.intp), thr


def _walk(root: int, child, unk, thr, n_leaves: int, x: float) -> int:
    """The leaf one value reaches, following the pointers (the test's own oracle)."""
    node = root
    while node >= n_leaves:
        node = unk[node] if x != x else child[2 * node + (x <= thr[node])]
    return node


def test_layout_reaches_the_leaf_a_walk_down_the_pointers_reaches():
    # tree 0: a chain whose decisions share one missing leaf (two slots for leaf 3);
    # tree 1: a single leaf; tree 2: one decision whose children are the same leaf;
    # tree 3: a missing value follows the x <= thr child, then the x > thr child
    decisions = {7: (0, 8, 3), 8: (1, 9, 3), 9: (2, 4, 4), 10: (5, 5, 6), 11: (0, 12, 12),
                 12: (1, 2, 1)}
    child, unk, feat, thr = _arrays(7, decisions)
    roots = np.array([7, 6, 10, 11])
    kernel = _bitforest.BitKernel.build(roots, child, unk, feat, thr, 7, {})
    assert kernel is not None
    xs = np.array([0.0, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0, 2.0, np.nan])
    got = kernel.leaf_indices({0: xs}, {}, len(xs))
    expected = [[_walk(r, child, unk, thr, 7, x) for r in roots.tolist()] for x in xs]
    assert got.tolist() == expected


@pytest.mark.parametrize("case", ["reached twice in a tree", "shared by two trees",
                                  "root of two trees"])
def test_layout_refuses_a_decision_reached_twice(case):
    if case == "reached twice in a tree":  # 5 is under 3 and under 4
        decisions, roots = {3: (4, 5, 0), 4: (5, 1, 1), 5: (0, 2, 2)}, [3]
    elif case == "shared by two trees":
        decisions, roots = {3: (4, 0, 0), 4: (1, 2, 2)}, [3, 4]
    else:
        decisions, roots = {3: (0, 1, 2)}, [3, 3]
    child, unk, feat, thr = _arrays(3, decisions)
    assert _bitforest.BitKernel.build(np.array(roots), child, unk, feat, thr, 3, {}) is None


@pytest.mark.parametrize("leaves", [64, 65])
def test_layout_takes_trees_of_up_to_64_leaf_slots(leaves):
    # a chain: decision k sends x > thr to leaf k, x <= thr on; the last one ends in a leaf
    n = leaves - 1  # decisions
    decisions = {leaves + k: (k, leaves + k + 1 if k + 1 < n else leaves - 1, k)
                 for k in range(n)}
    child, unk, feat, thr = _arrays(leaves, decisions)
    kernel = _bitforest.BitKernel.build(np.array([leaves]), child, unk, feat, thr, leaves, {})
    assert (kernel is not None) == (leaves <= 64)
    if kernel is not None:
        xs = np.linspace(-1.0, 14.0, 301)
        got = kernel.leaf_indices({0: xs}, {}, len(xs))[:, 0]
        assert got.tolist() == [_walk(leaves, child, unk, thr, leaves, x) for x in xs]


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
