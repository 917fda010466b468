"""ModelVerification (PMML 4.4 "Model Verification"), and documents in older PMML versions.

A document's ModelVerification rows must be reproduced by the model.  A numeric cell matches
when |expected - actual| <= precision * |expected| (precision defaults to 1e-6), or when both are
within zeroThreshold (default 1e-16) of zero.  When some VerificationFields name OutputFields,
the VerificationFields naming targets are training labels and are not checked.

These documents load with verification on (pmmlserve.load's default) and then score the
verification inputs themselves.
"""

from __future__ import annotations

import math

from tests.scoring.spec._case import SpecCase, document

CASES: list[SpecCase] = []

_DATA_NS = ' xmlns:data="http://jpmml.org/jpmml-model/InlineTable"'
_DD = """
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>"""

CASES.append(SpecCase(
    id="verification/regression-within-precision",
    pmml=document(_DD, """
  <RegressionModel functionName="regression">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <RegressionTable intercept="1"><NumericPredictor name="x" coefficient="2"/></RegressionTable>
    <ModelVerification recordCount="3" fieldCount="2">
      <VerificationFields>
        <VerificationField field="x"/>
        <VerificationField field="y" precision="1e-6" zeroThreshold="1e-12"/>
      </VerificationFields>
      <InlineTable>
        <row><x>2</x><y>5.000004</y></row>
        <row><x>-0.5</x><y>1e-13</y></row>
        <row><x>10</x><y>21</y></row>
      </InlineTable>
    </ModelVerification>
  </RegressionModel>"""),
    records=[{"x": 2.0}, {"x": -0.5}, {"x": 10.0}],
    expected=[{"y": 5.0}, {"y": 0.0}, {"y": 21.0}],
    note="5.000004 vs 5: within 1e-6 * 5.000004; 1e-13 vs 0: both within zeroThreshold 1e-12.",
))

CASES.append(SpecCase(
    id="verification/output-fields-data-namespace",
    pmml=document("""
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="categorical" dataType="string"><Value value="no"/><Value value="yes"/></DataField>""", """
  <RegressionModel functionName="classification" normalizationMethod="logit">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Output>
      <OutputField name="probability(yes)" optype="continuous" dataType="double" feature="probability" value="yes"/>
    </Output>
    <RegressionTable intercept="0" targetCategory="yes"><NumericPredictor name="x" coefficient="1"/></RegressionTable>
    <RegressionTable intercept="0" targetCategory="no"/>
    <ModelVerification>
      <VerificationFields>
        <VerificationField field="x" column="data:x"/>
        <VerificationField field="y" column="data:y"/>
        <VerificationField field="probability(yes)" column="data:probability_yes"/>
      </VerificationFields>
      <InlineTable>
        <row><data:x>0</data:x><data:y>no</data:y><data:probability_yes>0.5</data:probability_yes></row>
        <row><data:x>1</data:x><data:y>no</data:y><data:probability_yes>0.7310585786300049</data:probability_yes></row>
      </InlineTable>
    </ModelVerification>
  </RegressionModel>""", root_attributes=_DATA_NS),
    records=[{"x": 0.0}, {"x": 1.0}],
    expected=[
        # x = 0: p(yes) = 0.5 = p(no); the tie goes to the first table, yes
        {"y": "yes", "probability(yes)": 0.5},
        {"y": "yes", "probability(yes)": 1 / (1 + math.exp(-1.0))},
    ],
    note="The verification rows give y = 'no' (a training label) although the model predicts "
         "'yes': because a VerificationField names an OutputField, the target column is not "
         "checked. Cells use sklearn2pmml's data: namespace.",
))

CASES.append(SpecCase(
    id="verification/pmml-4.1-document",
    pmml=document(_DD, """
  <RegressionModel functionName="regression" normalizationMethod="exp">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="predicted"/></MiningSchema>
    <RegressionTable intercept="0"><NumericPredictor name="x" coefficient="1"/></RegressionTable>
    <ModelVerification>
      <VerificationFields><VerificationField field="x"/><VerificationField field="y"/></VerificationFields>
      <InlineTable>
        <row><x>0</x><y>1</y></row>
        <row><x>1</x><y>2.718281828459045</y></row>
      </InlineTable>
    </ModelVerification>
  </RegressionModel>""", version="4.1"),
    records=[{"x": 0.0}, {"x": 1.0}, {"x": 2.0}],
    expected=[{"y": 1.0}, {"y": math.e}, {"y": math.exp(2.0)}],
    note="A PMML 4.1 document (namespace PMML-4_1, usageType 'predicted') with verification rows.",
))

CASES.append(SpecCase(
    id="verification/pmml-4.3-tree",
    pmml=document(_DD, """
  <TreeModel functionName="regression">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Node score="1"><True/>
      <Node score="-1"><SimplePredicate field="x" operator="lessOrEqual" value="0"/></Node>
      <Node score="2"><SimplePredicate field="x" operator="greaterThan" value="0"/></Node>
    </Node>
    <ModelVerification>
      <VerificationFields><VerificationField field="x"/><VerificationField field="y"/></VerificationFields>
      <InlineTable>
        <row><x>0</x><y>-1</y></row>
        <row><x>3</x><y>2</y></row>
      </InlineTable>
    </ModelVerification>
  </TreeModel>""", version="4.3"),
    records=[{"x": 0.0}, {"x": 3.0}],
    expected=[{"y": -1.0}, {"y": 2.0}],
    note="A PMML 4.3 TreeModel with verification rows.",
))
