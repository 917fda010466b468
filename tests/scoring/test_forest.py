"""The generated one-record tree code: trees written as conditional expressions (the default)
against scikit-learn, and against the same trees written as nested statements."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.tree import DecisionTreeClassifier

import pmmlserve
from pmmlserve.export import export
from pmmlserve.scoring import _forest

from tests.scoring._trees import frame, native_categorical_case, on_thresholds, target


def _source(model) -> str:
    return model._score_one.__pmmlserve_source__


def _records(X: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
            for r in X.to_dict("records")]


def _fit(estimator, X):
    y = target(X)
    if hasattr(estimator, "predict_proba"):
        y = (y > 0.2).astype(int)
    return estimator.fit(X, y)


def _expected(estimator, X):
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)[:, 1]
    return estimator.predict(X)


ESTIMATORS = [
    # missing values learnt to go left in some splits and right in others
    HistGradientBoostingRegressor(max_iter=25, max_leaf_nodes=31, random_state=0),
    HistGradientBoostingClassifier(max_iter=25, random_state=0),
    # a single TreeModel: the expression yields the leaf's position
    DecisionTreeClassifier(max_depth=8, random_state=0),
    RandomForestClassifier(n_estimators=5, max_depth=6, random_state=0),
]


def _on_ranks(monkeypatch) -> None:
    """Compare every tested number by rank (otherwise only large forests do)."""
    monkeypatch.setattr(_forest, "_RANK_FOREST", 0)
    monkeypatch.setattr(_forest, "_RANK_FEATURE", 1)


@pytest.mark.parametrize("ranks", [False, True], ids=["literals", "ranks"])
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_tree_expressions_score_like_sklearn_on_thresholds_and_missing_values(estimator, ranks,
                                                                              monkeypatch):
    X = frame(800, 10)
    _fit(estimator, X)
    if ranks:
        _on_ranks(monkeypatch)
    model = pmmlserve.load(export(estimator), verify=False)
    assert ("_bisect" in _source(model)) == ranks
    test = on_thresholds(frame(400, 11), estimator, 12)
    if not isinstance(estimator, (HistGradientBoostingRegressor, HistGradientBoostingClassifier)):
        test = test.fillna(0.0)  # sklearn's plain trees accept NaN only since 1.3; keep it simple
    column = model.target_fields[0].name if "Regressor" in type(estimator).__name__ \
        else "probability(1)"
    got = [model.predict_one(r)[column] for r in _records(test)]
    np.testing.assert_allclose(got, _expected(estimator, test), rtol=1e-12, atol=1e-15)


def test_native_categorical_splits_with_unseen_and_missing_categories():
    _, model, test, expected = native_categorical_case(13, max_iter=15)
    got = [model.predict_one(r)["probability(1)"] for r in _records(test)]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_expressions_and_statements_agree_bit_for_bit(estimator, monkeypatch):
    X = frame(600, 15)
    _fit(estimator, X if "Hist" in type(estimator).__name__ else X.fillna(0.0))
    document = export(estimator)
    records = _records(on_thresholds(frame(500, 16), estimator, 17))
    as_expressions = pmmlserve.load(document, verify=False)
    monkeypatch.setattr(_forest, "_EXPRESSION_DEPTH", -1)
    as_statements = pmmlserve.load(document, verify=False)
    # one line per tree against one per branch
    assert _source(as_expressions).count("\n") * 3 < _source(as_statements).count("\n")
    for record in records:
        assert as_expressions.predict_one(record) == as_statements.predict_one(record)


@pytest.mark.parametrize("estimator", ESTIMATORS[:2], ids=lambda e: type(e).__name__)
def test_tests_on_ranks_and_on_literals_agree_bit_for_bit(estimator, monkeypatch):
    # a consistency check between two ways of writing the same comparisons (sklearn is the
    # oracle of both in the test above); here also on values between and beyond thresholds
    X = frame(600, 18)
    _fit(estimator, X)
    document = export(estimator)
    test = on_thresholds(frame(500, 19), estimator, 20)
    test.loc[::7, "b"] = np.inf
    test.loc[3::7, "c"] = -np.inf
    literals = pmmlserve.load(document, verify=False)
    _on_ranks(monkeypatch)
    ranks = pmmlserve.load(document, verify=False)
    assert "_bisect" in _source(ranks) and "_bisect" not in _source(literals)
    for record in _records(test):
        assert ranks.predict_one(record) == literals.predict_one(record)


def test_large_written_forests_compare_by_rank_small_ones_by_literal(monkeypatch):
    # large forests the bit kernel holds score one record with it (tests/scoring/test_bitforest)
    monkeypatch.setattr(_forest, "_BITS_PATHS", 1 << 30)
    X = frame(800, 21)
    small = _fit(HistGradientBoostingRegressor(max_iter=5, random_state=0), X)
    large = _fit(HistGradientBoostingRegressor(max_iter=60, max_leaf_nodes=31,
                                               random_state=0), X)
    assert "_bisect" not in _source(pmmlserve.load(export(small), verify=False))
    source = _source(pmmlserve.load(export(large), verify=False))
    assert "_bisect" in source and "_reached" not in source


def _reachable_types(root) -> set[str]:
    """Names of the types of the objects ``root`` holds: followed through containers and
    instances, into functions only through their closures, defaults and (for the generated
    scoring function) its own namespace; modules and classes are shared, not held."""
    import gc
    import types

    def referents(obj):
        if isinstance(obj, (types.ModuleType, type)):
            return ()
        if isinstance(obj, types.FunctionType):
            held = [c.cell_contents for c in obj.__closure__ or ()] + list(obj.__defaults__ or ())
            return held + [obj.__globals__] if hasattr(obj, "__pmmlserve_source__") else held
        return gc.get_referents(obj)

    seen, stack, names = {id(root)}, [root], set()
    while stack:
        obj = stack.pop()
        names.add(type(obj).__name__)
        for ref in referents(obj):
            if id(ref) not in seen:
                seen.add(id(ref))
                stack.append(ref)
    return names


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_a_loaded_model_keeps_neither_the_document_trees_nor_their_ir(estimator):
    # the typed document's nodes and the lowered IR are released once the code is written:
    # they were most of what the collector traced after a large forest's load
    X = frame(400, 22)
    _fit(estimator, X if "Hist" in type(estimator).__name__ else X.fillna(0.0))
    model = pmmlserve.load(export(estimator), verify=False)
    held = _reachable_types(model)
    assert not held & {"TreeNode", "SimplePredicate", "Decision", "Leaf"}, held
    test = frame(50, 23)
    if "Hist" not in type(estimator).__name__:
        test = test.fillna(0.0)
    column = "probability(1)" if hasattr(estimator, "predict_proba") \
        else model.target_fields[0].name
    np.testing.assert_allclose(model.predict(test)[column], _expected(estimator, test),
                               rtol=1e-12, atol=1e-15)


def test_loading_a_forest_leaves_no_cyclic_garbage():
    import gc

    X = frame(400, 24)
    document = export(_fit(HistGradientBoostingRegressor(max_iter=30, random_state=0), X))
    pmmlserve.load(document, verify=False)
    gc.collect()
    gc.disable()  # so that no collection runs inside load
    try:
        model = pmmlserve.load(document, verify=False)
        assert gc.collect() == 0  # everything load made and dropped went by reference counting
    finally:
        gc.enable()
    del model
