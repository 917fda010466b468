"""Transformations (PMML 4.4 "Transformations", "Functions"): FieldRef, Constant,
NormContinuous, NormDiscrete, Discretize, MapValues/InlineTable, Apply, DefineFunction, and
TransformationDictionary / LocalTransformations scoping.

Most documents are a RegressionModel that predicts a constant and echoes each DerivedField
through an OutputField feature="transformedValue" with a FieldRef, so each derived value is a
column of the result.
"""

from __future__ import annotations

import math

import pmmlserve
from tests.scoring.spec._case import SpecCase, document

CASES: list[SpecCase] = []

_DATA_NS = ' xmlns:data="http://jpmml.org/jpmml-model/InlineTable"'


def _echo(data_dictionary: str, derived: str, outputs: dict[str, tuple[str, str, str]],
          inputs: tuple[str, ...], *, root_attributes: str = "", model_body: str = "") -> str:
    """y = 0 and one transformedValue output per derived field: {output: (field, optype, type)}."""
    out = "\n".join(
        f'      <OutputField name="{name}" optype="{optype}" dataType="{dtype}" '
        f'feature="transformedValue"><FieldRef field="{field}"/></OutputField>'
        for name, (field, optype, dtype) in outputs.items()
    )
    mining = "".join(f'<MiningField name="{f}"/>' for f in inputs)
    return document(
        data_dictionary + '\n    <DataField name="y" optype="continuous" dataType="double"/>',
        f"""
  <RegressionModel functionName="regression">
    <MiningSchema>{mining}<MiningField name="y" usageType="target"/></MiningSchema>
    <Output>
{out}
    </Output>{model_body}
    <RegressionTable intercept="0"/>
  </RegressionModel>""",
        transformations=derived, root_attributes=root_attributes)


def _num(field: str) -> tuple[str, str, str]:
    return (field, "continuous", "double")


def _str(field: str) -> tuple[str, str, str]:
    return (field, "categorical", "string")


_DD_X = '    <DataField name="x" optype="continuous" dataType="double"/>'
_DD_XC = _DD_X + '\n    <DataField name="c" optype="categorical" dataType="string"/>'

# --- FieldRef and Constant -------------------------------------------------------------------

CASES.append(SpecCase(
    id="transformations/fieldref-map-missing-to",
    pmml=_echo(_DD_X, """
    <DerivedField name="plain" optype="continuous" dataType="double"><FieldRef field="x"/></DerivedField>
    <DerivedField name="mapped" optype="continuous" dataType="double"><FieldRef field="x" mapMissingTo="-1"/></DerivedField>
    <DerivedField name="chained" optype="continuous" dataType="double"><FieldRef field="mapped"/></DerivedField>""",
        {"o_plain": _num("plain"), "o_mapped": _num("mapped"), "o_chained": _num("chained")}, ("x",)),
    records=[{"x": 2.5}, {"x": None}],
    expected=[{"y": 0.0, "o_plain": 2.5, "o_mapped": 2.5, "o_chained": 2.5},
              {"y": 0.0, "o_plain": None, "o_mapped": -1.0, "o_chained": -1.0}],
    note="FieldRef copies the value; mapMissingTo replaces a missing one; a DerivedField may "
         "refer to another.",
))

CASES.append(SpecCase(
    id="transformations/constants",
    pmml=_echo(_DD_X, """
    <DerivedField name="k_double" optype="continuous" dataType="double"><Constant dataType="double">2.5</Constant></DerivedField>
    <DerivedField name="k_integer" optype="continuous" dataType="integer"><Constant dataType="integer">3</Constant></DerivedField>
    <DerivedField name="k_untyped" optype="continuous" dataType="double"><Constant>1e2</Constant></DerivedField>
    <DerivedField name="k_string" optype="categorical" dataType="string"><Constant dataType="string">abc</Constant></DerivedField>
    <DerivedField name="k_missing" optype="continuous" dataType="double"><Constant dataType="double" missing="true"/></DerivedField>
    <DerivedField name="k_is_missing" optype="categorical" dataType="boolean">
      <Apply function="isMissing"><Constant dataType="double" missing="true"/></Apply>
    </DerivedField>
    <DerivedField name="k_sum" optype="continuous" dataType="double">
      <Apply function="+"><FieldRef field="x"/><Constant dataType="integer">3</Constant></Apply>
    </DerivedField>""",
        {"o_double": _num("k_double"), "o_integer": ("k_integer", "continuous", "integer"),
         "o_untyped": _num("k_untyped"), "o_string": _str("k_string"), "o_missing": _num("k_missing"),
         "o_is_missing": ("k_is_missing", "categorical", "boolean"), "o_sum": _num("k_sum")}, ("x",)),
    records=[{"x": 0.5}],
    expected=[{"y": 0.0, "o_double": 2.5, "o_integer": 3, "o_untyped": 100.0, "o_string": "abc",
               "o_missing": None, "o_is_missing": True, "o_sum": 0.5 + 3}],
    note="Constant: the dataType attribute types the text; without it a number-looking text is "
         "numeric; missing='true' (PMML 4.4) is the missing value.",
))

# --- NormContinuous --------------------------------------------------------------------------

_NORMS = """<LinearNorm orig="0" norm="0"/><LinearNorm orig="10" norm="1"/><LinearNorm orig="20" norm="5"/>"""


def _norm_continuous(x: float, outliers: str = "asIs") -> float | None:
    """Piecewise linear through (0, 0), (10, 1), (20, 5); the end segments extrapolate."""
    points = [(0.0, 0.0), (10.0, 1.0), (20.0, 5.0)]
    if x < 0.0 or x > 20.0:
        if outliers == "asMissingValues":
            return None
        if outliers == "asExtremeValues":
            return 0.0 if x < 0.0 else 5.0
    (a0, b0), (a1, b1) = points[:2] if x <= 10.0 else points[1:]
    return b0 + (x - a0) * (b1 - b0) / (a1 - a0)


CASES.append(SpecCase(
    id="transformations/norm-continuous",
    pmml=_echo(_DD_X, f"""
    <DerivedField name="n_as_is" optype="continuous" dataType="double"><NormContinuous field="x">{_NORMS}</NormContinuous></DerivedField>
    <DerivedField name="n_missing" optype="continuous" dataType="double"><NormContinuous field="x" outliers="asMissingValues">{_NORMS}</NormContinuous></DerivedField>
    <DerivedField name="n_extreme" optype="continuous" dataType="double"><NormContinuous field="x" outliers="asExtremeValues">{_NORMS}</NormContinuous></DerivedField>
    <DerivedField name="n_map" optype="continuous" dataType="double"><NormContinuous field="x" mapMissingTo="-1">{_NORMS}</NormContinuous></DerivedField>""",
        {"as_is": _num("n_as_is"), "missing": _num("n_missing"), "extreme": _num("n_extreme"),
         "map": _num("n_map")}, ("x",)),
    records=[{"x": v} for v in (0.0, 5.0, 10.0, 15.0, 20.0, 25.0, -5.0)] + [{"x": None}],
    expected=[{"y": 0.0, "as_is": _norm_continuous(v), "missing": _norm_continuous(v, "asMissingValues"),
               "extreme": _norm_continuous(v, "asExtremeValues"), "map": _norm_continuous(v)}
              for v in (0.0, 5.0, 10.0, 15.0, 20.0, 25.0, -5.0)]
             + [{"y": 0.0, "as_is": None, "missing": None, "extreme": None, "map": -1.0}],
    note="NormContinuous interpolates linearly between LinearNorms: 5 -> 0.5, 15 -> 1 + 5 * 4/10 = "
         "3; outside the end points asIs extrapolates the end segment (25 -> 5 + 5 * 0.4 = 7, "
         "-5 -> -0.5), asMissingValues gives missing, asExtremeValues the end norm; mapMissingTo "
         "replaces a missing input.",
))

# --- NormDiscrete ----------------------------------------------------------------------------

CASES.append(SpecCase(
    id="transformations/norm-discrete",
    pmml=_echo(_DD_XC, """
    <DerivedField name="is_a" optype="continuous" dataType="double"><NormDiscrete field="c" value="a"/></DerivedField>
    <DerivedField name="is_a_map" optype="continuous" dataType="double"><NormDiscrete field="c" value="a" mapMissingTo="0.5"/></DerivedField>""",
        {"o": _num("is_a"), "o_map": _num("is_a_map")}, ("c",)),
    records=[{"c": "a"}, {"c": "b"}, {"c": None}],
    expected=[{"y": 0.0, "o": 1.0, "o_map": 1.0}, {"y": 0.0, "o": 0.0, "o_map": 0.0},
              {"y": 0.0, "o": None, "o_map": 0.5}],
    note="NormDiscrete is 1 when the field equals value, else 0; missing unless mapMissingTo.",
))

# --- Discretize ------------------------------------------------------------------------------

CASES.append(SpecCase(
    id="transformations/discretize",
    pmml=_echo(_DD_X, """
    <DerivedField name="bin" optype="categorical" dataType="string">
      <Discretize field="x" defaultValue="Z" mapMissingTo="M">
        <DiscretizeBin binValue="A"><Interval closure="closedOpen" leftMargin="0" rightMargin="5"/></DiscretizeBin>
        <DiscretizeBin binValue="B"><Interval closure="closedClosed" leftMargin="5" rightMargin="10"/></DiscretizeBin>
        <DiscretizeBin binValue="C"><Interval closure="openOpen" leftMargin="10" rightMargin="20"/></DiscretizeBin>
        <DiscretizeBin binValue="D"><Interval closure="openClosed" leftMargin="20" rightMargin="30"/></DiscretizeBin>
        <DiscretizeBin binValue="E"><Interval closure="openOpen" leftMargin="100"/></DiscretizeBin>
      </Discretize>
    </DerivedField>
    <DerivedField name="bin_plain" optype="categorical" dataType="string">
      <Discretize field="x">
        <DiscretizeBin binValue="neg"><Interval closure="openOpen" rightMargin="0"/></DiscretizeBin>
      </Discretize>
    </DerivedField>""", {"o": _str("bin"), "o_plain": _str("bin_plain")}, ("x",)),
    records=[{"x": v} for v in (0.0, 4.999, 5.0, 10.0, 15.0, 20.0, 30.0, 30.5, 1e6, -1.0)] + [{"x": None}],
    expected=[{"y": 0.0, "o": o, "o_plain": p} for o, p in (
        ("A", None),    # [0, 5) includes 0
        ("A", None),
        ("B", None),    # 5 is excluded from [0, 5) and included in [5, 10]
        ("B", None),
        ("C", None),
        ("Z", None),    # 20 is in neither (10, 20) nor (20, 30]: defaultValue
        ("D", None),
        ("Z", None),
        ("E", None),    # (100, +inf)
        ("Z", "neg"),   # (-inf, 0)
        ("M", None),    # missing input: mapMissingTo
    )],
    note="Discretize: the binValue of the first bin whose Interval contains the value, else "
         "defaultValue (missing when absent); mapMissingTo for a missing input.",
))

# --- MapValues -------------------------------------------------------------------------------

_DD_MAP = """    <DataField name="c" optype="categorical" dataType="string"/>
    <DataField name="n" optype="categorical" dataType="integer"/>
    <DataField name="d" optype="continuous" dataType="double"/>"""

CASES.append(SpecCase(
    id="transformations/map-values-plain-elements",
    pmml=_echo(_DD_MAP, """
    <DerivedField name="m" optype="continuous" dataType="double">
      <MapValues outputColumn="out" dataType="double" defaultValue="-1" mapMissingTo="-2">
        <FieldColumnPair field="c" column="in_c"/>
        <FieldColumnPair field="n" column="in_n"/>
        <InlineTable>
          <row><in_c>a</in_c><in_n>1</in_n><out>10</out></row>
          <row><in_c>a</in_c><in_n>2</in_n><out>20</out></row>
          <row><in_c>b</in_c><in_n>1</in_n><out>30</out></row>
        </InlineTable>
      </MapValues>
    </DerivedField>
    <DerivedField name="label" optype="categorical" dataType="string">
      <MapValues outputColumn="label">
        <FieldColumnPair field="d" column="value"/>
        <InlineTable>
          <row><value>2.50</value><label>two and a half</label></row>
          <row><value>1e1</value><label>ten</label></row>
        </InlineTable>
      </MapValues>
    </DerivedField>""", {"o": _num("m"), "o_label": _str("label")}, ("c", "n", "d")),
    records=[{"c": "a", "n": 1, "d": 2.5}, {"c": "a", "n": 2, "d": 10.0}, {"c": "b", "n": 1, "d": 1.0},
             {"c": "b", "n": 2, "d": None}, {"c": None, "n": 1, "d": 2.5}, {"c": "a", "n": "2", "d": 10}],
    expected=[{"y": 0.0, "o": 10.0, "o_label": "two and a half"},
              {"y": 0.0, "o": 20.0, "o_label": "ten"},
              {"y": 0.0, "o": 30.0, "o_label": None},   # 1.0 has no row, no defaultValue: missing
              {"y": 0.0, "o": -1.0, "o_label": None},   # (b, 2) has no row: defaultValue
              {"y": 0.0, "o": -2.0, "o_label": "two and a half"},   # any input missing: mapMissingTo
              {"y": 0.0, "o": 20.0, "o_label": "ten"}],
    note="MapValues: the row whose columns equal all the FieldColumnPair inputs (compared as the "
         "input fields' data types: '2.50' matches 2.5, '1e1' matches 10) gives outputColumn; no row "
         "gives defaultValue; a missing input gives mapMissingTo.",
))

CASES.append(SpecCase(
    id="transformations/whitespace-content",
    pmml=_echo(_DD_MAP, """
    <DerivedField name="blank" optype="categorical" dataType="string"><Constant dataType="string"> </Constant></DerivedField>
    <DerivedField name="m" optype="categorical" dataType="string">
      <MapValues outputColumn="out" dataType="string">
        <FieldColumnPair field="c" column="in"/>
        <InlineTable>
          <row>
            <in> </in>
            <out>space</out>
          </row>
          <row><in>a</in><out>  </out></row>
        </InlineTable>
      </MapValues>
    </DerivedField>""", {"o_blank": _str("blank"), "o": _str("m")}, ("c",)),
    records=[{"c": " "}, {"c": "a"}],
    expected=[{"y": 0.0, "o_blank": " ", "o": "space"}, {"y": 0.0, "o_blank": " ", "o": "  "}],
    note="Whitespace that is an element's whole content is that element's text (a string "
         "Constant, InlineTable cells); whitespace between elements is indentation, not content.",
))

CASES.append(SpecCase(
    id="transformations/map-values-data-namespace",
    pmml=_echo(_DD_MAP, """
    <DerivedField name="m" optype="categorical" dataType="string">
      <MapValues outputColumn="data:output" dataType="string">
        <FieldColumnPair field="c" column="data:input"/>
        <InlineTable>
          <row><data:input>a</data:input><data:output>first</data:output></row>
          <row><data:input>b</data:input><data:output>second</data:output></row>
        </InlineTable>
      </MapValues>
    </DerivedField>""", {"o": _str("m")}, ("c",), root_attributes=_DATA_NS),
    records=[{"c": "a"}, {"c": "b"}, {"c": "c"}],
    expected=[{"y": 0.0, "o": "first"}, {"y": 0.0, "o": "second"}, {"y": 0.0, "o": None}],
    note="The InlineTable cells of sklearn2pmml documents are elements in the "
         "http://jpmml.org/jpmml-model/InlineTable namespace, referred to as 'data:input'.",
))

# --- Apply -----------------------------------------------------------------------------------

_APPLY_FUNCTIONS = """
    <DerivedField name="poly" optype="continuous" dataType="double">
      <Apply function="-">
        <Apply function="*"><FieldRef field="x"/><FieldRef field="x"/></Apply>
        <Apply function="/"><FieldRef field="x"/><Constant>4</Constant></Apply>
      </Apply>
    </DerivedField>
    <DerivedField name="biggest" optype="continuous" dataType="double">
      <Apply function="max"><FieldRef field="x"/><Constant>1</Constant><Constant>-3</Constant></Apply>
    </DerivedField>
    <DerivedField name="joined" optype="categorical" dataType="string">
      <Apply function="concat"><FieldRef field="c"/><Constant dataType="string">-</Constant><FieldRef field="c"/></Apply>
    </DerivedField>
    <DerivedField name="absent" optype="categorical" dataType="boolean">
      <Apply function="isMissing"><FieldRef field="x"/></Apply>
    </DerivedField>
    <DerivedField name="plus_map" optype="continuous" dataType="double">
      <Apply function="+" mapMissingTo="0"><FieldRef field="x"/><Constant>1</Constant></Apply>
    </DerivedField>"""

CASES.append(SpecCase(
    id="transformations/apply-functions",
    pmml=_echo(_DD_XC, _APPLY_FUNCTIONS,
               {"o_poly": _num("poly"), "o_max": _num("biggest"),
                "o_joined": _str("joined"), "o_absent": ("absent", "categorical", "boolean"),
                "o_plus": _num("plus_map")}, ("x", "c")),
    records=[{"x": 3.0, "c": "k"}, {"x": -2.0, "c": "k"}, {"x": None, "c": "k"}],
    expected=[
        {"y": 0.0, "o_poly": 3.0 * 3.0 - 3.0 / 4, "o_max": 3.0,
         "o_joined": "k-k", "o_absent": False, "o_plus": 4.0},
        {"y": 0.0, "o_poly": -2.0 * -2.0 - -2.0 / 4, "o_max": 1.0,
         "o_joined": "k-k", "o_absent": False, "o_plus": -1.0},
        {"y": 0.0,
         "o_poly": None,   # arithmetic on a missing value is missing
         "o_max": 1.0,     # aggregate functions ignore missing inputs: max(1, -3)
         "o_joined": "k-k", "o_absent": True,
         "o_plus": 0.0},   # a missing argument: the function is not applied, mapMissingTo is
    ],
    note="A representative few built-in functions (+ - * /, max, concat, isMissing). "
         "Functions spec: 'Unless otherwise specified, a function will return a missing result if "
         "any of the inputs are missing'; aggregate functions (max) ignore missing inputs; "
         "Apply@mapMissingTo is returned instead of applying the function when an argument is "
         "missing.",
))

_APPLY_COMPARISONS = """
    <DerivedField name="sign" optype="categorical" dataType="string">
      <Apply function="if">
        <Apply function="greaterOrEqual"><FieldRef field="x"/><Constant>0</Constant></Apply>
        <Constant dataType="string">nonneg</Constant>
        <Constant dataType="string">neg</Constant>
      </Apply>
    </DerivedField>
    <DerivedField name="if_default" optype="continuous" dataType="double">
      <Apply function="if" defaultValue="-7">
        <Apply function="greaterThan"><FieldRef field="x"/><Constant>0</Constant></Apply>
        <FieldRef field="x"/>
      </Apply>
    </DerivedField>
    <DerivedField name="log" optype="continuous" dataType="double">
      <Apply function="ln"><Apply function="exp"><FieldRef field="x"/></Apply></Apply>
    </DerivedField>"""

CASES.append(SpecCase(
    id="transformations/apply-if-comparison-math",
    pmml=_echo(_DD_X, _APPLY_COMPARISONS, {"o_sign": _str("sign"), "o_if": _num("if_default"),
                                                   "o_log": _num("log")}, ("x",)),
    records=[{"x": 2.0}, {"x": -2.0}, {"x": 0.0}],
    expected=[{"y": 0.0, "o_sign": "nonneg", "o_if": 2.0, "o_log": math.log(math.exp(2.0))},
              {"y": 0.0, "o_sign": "neg",
               "o_if": -7.0,    # 'if' without an else part returns missing -> defaultValue
               "o_log": math.log(math.exp(-2.0))},
              {"y": 0.0, "o_sign": "nonneg", "o_if": -7.0, "o_log": 0.0}],
    note="if(condition, then, else); without an else part a false condition gives a missing "
         "value, which Apply@defaultValue replaces.",
))

CASES.append(SpecCase(
    id="transformations/apply-comparison-missing-argument",
    pmml=_echo(_DD_X, _APPLY_COMPARISONS, {"o_sign": _str("sign"), "o_if": _num("if_default"),
                                           "o_log": _num("log")}, ("x",)),
    records=[{"x": None}],
    expected=[{"y": 0.0, "o_sign": None, "o_if": -7.0, "o_log": None}],
    note="Functions spec: 'Unless otherwise specified, a function will return a missing result if "
         "any of the inputs are missing': greaterOrEqual(missing, 0) is missing, so is the 'if' "
         "(no branch chosen), and defaultValue replaces the missing result; exp(missing) is "
         "missing. JPMML instead raises MissingArgumentException ('Function \"greaterOrEqual\" "
         "cannot accept missing value') for every function that is not MissingValueTolerant "
         "(only + - * /, the aggregates, isMissing/isNotMissing and isIn/isNotIn are), and its "
         "author defends that (jpmml-evaluator-python#17).",
    jpmml_differs=True,
))

_LN_APPLY = """
    <DerivedField name="{name}" optype="continuous" dataType="double">
      <Apply function="ln"{attributes}><FieldRef field="x"/></Apply>
    </DerivedField>"""

CASES.append(SpecCase(
    id="transformations/apply-invalid-as-missing",
    pmml=_echo(_DD_X, _LN_APPLY.format(name="ln_missing", attributes=' invalidValueTreatment="asMissing"')
               + _LN_APPLY.format(name="ln_default", attributes=' invalidValueTreatment="asMissing" defaultValue="-1"'),
               {"o_missing": _num("ln_missing"), "o_default": _num("ln_default")}, ("x",)),
    records=[{"x": math.e}, {"x": -1.0}],
    expected=[{"y": 0.0, "o_missing": 1.0, "o_default": 1.0},
              {"y": 0.0, "o_missing": None, "o_default": -1.0}],
    note="ln(-1) is not a number: an invalid result. invalidValueTreatment=asMissing turns it "
         "into a missing value (and defaultValue then replaces it).",
))

CASES.append(SpecCase(
    id="transformations/apply-invalid-return-invalid",
    pmml=_echo(_DD_X, _LN_APPLY.format(name="ln_x", attributes=""), {"o": _num("ln_x")}, ("x",)),
    records=[{"x": 1.0}, {"x": -1.0}],
    expected=[{"y": 0.0, "o": 0.0}, pmmlserve.EvaluationError],
    error_field="ln_x",
    note="The default invalidValueTreatment of Apply is returnInvalid: an invalid result (ln(-1)) "
         "makes the record an error. pmmlserve should name the DerivedField; JPMML's message names "
         "the function.",
))

_DD_XZ = _DD_X + '\n    <DataField name="z" optype="continuous" dataType="double"/>'
_ARITHMETIC = """
    <DerivedField name="{name}" optype="continuous" dataType="double">
      <Apply function="{function}"{attributes}>{left}{right}</Apply>
    </DerivedField>"""
_X, _Z = '<FieldRef field="x"/>', '<FieldRef field="z"/>'


def _constant(value: str) -> str:
    return f'<Constant dataType="double">{value}</Constant>'


CASES.append(SpecCase(
    id="transformations/apply-arithmetic-on-infinities",
    pmml=_echo(_DD_XZ, "".join(_ARITHMETIC.format(name=n, function=f, left=a, right=b,
                                                  attributes=' invalidValueTreatment="asMissing"')
                               for n, f, a, b in [
                                   ("x_minus_z", "-", _X, _Z), ("x_times_0", "*", _X, _constant("0")),
                                   ("x_minus_1", "-", _X, _constant("1")),
                                   ("one_minus_x", "-", _constant("1"), _X),
                                   ("x_times_3", "*", _X, _constant("3")),
                                   ("x_over_2", "/", _X, _constant("2"))]),
               {f"o_{n}": _num(n) for n in ("x_minus_z", "x_times_0", "x_minus_1", "one_minus_x",
                                            "x_times_3", "x_over_2")}, ("x", "z")),
    records=[{"x": 3.0, "z": 1.0}, {"x": math.inf, "z": math.inf},
             {"x": -math.inf, "z": 1.0}],
    expected=[{"y": 0.0, "o_x_minus_z": 2.0, "o_x_times_0": 0.0, "o_x_minus_1": 2.0,
               "o_one_minus_x": -2.0, "o_x_times_3": 9.0, "o_x_over_2": 1.5},
              {"y": 0.0, "o_x_minus_z": None, "o_x_times_0": None, "o_x_minus_1": math.inf,
               "o_one_minus_x": -math.inf, "o_x_times_3": math.inf, "o_x_over_2": math.inf},
              {"y": 0.0, "o_x_minus_z": -math.inf, "o_x_times_0": None, "o_x_minus_1": -math.inf,
               "o_one_minus_x": math.inf, "o_x_times_3": -math.inf, "o_x_over_2": -math.inf}],
    note="IEEE arithmetic on present values: inf - inf and inf * 0 are not numbers, invalid "
         "results (asMissing: missing); inf - 1, 1 - inf, inf * 3 and inf / 2 are infinities, "
         "valid. (pmmlserve drops the NaN test where a finite constant operand rules NaN out: "
         "this case holds it to both.)",
))

CASES.append(SpecCase(
    id="transformations/apply-invalid-result-from-infinities",
    pmml=_echo(_DD_XZ, _ARITHMETIC.format(name="x_minus_z", function="-", left=_X, right=_Z,
                                          attributes=""), {"o": _num("x_minus_z")}, ("x", "z")),
    records=[{"x": 1.0, "z": 3.0}, {"x": math.inf, "z": math.inf}],
    expected=[{"y": 0.0, "o": -2.0}, pmmlserve.EvaluationError],
    error_field="x_minus_z",
    note="inf - inf is not a number: under the default returnInvalid, an error.",
))

CASES.append(SpecCase(
    id="transformations/apply-invalid-result-inf-over-inf",
    pmml=_echo(_DD_XZ, _ARITHMETIC.format(name="x_over_z", function="/", left=_X, right=_Z,
                                          attributes=""), {"o": _num("x_over_z")}, ("x", "z")),
    records=[{"x": 1.0, "z": 4.0}, {"x": math.inf, "z": -math.inf}],
    expected=[{"y": 0.0, "o": 0.25}, pmmlserve.EvaluationError],
    error_field="x_over_z",
    note="inf / -inf is not a number: under the default returnInvalid, an error.",
))

CASES.append(SpecCase(
    id="transformations/apply-integer-overflow-is-invalid",
    pmml=_echo('    <DataField name="n" optype="continuous" dataType="integer"/>', """
    <DerivedField name="n_plus_max" optype="continuous" dataType="integer">
      <Apply function="+"><FieldRef field="n"/><Constant dataType="integer">2147483647</Constant></Apply>
    </DerivedField>""", {"o": ("n_plus_max", "continuous", "integer")}, ("n",)),
    records=[{"n": -5}, {"n": 1}],
    expected=[{"y": 0.0, "o": 2147483642}, pmmlserve.EvaluationError],
    error_field="n_plus_max",
    note="Integer arithmetic is Java int arithmetic: 1 + 2147483647 overflows, an invalid "
         "result, so an error under returnInvalid (a finite constant operand rules out NaN "
         "only for doubles).",
))

CASES.append(SpecCase(
    id="transformations/apply-invalid-result-times-zero",
    pmml=_echo(_DD_X, _ARITHMETIC.format(name="x_times_0", function="*", left=_X,
                                         right=_constant("0"), attributes=""),
               {"o": _num("x_times_0")}, ("x",)),
    records=[{"x": 2.0}, {"x": -math.inf}],
    expected=[{"y": 0.0, "o": 0.0}, pmmlserve.EvaluationError],
    error_field="x_times_0",
    note="-inf * 0 is not a number: under the default returnInvalid, an error (a constant "
         "factor rules NaN out only when it is not 0).",
))

CASES.append(SpecCase(
    id="transformations/integer-output-beyond-the-integers",
    pmml=_echo(_DD_X, """
    <DerivedField name="d" optype="continuous" dataType="integer"><FieldRef field="x"/></DerivedField>""",
               {"o": ("d", "continuous", "integer")}, ("x",)),
    records=[{"x": 2.0}, {"x": math.inf}, {"x": -math.inf}, {"x": 1e20}],
    expected=[{"y": 0.0, "o": 2}, pmmlserve.EvaluationError, pmmlserve.EvaluationError,
              pmmlserve.EvaluationError],
    error_field="o",
    note="An integer field holds integers: an infinite value, or 1e20, is none (JPMML: "
         "'Expected integer value, got double value'). pmmlserve refuses it where it leaves the "
         "model, naming the output field; NumPy's cast made it -2**63 without a word.",
))

# --- DefineFunction / ParameterField ---------------------------------------------------------

CASES.append(SpecCase(
    id="transformations/define-function",
    pmml=_echo(_DD_X + '\n    <DataField name="z" optype="continuous" dataType="double"/>', """
    <DefineFunction name="affine" optype="continuous" dataType="double">
      <ParameterField name="a" optype="continuous" dataType="double"/>
      <ParameterField name="b" optype="continuous" dataType="double"/>
      <Apply function="+"><Apply function="*"><FieldRef field="a"/><Constant>2</Constant></Apply><FieldRef field="b"/></Apply>
    </DefineFunction>
    <DefineFunction name="twice_affine" optype="continuous" dataType="double">
      <ParameterField name="x"/>
      <Apply function="affine"><FieldRef field="x"/><FieldRef field="x"/></Apply>
    </DefineFunction>
    <DerivedField name="f1" optype="continuous" dataType="double">
      <Apply function="affine"><FieldRef field="x"/><FieldRef field="z"/></Apply>
    </DerivedField>
    <DerivedField name="f2" optype="continuous" dataType="double">
      <Apply function="twice_affine"><FieldRef field="z"/></Apply>
    </DerivedField>""", {"o1": _num("f1"), "o2": _num("f2")}, ("x", "z")),
    records=[{"x": 1.5, "z": 10.0}, {"x": None, "z": 10.0}],
    expected=[{"y": 0.0, "o1": 2 * 1.5 + 10.0,
               "o2": 2 * 10.0 + 10.0},   # inside the function, x is the parameter (= z), not the field x
              {"y": 0.0, "o1": None, "o2": 30.0}],
    note="DefineFunction: the ParameterFields are bound to the arguments in order and are the only "
         "fields visible in the body; functions may call functions.",
))

# --- scoping: TransformationDictionary and LocalTransformations -------------------------------

CASES.append(SpecCase(
    id="transformations/local-transformations",
    pmml=document(_DD_X + '\n    <DataField name="y" optype="continuous" dataType="double"/>', """
  <RegressionModel functionName="regression">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <LocalTransformations>
      <DerivedField name="local" optype="continuous" dataType="double">
        <Apply function="+"><FieldRef field="global"/><Constant>1</Constant></Apply>
      </DerivedField>
    </LocalTransformations>
    <RegressionTable intercept="0.5">
      <NumericPredictor name="local" coefficient="3"/>
      <NumericPredictor name="global" coefficient="-1"/>
    </RegressionTable>
  </RegressionModel>""", transformations="""
    <DerivedField name="global" optype="continuous" dataType="double">
      <Apply function="*"><FieldRef field="x"/><Constant>2</Constant></Apply>
    </DerivedField>"""),
    records=[{"x": 1.0}, {"x": -0.25}, {"x": None}],
    expected=[{"y": 0.5 + 3 * (2 * 1.0 + 1) - 2 * 1.0},
              {"y": 0.5 + 3 * (2 * -0.25 + 1) - 2 * -0.25},
              {"y": None}],
    note="A model uses DerivedFields from the TransformationDictionary and its own "
         "LocalTransformations (which may build on the global ones).",
))
