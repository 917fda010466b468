"""The PMML built-in functions against hand-worked values and Python's math module.

Every case runs both backends on the same record and requires them to agree bit for bit (the
single-record path must score exactly as the batch path).  Expected values come from the math
module, ``statistics.NormalDist``, or the rule written next to the case (PMML spec, Java
semantics as JPMML documents them); tests/scoring/test_functions_jpmml.py checks the same
functions against JPMML itself.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from pmmlserve.exceptions import EvaluationError
from pmmlserve.scoring._functions import BUILTINS, lookup
from pmmlserve.scoring._functions_format import format_number, java_double_string

INF, NAN = math.inf, math.nan
INT_MIN = -(2**31)


def _column(value, kind):
    if isinstance(value, str) or (value is None and kind == "string"):
        return np.array([value], dtype=object)
    return np.array([NAN if value is None else float(value)])


def _same(a, b) -> bool:
    missing_a = a is None or (isinstance(a, float) and math.isnan(a))
    missing_b = b is None or (isinstance(b, float) and math.isnan(b))
    if missing_a or missing_b:
        return missing_a and missing_b
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return float(a) == float(b) and math.copysign(1, float(a)) == math.copysign(1, float(b))


def run(name, *args, types=None):
    """The scalar result, after checking that the batch backend gives the same."""
    fn = lookup(name, types)
    scalar = fn.scalar(*args)
    batch = fn.batch(*(_column(a, fn.kind_of(k)) for k, a in enumerate(args)))
    assert len(batch) == 1
    value = batch[0]
    if scalar is None and isinstance(value, float) and fn.handles_missing:
        value = None if math.isnan(value) else value  # batch spells missing NaN
    assert _same(value, scalar), (name, args, value, scalar)
    return scalar


def raises(name, *args, types=None):
    fn = lookup(name, types)
    with pytest.raises(EvaluationError):
        fn.scalar(*args)
    with pytest.raises(EvaluationError):
        fn.batch(*(_column(a, fn.kind_of(k)) for k, a in enumerate(args)))


def close(actual, expected, rel=1e-15):
    if math.isinf(expected) or expected == 0:
        return actual == expected
    return abs(actual - expected) <= rel * abs(expected)


# --------------------------------------------------------------------------- registry

PMML_44 = """+ - * / min max sum avg median product log10 ln sqrt abs exp pow threshold floor ceil
round modulo isMissing isNotMissing isValid isNotValid equal notEqual lessThan lessOrEqual
greaterThan greaterOrEqual and or not isIn isNotIn if uppercase lowercase stringLength substring
trimBlanks concat replace matches formatNumber normalCDF normalPDF stdNormalCDF stdNormalPDF erf
normalIDF stdNormalIDF expm1 hypot ln1p rint sin asin sinh cos acos cosh tan atan tanh""".split()


def test_every_pmml_44_function_is_registered():
    assert set(PMML_44) <= set(BUILTINS)
    assert set(BUILTINS) - set(PMML_44) == {"x-atan2"}  # JPMML's extension
    assert all(BUILTINS[name].name == name for name in BUILTINS)


@pytest.mark.parametrize("name", ["formatDatetime", "dateDaysSinceYear", "dateSecondsSinceYear",
                                  "dateSecondsSinceMidnight", "atan2", "nosuch"])
def test_unsupported_names_raise_key_error(name):
    with pytest.raises(KeyError):
        lookup(name)


def test_arities_and_kinds():
    assert (BUILTINS["if"].min_args, BUILTINS["if"].max_args) == (2, 3)
    assert BUILTINS["sum"].max_args is None and BUILTINS["concat"].min_args == 2
    assert BUILTINS["substring"].kind_of(0) == "string"
    assert BUILTINS["substring"].kind_of(2) == "numeric"
    assert BUILTINS["formatNumber"].kind_of(1) == "string"
    assert BUILTINS["isValid"].argument_kind == "validity"


def test_missing_policy_flags():
    tolerant = {"isMissing", "isNotMissing", "isValid", "isNotValid", "isIn", "isNotIn", "if",
                "concat", "min", "max", "sum", "avg", "median", "product"}
    assert {n for n, f in BUILTINS.items() if f.handles_missing} == tolerant
    lenient = {n for n, f in BUILTINS.items() if not f.missing_is_error}
    assert lenient == (tolerant - {"if"}) | {"+", "-", "*", "/", "modulo"}


def test_result_types_follow_the_arguments():
    assert lookup("+", ["integer", "integer"]).result_type == "integer"
    assert lookup("+", ["integer", "float"]).result_type == "float"
    assert lookup("+", ["float", "double"]).result_type == "double"
    assert lookup("avg", ["integer", "integer"]).result_type == "double"
    assert lookup("abs", ["integer"]).result_type == "integer"
    assert lookup("threshold", ["integer", "integer"]).result_type == "integer"
    assert lookup("floor", ["double"]).result_type == "integer"
    assert lookup("if", ["boolean", "string", "string"]).result_type == "string"
    assert lookup("if", ["boolean", "double", "integer"]).result_type == "double"


# --------------------------------------------------------------------------- arithmetic


def test_arithmetic_on_doubles():
    assert run("-", 2.5, 4.0) == -1.5  # the spec's example
    assert run("+", 0.1, 0.2) == 0.1 + 0.2
    assert run("*", 3.0, -0.5) == -1.5
    assert run("/", 7.0, 2.0) == 3.5
    assert run("/", 1.0, 0.0) == INF and run("/", -1.0, 0.0) == -INF
    assert math.isnan(run("/", 0.0, 0.0))  # invalid, not missing
    assert run("/", 1.0, -0.0) == INF  # JPMML holds no -0.0
    assert math.copysign(1, run("*", -1.0, 0.0)) == 1.0


def test_integer_arithmetic_is_java_int():
    ints = ["integer", "integer"]
    assert run("/", 7.0, 2.0, types=ints) == 3.0 and run("/", -7.0, 2.0, types=ints) == -3.0
    assert run("/", float(INT_MIN), -1.0, types=ints) == INT_MIN  # Java wraps
    assert math.isnan(run("/", 5.0, 0.0, types=ints))  # ArithmeticException: invalid
    assert math.isnan(run("+", 2.0**31 - 1, 1.0, types=ints))  # checked overflow
    assert math.isnan(run("*", 65536.0, 65536.0, types=ints))
    assert run("-", float(INT_MIN) + 1, 1.0, types=ints) == INT_MIN
    assert run("/", 7.0, 2.0, types=["integer", "double"]) == 3.5


def test_float_results_are_narrowed():
    a, b = float(np.float32(0.1)), float(np.float32(0.2))
    assert run("+", a, b, types=["float", "float"]) == float(np.float32(a + b))
    assert run("+", a, b, types=["float", "double"]) == a + b
    assert run("sum", a, b, types=["float", "float"]) == float(np.float32(a + b))


def test_modulo_takes_the_sign_of_the_divisor():
    # x - floor(x/y)*y
    assert run("modulo", -7.0, 3.0) == 2.0 and run("modulo", 7.0, -3.0) == -2.0
    assert run("modulo", 5.5, 3.0) == 2.5
    assert math.isnan(run("modulo", 5.0, 0.0))
    ints = ["integer", "integer"]
    assert run("modulo", -7.0, 3.0, types=ints) == 2.0
    assert run("modulo", 7.0, -3.0, types=ints) == -2.0
    assert math.isnan(run("modulo", 7.0, 0.0, types=ints))


# --------------------------------------------------------------------------- aggregates


def test_aggregates_ignore_missing_values():
    assert run("min", 2.5, 4.0, 1.5) == 1.5  # the spec's example
    assert run("max", 2.5, None, 1.5) == 2.5
    assert run("sum", 1.0, None, 2.0) == 3.0
    assert run("product", 2.0, None, 3.0) == 6.0
    assert run("avg", 1.0, None, 2.0) == 1.5  # missing values do not count
    assert run("median", 1.0, None, 5.0, 2.0) == 2.0
    assert run("median", 4.0, 1.0, 3.0, 2.0) == 2.5
    for name in ("min", "max", "sum", "avg", "median", "product"):
        assert run(name, None, None) is None


def test_avg_is_the_running_mean():
    # Commons Math's storeless mean: m += (x - m) / n, which can differ from sum/n in the last bit
    m = 0.1
    m += (0.2 - m) / 2
    m += (0.3 - m) / 3
    assert run("avg", 0.1, 0.2, 0.3) == m


def test_sum_is_left_to_right():
    assert run("sum", 1e16, 1.0, -1e16) == (1e16 + 1.0) - 1e16


# --------------------------------------------------------------------------- mathematics

MATH = [("log10", math.log10, [1000.0, 2.0, 1e-300]), ("ln", math.log, [math.e, 10.0, 0.5]),
        ("sqrt", math.sqrt, [2.0, 1e10, 0.0]), ("exp", math.exp, [1.0, -700.0, 0.5]),
        ("expm1", math.expm1, [1e-10, 1.0]), ("ln1p", math.log1p, [1e-10, 3.0]),
        ("sin", math.sin, [1.0, -3.0]), ("cos", math.cos, [1.0, 100.0]),
        ("tan", math.tan, [0.5, -1.2]), ("asin", math.asin, [0.5, -1.0]),
        ("acos", math.acos, [0.5, 1.0]), ("atan", math.atan, [2.0, -0.1]),
        ("sinh", math.sinh, [1.5, -2.0]), ("cosh", math.cosh, [1.5, -2.0]),
        ("tanh", math.tanh, [0.5, -3.0]), ("abs", abs, [-2.5, 3.0])]


@pytest.mark.parametrize("name, reference, xs", MATH, ids=[m[0] for m in MATH])
def test_unary_math_agrees_with_the_math_module(name, reference, xs):
    for x in xs:
        assert close(run(name, x), reference(x), rel=4e-16), (name, x)


def test_math_edge_cases():
    assert math.isnan(run("sqrt", -1.0)) and math.isnan(run("ln", -1.0))
    assert run("ln", 0.0) == -INF and run("log10", 0.0) == -INF
    assert run("exp", 1000.0) == INF and run("cosh", -1000.0) == INF
    assert run("sinh", -1000.0) == -INF
    assert math.isnan(run("asin", 2.0))
    assert math.copysign(1, run("sqrt", -0.0)) == 1.0


def test_binary_math():
    assert run("pow", 2.0, 10.0) == 1024.0 and run("pow", 2.0, -1.0) == 0.5
    assert run("pow", 0.0, 0.0) == 1.0 and run("pow", 0.0, -1.0) == INF
    assert math.isnan(run("pow", -8.0, 1 / 3))
    assert math.isnan(run("pow", 1.0, INF))  # Java's Math.pow; C would say 1
    assert run("pow", 10.0, 400.0) == INF
    assert run("hypot", 3.0, 4.0) == 5.0 and run("hypot", 1.5e308, 1.5e308) == INF
    assert run("x-atan2", 1.0, -1.0) == math.atan2(1.0, -1.0)
    assert run("x-atan2", -0.0, -1.0) == math.pi  # -0.0 is stored as 0.0
    assert run("threshold", 1.0, 1.0) == 0.0 and run("threshold", 1.5, 1.0) == 1.0


def test_integer_pow_is_checked():
    ints = ["integer", "integer"]
    assert run("pow", 2.0, 10.0, types=ints) == 1024.0
    assert run("pow", -2.0, 31.0, types=ints) == INT_MIN
    assert run("pow", 0.0, 0.0, types=ints) == 1.0
    raises("pow", 2.0, -1.0, types=ints)  # JPMML: exponent must be >= 0
    raises("pow", 2.0, 40.0, types=ints)  # JPMML: ArithmeticException overflow


def test_rounding():
    # round: Java's Math.round, halves toward positive infinity
    assert [run("round", x) for x in (-2.5, 2.5, -0.5, 0.5, 1.4999999999999998)] == \
        [-2.0, 3.0, 0.0, 1.0, 1.0]
    assert run("round", 0.49999999999999994) == 0.0  # floor(x + 0.5) would give 1
    assert run("floor", -2.5) == -3.0 and run("ceil", -2.5) == -2.0
    # rint: halves to even, keeps the type
    assert [run("rint", x) for x in (2.5, 3.5, -2.5, 1e300)] == [2.0, 4.0, -2.0, 1e300]
    assert math.copysign(1, run("rint", -0.4)) == 1.0
    assert math.copysign(1, run("ceil", -0.5)) == 1.0
    for name in ("round", "floor", "ceil"):
        raises(name, 3e9)  # beyond the int range: ArithmeticException in JPMML
        raises(name, INF)


def test_erf_and_the_normal_distribution():
    for x in (-3.0, -0.5, 0.0, 0.3, 1.0, 2.5, 6.0):
        assert close(run("erf", x), math.erf(x), rel=4e-16)
    assert run("erf", 50.0) == 1.0 and run("erf", -50.0) == -1.0
    dist = statistics.NormalDist(1.0, 2.0)
    for x in (-3.0, 0.0, 1.0, 4.5):
        assert close(run("normalCDF", x, 1.0, 2.0), dist.cdf(x), rel=1e-14)
        assert close(run("normalPDF", x, 1.0, 2.0), dist.pdf(x), rel=1e-14)
        assert close(run("stdNormalPDF", x), statistics.NormalDist().pdf(x), rel=1e-14)
    # the far tail, where NormalDist.cdf's 1 + erf loses digits: erfc is the reference
    assert close(run("stdNormalCDF", -8.0), 0.5 * math.erfc(8.0 / math.sqrt(2.0)), rel=1e-13)
    for p in (0.001, 0.3, 0.5, 0.975):
        assert close(run("normalIDF", p, 1.0, 2.0), dist.inv_cdf(p), rel=1e-14)
        assert close(run("stdNormalIDF", p), statistics.NormalDist().inv_cdf(p), rel=1e-14)
    assert run("stdNormalIDF", 0.0) == -INF and run("stdNormalIDF", 1.0) == INF
    assert run("stdNormalIDF", 1e-20) == -INF  # erfinv(2p - 1) with 2p - 1 == -1, as in JPMML
    assert run("normalCDF", -100.0, 1.0, 2.0) == 0.0 and run("normalCDF", 200.0, 1.0, 2.0) == 1.0
    raises("normalCDF", 0.0, 0.0, 0.0)  # sigma must be > 0
    raises("stdNormalIDF", 1.5)  # p outside [0, 1]


# --------------------------------------------------------------------------- missing, logic


def test_missing_and_validity_tests():
    assert run("isMissing", None) is True and run("isMissing", 0.0) is False
    assert run("isNotMissing", "a") is True and run("isNotMissing", None) is False
    # isValid/isNotValid take the validity the caller computed: 1 valid, 0 invalid, missing
    assert [run("isValid", v) for v in (1.0, 0.0, None)] == [True, False, False]
    assert [run("isNotValid", v) for v in (1.0, 0.0, None)] == [False, True, False]


def test_comparisons():
    cases = {"equal": [False, True, False], "notEqual": [True, False, True],
             "lessThan": [True, False, False], "lessOrEqual": [True, True, False],
             "greaterThan": [False, False, True], "greaterOrEqual": [False, True, True]}
    for name, expected in cases.items():
        assert [run(name, a, 2.0) for a in (1.0, 2.0, 3.0)] == expected, name
    assert run("equal", "a", "a") is True and run("notEqual", "a", "b") is True


def test_boolean_logic():
    assert run("and", True, True, False) is False and run("and", 1.0, 1.0) is True
    assert run("or", False, False, True) is True and run("or", 0.0, 0.0) is False
    assert run("not", True) is False and run("not", 0.0) is True
    raises("and", 0.5, 1.0)  # JPMML: TypeCheckException
    raises("not", 2.0)


def test_is_in():
    assert run("isIn", 1.0, 1.0, 2.0) is True and run("isIn", 3.0, 1.0, 2.0) is False
    assert run("isNotIn", 3.0, 1.0, 2.0) is True
    assert run("isIn", None, 1.0, 2.0) is False
    assert run("isIn", None, 1.0, None) is True  # a missing value matches a missing member
    assert run("isNotIn", None, 1.0, None) is False
    assert run("isIn", "b", "a", "b") is True


def test_if():
    assert run("if", True, 1.0, 2.0) == 1.0 and run("if", False, 1.0, 2.0) == 2.0
    assert run("if", False, 1.0) is None  # no else part: missing
    assert run("if", None, 1.0, 2.0) is None  # the spec; JPMML raises (missing_is_error)
    assert run("if", True, None, 2.0) is None
    assert run("if", 1.0, "yes", "no") == "yes"
    raises("if", 0.5, 1.0, 2.0)


# --------------------------------------------------------------------------- strings


def test_case_and_length():
    assert run("uppercase", "straße ǆ") == "STRASSE Ǆ"
    assert run("lowercase", "ΟΔΟΣ Abc") == "οδος abc"  # final sigma
    assert run("stringLength", "") == 0.0 and run("stringLength", "abc") == 3.0
    assert run("stringLength", "a\U0001F600") == 3.0  # UTF-16 code units, as Java counts


def test_substring_is_one_based_and_clamps():
    assert run("substring", "hello", 2.0, 3.0) == "ell"
    assert run("substring", "hello", 1.0, 2.0) == "he"
    assert run("substring", "hello", 2.0, 100.0) == "ello"
    assert run("substring", "hello", 10.0, 2.0) == ""
    assert run("substring", "hello", 2.0, 0.0) == ""
    assert run("substring", "", 1.0, 5.0) == ""
    assert run("substring", "a\U0001F600b", 2.0, 2.0) == "\U0001F600"
    raises("substring", "hello", 0.0, 2.0)  # JPMML: startPos must be >= 1
    raises("substring", "hello", 1.0, -1.0)
    raises("substring", "hello", 1.5, 2.0)


def test_trim_blanks_is_java_trim():
    assert run("trimBlanks", " \t a b \n\x01") == "a b"
    assert run("trimBlanks", "\u00a0x\u2003") == "\u00a0x\u2003"
    assert run("trimBlanks", "") == ""


def test_concat_skips_missing_values():
    assert run("concat", "a", "b", "c") == "abc"
    assert run("concat", None, "a", None) == "a"
    assert run("concat", None, None) == ""


def test_replace_and_matches():
    assert run("replace", "joe@home, ann@work", r"(\w+)@(\w+)", r"$2 at $1 $$ \$") == \
        "home at joe $ $, work at ann $ $"
    assert run("replace", "abxd", "x*", "-") == "-a-b--d-"
    assert run("replace", "aaa", "(a)(b)?", "[$2]") == "[][][]"
    assert run("replace", "ab", "(a)", "$12") == "a2b"  # group 1, then a literal 2
    assert run("replace", "ab", "(?P<x>a)", "<${x}>") == "<a>b"
    raises("replace", "ab", "(a)", "$2")  # no group 2
    raises("replace", "ab", "a", "$")
    assert run("matches", "abbc", "b+") is True  # any substring matches
    assert run("matches", "abbc", "^b") is False
    raises("matches", "abc", "(")


FORMATS = [
    # (pattern, input, input type, Java's output: String.format rules worked by hand)
    ("%.1f", 0.15, "double", "0.2"),  # half up on Double.toString's digits "0.15"
    ("%.1f", 0.25, "double", "0.3"),
    ("%.2f", 2.675, "double", "2.68"),
    ("%.1f", -0.04, "double", "-0.0"),
    ("%.1f", -0.0, "double", "0.0"),
    ("%.20f", 0.1, "double", "0.10000000000000000000"),
    ("%10.3f", 12345.6789, "double", " 12345.679"),
    ("%-10.2f|", 0.5, "double", "0.50      |"),
    ("%010.2f", -1.5, "double", "-000001.50"),
    ("%(010.1f", -1.5, "double", "(000001.5)"),
    ("%,.2f", 1234567.891, "double", "1,234,567.89"),
    ("%+.1f", 0.5, "double", "+0.5"),
    ("%.0f", 0.5, "double", "1"),
    ("%#.0f", 2.0, "double", "2."),
    ("%e", 12345.6789, "double", "1.234568e+04"),
    ("%.3E", 0.0001, "double", "1.000E-04"),
    ("%e", 0.0, "double", "0.000000e+00"),
    ("%g", 12345.6789, "double", "12345.7"),
    ("%g", 0.0001, "double", "0.000100000"),
    ("%g", 1e-5, "double", "1.00000e-05"),
    ("%.3g", 99950.0, "double", "1.00e+05"),
    ("%g", 0.0, "double", "0.00000"),
    ("%s", 1e7, "double", "1.0E7"),
    ("%s", 12345.6789, "double", "12345.6789"),
    ("%S", 1e-4, "double", "1.0E-4"),
    ("%a", 1.0, "double", "0x1.0p0"),
    ("%f", INF, "double", "Infinity"),
    ("%+010.1f", INF, "double", " +Infinity"),
    ("abc %% %n", 1.0, "double", "abc % \n"),
    ("%1$.1f %<.2e", 1.0, "double", "1.0 1.00e+00"),
    ("%05d", 42.0, "integer", "00042"),
    ("%-6d|", -42.0, "integer", "-42   |"),
    ("%,d", -1234567.0, "integer", "-1,234,567"),
    ("%(d", -5.0, "integer", "(5)"),
    ("%x", -1.0, "integer", "ffffffff"),  # the int's two's complement
    ("%#X", 255.0, "integer", "0XFF"),
    ("%o", 8.0, "integer", "10"),
    ("%c", 65.0, "integer", "A"),
    ("%s", 7.0, "integer", "7"),
    ("%b", 0.0, "integer", "true"),
    ("%s", float(np.float32(0.1)), "float", "0.1"),
]


@pytest.mark.parametrize("pattern, value, kind, expected", FORMATS)
def test_format_number_follows_java(pattern, value, kind, expected):
    assert format_number(pattern, value, kind) == expected
    assert run("formatNumber", value, pattern, types=[kind, "string"]) == expected


@pytest.mark.parametrize("pattern, kind", [
    ("%d", "double"), ("%f", "integer"), ("%#g", "double"), ("%f %f", "double"),
    ("%2$f", "double"), ("%-f", "double"), ("%+ f", "double"), ("%.2d", "integer"),
    ("%,e", "double"), ("%+x", "integer"), ("%q", "double"), ("%", "double"), ("%tY", "integer"),
    ("%<d", "integer"),
])
def test_format_number_rejects_what_java_rejects(pattern, kind):
    raises("formatNumber", 1.0, pattern, types=[kind, "string"])


def test_java_double_string():
    assert [java_double_string(x) for x in (1.0, 100.0, 0.001, 1e7, 1e-4, -1.5e300, 0.0)] == \
        ["1.0", "100.0", "0.001", "1.0E7", "1.0E-4", "-1.5E300", "0.0"]
    # Java 17 prints every digit of a large integral double (not the shortest digits)
    assert java_double_string(2.842224131579679e17) == "2.84222413157967904E17"


# --------------------------------------------------------------------------- batch behaviour


def test_batch_kernels_never_raise_for_masked_rows():
    # The caller may evaluate on full columns and mask the missing rows afterwards.
    nan = np.array([NAN, 1.0])
    assert np.isnan(lookup("round").batch(np.array([NAN, 1e300]) * np.array([1.0, 0.0]))[0])
    assert np.isnan(lookup("pow", ["integer", "integer"]).batch(nan, np.array([NAN, 2.0]))[0])
    assert lookup("substring").batch(np.array([None, "ab"], dtype=object), np.array([0.0, 1.0]),
                                     np.array([1.0, 1.0]))[1] == "a"
    assert lookup("normalCDF").batch(nan, nan, np.array([NAN, 1.0]))[1] == 0.5


def test_batch_errors_name_the_row():
    with pytest.raises(EvaluationError) as info:
        lookup("substring").batch(np.array(["ab", "cd", "ef"], dtype=object),
                                  np.array([1.0, 1.0, 0.0]), np.array([1.0, 1.0, 1.0]))
    assert info.value.row == 2


def test_batch_backend_on_many_rows(rng):
    x = rng.standard_normal(1000) * 10
    x[::7] = NAN
    for name in ("sin", "exp", "abs", "round", "erf", "stdNormalCDF"):
        fn = lookup(name)
        out = fn.batch(x) if name != "round" else fn.batch(np.clip(x, -1e9, 1e9))
        assert out.shape == x.shape and np.isnan(out[::7]).all()
        ref = [fn.scalar(v) for v in (x if name != "round" else np.clip(x, -1e9, 1e9))[1:50:7]]
        assert np.array_equal(out[1:50:7], ref)
    y = rng.standard_normal(1000)
    total = lookup("sum").batch(x, y)
    assert np.allclose(total, np.where(np.isnan(x), y, x + y))
