"""RegressionModel: linear predictors, link functions, class probabilities."""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import pandas as pd

from pmmlserve.exceptions import InvalidMarkupError, UnsupportedMarkupError
from pmmlserve.pmml import _document as d
from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._results import BatchResult, CompiledModel, ScalarResult
from pmmlserve.scoring._scope import BatchContext, Scope
from pmmlserve.scoring._values import f32, is_numeric, parse_constant

__all__ = ["RegressionKernel", "LINKS", "apply_link_batch"]


def _erf_cdf(y: float) -> float:
    return 0.5 * math.erfc(-y / math.sqrt(2.0))


def _logistic(y: float) -> float:
    return 0.0 if y < -700 else 1.0 / (1.0 + math.exp(-y))


def _exp(y: float) -> float:
    return math.inf if y > _EXP_MAX else math.exp(y)


_EXP_MAX = 709.8  # math.exp overflows above log(DBL_MAX) = 709.78...


def _libm(fn: Callable[[float], float]) -> Callable[[np.ndarray], np.ndarray]:
    """``fn`` (a C library function from :mod:`math`) over an array, element by element.

    numpy's own exp/atan (SIMD code on AVX-512 machines) can differ from the C library's in
    the last bit, which would make ``predict`` and ``predict_one`` disagree on some records
    (and depart from scikit-learn, whose ``expit`` calls the C library).  The arithmetic
    around these calls is IEEE and rounds alike in numpy and in Python.
    """
    def batch(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.fromiter(map(fn, x.ravel().tolist()), np.float64, x.size).reshape(x.shape)
    return batch


_atan, _erfc, _exp_finite = _libm(math.atan), _libm(math.erfc), _libm(math.exp)


def _exp_batch(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    return np.where(y > _EXP_MAX, np.inf, _exp_finite(np.minimum(y, _EXP_MAX)))


def _logistic_batch(y: np.ndarray) -> np.ndarray:
    return np.where(y < -700, 0.0, 1.0 / (1.0 + _exp_batch(-np.maximum(y, -700.0))))


#: inverse link functions: name -> (scalar, batch); both round alike
LINKS: dict[str, tuple[Callable, Callable]] = {
    "logit": (_logistic, _logistic_batch),
    "softmax": (_logistic, _logistic_batch),
    "exp": (_exp, _exp_batch),
    "probit": (_erf_cdf, lambda y: 0.5 * _erfc(-y / math.sqrt(2.0))),
    "cloglog": (lambda y: 1.0 - _exp(-_exp(y)), lambda y: 1.0 - _exp_batch(-_exp_batch(y))),
    "loglog": (lambda y: _exp(-_exp(-y)), lambda y: _exp_batch(-_exp_batch(-y))),
    "cauchit": (lambda y: 0.5 + math.atan(y) / math.pi, lambda y: 0.5 + _atan(y) / math.pi),
    "none": (lambda y: y, lambda y: y),
}


def apply_link_batch(name: str, y: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return LINKS[name][1](y)


def _group_by_field(categorical: list) -> list:
    """CategoricalPredictors as one lookup table per field: (field, value index, coefficients
    with a trailing 0 for "no match").

    JPMML adds the matching predictors in document order; grouping keeps that order when
    each field's predictors are contiguous (as every exporter writes them).  Otherwise the
    groups are split so that the order of additions is still the document's.
    """
    groups: list = []
    for field, value, coef in categorical:
        if groups and groups[-1][0] is field and value not in groups[-1][1]:
            groups[-1][1][value] = coef
        else:
            groups.append((field, {value: coef}))
    out = []
    for field, table in groups:
        values = list(table)
        index = pd.Index(values, dtype=object if not is_numeric(field.info.data_type)
                         else np.float64)
        out.append((field, index, np.array(list(table.values()) + [0.0])))
    return out


class _Table:
    """One RegressionTable.

    Terms are added in JPMML's order: numeric predictors, categorical predictors, predictor
    terms, and the intercept last (when it is not 0).  In a float math context every product
    and sum is rounded to float32, as JPMML's FloatValue does.  A missing numeric input makes
    the result missing; a missing categorical input matches no category (its term is 0).
    """

    def __init__(self, table: d.RegressionTable, scope: Scope, line, float_math: bool):
        self.float_math = float_math
        r = f32 if float_math else float
        self.intercept = r(table.intercept)
        self.numeric = [(scope.lookup(p.field, element="NumericPredictor", line=p.line or line),
                         r(p.coefficient), p.exponent) for p in table.numeric]
        self.categorical = []
        for p in table.categorical:
            field = scope.lookup(p.field, element="CategoricalPredictor", line=p.line or line)
            try:
                value = parse_constant(p.value, field.info.data_type)
            except ValueError:
                raise InvalidMarkupError(f"{p.value!r} is not a value of {p.field!r}",
                                         element="CategoricalPredictor", line=line) from None
            self.categorical.append((field, value, r(p.coefficient)))
        self.groups = _group_by_field(self.categorical)
        self.terms = [([scope.lookup(f, element="PredictorTerm", line=t.line or line)
                        for f in t.fields],
                       r(t.coefficient)) for t in table.terms]

    @property
    def is_default(self) -> bool:
        return not (self.numeric or self.categorical or self.terms) and self.intercept == 0

    def batch(self, ctx: BatchContext) -> np.ndarray:
        dt = np.float32 if self.float_math else np.float64
        y = np.zeros(ctx.n, dtype=dt)
        for field, coef, exponent in self.numeric:
            x = field.batch(ctx).astype(dt)
            if exponent != 1:
                x = np.power(x.astype(np.float64), exponent).astype(dt)
            y = y + dt(coef) * x
        for field, index, coefs in self.groups:
            # one hash lookup per field; a value matching no predictor adds 0
            col = field.batch(ctx)
            pos = index.get_indexer(pd.Index(col, dtype=col.dtype if col.dtype != object
                                             else object, copy=False))
            y = y + coefs.astype(dt)[pos]
        for fields, coef in self.terms:
            prod = np.ones(ctx.n, dtype=dt)
            for f in fields:
                prod = prod * f.batch(ctx).astype(dt)
            y = y + dt(coef) * prod
        if self.intercept != 0:
            y = y + dt(self.intercept)
        return y.astype(np.float64)

    def emit(self, gen: Codegen) -> str:
        if self.float_math:
            return self._emit_float(gen)
        parts = []
        nullable = []
        for field, coef, exponent in self.numeric:
            v = field.emit(gen)
            nullable.append((field, v))
            term = v if exponent == 1 else f"{v} ** {gen.const(exponent)}"
            parts.append(f"{gen.const(coef)} * {term}")
        for field, index, coefs in self.groups:
            v = field.emit(gen)
            table = dict(zip(index.tolist(), coefs[:-1].tolist()))
            parts.append(f"{gen.const(table, 'cat')}.get({v}, 0.0)")
        for fields, coef in self.terms:
            vs = [f.emit(gen) for f in fields]
            nullable.extend(zip(fields, vs))
            parts.append(f"{gen.const(coef)} * " + " * ".join(vs))
        if self.intercept != 0 or not parts:
            parts.append(gen.const(self.intercept))
        expr = " + ".join(parts)
        checks = sorted({v for f, v in nullable if f.info.nullable})
        if checks:
            expr = f"(None if {' or '.join(c + ' is None' for c in checks)} else {expr})"
        return expr

    def _emit_float(self, gen: Codegen) -> str:
        nums = [field.emit(gen) for field, _, _ in self.numeric]
        cats = [field.emit(gen) for field, _, _ in self.categorical]
        terms = ["(" + ", ".join(f.emit(gen) for f in fields) + ",)" for fields, _ in self.terms]
        return (f"{gen.const(self._scalar_float, 'tbl')}(({', '.join(nums)}{',' if nums else ''}),"
                f" ({', '.join(cats)}{',' if cats else ''}), ({', '.join(terms)}{',' if terms else ''}))")

    def _scalar_float(self, nums, cats, terms) -> Optional[float]:
        acc = 0.0
        for (_, coef, exponent), x in zip(self.numeric, nums):
            if x is None:
                return None
            x = f32(x) if exponent == 1 else f32(math.pow(f32(x), exponent))
            acc = f32(acc + f32(coef * x))
        for (_, value, coef), x in zip(self.categorical, cats):
            if x == value:
                acc = f32(acc + coef)
        for (_, coef), xs in zip(self.terms, terms):
            if any(x is None for x in xs):
                return None
            prod = 1.0
            for x in xs:
                prod = f32(prod * f32(x))
            acc = f32(acc + f32(coef * prod))
        if self.intercept != 0:
            acc = f32(acc + self.intercept)
        return acc


class RegressionKernel(CompiledModel):
    def __init__(self, model: d.RegressionModel, scope: Scope, labels):
        common = model.common
        self.function = common.function_name
        self.math_context = common.math_context
        self.method = model.normalization
        if self.method not in LINKS and self.method != "simplemax":
            raise UnsupportedMarkupError(f"normalizationMethod={self.method!r} is not supported",
                                         element="RegressionModel", line=common.line)
        self._f32 = common.math_context == "float"
        self.tables = [_Table(t, scope, common.line, self._f32) for t in model.tables]
        if self.function == "regression":
            if len(self.tables) != 1:
                raise InvalidMarkupError("a regression model has exactly one RegressionTable",
                                         element="RegressionModel", line=common.line)
            self.labels = None
        else:
            cats = [t.target_category for t in model.tables]
            if any(c is None for c in cats):
                raise InvalidMarkupError("every RegressionTable of a classifier needs targetCategory",
                                         element="RegressionModel", line=common.line)
            self.labels = tuple(labels.parse(c) for c in cats)
            if len(self.tables) < 2:
                raise InvalidMarkupError("a classifier needs two or more RegressionTables",
                                         element="RegressionModel", line=common.line)
        # JPMML scores "softmax" over a table and a default (empty, zero) table as a logit
        self._binary_softmax = (self.function == "classification" and len(self.tables) == 2
                                and self.method == "softmax" and self.tables[1].is_default)

    # ---------------------------------------------------------------- probabilities
    def _probabilities(self, ys: list, xp) -> list:
        if self._f32:
            return _float_probabilities(self.method, [np.asarray(y, dtype=np.float32) for y in ys],
                                        self._binary_softmax)
        k = len(ys)
        m = "logit" if self._binary_softmax else self.method
        if k == 2 and m in LINKS and m not in ("softmax", "none"):
            p1 = LINKS[m][xp](ys[0])
            return [p1, 1.0 - p1]
        if m == "softmax":
            if xp == 1:
                top = np.fmax.reduce(ys)
                es = [_exp_batch(y - top) for y in ys]
                total = sum(es)
                return [e / total for e in es]
            top = max(ys)
            es = [_exp(y - top) for y in ys]
            total = sum(es)
            return [e / total for e in es]
        if m == "simplemax":
            total = sum(ys)
            return [y / total for y in ys]
        if m == "none":  # the last category takes the rest
            ps = list(ys[:-1])
            return ps + [1.0 - sum(ps)]
        # A link function over more than two classes: the spec leaves the values unnormalised;
        # JPMML (and so sklearn2pmml's one-vs-rest encoding) normalises them to sum to 1.
        ps = [LINKS[m][xp](y) for y in ys]
        total = sum(ps)
        return [p / total for p in ps]

    def batch(self, ctx: BatchContext) -> BatchResult:
        ys = [t.batch(ctx) for t in self.tables]
        if self._f32:
            ys = [y.astype(np.float32).astype(np.float64) for y in ys]
        if self.function == "regression":
            y = ys[0]
            if self.method != "none":
                y = (_float_link(self.method, y.astype(np.float32)).astype(np.float64)
                     if self._f32 else apply_link_batch(self.method, y))
            return BatchResult(self._round(y))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            ps = self._probabilities(ys, 1)
        probs = {label: self._round(np.asarray(p, dtype=np.float64))
                 for label, p in zip(self.labels, ps)}
        return BatchResult(np.full(ctx.n, None, dtype=object), probs)

    def _round(self, y):
        return y.astype(np.float32).astype(np.float64) if self._f32 else y

    def emit(self, gen: Codegen) -> ScalarResult:
        ys = [gen.assign(t.emit(gen), "y") for t in self.tables]
        if self._f32:
            ys = [gen.assign(f"(None if {y} is None else {gen.const(f32, 'f32')}({y}))", "y")
                  for y in ys]
        if self.function == "regression":
            if self.method == "none":
                return ScalarResult(ys[0])
            fn = gen.const(self._scalar_link, "link")
            return ScalarResult(gen.assign(f"{fn}({ys[0]})", "y"))
        m = "logit" if self._binary_softmax else self.method
        if not self._f32 and len(ys) == 2 and m in LINKS and m not in ("softmax", "none"):
            # the two-class case of _probabilities, inline (its links never raise)
            none = " or ".join(f"{y} is None" for y in ys)
            first = gen.assign(f"(None if {none} else {gen.const(LINKS[m][0], 'link')}({ys[0]}))",
                               "p")
            second = gen.assign(f"(None if {first} is None else 1.0 - {first})", "p")
            return ScalarResult("None", dict(zip(self.labels, (first, second))))
        fn = gen.const(self._scalar_probabilities, "probs")
        out = gen.assign(f"{fn}({', '.join(ys)})", "ps")
        probs = {}
        for i, label in enumerate(self.labels):
            probs[label] = gen.assign(f"{out}[{i}]", "p")
        return ScalarResult("None", probs)

    def _scalar_link(self, y):
        if y is None:
            return None
        if self._f32:
            return float(_float_link(self.method, np.array([y], dtype=np.float32))[0])
        try:
            return LINKS[self.method][0](y)
        except OverflowError:
            return math.inf

    def _scalar_probabilities(self, *ys):
        if any(y is None for y in ys):
            return (None,) * len(ys)
        if self._f32:
            return tuple(float(p[0]) for p in self._probabilities([[y] for y in ys], 1))
        try:
            ps = self._probabilities(list(ys), 0)
        except (OverflowError, ZeroDivisionError):
            with np.errstate(all="ignore"):
                ps = [float(p) for p in self._probabilities([np.float64(y) for y in ys], 1)]
        return tuple(ps)


# --------------------------------------------------------------------------- float context
# JPMML's FloatValue arithmetic: every operation rounds to float32, and exp(x) is computed as
# (float) Math.pow(2.7182817, x) -- a truncated e -- rather than Math.exp.

_E_FLOAT = 2.7182817


def _jexp(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.power(_E_FLOAT, x.astype(np.float64)).astype(np.float32)


def _float_link(method: str, y: np.ndarray) -> np.ndarray:
    one = np.float32(1)
    if method in ("logit", "softmax"):
        return one / (one + _jexp(-y))
    if method == "exp":
        return _jexp(y)
    with np.errstate(all="ignore"):
        return apply_link_batch(method, y.astype(np.float64)).astype(np.float32)


def _float_probabilities(method: str, ys: list, binary_softmax: bool) -> list:
    one = np.float32(1)
    if len(ys) == 2 and (binary_softmax or (method in LINKS and method not in ("softmax", "none"))):
        p1 = _float_link("logit" if binary_softmax else method, ys[0])
        return [p1, one - p1]
    with np.errstate(all="ignore"):
        if method == "softmax":
            top = ys[0]
            for y in ys[1:]:
                top = np.maximum(top, y)
            es = [_jexp(y - top) for y in ys]
            total = np.zeros_like(es[0])
            for e in es:
                total = total + e
            return [np.where(total == one, e, e / total) for e in es]
        if method == "simplemax":
            total = np.zeros_like(ys[0])
            for y in ys:
                total = total + y
            return [y / total for y in ys]
        if method == "none":
            rest = np.zeros_like(ys[0])
            for y in ys[:-1]:
                rest = rest + y
            return list(ys[:-1]) + [one - rest]
        ps = [_float_link(method, y) for y in ys]
        total = np.zeros_like(ps[0])
        for p in ps:
            total = total + p
        return [p / total for p in ps]
