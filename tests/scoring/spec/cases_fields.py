"""DataDictionary and MiningSchema (PMML 4.4 "Data Dictionary", "Mining Schema").

What a conforming evaluator does with an input value, in order:

1. missing (absent, None, NaN, or equal to a Value with property="missing")
   -> missingValueTreatment: returnInvalid is an error; every other treatment (asIs, asMean,
      asMode, asMedian, asValue) only documents where missingValueReplacement came from, which
      replaces the missing value when present.
2. invalid (not parseable as the dataType, equal to a Value with property="invalid", not among
   the valid Values when any is declared, or outside every Interval of a continuous field)
   -> invalidValueTreatment: returnInvalid (default) is an error; asIs keeps the value; asMissing
      makes it missing (then step 1 applies: missingValueReplacement); asValue replaces it with
      invalidValueReplacement.
3. valid -> outliers (continuous): asIs keeps it; asMissingValues makes a value below lowValue or
   above highValue missing (then missingValueReplacement); asExtremeValues clamps it to
   lowValue / highValue.

Most documents below make the prepared value visible with an OutputField
feature="transformedValue" holding a FieldRef to the input field.
"""

from __future__ import annotations

import numpy as np

import pmmlserve
from tests.scoring.spec._case import SpecCase, document

CASES: list[SpecCase] = []


def _echo(data_dictionary: str, fields: dict[str, str], *, mining: str | None = None,
          version: str = "4.4") -> str:
    """A RegressionModel y = 0 whose Output echoes each prepared input field: {output: field}."""
    outputs = "\n".join(
        f'      <OutputField name="{out}" optype="continuous" dataType="double" '
        f'feature="transformedValue"><FieldRef field="{field}"/></OutputField>'
        for out, field in fields.items()
    )
    if mining is None:
        mining = "".join(f'<MiningField name="{f}"/>' for f in dict.fromkeys(fields.values()))
    return document(data_dictionary + '\n    <DataField name="y" optype="continuous" dataType="double"/>', f"""
  <RegressionModel functionName="regression">
    <MiningSchema>{mining}<MiningField name="y" usageType="target"/></MiningSchema>
    <Output>
{outputs}
    </Output>
    <RegressionTable intercept="0"/>
  </RegressionModel>""", version=version)


# --- DataDictionary: data types --------------------------------------------------------------

CASES.append(SpecCase(
    id="fields/data-types-numeric",
    pmml=document("""
    <DataField name="d" optype="continuous" dataType="double"/>
    <DataField name="f" optype="continuous" dataType="float"/>
    <DataField name="i" optype="continuous" dataType="integer"/>
    <DataField name="y" optype="continuous" dataType="double"/>""", """
  <RegressionModel functionName="regression">
    <MiningSchema>
      <MiningField name="d"/><MiningField name="f"/><MiningField name="i"/>
      <MiningField name="y" usageType="target"/>
    </MiningSchema>
    <RegressionTable intercept="0">
      <NumericPredictor name="d" coefficient="1"/>
      <NumericPredictor name="f" coefficient="10"/>
      <NumericPredictor name="i" coefficient="100"/>
    </RegressionTable>
  </RegressionModel>"""),
    records=[
        {"d": 1.5, "f": 0.25, "i": 3},
        {"d": "1.5", "f": "0.25", "i": "3"},        # strings are parsed as the field's dataType
        {"d": 0.0, "f": 0.1, "i": 0},               # 0.1 as a float is 0.100000001490116...
        {"d": 0.0, "f": 0.0, "i": 7.0},             # an integral double is a valid integer
        {"d": 0.0, "f": 0.0, "i": 2.5},             # ... a fractional one is not: invalid
        {"d": "abc", "f": 0.0, "i": 1},             # not a number: invalid
    ],
    expected=[
        {"y": 1.5 + 10 * 0.25 + 100 * 3},
        {"y": 1.5 + 10 * 0.25 + 100 * 3},
        {"y": 10 * float(np.float32(0.1))},         # the input is rounded to float32 first
        {"y": 100 * 7.0},
        pmmlserve.EvaluationError,
        pmmlserve.EvaluationError,
    ],
    note="double/float/integer inputs are converted to the DataField's dataType: a float field "
         "holds an IEEE single (0.1 -> 0.10000000149011612), an integer field rejects 2.5; a value "
         "that cannot be converted is invalid (returnInvalid by default).",
))

CASES.append(SpecCase(
    id="fields/data-type-boolean",
    pmml=document("""
    <DataField name="b" optype="categorical" dataType="boolean"/>
    <DataField name="y" optype="continuous" dataType="double"/>""", """
  <RegressionModel functionName="regression">
    <MiningSchema><MiningField name="b"/><MiningField name="y" usageType="target"/></MiningSchema>
    <RegressionTable intercept="1">
      <CategoricalPredictor name="b" value="true" coefficient="2"/>
      <CategoricalPredictor name="b" value="false" coefficient="-3"/>
    </RegressionTable>
  </RegressionModel>"""),
    records=[{"b": True}, {"b": False}, {"b": "true"}, {"b": "false"}, {"b": "1"}, {"b": 0},
             {"b": None}, {"b": "yes"}],
    expected=[{"y": 3.0}, {"y": -2.0}, {"y": 3.0}, {"y": -2.0},
              {"y": 3.0}, {"y": -2.0},     # XML Schema boolean: "1" / "0" are true / false
              {"y": 1.0},                  # missing categorical input ignored
              pmmlserve.EvaluationError],  # "yes" is not a boolean
    error_field="b",
    note="boolean uses the XML Schema lexical space {true, false, 1, 0}; anything else is invalid.",
))

# --- DataDictionary: Value lists -------------------------------------------------------------

_DD_VALUES = """
    <DataField name="c" optype="categorical" dataType="string">
      <Value value="a"/>
      <Value value="b" property="valid"/>
      <Value value="NA" property="missing"/>
      <Value value="?" property="invalid"/>
    </DataField>
    <DataField name="y" optype="continuous" dataType="double"/>"""


def _values_model(mining_attributes: str) -> str:
    return document(_DD_VALUES, f"""
  <RegressionModel functionName="regression">
    <MiningSchema><MiningField name="c"{mining_attributes}/><MiningField name="y" usageType="target"/></MiningSchema>
    <RegressionTable intercept="0">
      <CategoricalPredictor name="c" value="a" coefficient="1"/>
      <CategoricalPredictor name="c" value="b" coefficient="2"/>
    </RegressionTable>
  </RegressionModel>""")


CASES.append(SpecCase(
    id="fields/value-properties",
    pmml=_values_model(' missingValueReplacement="b"'),
    records=[{"c": "a"}, {"c": "b"}, {"c": None}, {"c": "NA"}, {"c": "?"}, {"c": "zzz"}],
    expected=[{"y": 1.0}, {"y": 2.0},
              {"y": 2.0},                 # missing -> replaced by b
              {"y": 2.0},                 # "NA" is declared a missing value -> replaced by b
              pmmlserve.EvaluationError,  # "?" is declared invalid
              pmmlserve.EvaluationError], # not among the valid values {a, b}: invalid
    error_field="c",
    note="Value@property: valid values (the default property) define the whole valid set; "
         "'missing' values count as missing, 'invalid' values as invalid.",
))

CASES.append(SpecCase(
    id="fields/value-properties-invalid-as-is",
    pmml=_values_model(' invalidValueTreatment="asIs"'),
    records=[{"c": "a"}, {"c": "zzz"}, {"c": "?"}, {"c": "NA"}],
    expected=[{"y": 1.0},
              {"y": 0.0},   # kept as is: matches no CategoricalPredictor
              {"y": 0.0},
              {"y": 0.0}],  # missing without replacement: the categorical predictor is ignored
    note="invalidValueTreatment=asIs passes the invalid value through unchanged.",
))

CASES.append(SpecCase(
    id="fields/integer-missing-value-code",
    pmml=_echo("""
    <DataField name="n" optype="continuous" dataType="integer">
      <Value value="-999" property="missing"/>
    </DataField>""", {"n_prepared": "n"}, mining='<MiningField name="n" missingValueReplacement="42"/>'),
    records=[{"n": 5}, {"n": -999}, {"n": None}, {"n": -998}],
    expected=[{"y": 0.0, "n_prepared": 5}, {"y": 0.0, "n_prepared": 42},
              {"y": 0.0, "n_prepared": 42}, {"y": 0.0, "n_prepared": -998}],
    note="A continuous field whose only Value is a missing-value code: other values stay valid "
         "(only property='valid' Values restrict the valid set).",
))

# --- DataDictionary: Intervals (all closures) ------------------------------------------------

_CLOSURES = ("openOpen", "openClosed", "closedOpen", "closedClosed")
_DD_INTERVALS = "\n".join(
    f'    <DataField name="x_{c}" optype="continuous" dataType="double">'
    f'<Interval closure="{c}" leftMargin="0" rightMargin="10"/></DataField>'
    for c in _CLOSURES
)
_MINING_INTERVALS = "".join(
    f'<MiningField name="x_{c}" invalidValueTreatment="asMissing" missingValueReplacement="-1"/>'
    for c in _CLOSURES
)


def _closure_row(value, valid_by_closure):
    row = {"y": 0.0}
    for c in _CLOSURES:
        row[f"v_{c}"] = value if valid_by_closure[c] else -1.0
    return row


CASES.append(SpecCase(
    id="fields/interval-closures",
    pmml=_echo(_DD_INTERVALS, {f"v_{c}": f"x_{c}" for c in _CLOSURES}, mining=_MINING_INTERVALS),
    records=[{f"x_{c}": v for c in _CLOSURES} for v in (0.0, 10.0, 5.0, -0.5, 10.5)],
    expected=[
        _closure_row(0.0, {"openOpen": False, "openClosed": False, "closedOpen": True, "closedClosed": True}),
        _closure_row(10.0, {"openOpen": False, "openClosed": True, "closedOpen": False, "closedClosed": True}),
        _closure_row(5.0, dict.fromkeys(_CLOSURES, True)),
        _closure_row(-0.5, dict.fromkeys(_CLOSURES, False)),
        _closure_row(10.5, dict.fromkeys(_CLOSURES, False)),
    ],
    note="Interval closure: 'open' excludes the margin, 'closed' includes it. Values outside are "
         "invalid; asMissing then missingValueReplacement=-1 makes that visible.",
))

CASES.append(SpecCase(
    id="fields/interval-union-and-half-open",
    pmml=_echo("""
    <DataField name="x" optype="continuous" dataType="double">
      <Interval closure="closedClosed" leftMargin="0" rightMargin="1"/>
      <Interval closure="openClosed" leftMargin="5"/>
    </DataField>""", {"v": "x"},
        mining='<MiningField name="x" invalidValueTreatment="asMissing" missingValueReplacement="-1"/>'),
    records=[{"x": 0.5}, {"x": 3.0}, {"x": 5.0}, {"x": 1e9}, {"x": -1.0}],
    expected=[{"y": 0.0, "v": 0.5}, {"y": 0.0, "v": -1.0},
              {"y": 0.0, "v": -1.0},    # (5, +inf): 5 excluded
              {"y": 0.0, "v": 1e9},     # no rightMargin: unbounded
              {"y": 0.0, "v": -1.0}],
    note="Several Intervals: valid when inside any; a missing margin is infinite.",
))

CASES.append(SpecCase(
    id="fields/interval-invalid-is-error-by-default",
    pmml=_echo("""
    <DataField name="x" optype="continuous" dataType="double">
      <Interval closure="closedClosed" leftMargin="0" rightMargin="1"/>
    </DataField>""", {"v": "x"}),
    records=[{"x": 1.0}, {"x": 1.5}],
    expected=[{"y": 0.0, "v": 1.0}, pmmlserve.EvaluationError],
    error_field="x",
    note="The default invalidValueTreatment is returnInvalid.",
))

# --- ordinal ---------------------------------------------------------------------------------

CASES.append(SpecCase(
    id="fields/ordinal-order-from-values",
    pmml=document("""
    <DataField name="size" optype="ordinal" dataType="string">
      <Value value="low"/><Value value="medium"/><Value value="high"/>
    </DataField>
    <DataField name="y" optype="continuous" dataType="double"/>""", """
  <TreeModel functionName="regression">
    <MiningSchema><MiningField name="size"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Node score="0"><True/>
      <Node score="1"><SimplePredicate field="size" operator="lessThan" value="medium"/></Node>
      <Node score="2"><SimplePredicate field="size" operator="lessOrEqual" value="medium"/></Node>
      <Node score="3"><SimplePredicate field="size" operator="greaterThan" value="medium"/></Node>
    </Node>
  </TreeModel>"""),
    records=[{"size": "low"}, {"size": "medium"}, {"size": "high"}],
    expected=[{"y": 1.0}, {"y": 2.0},
              {"y": 3.0}],   # as strings "high" < "medium"; in Value order high > medium
    note="An ordinal field is ordered by its Value elements (low < medium < high), not "
         "lexicographically.",
))

# --- MiningSchema: usageType -----------------------------------------------------------------

CASES.append(SpecCase(
    id="mining-schema/usage-types",
    pmml=document("""
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="note" optype="categorical" dataType="string"/>
    <DataField name="y" optype="continuous" dataType="double"/>""", """
  <RegressionModel functionName="regression">
    <MiningSchema>
      <MiningField name="x" usageType="active"/>
      <MiningField name="note" usageType="supplementary"/>
      <MiningField name="y" usageType="target"/>
    </MiningSchema>
    <RegressionTable intercept="1"><NumericPredictor name="x" coefficient="2"/></RegressionTable>
  </RegressionModel>"""),
    records=[{"x": 2.0, "note": "anything"}, {"x": 2.0}, {"x": 2.0, "y": 1000.0}],
    expected=[{"y": 5.0}, {"y": 5.0}, {"y": 5.0}],
    note="A supplementary field does not take part in scoring; a value given for the target is "
         "ignored (the prediction is still 1 + 2x).",
))

CASES.append(SpecCase(
    id="mining-schema/pmml-3.2-predicted",
    pmml=document("""
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>""", """
  <RegressionModel functionName="regression" modelName="v32">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="predicted"/></MiningSchema>
    <RegressionTable intercept="1"><NumericPredictor name="x" coefficient="2"/></RegressionTable>
  </RegressionModel>""", version="3.2"),
    records=[{"x": 0.5}],
    expected=[{"y": 2.0}],
    note="PMML 3.2 names the target usageType 'predicted' (4.x: 'target').",
))

# --- MiningSchema: missing value treatment ---------------------------------------------------

_TREATMENTS = ("asIs", "asMean", "asMode", "asMedian", "asValue")
CASES.append(SpecCase(
    id="mining-schema/missing-value-replacement",
    pmml=_echo(
        "\n".join(f'    <DataField name="x_{t}" optype="continuous" dataType="double"/>' for t in _TREATMENTS)
        + '\n    <DataField name="x_plain" optype="continuous" dataType="double"/>'
        + '\n    <DataField name="x_none" optype="continuous" dataType="double"/>',
        {**{f"v_{t}": f"x_{t}" for t in _TREATMENTS}, "v_plain": "x_plain", "v_none": "x_none"},
        mining="".join(f'<MiningField name="x_{t}" missingValueTreatment="{t}" missingValueReplacement="3.5"/>'
                       for t in _TREATMENTS)
        + '<MiningField name="x_plain" missingValueReplacement="-2"/>'
        + '<MiningField name="x_none" missingValueTreatment="asMean"/>'),
    records=[{}, {**{f"x_{t}": 1.0 for t in _TREATMENTS}, "x_plain": 1.0, "x_none": 1.0}],
    expected=[
        {"y": 0.0, **{f"v_{t}": 3.5 for t in _TREATMENTS}, "v_plain": -2.0,
         "v_none": None},   # a treatment without a replacement value leaves it missing
        {"y": 0.0, **{f"v_{t}": 1.0 for t in _TREATMENTS}, "v_plain": 1.0, "v_none": 1.0},
    ],
    note="missingValueTreatment asIs/asMean/asMode/asMedian/asValue is informational: "
         "missingValueReplacement is what replaces a missing value.",
))

CASES.append(SpecCase(
    id="mining-schema/missing-value-return-invalid",
    pmml=_echo('    <DataField name="x" optype="continuous" dataType="double"/>', {"v": "x"},
               mining='<MiningField name="x" missingValueTreatment="returnInvalid"/>'),
    records=[{"x": 1.0}, {"x": None}, {}],
    expected=[{"y": 0.0, "v": 1.0}, pmmlserve.EvaluationError, pmmlserve.EvaluationError],
    error_field="x",
    note="missingValueTreatment=returnInvalid (PMML 4.4) makes a missing value an error.",
))

# --- MiningSchema: invalid value treatment ---------------------------------------------------

_DD_RANGE = "\n".join(
    f'    <DataField name="x_{t}" optype="continuous" dataType="double">'
    '<Interval closure="closedClosed" leftMargin="0" rightMargin="100"/></DataField>'
    for t in ("asIs", "asMissing", "asMissingRepl", "asValue")
) + """
    <DataField name="c" optype="categorical" dataType="string"><Value value="a"/><Value value="b"/></DataField>"""

CASES.append(SpecCase(
    id="mining-schema/invalid-value-treatments",
    pmml=_echo(_DD_RANGE, {"v_asIs": "x_asIs", "v_asMissing": "x_asMissing",
                           "v_asMissingRepl": "x_asMissingRepl", "v_asValue": "x_asValue",
                           "v_c": "c"},
               mining='<MiningField name="x_asIs" invalidValueTreatment="asIs"/>'
                      '<MiningField name="x_asMissing" invalidValueTreatment="asMissing"/>'
                      '<MiningField name="x_asMissingRepl" invalidValueTreatment="asMissing" '
                      'missingValueReplacement="50"/>'
                      '<MiningField name="x_asValue" invalidValueTreatment="asValue" '
                      'invalidValueReplacement="100"/>'
                      '<MiningField name="c" invalidValueTreatment="asValue" invalidValueReplacement="a"/>'
               ).replace('name="v_c" optype="continuous" dataType="double"',
                         'name="v_c" optype="categorical" dataType="string"'),
    records=[
        {"x_asIs": 10.0, "x_asMissing": 10.0, "x_asMissingRepl": 10.0, "x_asValue": 10.0, "c": "b"},
        {"x_asIs": 150.0, "x_asMissing": 150.0, "x_asMissingRepl": 150.0, "x_asValue": 150.0, "c": "z"},
        {"x_asIs": -1.0, "x_asMissing": "abc", "x_asMissingRepl": "abc", "x_asValue": "abc", "c": None},
    ],
    expected=[
        {"y": 0.0, "v_asIs": 10.0, "v_asMissing": 10.0, "v_asMissingRepl": 10.0, "v_asValue": 10.0,
         "v_c": "b"},
        {"y": 0.0, "v_asIs": 150.0, "v_asMissing": None, "v_asMissingRepl": 50.0, "v_asValue": 100.0,
         "v_c": "a"},
        # an unparseable number is invalid too; a missing c is not invalid
        {"y": 0.0, "v_asIs": -1.0, "v_asMissing": None, "v_asMissingRepl": 50.0, "v_asValue": 100.0,
         "v_c": None},
    ],
    note="invalidValueTreatment: asIs keeps the value, asMissing makes it missing (and then "
         "missingValueReplacement applies), asValue substitutes invalidValueReplacement.",
))

# --- MiningSchema: outliers ------------------------------------------------------------------

_DD_OUT = "\n".join(
    f'    <DataField name="x_{t}" optype="continuous" dataType="double"/>'
    for t in ("asIs", "asMissingValues", "asMissingRepl", "asExtremeValues", "lowOnly")
)
CASES.append(SpecCase(
    id="mining-schema/outliers",
    pmml=_echo(_DD_OUT, {f"v_{t}": f"x_{t}" for t in ("asIs", "asMissingValues", "asMissingRepl",
                                                       "asExtremeValues", "lowOnly")},
               mining='<MiningField name="x_asIs" outliers="asIs" lowValue="0" highValue="10"/>'
                      '<MiningField name="x_asMissingValues" outliers="asMissingValues" lowValue="0" highValue="10"/>'
                      '<MiningField name="x_asMissingRepl" outliers="asMissingValues" lowValue="0" highValue="10" '
                      'missingValueReplacement="5"/>'
                      '<MiningField name="x_asExtremeValues" outliers="asExtremeValues" lowValue="0" highValue="10"/>'
                      '<MiningField name="x_lowOnly" outliers="asExtremeValues" lowValue="-1"/>'),
    records=[{f"x_{t}": v for t in ("asIs", "asMissingValues", "asMissingRepl", "asExtremeValues",
                                    "lowOnly")} for v in (-5.0, 0.0, 10.0, 15.0)],
    expected=[
        {"y": 0.0, "v_asIs": -5.0, "v_asMissingValues": None, "v_asMissingRepl": 5.0,
         "v_asExtremeValues": 0.0, "v_lowOnly": -1.0},
        {"y": 0.0, "v_asIs": 0.0, "v_asMissingValues": 0.0, "v_asMissingRepl": 0.0,
         "v_asExtremeValues": 0.0, "v_lowOnly": 0.0},      # the bounds themselves are not outliers
        {"y": 0.0, "v_asIs": 10.0, "v_asMissingValues": 10.0, "v_asMissingRepl": 10.0,
         "v_asExtremeValues": 10.0, "v_lowOnly": 10.0},
        {"y": 0.0, "v_asIs": 15.0, "v_asMissingValues": None, "v_asMissingRepl": 5.0,
         "v_asExtremeValues": 10.0, "v_lowOnly": 15.0},    # no highValue: no upper clamp
    ],
    note="outliers: a value < lowValue or > highValue is an outlier; asMissingValues makes it "
         "missing (missingValueReplacement then applies), asExtremeValues clamps it.",
))
