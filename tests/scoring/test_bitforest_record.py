"""The one-record bit kernel on hand-built forests against JPMML: every regression
segmentation method the forest path takes, each missing-prediction treatment, every tree
missing-value strategy it lowers, set tests on a string field, and float arithmetic."""

import numpy as np
import pandas as pd
import pytest

import pmmlserve
from pmmlserve.scoring import _forest

from tests.oracles import assert_frames_close, jpmml_predict

COLORS = ["red", "green", "blue", "black"]


def _node(rng, depth: int, strategy: str, ids: list) -> str:
    """A binary subtree: two children with complementary predicates, or a leaf (null
    predictions come from missing values under the nullPrediction and none strategies)."""
    ids.append(len(ids))
    own = ids[-1]
    if depth == 0 or rng.random() < 0.2:
        return f'<Node id="{own}" score="{rng.normal():.17g}">{{predicate}}</Node>'
    if rng.random() < 0.6:
        field = "x1" if rng.random() < 0.5 else "x2"
        t = f"{rng.choice([-1.0, -0.25, 0.0, 0.5, 1.25]) + rng.integers(0, 2) * 0.125:.17g}"
        op = rng.choice(["lessOrEqual", "lessThan"])
        other = {"lessOrEqual": "greaterThan", "lessThan": "greaterOrEqual"}[op]
        first = f'<SimplePredicate field="{field}" operator="{op}" value="{t}"/>'
        second = f'<SimplePredicate field="{field}" operator="{other}" value="{t}"/>'
    else:
        chosen = sorted(rng.choice(COLORS, int(rng.integers(1, 3)), replace=False).tolist())
        array = f'<Array type="string" n="{len(chosen)}">{" ".join(chosen)}</Array>'
        first = f'<SimpleSetPredicate field="c" booleanOperator="isIn">{array}</SimpleSetPredicate>'
        second = (f'<SimpleSetPredicate field="c" booleanOperator="isNotIn">{array}'
                  "</SimpleSetPredicate>")
    left = _node(rng, depth - 1, strategy, ids).replace("{predicate}", first, 1)
    right = _node(rng, depth - 1, strategy, ids).replace("{predicate}", second, 1)
    default = left.split('"')[1] if rng.random() < 0.5 else right.split('"')[1]
    extra = f' defaultChild="{default}"' if strategy == "defaultChild" else ""
    return f'<Node id="{own}"{extra}>{{predicate}}{left}{right}</Node>'


def _document(seed: int, method: str, treatment: str, strategy: str, floats: bool) -> str:
    rng = np.random.default_rng(seed)
    context = ' x-mathContext="float"' if floats else ""
    segments = []
    for k in range(12):
        root = _node(rng, 4, strategy, []).replace("{predicate}", "<True/>", 1)
        weight = f' weight="{rng.uniform(0.1, 2):.17g}"' if method.startswith("weighted") else ""
        segments.append(
            f'<Segment id="{k + 1}"{weight}><True/>'
            f'<TreeModel functionName="regression" missingValueStrategy="{strategy}"{context}>'
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
    ("sum", "continue", "defaultChild", False),
    ("sum", "returnMissing", "nullPrediction", False),
    ("weightedSum", "continue", "defaultChild", False),
    ("average", "continue", "none", False),
    ("weightedAverage", "continue", "defaultChild", False),
    ("sum", "skipSegment", "nullPrediction", False),
    ("sum", "continue", "defaultChild", True),
    ("average", "continue", "defaultChild", True),
]


@pytest.mark.parametrize("method,treatment,strategy,floats", CASES,
                         ids=["-".join(map(str, c)) for c in CASES])
def test_one_record_bit_kernel_matches_jpmml(method, treatment, strategy, floats, monkeypatch):
    monkeypatch.setattr(_forest, "_BITS_PATHS", 0)
    document = _document(len(method) * 7 + len(strategy), method, treatment, strategy, floats)
    model = pmmlserve.load(document)
    assert "_reached" in model._score_one.__pmmlserve_source__
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
