"""The vendor attribute x-mathContext="float" (JPMML; written by the XGBoost and LightGBM
converters) and dataType="float" fields.

With x-mathContext="float" a model computes in IEEE single precision: every constant and input
is rounded to float32 and every operation rounds its result to float32 (Java float arithmetic,
reproduced here with numpy.float32).  Independently of the math context, a field of
dataType="float" holds a float32 value, and a SimplePredicate on it parses its threshold as a
float32 too, so both sides of the comparison are float32.

The values are picked so that float32 and float64 arithmetic give different answers; the
tolerance is 0, so a double-precision evaluator fails these cases.
"""

from __future__ import annotations

import numpy as np

from tests.scoring.spec._case import SpecCase, document

CASES: list[SpecCase] = []

f32 = np.float32

_DD = """
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>"""


def _regression_f32(x: float) -> float:
    # 0 + 3f * xf (one float32 product, exact when added to 0), then + 0.1f
    return float(f32(f32(3) * f32(x)) + f32(0.1))


CASES.append(SpecCase(
    id="math-context/regression-float",
    pmml=document(_DD, """
  <RegressionModel functionName="regression" x-mathContext="float">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <RegressionTable intercept="0.1"><NumericPredictor name="x" coefficient="3"/></RegressionTable>
  </RegressionModel>"""),
    records=[{"x": 0.1}, {"x": 1 / 3}],
    expected=[
        {"y": _regression_f32(0.1)},     # 0.4000000059604645; in float64 it is 0.4
        {"y": _regression_f32(1 / 3)},   # 1.100000023841858; in float64 1.1
    ],
    rtol=0.0,
    note="float32 arithmetic: 3 * 0.1f rounds to 0.30000001192092896, + 0.1f rounds to "
         "0.4000000059604645 (float64 gives 0.4).",
))

_TREE_SCORES = (0.1, 0.2, 0.7)


def _tree_segment(i: int, score: float) -> str:
    return f"""
      <Segment id="{i}"><True/>
        <TreeModel functionName="regression" x-mathContext="float">
          <MiningSchema><MiningField name="x"/></MiningSchema>
          <Node score="0"><True/>
            <Node score="{score}"><SimplePredicate field="x" operator="lessThan" value="100"/></Node>
            <Node score="{-score}"><True/></Node>
          </Node>
        </TreeModel>
      </Segment>"""


def _float_sum(values) -> float:
    total = f32(0)
    for v in values:
        total = f32(total + f32(v))
    return float(total)


CASES.append(SpecCase(
    id="math-context/boosted-sum-float",
    pmml=document(_DD, f"""
  <MiningModel functionName="regression" x-mathContext="float">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Segmentation multipleModelMethod="sum">{"".join(_tree_segment(i, s) for i, s in enumerate(_TREE_SCORES))}
    </Segmentation>
  </MiningModel>"""),
    records=[{"x": 1.0}, {"x": 200.0}],
    expected=[{"y": _float_sum(_TREE_SCORES)},                  # 1.0000000149011612, not 1.0
              {"y": _float_sum(-s for s in _TREE_SCORES)}],
    rtol=0.0,
    note="The XGBoost shape: tree scores are float32 and the segments are summed in float32, in "
         "segment order: (0.1f + 0.2f) + 0.7f = 1.0000000149011612.",
))

CASES.append(SpecCase(
    id="math-context/tree-score-float",
    pmml=document(_DD, """
  <TreeModel functionName="regression" x-mathContext="float">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Node score="0.1"><True/></Node>
  </TreeModel>"""),
    records=[{"x": 1.0}],
    expected=[{"y": float(f32(0.1))}],   # 0.10000000149011612
    rtol=0.0,
    note="A float math context turns the score '0.1' into the float32 0.1f.",
))

CASES.append(SpecCase(
    id="math-context/float-field-threshold",
    pmml=document("""
    <DataField name="x_f" optype="continuous" dataType="float"/>
    <DataField name="x_d" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>""", """
  <TreeModel functionName="regression">
    <MiningSchema><MiningField name="x_f"/><MiningField name="x_d"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Node score="0"><True/>
      <Node score="1"><SimplePredicate field="x_f" operator="lessOrEqual" value="0.1"/></Node>
      <Node score="2"><SimplePredicate field="x_d" operator="lessOrEqual" value="0.1"/></Node>
      <Node score="3"><True/></Node>
    </Node>
  </TreeModel>"""),
    records=[{"x_f": 0.1000000005, "x_d": 1.0},
             {"x_f": 0.2, "x_d": 0.1000000005},
             {"x_f": 0.10000001, "x_d": 0.1},
             {"x_f": 0.09999999, "x_d": 1.0}],
    expected=[
        # float32(0.1000000005) == float32(0.1) == 0.10000000149011612: <= holds.
        # In float64 0.1000000005 > 0.1, and comparing the float32 input with a float64
        # threshold gives 0.10000000149011612 > 0.1: both wrong.
        {"y": 1.0},
        {"y": 3.0},   # the double field compares in float64: 0.1000000005 > 0.1
        # float32(0.10000001) == 0.10000000894069672 > 0.1f; the double 0.1 <= 0.1
        {"y": 2.0},
        {"y": 1.0},   # float32(0.09999999) == 0.09999999403953552 <= 0.1f
    ],
    note="A dataType='float' field holds float32 values and its SimplePredicate threshold is a "
         "float32 as well (the two agree at 0.1f); a double field compares in double.",
))

assert float(f32(0.1000000005)) == float(f32(0.1)) and 0.1000000005 > 0.1   # the premise above
