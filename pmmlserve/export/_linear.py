"""Converters for linear models: one ``RegressionTable`` per class or target.

A 0/1 indicator of a category folds into a ``CategoricalPredictor`` on the categorical field
(PMML ignores it when the field is missing or holds another value, which is what a one-hot
column does); every other feature is a ``NumericPredictor``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from pmmlserve.exceptions import ExportError
from pmmlserve.export._encoder import Encoder
from pmmlserve.export._features import Feature
from pmmlserve.export._model import (
    Exported,
    chain,
    check_classes,
    decision_output,
    link_model,
    mining_schema,
    probability_output,
    target_field,
)
from pmmlserve.export._registry import class_path
from pmmlserve.export._writer import element, fmt_double, fmt_value

__all__ = ["logistic_regression", "sgd_classifier", "one_vs_rest", "linear_regressor",
           "regression_table"]


def regression_table(coef: Sequence[float], intercept: float, features: list[Feature],
                     encoder: Encoder, category: Any = None):
    """``intercept + sum(coef[i] * feature[i])`` as a RegressionTable."""
    numeric, categorical = [], []
    for c, feature in zip(coef, features):
        if c == 0.0:
            continue
        hot = getattr(feature, "indicator_of", lambda: None)()
        if hot is not None:
            categorical.append(element("CategoricalPredictor", {
                "name": feature.field, "value": fmt_value(hot), "coefficient": fmt_double(c),
            }))
        else:
            numeric.append(element("NumericPredictor", {
                "name": encoder.numeric_field(feature), "coefficient": fmt_double(c),
            }))
    return element(
        "RegressionTable",
        {"intercept": fmt_double(intercept),
         "targetCategory": None if category is None else fmt_value(category)},
        *numeric, *categorical,
    )


def _coefficients(est) -> tuple[np.ndarray, np.ndarray]:
    coef = np.atleast_2d(np.asarray(est.coef_, dtype=float))
    intercept = np.atleast_1d(np.asarray(est.intercept_, dtype=float))
    if intercept.size == 1 and coef.shape[0] > 1:
        intercept = np.repeat(intercept, coef.shape[0])
    return coef, intercept


def _regression_model(function, tables, *, normalization="none", output=None, algorithm=None):
    return element(
        "RegressionModel",
        {"functionName": function, "algorithmName": algorithm,
         "normalizationMethod": normalization},
        mining_schema(),
        output,
        *tables,
    )


def _classifier(est, features, encoder, target, *, multinomial: bool) -> Exported:
    classes = check_classes(est.classes_)
    coef, intercept = _coefficients(est)
    algorithm = class_path(est)
    if len(classes) == 2:
        # the negative class gets an empty table: with "logit", p(0) = 1 - p(1)
        tables = [
            regression_table(coef[0], intercept[0], features, encoder, classes[1]),
            element("RegressionTable", {"intercept": "0", "targetCategory":
                                        fmt_value(classes[0])}),
        ]
        model = _regression_model("classification", tables, normalization="logit",
                                  output=probability_output(classes), algorithm=algorithm)
    elif multinomial:
        tables = [regression_table(coef[k], intercept[k], features, encoder, c)
                  for k, c in enumerate(classes)]
        model = _regression_model("classification", tables, normalization="softmax",
                                  output=probability_output(classes), algorithm=algorithm)
    else:
        model = _one_vs_rest([(coef[k], intercept[k]) for k in range(len(classes))],
                             classes, features, encoder, algorithm)
    return Exported(model, target_field(target, classes), classes)


def _one_vs_rest(rows, classes, features, encoder, algorithm):
    """One logistic regression per class, then their probabilities normalised to sum to 1.

    ``normalizationMethod="logit"`` on more than two classes is not standard PMML, so the
    per-class probabilities are separate segments and the last one applies ``simplemax``.
    """
    names = [f"probability({fmt_value(c)}|rest)" for c in classes]
    segments = [
        _regression_model("regression", [regression_table(coef, icpt, features, encoder)],
                          normalization="logit", output=decision_output(name))
        for (coef, icpt), name in zip(rows, names)
    ]
    final = link_model(names, classes, "simplemax")
    return chain("classification", [*segments, final], algorithm=algorithm)


def logistic_regression(est, features, encoder, target):
    return _classifier(est, features, encoder, target, multinomial=True)


def sgd_classifier(est, features, encoder, target):
    if est.loss != "log_loss":
        raise ExportError(
            f"SGDClassifier(loss={est.loss!r}) has no probabilities; only loss='log_loss' "
            "is exported"
        )
    return _classifier(est, features, encoder, target, multinomial=False)


def one_vs_rest(est, features, encoder, target):
    """``OneVsRestClassifier`` of binary logistic regressions (or log-loss SGD)."""
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    inner = est.estimators_
    ok = all(
        isinstance(e, LogisticRegression)
        or (isinstance(e, SGDClassifier) and e.loss == "log_loss")
        for e in inner
    )
    if not ok or len(inner) < 2:
        raise ExportError("OneVsRestClassifier is exported for logistic regressions only")
    classes = check_classes(est.classes_)
    rows = []
    for e in inner:
        coef, intercept = _coefficients(e)
        rows.append((coef[0], intercept[0]))
    model = _one_vs_rest(rows, classes, features, encoder, class_path(est))
    return Exported(model, target_field(target, classes), classes)


def linear_regressor(est, features, encoder, target):
    coef, intercept = _coefficients(est)
    if coef.shape[0] != 1:
        raise ExportError(f"{type(est).__name__} with several targets is not supported")
    model = _regression_model(
        "regression",
        [regression_table(coef[0], intercept[0], features, encoder)],
        algorithm=class_path(est),
    )
    return Exported(model, target_field(target, None), None)
