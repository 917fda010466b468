"""``backend="sklearn2pmml"``: delegate to the sklearn2pmml package (JPMML-SkLearn, in Java).

It covers estimators the native exporter does not, at the price of a Java runtime at export
time (never at scoring time).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from pmmlserve.exceptions import ExportError

__all__ = ["export_sklearn2pmml", "find_java"]


def find_java() -> str | None:
    """The java executable sklearn2pmml would run (JAVA_HOME first, then PATH), or None."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        if candidate.exists():
            return str(candidate)
    return shutil.which("java")


def export_sklearn2pmml(estimator: Any, sample, model_name: str | None, target: str,
                        columns: list[str]) -> bytes:
    try:
        from sklearn2pmml import sklearn2pmml
        from sklearn2pmml.pipeline import PMMLPipeline
    except ImportError as exc:
        raise ExportError(
            "backend='sklearn2pmml' needs the sklearn2pmml package: "
            "pip install 'pmmlserve[sklearn2pmml]'"
        ) from exc
    if find_java() is None:
        raise ExportError(
            "backend='sklearn2pmml' needs a Java runtime (java on PATH or JAVA_HOME); "
            "the native backend needs none"
        )
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, PMMLPipeline):
        pipeline = estimator
    else:
        steps = estimator.steps if isinstance(estimator, Pipeline) else [("estimator", estimator)]
        pipeline = PMMLPipeline(list(steps))
        # a PMMLPipeline built around fitted steps needs the field names fit() would record
        pipeline.active_fields = np.asarray(columns)
        pipeline.target_fields = np.asarray([target])
    if sample is not None:
        pipeline.verify(sample)
    with tempfile.TemporaryDirectory(prefix="pmmlserve-sklearn2pmml-") as tmp:
        path = Path(tmp) / "model.pmml"
        try:
            sklearn2pmml(pipeline, str(path))
        except Exception as exc:  # its RuntimeError only says "see the Java output"
            raise ExportError(f"sklearn2pmml failed to convert the estimator: {exc}") from exc
        data = path.read_bytes()
    if model_name is not None:
        from lxml import etree

        from pmmlserve.export._writer import serialize

        root = etree.fromstring(data)
        # every PMML model element, and only those, has a functionName
        next(el for el in root if el.get("functionName")).set("modelName", model_name)
        data = serialize(root)
    return data
