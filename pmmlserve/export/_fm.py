"""Converter for pmmlserve's factorization machines (FMClassifier, FMRegressor).

The markup comes from :func:`pmmlserve.fm._pmml.build_fm_model`; this module feeds it the
pipeline's features as numeric fields and tells it which are 0/1 indicators (their squares
fold into the linear weights).
"""

from __future__ import annotations

import math

from pmmlserve.export._features import Categorical
from pmmlserve.export._model import Exported, check_classes, target_field
from pmmlserve.export._registry import class_path
from pmmlserve.export._writer import PMML_NS

__all__ = ["factorization_machine"]


def _is_binary(feature) -> bool:
    if not isinstance(feature, Categorical):
        return False
    values = [v for _, v in feature.mapping] + [feature.missing]
    if feature.unknown is not None:
        values.append(feature.unknown)
    return all(not math.isnan(v) and v in (0.0, 1.0) for v in values)


def factorization_machine(est, features, encoder, target):
    from pmmlserve.fm._pmml import build_fm_model

    classes = check_classes(est.classes_) if hasattr(est, "classes_") else None
    fm = build_fm_model(
        est.w0_, est.w_, est.V_,
        [encoder.numeric_field(f) for f in features],
        function="regression" if classes is None else "classification",
        classes=classes,
        target=target,
        encoding="regression",
        binary_inputs=[_is_binary(f) for f in features],
        field_prefix="fm",
    )
    model = fm.element
    model.set("algorithmName", class_path(est))
    # the encoder writes every MiningSchema from what the model actually reads
    schema = model.find(f"{{{PMML_NS}}}MiningSchema")
    for child in list(schema):
        schema.remove(child)
    return Exported(model, target_field(target, classes), classes)
