"""Targets and Output (PMML 4.4 "Targets", "Output").

Targets post-process a regression prediction in this order: clamp to [min, max], then
rescaleFactor * value + rescaleConstant, then castInteger (round / ceiling / floor).  When a
model cannot predict, TargetValue@defaultValue (regression) or the TargetValue@priorProbability
distribution (classification) is the result.  TargetValue@displayValue is what
predictedDisplayValue shows.

Output computes OutputFields in document order; a transformedValue expression may refer to
input fields and to earlier OutputFields; isFinalResult="false" marks an intermediate field
that is not part of the result.
"""

from __future__ import annotations

import math

from tests.scoring.spec._case import SpecCase, document

CASES: list[SpecCase] = []


def _regression(targets: str, *, target_type: str = "double", output: str = "",
                intercept: float = 1.0, coefficient: float = 2.0) -> str:
    return document(f"""
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="{target_type}"/>""", f"""
  <RegressionModel functionName="regression">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>{output}
    <Targets>{targets}
    </Targets>
    <RegressionTable intercept="{intercept}"><NumericPredictor name="x" coefficient="{coefficient}"/></RegressionTable>
  </RegressionModel>""")


# --- Targets: regression post-processing -----------------------------------------------------

CASES.append(SpecCase(
    id="targets/rescale",
    pmml=_regression("""
      <Target field="y" rescaleFactor="2.5" rescaleConstant="10"/>"""),
    records=[{"x": 1.0}, {"x": -3.0}],
    expected=[{"y": (1 + 2 * 1.0) * 2.5 + 10}, {"y": (1 + 2 * -3.0) * 2.5 + 10}],
    note="y = raw * rescaleFactor + rescaleConstant, raw = 1 + 2x.",
))

CASES.append(SpecCase(
    id="targets/min-max-before-rescale",
    pmml=_regression("""
      <Target field="y" min="0" max="10" rescaleFactor="3" rescaleConstant="-1"/>"""),
    records=[{"x": 1.0}, {"x": 20.0}, {"x": -5.0}],
    expected=[{"y": 3 * 3.0 - 1},     # raw 3 is inside [0, 10]
              {"y": 3 * 10.0 - 1},    # raw 41 clamped to 10, then rescaled (not 122 clamped)
              {"y": 3 * 0.0 - 1}],    # raw -9 clamped to 0
    note="min/max clamp the raw prediction before the rescaling.",
))

for _cast, _fn in (("round", round), ("ceiling", math.ceil), ("floor", math.floor)):
    _xs = (0.3, -1.4, 1.1)   # raw = 1 + 2x: 1.6, -1.8, 3.2 (no .5 ties)
    CASES.append(SpecCase(
        id=f"targets/cast-integer-{_cast}",
        pmml=_regression(f"""
      <Target field="y" castInteger="{_cast}"/>""", target_type="integer"),
        records=[{"x": x} for x in _xs],
        expected=[{"y": int(_fn(1 + 2 * x))} for x in _xs],
        note=f"castInteger={_cast} on raw = 1 + 2x (1.6, -1.8, 3.2); the target is an integer.",
    ))

CASES.append(SpecCase(
    id="targets/default-value",
    pmml=_regression("""
      <Target field="y"><TargetValue defaultValue="42.5"/></Target>"""),
    records=[{"x": 1.0}, {"x": None}],
    expected=[{"y": 3.0}, {"y": 42.5}],
    note="A regression that cannot predict (missing NumericPredictor input) gives "
         "TargetValue@defaultValue.",
))

_DD_AB = """
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="categorical" dataType="string"><Value value="A"/><Value value="B"/></DataField>"""

CASES.append(SpecCase(
    id="targets/prior-probabilities-and-display-values",
    pmml=document(_DD_AB, """
  <TreeModel functionName="classification" missingValueStrategy="nullPrediction">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Output>
      <OutputField name="predicted" optype="categorical" dataType="string" feature="predictedValue"/>
      <OutputField name="display" optype="categorical" dataType="string" feature="predictedDisplayValue"/>
      <OutputField name="probability(A)" optype="continuous" dataType="double" feature="probability" value="A"/>
      <OutputField name="probability" optype="continuous" dataType="double" feature="probability"/>
    </Output>
    <Targets>
      <Target field="y">
        <TargetValue value="A" displayValue="Alpha" priorProbability="0.2"/>
        <TargetValue value="B" displayValue="Beta" priorProbability="0.8"/>
      </Target>
    </Targets>
    <Node score="A"><True/>
      <Node score="A"><SimplePredicate field="x" operator="lessThan" value="0"/>
        <ScoreDistribution value="A" recordCount="9"/><ScoreDistribution value="B" recordCount="1"/>
      </Node>
      <Node score="B"><True/>
        <ScoreDistribution value="A" recordCount="3"/><ScoreDistribution value="B" recordCount="7"/>
      </Node>
    </Node>
  </TreeModel>"""),
    records=[{"x": -1.0}, {"x": 1.0}, {"x": None}],
    expected=[
        {"y": "A", "predicted": "A", "display": "Alpha", "probability(A)": 0.9, "probability": 0.9},
        {"y": "B", "predicted": "B", "display": "Beta", "probability(A)": 0.3, "probability": 0.7},
        # no prediction (nullPrediction on a missing x): the prior distribution is the result
        {"y": "B", "predicted": "B", "display": "Beta", "probability(A)": 0.2, "probability": 0.8},
    ],
    note="TargetValue priors replace a missing classification; displayValue is the "
         "predictedDisplayValue; a probability OutputField without a value is the probability of "
         "the predicted category.",
))

# --- Output ----------------------------------------------------------------------------------

_DD_XYZ = """
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="categorical" dataType="string"><Value value="no"/><Value value="yes"/></DataField>"""

CASES.append(SpecCase(
    id="output/transformed-values",
    pmml=document(_DD_XYZ, """
  <RegressionModel functionName="classification" normalizationMethod="logit">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Output>
      <OutputField name="p_yes" optype="continuous" dataType="double" feature="probability" value="yes"/>
      <OutputField name="log_odds" optype="continuous" dataType="double" feature="transformedValue">
        <Apply function="ln">
          <Apply function="/">
            <FieldRef field="p_yes"/>
            <Apply function="-"><Constant>1</Constant><FieldRef field="p_yes"/></Apply>
          </Apply>
        </Apply>
      </OutputField>
      <OutputField name="decision" optype="categorical" dataType="string" feature="transformedValue">
        <Apply function="if">
          <Apply function="greaterThan"><FieldRef field="p_yes"/><Constant>0.9</Constant></Apply>
          <Constant dataType="string">accept</Constant>
          <Constant dataType="string">review</Constant>
        </Apply>
      </OutputField>
      <OutputField name="x_twice" optype="continuous" dataType="double" feature="transformedValue">
        <Apply function="*"><FieldRef field="x"/><Constant>2</Constant></Apply>
      </OutputField>
      <OutputField name="display" optype="categorical" dataType="string" feature="predictedDisplayValue"/>
    </Output>
    <RegressionTable intercept="0.5" targetCategory="yes"><NumericPredictor name="x" coefficient="1"/></RegressionTable>
    <RegressionTable intercept="0" targetCategory="no"/>
  </RegressionModel>"""),
    records=[{"x": 1.5}, {"x": 3.0}],
    expected=[
        # p_yes = logistic(2.0), log odds recovers 2.0 (up to rounding)
        {"y": "yes", "p_yes": 1 / (1 + math.exp(-2.0)),
         "log_odds": math.log((1 / (1 + math.exp(-2.0))) / (1 - 1 / (1 + math.exp(-2.0)))),
         "decision": "review", "x_twice": 3.0, "display": "yes"},
        {"y": "yes", "p_yes": 1 / (1 + math.exp(-3.5)),
         "log_odds": math.log((1 / (1 + math.exp(-3.5))) / (1 - 1 / (1 + math.exp(-3.5)))),
         "decision": "accept", "x_twice": 6.0, "display": "yes"},
    ],
    rtol=1e-9,
    note="An OutputField may use earlier OutputFields (p_yes) and input fields in its expression; "
         "without Targets the display value is the predicted value itself.",
))

CASES.append(SpecCase(
    id="output/regression-predicted-value-and-transformed",
    pmml=_regression("""
      <Target field="y" rescaleFactor="10"/>""", output="""
    <Output>
      <OutputField name="predicted" optype="continuous" dataType="double" feature="predictedValue"/>
      <OutputField name="plus_one" optype="continuous" dataType="double" feature="transformedValue">
        <Apply function="+"><FieldRef field="predicted"/><Constant>1</Constant></Apply>
      </OutputField>
    </Output>"""),
    records=[{"x": 0.5}, {"x": -1.0}],
    expected=[{"y": 20.0, "predicted": 20.0, "plus_one": 21.0},
              {"y": -10.0, "predicted": -10.0, "plus_one": -9.0}],
    note="predictedValue is the target after Targets post-processing ((1 + 2x) * 10).",
))

CASES.append(SpecCase(
    id="output/expression-over-missing-prediction",
    pmml=_regression("""
      <Target field="y" rescaleFactor="10"/>""", output="""
    <Output>
      <OutputField name="predicted" optype="continuous" dataType="double" feature="predictedValue"/>
      <OutputField name="plus_one" optype="continuous" dataType="double" feature="transformedValue">
        <Apply function="+"><FieldRef field="predicted"/><Constant>1</Constant></Apply>
      </OutputField>
    </Output>"""),
    records=[{"x": None}],
    expected=[{"y": None, "predicted": None, "plus_one": None}],
    note="A missing prediction makes predictedValue missing, and + over a missing value is "
         "missing. JPMML leaves the OutputFields of a missing prediction undefined, so the FieldRef "
         "in plus_one fails with MissingFieldException ('Field \"predicted\" is not defined').",
    jpmml_differs=True,
))

CASES.append(SpecCase(
    id="output/is-final-result-false",
    pmml=_regression("", output="""
    <Output>
      <OutputField name="raw" optype="continuous" dataType="double" feature="predictedValue" isFinalResult="false"/>
      <OutputField name="squared" optype="continuous" dataType="double" feature="transformedValue">
        <Apply function="*"><FieldRef field="raw"/><FieldRef field="raw"/></Apply>
      </OutputField>
    </Output>""").replace("<Targets>\n    </Targets>", ""),
    records=[{"x": 1.0}, {"x": -0.5}],
    expected=[{"y": 3.0, "raw": 3.0, "squared": 9.0}, {"y": 0.0, "raw": 0.0, "squared": 0.0}],
    note="isFinalResult='false' marks an intermediate result that other OutputFields use (here "
         "'squared'), not meant for display; it is still computed. JPMML's evaluate/evaluateAll "
         "keep it as a column (its default OutputFilter is KEEP_ALL; KEEP_FINAL_RESULTS would drop "
         "it), and pmmlserve names its columns as evaluateAll does, so 'raw' is expected.",
))
