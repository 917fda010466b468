"""The PMML built-in functions against JPMML, the reference evaluator.

Each check is a tiny PMML document whose OutputFields (feature="transformedValue") apply one
built-in function to input fields and constants; JPMML scores a few records and pmmlserve's
kernels must produce the same values from the same inputs.  Applies carry
invalidValueTreatment="asMissing", so JPMML reports an invalid result (NaN, integer overflow,
division by zero) as missing, which is what a NaN result of a kernel means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
import pytest

from pmmlserve.exceptions import EvaluationError
from pmmlserve.scoring._functions import lookup
from tests.oracles import jpmml_evaluator, jpmml_predict

pytestmark = pytest.mark.jpmml

NUMERIC = ("double", "float", "integer")

FIELDS = {
    "x": ("double", [0.5, 2.5, 0.15, 3.0, 10.0, 0.001, 7.25, 123.456]),
    "y": ("double", [1.5, -4.0, 0.25, 2.0, -0.5, 3.0, 0.0, 0.75]),
    "p": ("double", [0.5, 0.975, 0.001, 0.3, 0.999999, 0.1, 0.6, 0.25]),
    "g": ("float", [float(np.float32(v)) for v in (0.1, 2.5, -1.75, 3.3, 1e-3, 7.0, 0.2, 1e10)]),
    "i": ("integer", [7, -7, 3, 2147483647, 0, -2147483648, 255, 12]),
    "j": ("integer", [2, 3, -2, 1, 5, -1, 4, 0]),
    "k": ("integer", [2, 0, 3, 1, 5, 1, 2, 3]),
    "u": ("integer", [1, 2, 3, 1, 10, 2, 1, 4]),
    "b": ("boolean", [True, False, True, False, True, True, False, False]),
    "s": ("string", ["hello", "Straße", "  padded\t", "a\U0001F600b", "", "joe@home, ann@work",
                     "ΟΔΟΣ", "x,y;z"]),
    "t": ("string", ["l+", "ß", r"\s+", "\U0001F600", "^$", r"(\w+)@(\w+)", "Σ", "[,;]"]),
}


@dataclass(frozen=True)
class Const:
    """A Constant argument."""

    value: object
    data_type: str


def C(value, data_type="double"):
    return Const(value, data_type)


# (function, arguments, exact): exact results must match bit for bit; the others (libm-based)
# to 1e-14 relative, since Java's Math and C's libm may differ in the last bits.
CASES = [
    ("+", ["x", "y"], True), ("-", ["x", "y"], True), ("*", ["x", "y"], True),
    ("/", ["x", "y"], True), ("modulo", ["x", "y"], True), ("modulo", ["y", "x"], True),
    ("+", ["i", "j"], True), ("-", ["i", "j"], True), ("*", ["i", "j"], True),
    ("/", ["i", "j"], True), ("modulo", ["i", "j"], True), ("/", ["i", C(2, "integer")], True),
    ("+", ["g", "g"], True), ("*", ["g", "i"], True), ("/", ["g", "x"], True),
    ("pow", ["i", "k"], True), ("pow", ["x", "y"], False), ("pow", ["y", "x"], False),
    ("threshold", ["x", "y"], True), ("threshold", ["i", "k"], True),
    ("min", ["x", "y", "p"], True), ("max", ["i", "j", "k"], True), ("sum", ["x", "y", "p"], True),
    ("avg", ["x", "y", "p"], True), ("avg", ["i", "j"], True), ("product", ["x", "y", "g"], True),
    ("sum", ["g", "g", "g"], True),
    ("log10", ["x"], False), ("ln", ["y"], False), ("sqrt", ["y"], True), ("exp", ["y"], False),
    ("expm1", ["p"], False), ("ln1p", ["y"], False), ("abs", ["y"], True), ("abs", ["k"], True),
    ("floor", ["y"], True), ("ceil", ["x"], True), ("round", ["x"], True), ("rint", ["x"], True),
    ("round", [C(-2.5)], True), ("round", [C(0.49999999999999994)], True), ("rint", ["g"], True),
    ("sin", ["x"], False), ("cos", ["y"], False), ("tan", ["x"], False), ("asin", ["p"], False),
    ("acos", ["p"], False), ("atan", ["y"], False), ("sinh", ["y"], False),
    ("cosh", ["x"], False), ("tanh", ["y"], False), ("hypot", ["x", "y"], False),
    ("x-atan2", ["y", "x"], False),
    ("erf", ["y"], False), ("erf", ["x"], False), ("stdNormalCDF", ["y"], False),
    ("stdNormalPDF", ["x"], False), ("stdNormalIDF", ["p"], False),
    ("normalCDF", ["x", "y", C(2.5)], False), ("normalPDF", ["y", "x", C(0.5)], False),
    ("normalIDF", ["p", "x", C(3.0)], False),
    ("equal", ["x", C(3.0)], True), ("notEqual", ["s", C("hello", "string")], True),
    ("lessThan", ["x", "y"], True), ("lessOrEqual", ["i", "k"], True),
    ("greaterThan", ["y", "p"], True), ("greaterOrEqual", ["j", "k"], True),
    ("and", ["b", C("true", "boolean")], True), ("or", ["b", C("false", "boolean")], True),
    ("not", ["b"], True), ("isIn", ["i", C(7, "integer"), C(0, "integer")], True),
    ("isNotIn", ["s", C("", "string"), C("hello", "string")], True),
    ("if", ["b", "x", "y"], True), ("if", ["b", "s"], True),
    ("isMissing", ["x"], True), ("isNotMissing", ["s"], True),
    ("uppercase", ["s"], True), ("lowercase", ["s"], True), ("stringLength", ["s"], True),
    ("substring", ["s", "u", "k"], True), ("trimBlanks", ["s"], True),
    ("concat", ["s", C("|", "string"), "t"], True), ("matches", ["s", "t"], True),
    ("replace", ["s", "t", C("<$0>", "string")], True),
    ("replace", ["s", C(r"(\w)(\w*)", "string"), C(r"$2$1 \$ $$", "string")], True),
]

FORMATS = [
    ("x", ["%.1f", "%.2f", "%10.3f", "%e", "%.3E", "%g", "%.3g", "%s", "%+,.2f", "%(012.4f",
           "%a", "%-12.5s|", "%.0f", "%#.0e"]),
    ("y", ["%.1f", "%(,.2f", "% .3e", "%G", "%S", "%010.1f"]),
    ("g", ["%s", "%.3f", "%e"]),
    ("i", ["%d", "%05d", "%-8d|", "%,d", "%+d", "%x", "%#X", "%o", "%(d", "%s"]),
    ("u", ["%c", "%-3c|"]),
]


def _arg_xml(arg) -> str:
    if isinstance(arg, Const):
        text = "" if arg.value is None else escape(str(arg.value))  # empty content: missing
        return f'<Constant dataType="{arg.data_type}">{text}</Constant>'
    return f'<FieldRef field="{arg}"/>'


def _optype(data_type: str) -> str:
    return "continuous" if data_type in NUMERIC else "categorical"


def _document(fields: dict, outputs: list[tuple[str, str, list]]) -> bytes:
    """A RegressionModel whose OutputFields apply ``(function, result type, arguments)``."""
    data = "".join(f'<DataField name="{n}" optype="{_optype(t)}" dataType="{t}"/>'
                   for n, (t, _) in fields.items())
    mining = "".join(f'<MiningField name="{n}"/>' for n in fields)
    out = "".join(
        f'<OutputField name="o{k}" optype="{_optype(rtype)}" dataType="{rtype}" '
        f'feature="transformedValue"><Apply function="{escape(fn)}" '
        f'invalidValueTreatment="asMissing">{"".join(_arg_xml(a) for a in args)}</Apply>'
        "</OutputField>"
        for k, (fn, rtype, args) in enumerate(outputs))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/>
<DataDictionary>{data}<DataField name="target" optype="continuous" dataType="double"/>
</DataDictionary>
<RegressionModel functionName="regression"><MiningSchema>{mining}
<MiningField name="target" usageType="target"/></MiningSchema><Output>{out}</Output>
<RegressionTable intercept="0"/></RegressionModel></PMML>""".encode("utf-8")


def _column(fields: dict, arg, n: int) -> tuple[np.ndarray, str]:
    """One argument in pmmlserve's batch representation, and its data type."""
    if isinstance(arg, Const):
        if arg.data_type == "string":
            return np.full(n, arg.value, dtype=object), "string"
        value = {"true": 1.0, "false": 0.0, "None": math.nan}.get(str(arg.value), arg.value)
        return np.full(n, float(value)), arg.data_type
    data_type, values = fields[arg]
    if data_type == "string":
        return np.array(values, dtype=object), data_type
    return np.array([math.nan if v is None else float(v) for v in values]), data_type


def _expected(fields: dict, fn_name: str, args: list) -> tuple[np.ndarray, str]:
    n = len(next(iter(fields.values()))[1])
    columns, types = zip(*(_column(fields, a, n) for a in args))
    fn = lookup(fn_name, list(types))
    result_type = fn.result_type or types[1]  # only `if` leaves it open: its branch type
    with np.errstate(all="ignore"):
        return fn.batch(*columns), result_type


def _records(fields: dict) -> pd.DataFrame:
    return pd.DataFrame({n: pd.Series(v, dtype=object) for n, (_, v) in fields.items()})


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _assert_column(name, actual, expected, exact):
    for row, (a, e) in enumerate(zip(actual, expected)):
        if _is_missing(e) or _is_missing(a):
            assert _is_missing(e) and _is_missing(a), (name, row, a, e)
        elif isinstance(e, str):
            assert a == e, (name, row, a, e)
        elif exact or float(e) == 0 or math.isinf(float(e)):
            assert float(a) == float(e), (name, row, a, e)
        else:
            assert abs(float(a) - float(e)) <= 1e-14 * abs(float(e)), (name, row, a, e)


def _check(fields: dict, cases: list[tuple[str, list, bool]]) -> None:
    outputs, expectations = [], []
    for fn_name, args, exact in cases:
        values, result_type = _expected(fields, fn_name, args)
        outputs.append((fn_name, result_type, args))
        expectations.append((f"{fn_name}{args}", values, exact))
    result = jpmml_predict(_document(fields, outputs), _records(fields))
    for k, (name, values, exact) in enumerate(expectations):
        _assert_column(name, result[f"o{k}"].tolist(), list(values), exact)


def test_functions_match_jpmml():
    formats = [("formatNumber", [field, C(pattern, "string")], True)
               for field, patterns in FORMATS for pattern in patterns]
    _check(FIELDS, CASES + formats)


MISSING_FIELDS = {
    "x": ("double", [1.5, None, None, -2.0]),
    "y": ("double", [None, 2.0, None, 0.5]),
    "s": ("string", ["a", None, None, "b"]),
}

MISSING_CASES = [
    ("+", ["x", "y"]), ("/", ["x", "y"]), ("modulo", ["x", "y"]), ("min", ["x", "y"]),
    ("max", ["x", "y", C(1.0)]), ("sum", ["x", "y"]), ("avg", ["x", "y"]),
    ("product", ["x", "y"]), ("isMissing", ["x"]), ("isNotMissing", ["s"]),
    ("isIn", ["x", C(1.5), C(None)]), ("isNotIn", ["s", C("a", "string")]),
    ("concat", ["s", "s"]), ("if", [C("true", "boolean"), "y", "x"]),
    ("if", [C("false", "boolean"), "x"]),
]


def test_missing_values_match_jpmml():
    # the functions JPMML lets take missing arguments (missing_is_error is False, and `if`'s
    # branches); the others raise, see test_errors_match_jpmml
    _check(MISSING_FIELDS, [(fn, args, True) for fn, args in MISSING_CASES])


ERROR_FIELDS = {"x": ("double", [1.0]), "m": ("double", [None]), "s": ("string", ["hello"]),
                "i": ("integer", [2]), "b": ("boolean", [None])}

ERRORS = [
    ("log10", ["m"]), ("equal", ["m", C(1.0)]), ("not", ["b"]), ("if", ["b", "x"]),
    ("substring", ["s", C(0, "integer"), C(2, "integer")]),
    ("substring", ["s", C(1, "integer"), C(-1, "integer")]),
    ("round", [C(3e9)]), ("floor", [C(-3e9)]),
    ("pow", ["i", C(-1, "integer")]), ("pow", ["i", C(40, "integer")]),
    ("formatNumber", ["x", C("%d", "string")]), ("formatNumber", ["i", C("%.2f", "string")]),
    ("formatNumber", ["x", C("%f %f", "string")]),
    ("normalIDF", [C(1.5), C(0.0), C(1.0)]), ("normalCDF", ["x", C(0.0), C(0.0)]),
    ("and", ["x", C(0.5)]), ("abs", [C(-2147483648, "integer")]),
    ("sum", ["i", C(2147483647, "integer")]),
]


@pytest.mark.parametrize("fn_name, args", ERRORS, ids=[f"{f}{a}" for f, a in ERRORS])
def test_errors_match_jpmml(fn_name, args):
    """Where JPMML raises a record error, pmmlserve raises EvaluationError, or flags the
    function ``missing_is_error`` when the cause is a missing argument."""
    columns, types = zip(*(_column(ERROR_FIELDS, a, 1) for a in args))
    fn = lookup(fn_name, list(types))
    missing = any(np.isnan(c[0]) if c.dtype != object else c[0] is None for c in columns)
    if missing:
        assert fn.missing_is_error
    else:
        with pytest.raises(EvaluationError), np.errstate(all="ignore"):
            fn.batch(*columns)
    evaluator = jpmml_evaluator(_document(ERROR_FIELDS, [(fn_name, "double", args)]))
    record = {n: v[0] for n, (_, v) in ERROR_FIELDS.items()}
    with pytest.raises(Exception, match="Exception"):
        evaluator.evaluate(record)
