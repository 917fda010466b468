"""RegressionModel (PMML 4.4 "Regression"): regression and classification, every
normalizationMethod, NumericPredictor exponents, CategoricalPredictor, PredictorTerm.

The specification's formulas, used below:

* regression:  y = intercept + sum_i coefficient_i * x_i ** exponent_i
                     + sum_j coefficient_j * [c_j == value_j] + sum_k coefficient_k * prod(fields_k)
* a NumericPredictor or PredictorTerm whose input is missing makes the result missing;
  a CategoricalPredictor whose input is missing is ignored (contributes 0).
* normalization of a regression result:  logit/softmax 1 / (1 + exp(-y)),  exp e^y,
  probit Phi(y),  cloglog 1 - exp(-exp(y)),  loglog exp(-exp(-y)),  cauchit 0.5 + atan(y) / pi.
* classification: one table per category, y_j; then softmax p_j = e^y_j / sum e^y_i,
  simplemax p_j = y_j / sum y_i; with two categories the link functions (logit, probit, cloglog,
  loglog, cauchit) give p_1 = link(y_1) and p_2 = 1 - p_1.
"""

from __future__ import annotations

import math

import pmmlserve
from tests.scoring.spec._case import SpecCase, document


def _logistic(y):
    return 1.0 / (1.0 + math.exp(-y))


def _probit(y):  # the standard normal CDF
    return 0.5 * math.erfc(-y / math.sqrt(2.0))


def _cloglog(y):
    return 1.0 - math.exp(-math.exp(y))


def _loglog(y):
    return math.exp(-math.exp(-y))


def _cauchit(y):
    return 0.5 + math.atan(y) / math.pi


LINKS = {
    "none": lambda y: y,
    "logit": _logistic,
    "softmax": _logistic,  # a single regression table: softmax of {y} against the implicit 0
    "exp": math.exp,
    "probit": _probit,
    "cloglog": _cloglog,
    "loglog": _loglog,
    "cauchit": _cauchit,
}

CASES: list[SpecCase] = []

# --- regression: every predictor kind --------------------------------------------------------

_DD_MIXED = """
    <DataField name="x1" optype="continuous" dataType="double"/>
    <DataField name="x2" optype="continuous" dataType="double"/>
    <DataField name="c" optype="categorical" dataType="string">
      <Value value="a"/><Value value="b"/><Value value="c"/>
    </DataField>
    <DataField name="y" optype="continuous" dataType="double"/>
"""

CASES.append(SpecCase(
    id="regression/all-predictor-kinds",
    pmml=document(_DD_MIXED, """
  <RegressionModel functionName="regression">
    <MiningSchema>
      <MiningField name="x1"/><MiningField name="x2"/><MiningField name="c"/>
      <MiningField name="y" usageType="target"/>
    </MiningSchema>
    <RegressionTable intercept="1.5">
      <NumericPredictor name="x1" coefficient="2"/>
      <NumericPredictor name="x2" exponent="2" coefficient="-0.5"/>
      <CategoricalPredictor name="c" value="a" coefficient="3"/>
      <CategoricalPredictor name="c" value="b" coefficient="-1"/>
      <PredictorTerm coefficient="0.25"><FieldRef field="x1"/><FieldRef field="x2"/></PredictorTerm>
    </RegressionTable>
  </RegressionModel>"""),
    records=[
        {"x1": 1.0, "x2": 2.0, "c": "a"},
        {"x1": -3.0, "x2": 0.5, "c": "b"},
        {"x1": 0.0, "x2": 0.0, "c": "c"},
        {"x1": 1.0, "x2": 2.0, "c": None},
        {"x1": None, "x2": 2.0, "c": "a"},
        {"x1": 1.0, "x2": None, "c": "a"},
    ],
    expected=[
        {"y": 1.5 + 2 * 1.0 - 0.5 * 2.0**2 + 3 + 0.25 * 1.0 * 2.0},       # 5.0
        {"y": 1.5 + 2 * -3.0 - 0.5 * 0.5**2 - 1 + 0.25 * -3.0 * 0.5},     # -6.0
        {"y": 1.5},                                                        # "c" matches no predictor
        {"y": 1.5 + 2 * 1.0 - 0.5 * 2.0**2 + 0.25 * 1.0 * 2.0},           # missing c is ignored
        {"y": None},   # NumericPredictor input missing -> result missing
        {"y": None},   # the PredictorTerm (and x2's NumericPredictor) input missing
    ],
    note="Regression spec: the formula above; a missing NumericPredictor/PredictorTerm input makes "
         "the result missing, a missing CategoricalPredictor input is ignored.",
))

_DD_X = """
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>
"""

CASES.append(SpecCase(
    id="regression/exponent-integer-input",
    pmml=document("""
    <DataField name="n" optype="continuous" dataType="integer"/>
    <DataField name="y" optype="continuous" dataType="double"/>""", """
  <RegressionModel functionName="regression">
    <MiningSchema><MiningField name="n"/><MiningField name="y" usageType="target"/></MiningSchema>
    <RegressionTable intercept="0">
      <NumericPredictor name="n" exponent="3" coefficient="0.5"/>
      <NumericPredictor name="n" exponent="0" coefficient="7"/>
    </RegressionTable>
  </RegressionModel>"""),
    records=[{"n": 2}, {"n": -3}, {"n": 0}],
    expected=[
        {"y": 0.5 * 2**3 + 7 * 2**0},
        {"y": 0.5 * (-3) ** 3 + 7 * (-3) ** 0},
        {"y": 0.5 * 0**3 + 7 * 0**0},   # x**0 == 1, also for x == 0 (Java Math.pow(0, 0) == 1)
    ],
    note="NumericPredictor: coefficient * x ** exponent (exponent 0 gives the coefficient).",
))

for _method, _link in LINKS.items():
    _records = [{"x": 0.25}, {"x": -1.5}, {"x": None}]
    _raw = [0.5 + 1.0 * 0.25, 0.5 + 1.0 * -1.5]     # y = 0.5 + 1 * x
    CASES.append(SpecCase(
        id=f"regression/normalization-{_method}",
        pmml=document(_DD_X, f"""
  <RegressionModel functionName="regression" normalizationMethod="{_method}">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <RegressionTable intercept="0.5"><NumericPredictor name="x" coefficient="1"/></RegressionTable>
  </RegressionModel>"""),
        records=_records,
        expected=[{"y": _link(_raw[0])}, {"y": _link(_raw[1])}, {"y": None}],
        note=f"Regression normalizationMethod={_method} applied to y = 0.5 + x "
             "(softmax of a single table is the logistic function).",
    ))

# --- classification -------------------------------------------------------------------------

_DD_BINARY = """
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="categorical" dataType="string">
      <Value value="yes"/><Value value="no"/>
    </DataField>
"""

_OUT_BINARY = """
    <Output>
      <OutputField name="probability(yes)" optype="continuous" dataType="double" feature="probability" value="yes"/>
      <OutputField name="probability(no)" optype="continuous" dataType="double" feature="probability" value="no"/>
    </Output>"""


def _binary(method: str) -> str:
    return document(_DD_BINARY, f"""
  <RegressionModel functionName="classification" normalizationMethod="{method}">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>{_OUT_BINARY}
    <RegressionTable intercept="-1" targetCategory="yes"><NumericPredictor name="x" coefficient="2"/></RegressionTable>
    <RegressionTable intercept="0" targetCategory="no"/>
  </RegressionModel>""")


def _binary_expected(p_yes: float) -> dict:
    return {"y": "yes" if p_yes > 0.5 else "no", "probability(yes)": p_yes,
            "probability(no)": 1.0 - p_yes}


for _method in ("logit", "probit", "cloglog", "loglog", "cauchit"):
    _link = LINKS[_method]
    # y_yes = -1 + 2x: x = 1 -> 1.0, x = 0 -> -1.0, x = 0.6 -> 0.2
    CASES.append(SpecCase(
        id=f"classification/binary-{_method}",
        pmml=_binary(_method),
        records=[{"x": 1.0}, {"x": 0.0}, {"x": 0.6}, {"x": None}],
        expected=[_binary_expected(_link(1.0)), _binary_expected(_link(-1.0)),
                  _binary_expected(_link(-1 + 2 * 0.6)), {"y": None, "probability(yes)": None,
                                                         "probability(no)": None}],
        note=f"Binary classification, {_method}: p(yes) = {_method}^-1(y_yes), p(no) = 1 - p(yes); "
             "the predicted category has the highest probability; a missing numeric input gives a "
             "missing prediction.",
    ))

CASES.append(SpecCase(
    id="classification/binary-softmax-default-second-table",
    pmml=_binary("softmax"),
    records=[{"x": 1.0}, {"x": 0.25}],
    # softmax over {y_yes, 0}: e^y / (e^y + e^0) == 1 / (1 + e^-y)
    expected=[_binary_expected(math.exp(1.0) / (math.exp(1.0) + 1.0)),
              _binary_expected(math.exp(-0.5) / (math.exp(-0.5) + 1.0))],
    note="softmax over two tables where the second is the constant 0.",
))

_DD_INT01 = """
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="categorical" dataType="integer"><Value value="0"/><Value value="1"/></DataField>
"""

CASES.append(SpecCase(
    id="classification/binary-logit-integer-target",
    pmml=document(_DD_INT01, """
  <RegressionModel functionName="classification" normalizationMethod="logit">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Output>
      <OutputField name="probability(0)" optype="continuous" dataType="double" feature="probability" value="0"/>
      <OutputField name="probability(1)" optype="continuous" dataType="double" feature="probability" value="1"/>
    </Output>
    <RegressionTable intercept="0.5" targetCategory="1"><NumericPredictor name="x" coefficient="-2"/></RegressionTable>
    <RegressionTable intercept="0" targetCategory="0"/>
  </RegressionModel>"""),
    records=[{"x": 1.0}, {"x": -1.0}],
    expected=[
        {"y": 0, "probability(1)": _logistic(0.5 - 2.0), "probability(0)": 1 - _logistic(0.5 - 2.0)},
        {"y": 1, "probability(1)": _logistic(0.5 + 2.0), "probability(0)": 1 - _logistic(0.5 + 2.0)},
    ],
    note="The sklearn LogisticRegression shape: an integer target; the prediction is the integer "
         "category 0 or 1, not a string.",
))

_DD_ABC = """
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="categorical" dataType="string">
      <Value value="a"/><Value value="b"/><Value value="c"/>
    </DataField>
"""
_OUT_ABC = """
    <Output>
      <OutputField name="probability(a)" optype="continuous" dataType="double" feature="probability" value="a"/>
      <OutputField name="probability(b)" optype="continuous" dataType="double" feature="probability" value="b"/>
      <OutputField name="probability(c)" optype="continuous" dataType="double" feature="probability" value="c"/>
    </Output>"""


def _multiclass(method: str) -> str:
    # y_a = 1 + x, y_b = 2 - x, y_c = 1.5
    return document(_DD_ABC, f"""
  <RegressionModel functionName="classification" normalizationMethod="{method}">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>{_OUT_ABC}
    <RegressionTable intercept="1" targetCategory="a"><NumericPredictor name="x" coefficient="1"/></RegressionTable>
    <RegressionTable intercept="2" targetCategory="b"><NumericPredictor name="x" coefficient="-1"/></RegressionTable>
    <RegressionTable intercept="1.5" targetCategory="c"/>
  </RegressionModel>""")


def _multiclass_expected(p: dict) -> dict:
    best = max(p, key=lambda k: p[k])
    return {"y": best, **{f"probability({k})": v for k, v in p.items()}}


def _softmax(ys: dict) -> dict:
    total = sum(math.exp(v) for v in ys.values())
    return {k: math.exp(v) / total for k, v in ys.items()}


def _simplemax(ys: dict) -> dict:
    total = sum(ys.values())
    return {k: v / total for k, v in ys.items()}


def _ys(x):
    return {"a": 1 + x, "b": 2 - x, "c": 1.5}


CASES.append(SpecCase(
    id="classification/multiclass-softmax",
    pmml=_multiclass("softmax"),
    records=[{"x": 1.0}, {"x": -0.5}, {"x": 0.4}],
    expected=[_multiclass_expected(_softmax(_ys(1.0))), _multiclass_expected(_softmax(_ys(-0.5))),
              _multiclass_expected(_softmax(_ys(0.4)))],
    note="softmax: p_j = exp(y_j) / sum_i exp(y_i); predicted = argmax.",
))

CASES.append(SpecCase(
    id="classification/multiclass-simplemax",
    pmml=_multiclass("simplemax"),
    records=[{"x": 1.0}, {"x": -0.5}, {"x": 0.4}],
    expected=[_multiclass_expected(_simplemax(_ys(1.0))), _multiclass_expected(_simplemax(_ys(-0.5))),
              _multiclass_expected(_simplemax(_ys(0.4)))],
    note="simplemax: p_j = y_j / sum_i y_i (all y_j positive here).",
))

CASES.append(SpecCase(
    id="classification/multiclass-none",
    pmml=document(_DD_ABC, f"""
  <RegressionModel functionName="classification" normalizationMethod="none">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>{_OUT_ABC}
    <RegressionTable intercept="0.2" targetCategory="a"><NumericPredictor name="x" coefficient="0.1"/></RegressionTable>
    <RegressionTable intercept="0.3" targetCategory="b"><NumericPredictor name="x" coefficient="-0.1"/></RegressionTable>
    <RegressionTable intercept="0.5" targetCategory="c"/>
  </RegressionModel>"""),
    records=[{"x": 1.0}, {"x": -2.0}],
    expected=[
        # y_a = 0.3, y_b = 0.2, y_c = 0.5
        _multiclass_expected({"a": 0.2 + 0.1, "b": 0.3 - 0.1, "c": 0.5}),
        # y_a = 0.0, y_b = 0.5, y_c = 0.5: a tie between b and c goes to the first, b
        {"y": "b", "probability(a)": 0.2 - 0.2, "probability(b)": 0.3 + 0.2, "probability(c)": 0.5},
    ],
    note="none: p_j = y_j. The tables sum to 1 for every x, so this holds whether the last "
         "category is read from its table or, as JPMML does, computed as 1 minus the others. "
         "Ties go to the first category in document order.",
))

CASES.append(SpecCase(
    id="classification/multiclass-logit",
    pmml=_multiclass("logit"),
    records=[{"x": 1.0}, {"x": -0.5}],
    expected=[
        _multiclass_expected(_simplemax({k: _logistic(v) for k, v in _ys(1.0).items()})),
        _multiclass_expected(_simplemax({k: _logistic(v) for k, v in _ys(-0.5).items()})),
    ],
    note="The spec gives p_j = 1 / (1 + exp(-y_j)) for every table, unnormalised. JPMML "
         "('XXX: Non-standard behaviour' in RegressionModelUtil) applies the logistic function "
         "and then simplemax-normalises so the probabilities sum to 1, and sklearn2pmml encodes "
         "scikit-learn's one-vs-rest LogisticRegression relying on exactly that. pmmlserve "
         "follows JPMML here (a documented departure from the spec).",
))

CASES.append(SpecCase(
    id="classification/categorical-predictors-only",
    pmml=document("""
    <DataField name="colour" optype="categorical" dataType="string">
      <Value value="red"/><Value value="green"/><Value value="blue"/>
    </DataField>
    <DataField name="y" optype="categorical" dataType="string"><Value value="yes"/><Value value="no"/></DataField>
""", """
  <RegressionModel functionName="classification" normalizationMethod="softmax">
    <MiningSchema><MiningField name="colour"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Output>
      <OutputField name="p_yes" optype="continuous" dataType="double" feature="probability" value="yes"/>
    </Output>
    <RegressionTable intercept="0.1" targetCategory="yes">
      <CategoricalPredictor name="colour" value="red" coefficient="1.2"/>
      <CategoricalPredictor name="colour" value="green" coefficient="-0.7"/>
    </RegressionTable>
    <RegressionTable intercept="0.3" targetCategory="no">
      <CategoricalPredictor name="colour" value="blue" coefficient="0.4"/>
    </RegressionTable>
  </RegressionModel>"""),
    records=[{"colour": "red"}, {"colour": "green"}, {"colour": "blue"}, {"colour": None},
             {"colour": "purple"}],
    expected=[
        {"y": "yes", "p_yes": math.exp(1.3) / (math.exp(1.3) + math.exp(0.3))},
        {"y": "no", "p_yes": math.exp(-0.6) / (math.exp(-0.6) + math.exp(0.3))},
        {"y": "no", "p_yes": math.exp(0.1) / (math.exp(0.1) + math.exp(0.7))},
        # a missing categorical input is ignored: y_yes = 0.1, y_no = 0.3
        {"y": "no", "p_yes": math.exp(0.1) / (math.exp(0.1) + math.exp(0.3))},
        pmmlserve.EvaluationError,  # not a declared Value: invalid, returnInvalid by default
    ],
    error_field="colour",
    note="Categorical-only tables with softmax; a value outside the DataField's Value list is "
         "invalid and the default invalidValueTreatment (returnInvalid) makes the record an error.",
))

CASES.append(SpecCase(
    id="classification/binary-none",
    pmml=_binary("none").replace('intercept="-1" targetCategory="yes"><NumericPredictor name="x" coefficient="2"/>',
                                 'intercept="0.2" targetCategory="yes"><NumericPredictor name="x" coefficient="0.5"/>'),
    records=[{"x": 1.0}, {"x": -0.2}],
    expected=[_binary_expected(0.2 + 0.5 * 1.0), _binary_expected(0.2 + 0.5 * -0.2)],
    note="none with two categories: p(yes) = y_yes, p(no) = 1 - p(yes) (values kept inside [0, 1]).",
))
