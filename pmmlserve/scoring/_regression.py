"""RegressionModel: linear predictors, link functions, class probabilities."""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np

from pmmlserve.exceptions import InvalidMarkupError, UnsupportedMarkupError
from pmmlserve.pmml import _document as d
from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._results import BatchResult, CompiledModel, ScalarResult
from pmmlserve.scoring._scope import BatchContext, NamedField, Scope
from pmmlserve.scoring._values import f32, parse_constant

__all__ = ["RegressionKernel", "LINKS", "apply_link_batch"]


def _erf_cdf(y: float) -> float:
    return 0.5 * math.erfc(-y / math.sqrt(2.0))


def _logistic(y: float) -> float:
    return 1.0 / (1.0 + math.exp(-y)) if y > -700 else 0.0


#: inverse link functions: name -> (scalar, batch)
LINKS: dict[str, tuple[Callable, Callable]] = {
    "logit": (_logistic, lambda y: 1.0 / (1.0 + np.exp(-y))),
    "softmax": (_logistic, lambda y: 1.0 / (1.0 + np.exp(-y))),
    "exp": (math.exp, np.exp),
    "probit": (_erf_cdf, lambda y: 0.5 * _erfc(-y / math.sqrt(2.0))),
    "cloglog": (lambda y: 1.0 - math.exp(-math.exp(y)), lambda y: 1.0 - np.exp(-np.exp(y))),
    "loglog": (lambda y: math.exp(-math.exp(-y)), lambda y: np.exp(-np.exp(-y))),
    "cauchit": (lambda y: 0.5 + math.atan(y) / math.pi, lambda y: 0.5 + np.arctan(y) / np.pi),
    "none": (lambda y: y, lambda y: y),
}


def _erfc(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erfc, otypes=[float])(x)


def apply_link_batch(name: str, y: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return LINKS[name][1](y)


class _Table:
    """One RegressionTable: y = intercept + sum of terms, missing if any input is missing."""

    def __init__(self, table: d.RegressionTable, scope: Scope, line):
        self.intercept = table.intercept
        self.numeric = [(scope.lookup(p.field, element="NumericPredictor", line=line), p.coefficient,
                         p.exponent) for p in table.numeric]
        self.categorical = []
        for p in table.categorical:
            field = scope.lookup(p.field, element="CategoricalPredictor", line=line)
            try:
                value = parse_constant(p.value, field.info.data_type)
            except ValueError:
                raise InvalidMarkupError(f"{p.value!r} is not a value of {p.field!r}",
                                         element="CategoricalPredictor", line=line) from None
            self.categorical.append((field, value, p.coefficient))
        self.terms = [([scope.lookup(f, element="PredictorTerm", line=line) for f in t.fields],
                       t.coefficient) for t in table.terms]
        self.fields: list[NamedField] = list(dict.fromkeys(
            [f for f, *_ in self.numeric] + [f for f, *_ in self.categorical]
            + [f for fs, _ in self.terms for f in fs]))

    def batch(self, ctx: BatchContext) -> np.ndarray:
        y = np.full(ctx.n, self.intercept)
        for field, coef, exponent in self.numeric:
            x = field.batch(ctx)
            y = y + coef * (x if exponent == 1 else np.power(x, exponent))
        for field, value, coef in self.categorical:
            # a missing value matches no category: the term is 0 (as JPMML reads the spec)
            y = y + coef * (field.batch(ctx) == value)
        for fields, coef in self.terms:
            prod = np.ones(ctx.n)
            for f in fields:
                prod = prod * f.batch(ctx)
            y = y + coef * prod
        return y

    def emit(self, gen: Codegen) -> str:
        parts = [repr(self.intercept) if math.isfinite(self.intercept) else gen.const(self.intercept)]
        nullable = []
        for field, coef, exponent in self.numeric:
            v = field.emit(gen)
            nullable.append((field, v))
            term = v if exponent == 1 else f"{v} ** {gen.const(exponent)}"
            parts.append(f"{gen.const(coef)} * {term}")
        for field, value, coef in self.categorical:
            v = field.emit(gen)
            parts.append(f"({gen.const(coef)} if {v} == {gen.const(value)} else 0.0)")
        for fields, coef in self.terms:
            vs = [f.emit(gen) for f in fields]
            nullable.extend(zip(fields, vs))
            parts.append(f"{gen.const(coef)} * " + " * ".join(vs))
        expr = " + ".join(parts)
        checks = sorted({v for f, v in nullable if f.info.nullable})
        if checks:
            expr = f"(None if {' or '.join(c + ' is None' for c in checks)} else {expr})"
        return expr


class RegressionKernel(CompiledModel):
    def __init__(self, model: d.RegressionModel, scope: Scope, labels):
        common = model.common
        self.function = common.function_name
        self.math_context = common.math_context
        self.method = model.normalization
        if self.method not in LINKS and self.method != "simplemax":
            raise UnsupportedMarkupError(f"normalizationMethod={self.method!r} is not supported",
                                         element="RegressionModel", line=common.line)
        self.tables = [_Table(t, scope, common.line) for t in model.tables]
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
        self._f32 = self.math_context == "float"

    # ---------------------------------------------------------------- probabilities
    def _probabilities(self, ys: list, xp) -> list:
        k = len(ys)
        m = self.method
        if k == 2 and m in LINKS and m not in ("softmax", "none"):
            p1 = LINKS[m][xp](ys[0])
            return [p1, 1.0 - p1]
        if m == "softmax":
            if xp == 1:
                top = np.fmax.reduce(ys)
                es = [np.exp(y - top) for y in ys]
                total = sum(es)
                return [e / total for e in es]
            top = max(ys)
            es = [math.exp(y - top) for y in ys]
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
                y = apply_link_batch(self.method, y)
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
        fn = gen.const(self._scalar_probabilities, "probs")
        out = gen.assign(f"{fn}({', '.join(ys)})", "ps")
        probs = {}
        for i, label in enumerate(self.labels):
            probs[label] = gen.assign(f"{out}[{i}]", "p")
        return ScalarResult("None", probs)

    def _scalar_link(self, y):
        if y is None:
            return None
        try:
            r = LINKS[self.method][0](y)
        except OverflowError:
            r = math.inf
        return f32(r) if self._f32 else r

    def _scalar_probabilities(self, *ys):
        if any(y is None for y in ys):
            return (None,) * len(ys)
        try:
            ps = self._probabilities(list(ys), 0)
        except (OverflowError, ZeroDivisionError):
            with np.errstate(all="ignore"):
                ps = [float(p) for p in self._probabilities([np.float64(y) for y in ys], 1)]
        return tuple(f32(p) for p in ps) if self._f32 else tuple(ps)
