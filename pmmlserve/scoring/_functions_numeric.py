"""Numeric built-in functions: arithmetic, aggregates, mathematics, rounding, distributions.

Semantics are JPMML's (org.jpmml.evaluator.Functions), which refines the PMML 4.4 text:

* Values JPMML creates never hold -0.0 (it stores 0.0 instead), so kernels add ``0.0`` to
  their results, and to the inputs whose zero sign would show (``/``, ``pow``, ``x-atan2``).
* Integer-typed operands (``lookup(name, arg_types)`` picks these kernels) use Java ``int``
  arithmetic: ``/`` truncates toward zero (``7/2 = 3``), overflow and division by zero make the
  result *invalid* (NaN here: the Apply's ``invalidValueTreatment`` decides), ``pow`` refuses
  negative exponents and overflow (a record error).  Float-typed results are computed in
  double and narrowed to float32.
* ``modulo`` is ``x - floor(x/y)*y`` (the sign follows the divisor), also in integers.
* ``floor``, ``ceil`` and ``round`` return integers; ``round`` rounds halves up (Java's
  ``Math.round``: ``round(-2.5) = -2``), ``rint`` rounds halves to even and keeps the argument's
  type.  A result beyond the 32-bit range is a record error in JPMML.
* ``pow(±1, ±inf)`` is NaN (Java), not 1 (C).
* The aggregates ignore missing arguments and return missing when all are; ``avg`` is Commons
  Math's running mean, ``m += (x - m)/n``, not ``sum/n``.  ``median`` is in the PMML 4.4 list but
  not in JPMML (which reports "function not defined"); it is implemented per the spec.
* ``x-atan2`` is a JPMML extension (PMML 4.4 has no atan2).

The scalar backend calls the same numpy ufunc as the batch backend on one value, so both give
the same bits; the math module's twin runs first only to detect the domain and overflow errors
for which numpy would warn.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Callable, Sequence

import numpy as np

from pmmlserve.exceptions import EvaluationError
from pmmlserve.scoring import _functions_special as special
from pmmlserve.scoring._functions_base import (
    INT_MAX,
    INT_MIN,
    BuiltinFunction,
    common_numeric_type,
    fail_at,
    present,
    to_float32,
)

__all__ = ["NUMERIC_FUNCTIONS", "specialize"]

_ERRORS = (ValueError, OverflowError, ZeroDivisionError)


def _quiet(kernel: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """Run a batch kernel with numpy's floating-point warnings off (NaN/inf are values here)."""
    def batch(*columns: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return kernel(*columns)
    return batch


def _scalar_of(ufunc: Callable[..., Any], guard: Callable[..., Any]) -> Callable[..., Any]:
    """One-record backend over ``ufunc``; ``guard`` raises where numpy would warn."""
    def scalar(*args: Any) -> float:
        try:
            guard(*args)
        except _ERRORS:
            with np.errstate(all="ignore"):
                return float(ufunc(*args)) + 0.0
        return float(ufunc(*args)) + 0.0
    return scalar


def _no_guard(*args: Any) -> None:
    return None


def _numeric(name: str, arity: int, batch: Callable[..., Any], scalar: Callable[..., Any],
             result_type: str | None = "double") -> BuiltinFunction:
    return BuiltinFunction(name, arity, arity, batch, scalar, handles_missing=False,
                           result_type=result_type, argument_kind="numeric")


def _ufunc_function(name: str, ufunc: Callable[..., Any], guard: Callable[..., Any], arity: int,
                    result_type: str | None = "double") -> BuiltinFunction:
    """A function that is one numpy ufunc (the common case)."""
    return _numeric(name, arity, _quiet(lambda *c: ufunc(*c) + 0.0), _scalar_of(ufunc, guard),
                    result_type)


_MATH = [
    ("log10", np.log10, math.log10), ("ln", np.log, math.log), ("sqrt", np.sqrt, math.sqrt),
    ("exp", np.exp, math.exp), ("expm1", np.expm1, math.expm1), ("ln1p", np.log1p, math.log1p),
    ("sin", np.sin, math.sin), ("cos", np.cos, math.cos), ("tan", np.tan, math.tan),
    ("asin", np.arcsin, math.asin), ("acos", np.arccos, math.acos), ("atan", np.arctan, math.atan),
    ("sinh", np.sinh, math.sinh), ("cosh", np.cosh, math.cosh), ("tanh", np.tanh, math.tanh),
]


# --------------------------------------------------------------------------- binary, double


def _java_pow(base: Any, exponent: Any) -> Any:
    # Java's Math.pow: |base| = 1 with an infinite exponent is NaN (C says 1).
    result = np.power(base + 0.0, exponent)
    return np.where((np.abs(base) == 1.0) & np.isinf(exponent), np.nan, result) + 0.0


def _hypot_guard(x: float, y: float) -> None:
    if math.isinf(math.hypot(x, y)) and math.isfinite(x) and math.isfinite(y):
        raise OverflowError


def _atan2(y: Any, x: Any) -> Any:
    return np.arctan2(y + 0.0, x + 0.0)


# --------------------------------------------------------------------------- arithmetic


def _divide(a: Any, b: Any) -> Any:
    return a / (b + 0.0)


def _modulo(a: Any, b: Any) -> Any:
    return a - np.floor(a / b) * b


def _scalar_divide(a: float, b: float) -> float:
    if b == 0:
        if a == 0 or a != a:
            return math.nan
        return math.inf if a > 0 else -math.inf  # the divisor's zero is +0.0 in JPMML
    return a / b + 0.0


def _scalar_modulo(a: float, b: float) -> float:
    q = _scalar_divide(a, b)
    if not math.isfinite(q):
        return math.nan
    return a - math.floor(q) * b + 0.0


_DOUBLE_ARITHMETIC: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "+": (lambda a, b: a + b + 0.0, lambda a, b: a + b + 0.0),
    "-": (lambda a, b: a - b + 0.0, lambda a, b: a - b + 0.0),
    "*": (lambda a, b: a * b + 0.0, lambda a, b: a * b + 0.0),
    "/": (_divide, _scalar_divide),
    "modulo": (lambda a, b: _modulo(a, b) + 0.0, _scalar_modulo),
}


def _int_overflow(r: np.ndarray) -> np.ndarray:
    return np.where((r < INT_MIN) | (r > INT_MAX), np.nan, r) + 0.0


def _int_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Java int division truncates; MIN_VALUE / -1 wraps to MIN_VALUE instead of failing.
    q = np.trunc(a / np.where(b == 0, np.nan, b))
    return np.where(q == 2.0**31, float(INT_MIN), q) + 0.0


def _int_modulo(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Exact: int32 operands and quotients are exact in float64.
    return np.mod(a, np.where(b == 0, np.nan, b)) + 0.0


def _int_result(r: int) -> float:
    return float(r) if INT_MIN <= r <= INT_MAX else math.nan


def _int_divide_scalar(a: float, b: float) -> float:
    if b == 0:
        return math.nan
    q = abs(int(a)) // abs(int(b))
    q = -q if (a < 0) != (b < 0) else q
    return float(INT_MIN) if q == 2**31 else float(q)


_INTEGER_ARITHMETIC: dict[str, tuple[Callable[..., np.ndarray], Callable[..., float]]] = {
    "+": (lambda a, b: _int_overflow(a + b), lambda a, b: _int_result(int(a) + int(b))),
    "-": (lambda a, b: _int_overflow(a - b), lambda a, b: _int_result(int(a) - int(b))),
    "*": (lambda a, b: _int_overflow(a * b), lambda a, b: _int_result(int(a) * int(b))),
    "/": (_int_divide, _int_divide_scalar),
    "modulo": (_int_modulo, lambda a, b: math.nan if b == 0 else float(int(a) % int(b)) + 0.0),
}


def _scalar_from_batch(batch: Callable[..., np.ndarray]) -> Callable[..., Any]:
    """One-record backend that runs the batch kernel on length-1 columns (rare functions,
    where sharing one code path is worth a few microseconds)."""
    def scalar(*args: Any) -> Any:
        columns = [np.array([math.nan if a is None else float(a)]) for a in args]
        try:
            out = batch(*columns)[0]
        except EvaluationError as error:
            raise EvaluationError(error.reason, value=error.value) from None  # no batch row
        return float(out)  # NaN is an invalid result, not a missing one
    return scalar


_POW_OVERFLOW = "pow: integer overflow"
_POW_NEGATIVE = ("pow: a negative exponent of an integer is not allowed "
                 "(JPMML: 'Must be equal to or greater than 0')")


def _int_pow(base: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    ok = present(base, exponent)
    fail_at(ok & (exponent < 0), _POW_NEGATIVE, exponent)
    result = np.power(base, np.where(ok, exponent, 0.0))
    fail_at(ok & ((result < INT_MIN) | (result > INT_MAX)), _POW_OVERFLOW, base)
    return np.where(ok, result, np.nan) + 0.0


def _int_pow_scalar(base: float, exponent: float) -> float:
    if exponent < 0:
        raise EvaluationError(_POW_NEGATIVE, value=exponent)
    if abs(base) >= 2 and exponent > 32:  # certain overflow: skip the huge integer power
        raise EvaluationError(_POW_OVERFLOW, value=base)
    result = _int_result(int(base) ** int(exponent))
    if result != result:
        raise EvaluationError(_POW_OVERFLOW, value=base)
    return result


# --------------------------------------------------------------------------- rounding


def _rounding(name: str, kernel: Callable[[np.ndarray], np.ndarray],
              exact: Callable[[float], int]) -> BuiltinFunction:
    """floor/ceil/round: an integer result; beyond 32 bits JPMML raises ArithmeticException.
    ``exact`` is the one-record twin on Python ints (the same value, so the same bits)."""
    message = f"{name}: the result does not fit a 32-bit integer"

    @_quiet
    def batch(x: np.ndarray) -> np.ndarray:
        r = kernel(x) + 0.0
        fail_at(~np.isnan(x) & ~((r >= INT_MIN) & (r <= INT_MAX)), message, x)
        return r

    def scalar(x: float) -> float:
        try:
            r = exact(x)
        except (OverflowError, ValueError):  # infinity
            r = INT_MAX + 1
        if not INT_MIN <= r <= INT_MAX:
            raise EvaluationError(message, value=x)
        return float(r)
    return _numeric(name, 1, batch, scalar, "integer")


def _java_round(x: Any) -> Any:
    # Math.round is floor(x + 1/2) computed exactly; x - floor(x) is exact, x + 0.5 is not
    # (0.49999999999999994 + 0.5 rounds up to 1).
    r = np.floor(x)
    return r + (x - r >= 0.5)


def _java_round_exact(x: float) -> int:
    r = math.floor(x)
    return r + (x - r >= 0.5)


# --------------------------------------------------------------------------- aggregates


_Step = Callable[[Any, Any, Any], Any]


def _fold(step: _Step, scalar_step: _Step, start: float) -> tuple[Callable[..., np.ndarray],
                                                                 Callable[..., Any]]:
    """Fold the present arguments left to right, as Commons Math's storeless statistics do.
    The two steps do the same float operations in the same order, so both give the same bits."""
    def batch(*columns: np.ndarray) -> np.ndarray:
        acc = np.full(len(columns[0]), start)
        count = np.zeros(len(columns[0]))
        for column in columns:
            here = ~np.isnan(column)
            count += here
            acc = np.where(here, step(acc, column, count), acc)
        return np.where(count > 0, acc, np.nan) + 0.0

    def scalar(*values: Any) -> Any:
        acc, count = start, 0
        for value in values:
            if value is not None:
                count += 1
                acc = scalar_step(acc, float(value), count)
        return None if count == 0 else acc + 0.0
    return _quiet(batch), scalar


def _median(*columns: np.ndarray) -> np.ndarray:
    stacked = np.sort(np.vstack(columns), axis=0)  # NaN sorts last
    count = (~np.isnan(stacked)).sum(axis=0)
    lo = np.take_along_axis(stacked, np.maximum((count - 1) // 2, 0)[None], axis=0)[0]
    hi = np.take_along_axis(stacked, np.maximum(count // 2, 0)[None], axis=0)[0]
    middle = np.where(count % 2 == 1, lo, (lo + hi) / 2.0)
    return np.where(count > 0, middle, np.nan) + 0.0


def _median_scalar(*values: Any) -> Any:
    present_values = sorted(float(v) for v in values if v is not None)
    count = len(present_values)
    if count == 0:
        return None
    lo, hi = present_values[(count - 1) // 2], present_values[count // 2]
    return (lo if count % 2 else (lo + hi) / 2.0) + 0.0


def _sum(acc: Any, x: Any, n: Any) -> Any:
    return acc + x


def _product(acc: Any, x: Any, n: Any) -> Any:
    return acc * x


def _mean(acc: Any, x: Any, n: Any) -> Any:
    return acc + (x - acc) / n


# Commons Math's Min/Max start from NaN and take x when the running value is NaN.
_AGGREGATES: dict[str, tuple[Callable[..., np.ndarray], Callable[..., Any]]] = {
    "min": _fold(lambda acc, x, n: np.fmin(acc, x),
                 lambda acc, x, n: x if acc != acc or x < acc else acc, math.nan),
    "max": _fold(lambda acc, x, n: np.fmax(acc, x),
                 lambda acc, x, n: x if acc != acc or x > acc else acc, math.nan),
    "sum": _fold(_sum, _sum, 0.0),
    "product": _fold(_product, _product, 1.0),
    "avg": _fold(_mean, _mean, 0.0),
    "median": (_quiet(_median), _median_scalar),
}


def _aggregate(name: str, batch: Callable[..., np.ndarray],
               scalar: Callable[..., Any]) -> BuiltinFunction:
    # All missing gives missing.  A NaN from present values (inf - inf) is an invalid result,
    # which only the scalar backend can tell apart from missing (None).
    return BuiltinFunction(name, 1, None, batch, scalar, handles_missing=True,
                           result_type="double" if name == "median" else None,
                           argument_kind="numeric", missing_is_error=False)


# --------------------------------------------------------------------------- distributions


def _check_sigma(sigma: np.ndarray) -> None:
    fail_at(sigma <= 0, "the standard deviation sigma must be greater than 0", sigma)


def _check_probability(p: np.ndarray) -> None:
    fail_at((p < 0) | (p > 1), "the probability must lie in [0, 1]", p)


def _normal(kernel: Callable[..., np.ndarray], probability: bool) -> Callable[..., np.ndarray]:
    def batch(x: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        _check_sigma(sigma)
        if probability:
            _check_probability(x)
        return kernel(x, mu, sigma) + 0.0
    return _quiet(batch)


def _standard(kernel: Callable[..., np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    def batch(x: np.ndarray) -> np.ndarray:
        return kernel(x, np.zeros(len(x)), np.ones(len(x)))
    return batch


def _distribution_functions() -> list[BuiltinFunction]:
    kernels = {"CDF": (special.normal_cdf, False), "PDF": (special.normal_pdf, False),
               "IDF": (special.normal_idf, True)}
    erf = _quiet(lambda x: special.erf(x) + 0.0)
    functions = [_numeric("erf", 1, erf, _scalar_from_batch(erf))]
    for suffix, (kernel, probability) in kernels.items():
        general = _normal(kernel, probability)
        standard = _standard(general)
        functions.append(_numeric(f"normal{suffix}", 3, general, _scalar_from_batch(general)))
        functions.append(_numeric(f"stdNormal{suffix}", 1, standard,
                                  _scalar_from_batch(standard)))
    return functions


# --------------------------------------------------------------------------- registry


def _build() -> tuple[BuiltinFunction, ...]:
    functions = [_ufunc_function(name, ufunc, guard, 1) for name, ufunc, guard in _MATH]
    functions += [
        _ufunc_function("abs", np.abs, _no_guard, 1, result_type=None),
        _ufunc_function("rint", np.rint, _no_guard, 1, result_type=None),
        _ufunc_function("pow", _java_pow, math.pow, 2, result_type=None),
        _ufunc_function("hypot", np.hypot, _hypot_guard, 2),
        _ufunc_function("x-atan2", _atan2, _no_guard, 2),
        _ufunc_function("threshold", lambda x, y: (x > y) + 0.0, _no_guard, 2, result_type=None),
        _rounding("floor", np.floor, math.floor),
        _rounding("ceil", np.ceil, math.ceil),
        _rounding("round", _java_round, _java_round_exact),
    ]
    for name, (batch, scalar) in _DOUBLE_ARITHMETIC.items():
        entry = _numeric(name, 2, _quiet(batch), scalar, result_type=None)
        # +, -, *, / and modulo are the only non-aggregates JPMML lets take missing arguments
        # (the result is missing, as the spec says); every other function raises.
        functions.append(replace(entry, missing_is_error=False))
    functions += [_aggregate(name, *backends) for name, backends in _AGGREGATES.items()]
    functions += _distribution_functions()
    return tuple(functions)


NUMERIC_FUNCTIONS: tuple[BuiltinFunction, ...] = _build()


def _narrowed(fn: BuiltinFunction) -> BuiltinFunction:
    """The float-typed variant: computed in double, narrowed to float32 like JPMML's FLOAT."""
    def batch(*columns: np.ndarray) -> np.ndarray:
        return to_float32(fn.batch(*columns))

    def scalar(*args: Any) -> Any:
        out = fn.scalar(*args)
        return out if out is None else float(np.float32(out))
    return replace(fn, batch=batch, scalar=scalar, result_type="float")


def _int_checked(fn: BuiltinFunction) -> BuiltinFunction:
    """An integer-typed result JPMML computes in double (``abs``, ``sum``, ``product``...):
    a value beyond the int range fails its cast back to integer (TypeCheckException)."""
    message = f"{fn.name}: the integer result does not fit 32 bits"

    def batch(*columns: np.ndarray) -> np.ndarray:
        out = fn.batch(*columns)
        fail_at(np.isfinite(out) & ((out < INT_MIN) | (out > INT_MAX)), message, out)
        return out

    def scalar(*args: Any) -> Any:
        out = fn.scalar(*args)
        if out is not None and math.isfinite(out) and not INT_MIN <= out <= INT_MAX:
            raise EvaluationError(message, value=out)
        return out
    return replace(fn, batch=batch, scalar=scalar, result_type="integer")


def _integer_variant(fn: BuiltinFunction) -> BuiltinFunction:
    batch, scalar = (_int_pow, _int_pow_scalar) if fn.name == "pow" else \
        _INTEGER_ARITHMETIC[fn.name]
    return replace(fn, batch=_quiet(batch), scalar=scalar, result_type="integer")


def specialize(fn: BuiltinFunction, arg_types: Sequence[str | None]) -> BuiltinFunction:
    """The variant of numeric ``fn`` that JPMML evaluates for arguments of ``arg_types``.

    Parameters
    ----------
    fn : BuiltinFunction
        An entry of :data:`NUMERIC_FUNCTIONS`.
    arg_types : sequence of str or None
        The PMML dataType of each argument (``None`` when unknown: treated as double).

    Returns
    -------
    BuiltinFunction
        ``fn`` itself when the types change nothing, else a copy with integer or float32
        kernels and a resolved ``result_type``.

    Examples
    --------
    >>> from pmmlserve.scoring._functions import BUILTINS
    >>> specialize(BUILTINS["/"], ["integer", "integer"]).scalar(7.0, 2.0)
    3.0
    """
    if fn.result_type is not None:
        return fn
    common = common_numeric_type(arg_types)
    if fn.name == "avg" and common == "integer":
        return replace(fn, result_type="double")
    if common == "integer" and (fn.name in _INTEGER_ARITHMETIC or fn.name == "pow"):
        return _integer_variant(fn)
    if common == "integer" and fn.name in ("abs", "sum", "product"):
        return _int_checked(fn)
    if common == "float" and fn.name not in ("threshold", "abs", "rint"):
        # threshold yields 0/1, abs and rint of a float are floats already: nothing to narrow
        return _narrowed(fn)
    return replace(fn, result_type=common)
