"""What a model converter returns, and the markup every model family shares.

Field names follow sklearn2pmml, so documents from either exporter look alike: the target field
is named after the label, a classifier outputs ``probability(<class>)`` per class, and a
boosted ensemble hands its raw score to a final ``RegressionModel`` through an intermediate
``decisionFunction(<class>)`` (``isFinalResult="false"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from pmmlserve.export._registry import class_path
from pmmlserve.export._writer import element, fmt_double, fmt_value, value_type

__all__ = [
    "Exported",
    "target_field",
    "probability_output",
    "mining_schema",
    "decision_output",
    "link_model",
    "chain",
    "check_classes",
    "boosted_model",
    "decision_names",
]

# ModelVerification tolerances: double models are reproduced to rounding; models computed in
# float32 by their library (XGBoost) only to a few float32 units in the last place.
DOUBLE_PRECISION = 1e-12
FLOAT_PRECISION = 1e-6


@dataclass(frozen=True)
class Exported:
    """A converted final estimator.

    Attributes
    ----------
    model : lxml element
        The top-level model element (MiningSchemas are filled in later).
    target : lxml element
        The target DataField.
    classes : tuple or None
        The class labels of a classifier (in ``predict_proba`` column order), None for a
        regressor.
    precision : float
        The relative tolerance its ModelVerification rows use.
    complement : bool
        A binary classifier whose negative probability is ``1 - p(positive)`` in float32:
        a relative tolerance is meaningless on that difference when it is tiny, so
        ModelVerification checks only the positive class.
    """

    model: Any
    target: Any
    classes: tuple | None
    precision: float = DOUBLE_PRECISION
    complement: bool = False

    @property
    def output_names(self) -> list[str]:
        """The result columns, in ``predict_proba`` order (or the target of a regressor)."""
        if self.classes is None:
            return [self.target.get("name")]
        return [probability_name(c) for c in self.classes]

    @property
    def verified(self) -> list[int]:
        """Positions in :attr:`output_names` that ModelVerification checks."""
        return list(range(1 if self.complement else 0, len(self.output_names)))


def check_classes(classes: Sequence[Any]) -> tuple:
    return tuple(c.item() if isinstance(c, np.generic) else c for c in classes)


def target_field(name: str, classes: Sequence[Any] | None):
    """The target DataField: categorical with the class labels, or continuous."""
    if classes is None:
        return element("DataField", {"name": name, "optype": "continuous", "dataType": "double"})
    return element(
        "DataField",
        {"name": name, "optype": "categorical", "dataType": value_type(classes)},
        *(element("Value", {"value": fmt_value(c)}) for c in classes),
    )


def probability_name(label: Any) -> str:
    return f"probability({fmt_value(label)})"


def probability_output(classes: Sequence[Any], *, float32: bool = False):
    """``<Output>`` with one ``probability(<class>)`` field per class.

    ``float32`` rounds probabilities to float, for libraries that compute them in float32;
    a binary one then also computes ``p(negative) = 1 - p(positive)`` in float32, since that
    subtraction (not the exact complement) is what such a library returns.
    """
    data_type = "float" if float32 else "double"
    fields = [
        element("OutputField", {
            "name": probability_name(c), "optype": "continuous", "dataType": data_type,
            "feature": "probability", "value": fmt_value(c),
        })
        for c in classes
    ]
    if float32 and len(classes) == 2:
        positive = fields[1]
        fields = [positive, element(
            "OutputField",
            {"name": probability_name(classes[0]), "optype": "continuous", "dataType": "float",
             "feature": "transformedValue"},
            element("Apply", {"function": "-"},
                    element("Constant", {"dataType": "float"}, text="1"),
                    element("FieldRef", {"field": positive.get("name")})),
        )]
    return element("Output", None, *fields)


def mining_schema():
    """An empty MiningSchema; the encoder fills every one in once the document is complete."""
    return element("MiningSchema")


def decision_output(name: str):
    """An intermediate output a later segment of a model chain reads."""
    return element("Output", None, element("OutputField", {
        "name": name, "optype": "continuous", "dataType": "double", "isFinalResult": "false",
    }))


def link_model(inputs: Sequence[str], classes: Sequence[Any] | None, normalization: str, *,
               coefficient: float = 1.0, float32: bool = False):
    """The last segment of a chain: apply the link function to raw scores.

    For a classifier ``inputs`` holds one raw score per class, or a single score for the
    positive class of a binary one (then the negative class gets an empty table, which with
    ``logit`` gives ``1 - p``).  For a regressor ``inputs`` is one score.  ``float32``: see
    :func:`probability_output`.
    """
    function = "regression" if classes is None else "classification"
    tables = []
    if classes is None:
        tables.append(_table(inputs[0], coefficient, None))
    elif len(inputs) == 1:
        tables.append(_table(inputs[0], coefficient, classes[1]))
        tables.append(element("RegressionTable", {"intercept": "0", "targetCategory":
                                                  fmt_value(classes[0])}))
    else:
        tables += [_table(name, coefficient, c) for name, c in zip(inputs, classes)]
    return element(
        "RegressionModel",
        {"functionName": function, "normalizationMethod": normalization},
        mining_schema(),
        probability_output(classes, float32=float32) if classes is not None else None,
        *tables,
    )


def _table(field: str, coefficient: float, category):
    return element(
        "RegressionTable",
        {"intercept": "0", "targetCategory": None if category is None else fmt_value(category)},
        element("NumericPredictor", {"name": field, "coefficient": fmt_double(coefficient)}),
    )


def chain(function: str, models: Sequence[Any], *, algorithm: str | None = None,
          output=None):
    """A ``MiningModel`` whose segments run in order, each seeing its predecessors' outputs."""
    segments = [
        element("Segment", {"id": str(i + 1)}, element("True"), model)
        for i, model in enumerate(models)
    ]
    return element(
        "MiningModel",
        {"functionName": function, "algorithmName": algorithm},
        mining_schema(),
        output,
        element("Segmentation", {"multipleModelMethod": "modelChain",
                                 "missingPredictionTreatment": "returnMissing"}, *segments),
    )


def boosted_model(est, sums_by_class, target, *, classes, log_link=False, coefficient=1.0):
    """Wrap per-class tree sums (MiningModels) with the link function of a boosted model.

    ``coefficient`` scales the raw score before a binary logit (LightGBM's ``sigmoid``).
    """
    algorithm = class_path(est)
    if classes is None:
        if not log_link:
            model = sums_by_class[0]
            model.set("algorithmName", algorithm)
            return Exported(model, target_field(target, None), None)
        final = link_model(["decisionFunction"], None, "exp")
        model = chain("regression", [*sums_by_class, final], algorithm=algorithm)
        return Exported(model, target_field(target, None), None)
    normalization = "logit" if len(sums_by_class) == 1 else "softmax"
    names = [s.find(".//{*}OutputField").get("name") for s in sums_by_class]
    final = link_model(names, classes, normalization,
                       coefficient=coefficient if len(sums_by_class) == 1 else 1.0)
    model = chain("classification", [*sums_by_class, final], algorithm=algorithm)
    return Exported(model, target_field(target, classes), classes)


def decision_names(classes, n_raw: int) -> list[str]:
    """Names of the raw scores a boosted model chains into its link (sklearn2pmml's)."""
    if classes is None:
        return ["decisionFunction"]
    positive = classes[1:] if n_raw == 1 else classes
    return [f"decisionFunction({fmt_value(c)})" for c in positive]
