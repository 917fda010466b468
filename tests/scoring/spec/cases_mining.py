"""MiningModel with Segmentation (PMML 4.4 "Multiple Models").

Rules from the specification used below:

* Only segments whose predicate is TRUE take part (a segment predicate that is UNKNOWN is not
  TRUE); when none does, the result is missing.
* regression: sum = sum y_i;  average = mean y_i;  weightedAverage = sum w_i y_i / sum w_i;
  weightedSum = sum w_i y_i;  median = the middle value (the mean of the two middle values for
  an even count);  weightedMedian = the smallest value whose cumulative weight reaches half the
  total weight.
* classification: majorityVote / weightedMajorityVote = the category with the most (weighted)
  votes, probabilities = vote share;  average / weightedAverage = (weighted) mean of the
  probabilities;  median / max = the category with the highest median / maximum probability,
  whose probability distribution is that of the segment(s) which supplied it (averaged).
* modelChain: segments run in order, each one's OutputFields become fields for the next; the
  result is the last segment's.  selectFirst: the first TRUE segment.  selectAll: every TRUE
  segment's prediction.
* missingPredictionTreatment: continue (default) = a missing segment prediction makes an
  aggregated value missing (for votes, missing is a candidate that wins with the most votes);
  returnMissing = the result is missing;  skipSegment = the segment is ignored, unless the
  weight of the missing ones exceeds missingThreshold (default 1), then the result is missing.
"""

from __future__ import annotations

import math
import statistics

from tests.scoring.spec._case import SpecCase, document

CASES: list[SpecCase] = []

_DD_REG = """
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="z" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>"""
_DD_CLASS = """
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="z" optype="continuous" dataType="double"/>
    <DataField name="y" optype="categorical" dataType="string"><Value value="A"/><Value value="B"/></DataField>"""


def _linear(sid: str, intercept: float, coefficient: float = 0.0, *, field: str = "x",
            predicate: str = "<True/>", weight: float | None = None, output: str = "") -> str:
    """A Segment holding the RegressionModel y = intercept + coefficient * field."""
    w = f' weight="{weight}"' if weight is not None else ""
    predictor = f'<NumericPredictor name="{field}" coefficient="{coefficient}"/>' if coefficient else ""
    mining = f'<MiningField name="{field}"/>' if coefficient else ""
    return f"""
      <Segment id="{sid}"{w}>{predicate}
        <RegressionModel functionName="regression">
          <MiningSchema>{mining}<MiningField name="y" usageType="target"/></MiningSchema>{output}
          <RegressionTable intercept="{intercept}">{predictor}</RegressionTable>
        </RegressionModel>
      </Segment>"""


def _mining(function: str, method: str, segments: str, *, data_dictionary: str = _DD_REG,
            output: str = "", segmentation_attributes: str = "", fields=("x", "z")) -> str:
    mining = "".join(f'<MiningField name="{f}"/>' for f in fields)
    return document(data_dictionary, f"""
  <MiningModel functionName="{function}">
    <MiningSchema>{mining}<MiningField name="y" usageType="target"/></MiningSchema>{output}
    <Segmentation multipleModelMethod="{method}"{segmentation_attributes}>{segments}
    </Segmentation>
  </MiningModel>""")


def _gt(field: str, value: float) -> str:
    return f'<SimplePredicate field="{field}" operator="greaterThan" value="{value}"/>'


# --- regression aggregation ------------------------------------------------------------------

_TREE_SEGMENT = """
      <Segment id="tree"><True/>
        <TreeModel functionName="regression">
          <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
          <Node score="0"><True/>
            <Node score="-1"><SimplePredicate field="x" operator="lessThan" value="0"/></Node>
            <Node score="3"><True/></Node>
          </Node>
        </TreeModel>
      </Segment>"""

CASES.append(SpecCase(
    id="mining/sum-with-segment-predicate",
    pmml=_mining("regression", "sum",
                 _linear("a", 1, 2) + _linear("b", -0.5) + _TREE_SEGMENT
                 + _linear("big", 10, predicate=_gt("x", 5))),
    records=[{"x": 1.0}, {"x": -2.0}, {"x": 6.0}],
    expected=[{"y": (1 + 2 * 1.0) + -0.5 + 3},
              {"y": (1 + 2 * -2.0) + -0.5 + -1},
              {"y": (1 + 2 * 6.0) + -0.5 + 3 + 10}],   # x > 5: the 'big' segment joins
    note="sum of the TRUE segments' predictions (the gradient-boosting shape).",
))

_THREE = _linear("a", 1, 2, weight=1) + _linear("b", 3, -1, weight=2) + _linear("c", 0, 0.5, weight=5)


def _three(x):   # a = 1 + 2x, b = 3 - x, c = 0.5x with weights 1, 2, 5
    return [(1 + 2 * x, 1.0), (3 - x, 2.0), (0.5 * x, 5.0)]


def _weighted_median(pairs):
    pairs = sorted(pairs)
    half = 0.5 * sum(w for _, w in pairs)
    cumulative = 0.0
    for value, w in pairs:
        cumulative += w
        if cumulative >= half:
            return value
    raise AssertionError


_AGGREGATES = {
    "average": lambda p: sum(v for v, _ in p) / len(p),
    "weightedAverage": lambda p: sum(v * w for v, w in p) / sum(w for _, w in p),
    "weightedSum": lambda p: sum(v * w for v, w in p),
    "median": lambda p: statistics.median(v for v, _ in p),
    "weightedMedian": _weighted_median,
}
for _method, _aggregate in _AGGREGATES.items():
    _xs = (2.0, 4.0, -1.0)
    CASES.append(SpecCase(
        id=f"mining/regression-{_method}",
        pmml=_mining("regression", _method, _THREE),
        records=[{"x": x} for x in _xs],
        # x = 2: a=5, b=1, c=1;  x = 4: a=9, b=-1, c=2;  x = -1: a=-1, b=4, c=-0.5
        expected=[{"y": _aggregate(_three(x))} for x in _xs],
        note=f"{_method} of the segment predictions a = 1 + 2x (w 1), b = 3 - x (w 2), "
             "c = 0.5x (w 5).",
    ))

CASES.append(SpecCase(
    id="mining/regression-median-even-count",
    pmml=_mining("regression", "median", _THREE + _linear("d", 10)),
    records=[{"x": 4.0}],
    expected=[{"y": (2.0 + 9.0) / 2}],   # 9, -1, 2, 10 -> sorted -1, 2, 9, 10
    note="median of an even number of predictions: the mean of the two middle ones.",
))

CASES.append(SpecCase(
    id="mining/no-segment-applies",
    pmml=_mining("regression", "sum", _linear("pos", 1, predicate=_gt("x", 0))
                 + _linear("big", 2, predicate=_gt("x", 10))),
    records=[{"x": 20.0}, {"x": -1.0}, {"x": None}],
    expected=[{"y": 3.0}, {"y": None},
              {"y": None}],   # the predicates are UNKNOWN, not TRUE
    note="When no segment predicate is TRUE the result is missing.",
))

# --- classification aggregation --------------------------------------------------------------


def _vote_tree(sid: str, threshold: float, *, weight: float | None = None, field: str = "x") -> str:
    """A classification tree predicting A when field < threshold, else B (no distribution)."""
    w = f' weight="{weight}"' if weight is not None else ""
    return f"""
      <Segment id="{sid}"{w}><True/>
        <TreeModel functionName="classification" missingValueStrategy="nullPrediction">
          <MiningSchema><MiningField name="{field}"/><MiningField name="y" usageType="target"/></MiningSchema>
          <Node score="A"><True/>
            <Node score="A"><SimplePredicate field="{field}" operator="lessThan" value="{threshold}"/></Node>
            <Node score="B"><True/></Node>
          </Node>
        </TreeModel>
      </Segment>"""


_PROBS = """
    <Output>
      <OutputField name="probability(A)" optype="continuous" dataType="double" feature="probability" value="A"/>
      <OutputField name="probability(B)" optype="continuous" dataType="double" feature="probability" value="B"/>
    </Output>"""


def _p(y, p_a):
    return {"y": y, "probability(A)": p_a, "probability(B)": 1.0 - p_a}


CASES.append(SpecCase(
    id="mining/classification-majority-vote",
    pmml=_mining("classification", "majorityVote",
                 _vote_tree("t0", 0) + _vote_tree("t5", 5) + _vote_tree("t10", 10),
                 data_dictionary=_DD_CLASS, output=_PROBS),
    records=[{"x": -1.0}, {"x": 3.0}, {"x": 7.0}, {"x": 12.0}],
    # votes (t0, t5, t10): AAA, BAA, BBA, BBB
    expected=[_p("A", 3 / 3), _p("A", 2 / 3), _p("B", 1 / 3), _p("B", 0 / 3)],
    note="majorityVote: the most frequent predicted category; probability = share of the votes.",
))

CASES.append(SpecCase(
    id="mining/classification-weighted-majority-vote",
    pmml=_mining("classification", "weightedMajorityVote",
                 _vote_tree("t0", 0, weight=1) + _vote_tree("t5", 5, weight=1)
                 + _vote_tree("t10", 10, weight=3),
                 data_dictionary=_DD_CLASS, output=_PROBS),
    records=[{"x": 3.0}, {"x": 7.0}, {"x": 12.0}],
    # x=3: B(1) A(1) A(3) -> A 4 of 5;  x=7: B(1) B(1) A(3) -> A 3 of 5;  x=12: all B
    expected=[_p("A", 4 / 5), _p("A", 3 / 5), _p("B", 0 / 5)],
    note="weightedMajorityVote: votes weighted by Segment@weight (1, 1, 3).",
))


def _dist_tree(sid: str, threshold: float | None, low: float, high: float, *,
               weight: float | None = None) -> str:
    """A classification tree: p(A) = low when x < threshold, else high (one leaf if no threshold)."""
    w = f' weight="{weight}"' if weight is not None else ""

    def leaf(p_a, predicate):
        return (f'<Node score="{"A" if p_a > 0.5 else "B"}">{predicate}'
                f'<ScoreDistribution value="A" recordCount="{p_a * 100:g}"/>'
                f'<ScoreDistribution value="B" recordCount="{(1 - p_a) * 100:g}"/></Node>')

    if threshold is None:
        nodes = leaf(low, "<True/>")
    else:
        nodes = (f'<Node score="A"><True/>'
                 + leaf(low, f'<SimplePredicate field="x" operator="lessThan" value="{threshold}"/>')
                 + leaf(high, "<True/>") + "</Node>")
    return f"""
      <Segment id="{sid}"{w}><True/>
        <TreeModel functionName="classification">
          <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
          {nodes}
        </TreeModel>
      </Segment>"""


# p(A) per segment: s1 = 0.9 if x < 0 else 0.3;  s2 = 0.6 if x < 5 else 0.2;  s3 = 0.55
_DISTS = (_dist_tree("s1", 0, 0.9, 0.3, weight=2) + _dist_tree("s2", 5, 0.6, 0.2, weight=1)
          + _dist_tree("s3", None, 0.55, 0.55, weight=1))


def _seg_pa(x):
    return [0.9 if x < 0 else 0.3, 0.6 if x < 5 else 0.2, 0.55]


def _winner(p_a):
    return _p("A" if p_a > 0.5 else "B", p_a)


def _by_median(x):
    pa = _seg_pa(x)
    med_a, med_b = statistics.median(pa), statistics.median(1 - v for v in pa)
    winner_is_a = med_a > med_b
    # the distribution of the segment(s) whose probability of the winner is the median
    chosen = [v for v in pa if (v if winner_is_a else 1 - v) == (med_a if winner_is_a else med_b)]
    return _p("A" if winner_is_a else "B", sum(chosen) / len(chosen))


def _by_max(x):
    pa = _seg_pa(x)
    max_a, max_b = max(pa), max(1 - v for v in pa)
    winner_is_a = max_a > max_b
    chosen = [v for v in pa if (v if winner_is_a else 1 - v) == (max_a if winner_is_a else max_b)]
    return _p("A" if winner_is_a else "B", sum(chosen) / len(chosen))


_CLASS_AGGREGATES = {
    "average": lambda x: _winner(sum(_seg_pa(x)) / 3),
    "weightedAverage": lambda x: _winner(sum(w * v for w, v in zip((2, 1, 1), _seg_pa(x))) / 4),
    "median": _by_median,
    "max": _by_max,
}
for _method, _aggregate in _CLASS_AGGREGATES.items():
    _xs = (-1.0, 3.0, 7.0)
    CASES.append(SpecCase(
        id=f"mining/classification-{_method}",
        pmml=_mining("classification", _method, _DISTS, data_dictionary=_DD_CLASS, output=_PROBS),
        records=[{"x": x} for x in _xs],
        expected=[_aggregate(x) for x in _xs],
        note=f"{_method} of the segment probabilities p(A) = (0.9 | 0.3), (0.6 | 0.2), 0.55 with "
             "weights 2, 1, 1. At x = 3 the average picks B (0.483) while the median picks A "
             "(median p(A) 0.55 > median p(B) 0.45) and max picks B (0.7 from s1).",
    ))

# --- modelChain: the gradient-boosted classifier shape ---------------------------------------

_GBDT = """
  <MiningModel functionName="classification">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Output>{top_probabilities}
      <OutputField name="margin" optype="continuous" dataType="double" feature="transformedValue">
        <FieldRef field="decisionFunction(1)"/>
      </OutputField>
    </Output>
    <Segmentation multipleModelMethod="modelChain">
      <Segment id="1"><True/>
        <MiningModel functionName="regression">
          <MiningSchema><MiningField name="x"/></MiningSchema>
          <Output>
            <OutputField name="decisionFunction(1)" optype="continuous" dataType="double" isFinalResult="false"/>
          </Output>
          <Segmentation multipleModelMethod="sum">
            <Segment id="1"><True/>
              <TreeModel functionName="regression" noTrueChildStrategy="returnLastPrediction">
                <MiningSchema><MiningField name="x"/></MiningSchema>
                <Node score="0"><True/>
                  <Node score="-0.5"><SimplePredicate field="x" operator="lessThan" value="0"/></Node>
                  <Node score="0.7"><SimplePredicate field="x" operator="greaterOrEqual" value="0"/></Node>
                </Node>
              </TreeModel>
            </Segment>
            <Segment id="2"><True/>
              <TreeModel functionName="regression" noTrueChildStrategy="returnLastPrediction">
                <MiningSchema><MiningField name="x"/></MiningSchema>
                <Node score="0"><True/>
                  <Node score="0.1"><SimplePredicate field="x" operator="lessThan" value="2"/></Node>
                  <Node score="-0.3"><SimplePredicate field="x" operator="greaterOrEqual" value="2"/></Node>
                </Node>
              </TreeModel>
            </Segment>
          </Segmentation>
        </MiningModel>
      </Segment>
      <Segment id="2"><True/>
        <RegressionModel functionName="classification" normalizationMethod="logit">
          <MiningSchema><MiningField name="y" usageType="target"/><MiningField name="decisionFunction(1)"/></MiningSchema>{segment_output}
          <RegressionTable intercept="0" targetCategory="1">
            <NumericPredictor name="decisionFunction(1)" coefficient="1"/>
          </RegressionTable>
          <RegressionTable intercept="0" targetCategory="0"/>
        </RegressionModel>
      </Segment>
    </Segmentation>
  </MiningModel>"""


def _gbdt(margin):
    p1 = 1 / (1 + math.exp(-margin))
    return {"y": 1 if p1 > 0.5 else 0, "probability(0)": 1 - p1, "probability(1)": p1,
            "margin": margin}


_GBDT_PROBABILITIES = """
      <OutputField name="probability(0)" optype="continuous" dataType="double" feature="probability" value="0"/>
      <OutputField name="probability(1)" optype="continuous" dataType="double" feature="probability" value="1"/>"""
_DD_GBDT = """
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="categorical" dataType="integer"><Value value="0"/><Value value="1"/></DataField>"""

CASES.append(SpecCase(
    id="mining/model-chain-boosted-classifier",
    pmml=document(_DD_GBDT, _GBDT.replace("{top_probabilities}", "").replace(
        "{segment_output}", "\n          <Output>" + _GBDT_PROBABILITIES + "\n          </Output>")),
    records=[{"x": -1.0}, {"x": 1.0}, {"x": 3.0}],
    expected=[_gbdt(-0.5 + 0.1), _gbdt(0.7 + 0.1), _gbdt(0.7 - 0.3)],
    note="The sklearn2pmml boosted-classifier shape: segment 1 (a nested MiningModel summing two "
         "trees) publishes decisionFunction(1) as an OutputField, segment 2 reads it as an input, "
         "applies the logistic function and declares the probability OutputFields (the last "
         "segment's outputs are result columns); the top-level Output re-exposes the "
         "intermediate margin through a FieldRef.",
))

CASES.append(SpecCase(
    id="mining/model-chain-top-level-probability-integer-target",
    pmml=document(_DD_GBDT, _GBDT.replace("{top_probabilities}", _GBDT_PROBABILITIES).replace(
        "{segment_output}", "")),
    records=[{"x": -1.0}, {"x": 3.0}],
    expected=[_gbdt(-0.5 + 0.1), _gbdt(0.7 - 0.3)],
    note="The same chain with the probability OutputFields on the top-level MiningModel: the "
         "result of a modelChain is its last segment's, so probability(0) is that segment's "
         "probability of category 0. JPMML 1.7 returns 0.0 for both probabilities when the "
         "target is an integer field (with a string target, or with the OutputFields inside the "
         "last segment, it returns the right values): apparently the top-level "
         "OutputField@value '0' is not matched with the segment's integer category 0.",
    jpmml_differs=True,
))

CASES.append(SpecCase(
    id="mining/model-chain-last-segment-outputs",
    pmml=_mining("regression", "modelChain",
                 _linear("first", 1, 2, output="""
          <Output><OutputField name="first_y" optype="continuous" dataType="double" feature="predictedValue"/></Output>""")
                 + """
      <Segment id="second"><True/>
        <RegressionModel functionName="regression">
          <MiningSchema><MiningField name="first_y"/><MiningField name="y" usageType="target"/></MiningSchema>
          <Output><OutputField name="second_y" optype="continuous" dataType="double" feature="predictedValue"/></Output>
          <RegressionTable intercept="-1"><NumericPredictor name="first_y" coefficient="10"/></RegressionTable>
        </RegressionModel>
      </Segment>""", fields=("x",)),
    records=[{"x": 0.5}, {"x": -2.0}],
    expected=[{"y": -1 + 10 * (1 + 2 * 0.5), "second_y": -1 + 10 * (1 + 2 * 0.5)},
              {"y": -1 + 10 * (1 + 2 * -2.0), "second_y": -1 + 10 * (1 + 2 * -2.0)}],
    note="modelChain: the result is the last segment's, and so are its OutputFields (JPMML "
         "exposes the last segment's OutputFields as result columns); the first segment's "
         "output first_y is an input of the second.",
))

# --- selectFirst / selectAll -----------------------------------------------------------------

CASES.append(SpecCase(
    id="mining/select-first-entity-id",
    pmml=_mining("regression", "selectFirst",
                 _linear("neg", 0, -1, predicate='<SimplePredicate field="x" operator="lessThan" value="0"/>')
                 + _linear("small", 0, 2, predicate='<SimplePredicate field="x" operator="lessThan" value="10"/>')
                 + _linear("rest", 100),
                 output="""
    <Output><OutputField name="segment" optype="categorical" dataType="string" feature="entityId"/></Output>""",
                 fields=("x",)),
    records=[{"x": -3.0}, {"x": 4.0}, {"x": 50.0}, {"x": None}],
    expected=[{"y": 3.0, "segment": "neg"}, {"y": 8.0, "segment": "small"},
              {"y": 100.0, "segment": "rest"},
              {"y": 100.0, "segment": "rest"}],   # x missing: the first two predicates are UNKNOWN
    note="selectFirst: the first segment whose predicate is TRUE; entityId is its id.",
))

CASES.append(SpecCase(
    id="mining/select-all",
    pmml=_mining("regression", "selectAll",
                 _linear("a", 1, 1) + _linear("b", 2, 1) + _linear("c", 3, predicate=_gt("x", 5)),
                 fields=("x",)),
    records=[{"x": 1.0}, {"x": 6.0}],
    expected=[{"y": [2.0, 3.0]}, {"y": [7.0, 8.0, 3.0]}],
    note="selectAll: every TRUE segment's prediction. The spec leaves the shape of the combined "
         "result to the application; JPMML returns the list of the segments' target values in "
         "segment order.",
))

# --- missingPredictionTreatment --------------------------------------------------------------

_MISSING_SEGMENTS = _linear("a", 1, 1) + _linear("b", 2, 1, field="z") + _linear("c", 3)
_MPT = {
    # treatment attributes -> y for (x=1, z=1) and (x=1, z missing)
    "continue": ("", [(2 + 3 + 3) / 3, None]),
    "returnMissing": (' missingPredictionTreatment="returnMissing"', [(2 + 3 + 3) / 3, None]),
    "skipSegment": (' missingPredictionTreatment="skipSegment"', [(2 + 3 + 3) / 3, (2 + 3) / 2]),
    "skipSegment-threshold": (' missingPredictionTreatment="skipSegment" missingThreshold="0.3"',
                              [(2 + 3 + 3) / 3, None]),   # 1 of 3 missing: 0.33 > 0.3
}
for _name, (_attributes, _ys) in _MPT.items():
    CASES.append(SpecCase(
        id=f"mining/missing-prediction-{_name}",
        pmml=_mining("regression", "average", _MISSING_SEGMENTS, segmentation_attributes=_attributes),
        records=[{"x": 1.0, "z": 1.0}, {"x": 1.0, "z": None}],
        expected=[{"y": _ys[0]}, {"y": _ys[1]}],
        note=f"missingPredictionTreatment {_name}: segment b = 2 + z is missing when z is; "
             "average of a = 1 + x, b, c = 3.",
    ))

_VOTES_WITH_MISSING = _vote_tree("x0", 0) + _vote_tree("z0", 0, field="z") + _vote_tree("z5", 5, field="z")
for _treatment, _expected_y in (("continue", [None, "A"]), ("skipSegment", ["A", "A"])):
    CASES.append(SpecCase(
        id=f"mining/majority-vote-missing-{_treatment}",
        pmml=_mining("classification", "majorityVote", _VOTES_WITH_MISSING, data_dictionary=_DD_CLASS,
                     segmentation_attributes=f' missingPredictionTreatment="{_treatment}"'),
        # z missing: votes A, missing, missing;  z = 3: votes A, B, A
        records=[{"x": -1.0, "z": None}, {"x": -1.0, "z": 3.0}],
        expected=[{"y": _expected_y[0]}, {"y": _expected_y[1]}],
        note=f"majorityVote with {_treatment}: with 'continue' a missing prediction is a vote for "
             "'missing', which wins 2 to 1; with skipSegment the missing votes are dropped.",
    ))

# --- OutputField@segmentId: a segment's own result -------------------------------------------

CASES.append(SpecCase(
    id="mining/output-segment-id",
    pmml=_mining("regression", "sum",
                 _linear("a", 1, 2) + _linear("b", -3) + _linear("c", 100, predicate=_gt("x", 5)),
                 output="""
    <Output>
      <OutputField name="a_value" optype="continuous" dataType="double" feature="predictedValue" segmentId="a"/>
      <OutputField name="b_value" optype="continuous" dataType="double" feature="predictedValue" segmentId="b"/>
      <OutputField name="c_value" optype="continuous" dataType="double" feature="predictedValue" segmentId="c"/>
    </Output>""", fields=("x",)),
    records=[{"x": 1.0}, {"x": 6.0}],
    expected=[{"y": 3.0 - 3.0, "a_value": 3.0, "b_value": -3.0,
               "c_value": None},   # segment c's predicate is FALSE: its output is missing
              {"y": 13.0 - 3.0 + 100.0, "a_value": 13.0, "b_value": -3.0, "c_value": 100.0}],
    note="OutputField@segmentId (PMML 4.4) reports the named segment's prediction; missing when "
         "that segment's predicate was not TRUE.",
))
