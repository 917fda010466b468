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

COLORS = ["red", "green", "blue", "black"]


def _split(rng) -> tuple[str, str]:
    """Two complementary predicates: on a number (``<=``/``>`` or ``<``/``>=``) or on the
    string field (``isIn``/``isNotIn`` a set)."""
    if rng.random() < 0.6:
        field = "x1" if rng.random() < 0.5 else "x2"
        t = f"{rng.choice([-1.0, -0.25, 0.0, 0.5, 1.25]) + rng.integers(0, 2) * 0.125:.17g}"
        op = rng.choice(["lessOrEqual", "lessThan"])
        other = {"lessOrEqual": "greaterThan", "lessThan": "greaterOrEqual"}[op]
        return (f'<SimplePredicate field="{field}" operator="{op}" value="{t}"/>',
                f'<SimplePredicate field="{field}" operator="{other}" value="{t}"/>')
    chosen = sorted(rng.choice(COLORS, int(rng.integers(1, 3)), replace=False).tolist())
    array = f'<Array type="string" n="{len(chosen)}">{" ".join(chosen)}</Array>'
    return (f'<SimpleSetPredicate field="c" booleanOperator="isIn">{array}</SimpleSetPredicate>',
            f'<SimpleSetPredicate field="c" booleanOperator="isNotIn">{array}'
            "</SimpleSetPredicate>")


def _test(rng) -> str:
    """One test of a chain: a comparison of a number or an equality on the string field."""
    if rng.random() < 0.7:
        field = "x1" if rng.random() < 0.5 else "x2"
        op = rng.choice(["lessOrEqual", "lessThan", "greaterThan", "greaterOrEqual"])
        t = f"{rng.choice([-1.0, -0.25, 0.0, 0.5, 1.25]):.17g}"
        return f'<SimplePredicate field="{field}" operator="{op}" value="{t}"/>'
    return f'<SimplePredicate field="c" operator="equal" value="{rng.choice(COLORS)}"/>'


def _node(rng, depth: int, strategy: str, ids: list, chains: bool) -> str:
    """A subtree: a leaf, or children tested in turn.  Without ``chains``, two children with
    complementary predicates; with, one to three children with tests of their own (the shape
    sklearn2pmml writes for GradientBoosting: what no child takes, the node's own score takes).
    """
    ids.append(len(ids))
    own = ids[-1]
    score = f' score="{rng.normal():.17g}"'
    if depth == 0 or rng.random() < 0.2:
        return f'<Node id="{own}"{score}>{{predicate}}</Node>'
    if chains:
        tests = [_test(rng) for _ in range(int(rng.integers(1, 3 if strategy == "none" else 4)))]
    else:
        tests = list(_split(rng))
    kids = [_node(rng, depth - 1, strategy, ids, chains).replace("{predicate}", p, 1)
            for p in tests]
    extra = ""
    if strategy == "defaultChild":
        extra = f' defaultChild="{kids[int(rng.integers(0, len(kids)))].split(chr(34))[1]}"'
    return f'<Node id="{own}"{score}{extra}>{{predicate}}{"".join(kids)}</Node>'


def _document(seed: int, method: str, treatment: str, strategy: str, floats: bool,
              chains: bool = False) -> str:
    rng = np.random.default_rng(seed)
    context = ' x-mathContext="float"' if floats else ""
    no_true = ' noTrueChildStrategy="returnLastPrediction"' if chains else ""
    segments = []
    for k in range(12):
        root = _node(rng, 3 if chains else 4, strategy, [], chains)
        root = root.replace("{predicate}", "<True/>", 1)
        weight = f' weight="{rng.uniform(0.1, 2):.17g}"' if method.startswith("weighted") else ""
        segments.append(
            f'<Segment id="{k + 1}"{weight}><True/>'
            f'<TreeModel functionName="regression" missingValueStrategy="{strategy}"{context}'
            f'{no_true}>'
            '<MiningSchema><MiningField name="x1"/><MiningField name="x2"/>'
            f'<MiningField name="c"/></MiningSchema>{root}</TreeModel></Segment>')
    values = "".join(f'<Value value="{c}"/>' for c in COLORS)
    return (
        '<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/>'
        '<DataDictionary><DataField name="x1" optype="continuous" dataType="double"/>'
        '<DataField name="x2" optype="continuous" dataType="double"/>'
        f'<DataField name="c" optype="categorical" dataType="string">{values}</DataField>'
        '<DataField name="y" optype="continuous" dataType="double"/></DataDictionary>'
        f'<MiningModel functionName="regression"{context}><MiningSchema>'
        '<MiningField name="x1"/><MiningField name="x2"/><MiningField name="c"/>'
        '<MiningField name="y" usageType="target"/></MiningSchema>'
        f'<Segmentation multipleModelMethod="{method}" missingPredictionTreatment="{treatment}">'
        f'{"".join(segments)}</Segmentation></MiningModel></PMML>')


def _records(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    grid = np.array([-1.0, -0.25, 0.0, 0.5, 1.25, 0.125, 0.625, 1.375, -0.875])
    X = pd.DataFrame({
        "x1": np.where(rng.random(n) < 0.5, rng.choice(grid, n), rng.normal(size=n)),
        "x2": np.where(rng.random(n) < 0.5, rng.choice(grid, n), rng.normal(size=n)),
        "c": rng.choice(COLORS, n).astype(object),
    })
    X.loc[rng.random(n) < 0.1, "x1"] = np.nan
    X.loc[rng.random(n) < 0.1, "x2"] = np.nan
    X.loc[rng.random(n) < 0.1, "c"] = None
    return X


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
    document = _document(len(method) * 7 + len(strategy) + chains, method, treatment, strategy,
                         floats, chains)
    model = pmmlserve.load(document)
    # a chain whose every test sends a missing value to one default child reaches that child
    # from several decisions: the bit kernel does not take it, nor then the direct lowering
    bits = not (chains and strategy == "defaultChild")
    assert ("_reached" in model._score_one.__pmmlserve_source__) == bits
    assert bool(lowered) == (not direct or not bits)
    X = _records(400, 3)
    records = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
               for r in X.to_dict("records")]
    got = pd.DataFrame([model.predict_one(r) for r in records])
    expected = jpmml_predict(document.encode(), X)
    assert got["y"].isna().any() == expected["y"].isna().any()
    if floats:
        assert_frames_close(got, expected, ulps=0, columns=["y"])
    else:
        assert_frames_close(got, expected, rtol=1e-15, columns=["y"])
    # and the batch kernels agree with both
    assert_frames_close(model.predict(X), expected, rtol=1e-15, columns=["y"])


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
    X = _records(600, 11).drop(columns="c")
    y = (X["x1"].fillna(0.2) + X["x2"].fillna(-0.1) ** 2 > 0.4).astype(int)
    plain = isinstance(estimator, GradientBoostingClassifier)
    pipeline = PMMLPipeline([("model", estimator)]).fit(X.fillna(0.0) if plain else X, y)
    document = sklearn2pmml_export(pipeline, tmp_path / "model.pmml")
    monkeypatch.setattr(_ensemble, "lower_tree", lambda *a: pytest.fail("lowered via the IR"))
    model = pmmlserve.load(document)
    test = _records(300, 12).drop(columns="c")
    if plain:
        test = test.fillna(0.0)
    expected = pipeline.predict_proba(test)[:, 1]
    got = [model.predict_one(r)["probability(1)"] for r in test.to_dict("records")]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.predict(test)["probability(1)"], expected, rtol=1e-12,
                               atol=1e-15)
