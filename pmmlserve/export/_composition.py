"""Converters for estimators made of other estimators: Pipeline, ColumnTransformer, FeatureUnion."""

from __future__ import annotations

from typing import Any

import numpy as np

from pmmlserve.exceptions import ExportError
from pmmlserve.export._encoder import Encoder
from pmmlserve.export._features import Feature
from pmmlserve.export._registry import transformer_converter

__all__ = ["pipeline", "column_transformer", "feature_union", "transform", "split_pipeline"]


def _is_skipped(step: Any) -> bool:
    return step is None or (isinstance(step, str) and step == "passthrough")


def transform(step: Any, features: list[Feature], encoder: Encoder) -> list[Feature]:
    """Run one transformer's converter (``None`` and ``"passthrough"`` change nothing)."""
    if _is_skipped(step):
        return features
    if isinstance(step, str) and step == "drop":
        return []
    convert = transformer_converter(step)
    width = getattr(step, "n_features_in_", None)
    if width is not None and width != len(features):
        raise ExportError(
            f"{type(step).__name__} was fitted on {width} features but receives {len(features)}"
        )
    return convert(step, features, encoder)


def split_pipeline(estimator: Any) -> tuple[list[Any], Any]:
    """The transformer steps and final estimator of a (possibly nested) Pipeline."""
    from sklearn.pipeline import Pipeline

    if not isinstance(estimator, Pipeline):
        return [], estimator
    steps = [step for _, step in estimator.steps]
    head, last = steps[:-1], steps[-1]
    inner_head, final = split_pipeline(last)
    return head + inner_head, final


def pipeline(estimator: Any, features: list[Feature], encoder: Encoder) -> list[Feature]:
    """A Pipeline used as a transformer (inside a ColumnTransformer, say)."""
    for _, step in estimator.steps:
        features = transform(step, features, encoder)
    return features


def _column_indices(ct: Any, columns: Any, n: int) -> list[int]:
    """Positions of the input columns a ColumnTransformer entry selects."""
    names = list(getattr(ct, "feature_names_in_", []))
    if callable(columns):
        raise ExportError("ColumnTransformer column selectors must be resolved by fitting")
    if isinstance(columns, slice):
        if isinstance(columns.start, str) or isinstance(columns.stop, str):
            start = names.index(columns.start) if columns.start is not None else 0
            stop = names.index(columns.stop) + 1 if columns.stop is not None else n
            return list(range(start, stop))
        return list(range(n))[columns]
    scalar = isinstance(columns, (str, int, np.integer))
    items = [columns] if scalar else list(columns)
    if items and isinstance(items[0], (bool, np.bool_)):
        return [i for i, keep in enumerate(items) if keep]
    out = []
    for item in items:
        if isinstance(item, str):
            if item not in names:
                raise ExportError(f"ColumnTransformer selects unknown column {item!r}")
            out.append(names.index(item))
        else:
            out.append(int(item) % n)
    return out


def column_transformer(ct: Any, features: list[Feature], encoder: Encoder) -> list[Feature]:
    """Apply each transformer to its columns and concatenate, like ``ColumnTransformer``."""
    _refuse_weights(ct)
    out: list[Feature] = []
    for _name, step, columns in ct.transformers_:
        indices = _column_indices(ct, columns, len(features))
        if not indices or (isinstance(step, str) and step == "drop"):
            continue
        out += transform(step, [features[i] for i in indices], encoder)
    return out


def feature_union(union: Any, features: list[Feature], encoder: Encoder) -> list[Feature]:
    """Apply each transformer to all features and concatenate, like ``FeatureUnion``."""
    _refuse_weights(union)
    out: list[Feature] = []
    for _name, step in union.transformer_list:
        if isinstance(step, str) and step == "drop":
            continue
        out += transform(step, features, encoder)
    return out


def _refuse_weights(composite: Any) -> None:
    if getattr(composite, "transformer_weights", None):
        raise ExportError(f"{type(composite).__name__}(transformer_weights=...) is not supported")
