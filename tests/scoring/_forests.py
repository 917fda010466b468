"""Hand-built forest documents: a regression Segmentation of random trees over two numbers and
a string field, written as converters write forests (complementary pairs, or chains of tests
ending in the node's own score), and records with missing values and values on thresholds."""

import numpy as np
import pandas as pd

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


def _node(rng, depth: int, strategy: str, ids: list, chains: bool, pairs: str = "last") -> str:
    """A subtree: a leaf, or children tested in turn.  Without ``chains``, two children with
    complementary predicates; with, one to three children with tests of their own (the shape
    sklearn2pmml writes for GradientBoosting: what no child takes, the node's own score takes),
    the last two sometimes complementary (with ``pairs="first"``: the first two of three).
    """
    ids.append(len(ids))
    own = ids[-1]
    score = f' score="{rng.normal():.17g}"'
    if depth == 0 or rng.random() < 0.2:
        return f'<Node id="{own}"{score}>{{predicate}}</Node>'
    if chains:
        tests = [_test(rng) for _ in range(int(rng.integers(1, 3 if strategy == "none" else 4)))]
        if pairs == "first" and len(tests) > 2:  # a complementary pair, then another child
            tests[:2] = _split(rng)
        elif len(tests) > 1 and rng.random() < 0.4:  # the last two: a complementary pair
            tests[-2:] = _split(rng)
    else:
        tests = list(_split(rng))
    kids = [_node(rng, depth - 1, strategy, ids, chains, pairs).replace("{predicate}", p, 1)
            for p in tests]
    extra = ""
    if strategy == "defaultChild":
        extra = f' defaultChild="{kids[int(rng.integers(0, len(kids)))].split(chr(34))[1]}"'
    return f'<Node id="{own}"{score}{extra}>{{predicate}}{"".join(kids)}</Node>'


def document(seed: int, method: str, treatment: str, strategy: str, floats: bool,
              chains: bool = False, pairs: str = "last") -> str:
    rng = np.random.default_rng(seed)
    context = ' x-mathContext="float"' if floats else ""
    no_true = ' noTrueChildStrategy="returnLastPrediction"' if chains else ""
    segments = []
    for k in range(12):
        root = _node(rng, 3 if chains else 4, strategy, [], chains, pairs)
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


def records(n: int, seed: int) -> pd.DataFrame:
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
