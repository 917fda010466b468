"""The one-record bit kernel on hand-built forests against JPMML: every regression
segmentation method the forest path takes, each missing-prediction treatment, every tree
missing-value strategy it lowers, set tests on a string field, float arithmetic, trees of
complementary pairs and of chains of tests; each lowered straight from the document's node
columns and through the IR."""

import numpy as np
import pandas as pd
import pytest

from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier

import pmmlserve
from pmmlserve.scoring import _ensemble, _forest

from tests.oracles import assert_frames_close, jpmml_predict, sklearn2pmml_export
from tests.scoring import _forests

CASES = [
    # (method, treatment, strategy, float arithmetic, chains of tests rather than pairs)
    ("sum", "continue", "defaultChild", False, False),
    ("sum", "returnMissing", "nullPrediction", False, False),
    ("weightedSum", "continue", "defaultChild", False, False),
    ("average", "continue", "none", False, False),
    ("weightedAverage", "continue", "defaultChild", False, False),
    ("sum", "skipSegment", "nullPrediction", False, False),
    ("sum", "continue", "lastPrediction", False, False),
    ("sum", "continue", "defaultChild", True, False),
    ("average", "continue", "defaultChild", True, False),
    ("sum", "continue", "nullPrediction", False, True),
    ("sum", "continue", "lastPrediction", False, True),
    ("sum", "continue", "defaultChild", False, True),
    ("average", "continue", "none", False, True),
    ("sum", "continue", "nullPrediction", True, True),
]


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "ir"])
@pytest.mark.parametrize("method,treatment,strategy,floats,chains", CASES,
                         ids=["-".join(map(str, c[:4])) + ("-chains" if c[4] else "")
                              for c in CASES])
def test_one_record_bit_kernel_matches_jpmml(method, treatment, strategy, floats, chains, direct,
                                             monkeypatch):
    # the forest is lowered straight from its node columns (direct) or through the IR
    monkeypatch.setattr(_forest, "_BITS_PATHS", 0)
    lowered = []
    original = _ensemble.lower_tree
    monkeypatch.setattr(_ensemble, "lower_tree", lambda *a: lowered.append(1) or original(*a))
    if not direct:
        monkeypatch.setattr(_ensemble, "direct_forest", lambda *a: None)
    document = _forests.document(len(method) * 7 + len(strategy) + chains, method, treatment, strategy,
                         floats, chains)
    model = pmmlserve.load(document)
    # a chain whose every test sends a missing value to one default child reaches that child
    # from several decisions: the bit kernel does not take it, nor then the direct lowering
    bits = not (chains and strategy == "defaultChild")
    assert ("_reached" in model._score_one.__pmmlserve_source__) == bits
    assert bool(lowered) == (not direct or not bits)
    X = _forests.records(400, 3)
    rows = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
            for r in X.to_dict("records")]
    got = pd.DataFrame([model.predict_one(r) for r in rows])
    expected = jpmml_predict(document.encode(), X)
    if floats:
        assert_frames_close(got, expected, ulps=0, columns=["y"])
    else:
        assert_frames_close(got, expected, rtol=1e-15, columns=["y"])
    # and the batch kernels agree with both
    assert_frames_close(model.predict(X), expected, rtol=1e-15, columns=["y"])


def test_a_pair_ahead_of_more_children_is_lowered_through_the_ir(monkeypatch):
    # "x <= t", "x > t", then a third child: the pair decides before the third test is
    # reached, which the direct lowering does not express; the IR lowers such trees
    monkeypatch.setattr(_forest, "_BITS_PATHS", 0)
    lowered = []
    original = _ensemble.lower_tree
    monkeypatch.setattr(_ensemble, "lower_tree", lambda *a: lowered.append(1) or original(*a))
    document = _forests.document(4, "sum", "continue", "nullPrediction", False, chains=True,
                                 pairs="first")
    model = pmmlserve.load(document)
    assert lowered
    X = _forests.records(400, 5)
    expected = jpmml_predict(document.encode(), X)
    rows = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
            for r in X.to_dict("records")]
    assert_frames_close(pd.DataFrame([model.predict_one(r) for r in rows]), expected,
                        rtol=1e-15, columns=["y"])


@pytest.mark.parametrize("estimator", [
    # sklearn2pmml writes these as chains of tests ending in the node's own score
    GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0),
    # and these as complementary pairs with a defaultChild for missing values
    HistGradientBoostingClassifier(max_iter=30, random_state=0),
], ids=lambda e: type(e).__name__)
def test_direct_lowering_of_sklearn2pmml_forests_scores_like_sklearn(estimator, tmp_path,
                                                                     monkeypatch):
    from sklearn2pmml.pipeline import PMMLPipeline

    monkeypatch.setattr(_forest, "_BITS_PATHS", 0)
    X = _forests.records(600, 11).drop(columns="c")
    y = (X["x1"].fillna(0.2) + X["x2"].fillna(-0.1) ** 2 > 0.4).astype(int)
    plain = isinstance(estimator, GradientBoostingClassifier)
    pipeline = PMMLPipeline([("model", estimator)]).fit(X.fillna(0.0) if plain else X, y)
    document = sklearn2pmml_export(pipeline, tmp_path / "model.pmml")
    monkeypatch.setattr(_ensemble, "lower_tree", lambda *a: pytest.fail("lowered via the IR"))
    model = pmmlserve.load(document)
    test = _forests.records(300, 12).drop(columns="c")
    if plain:
        test = test.fillna(0.0)
    expected = pipeline.predict_proba(test)[:, 1]
    got = [model.predict_one(r)["probability(1)"] for r in test.to_dict("records")]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.predict(test)["probability(1)"], expected, rtol=1e-12,
                               atol=1e-15)
