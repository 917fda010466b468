"""Fit, export (with an on-disk cache) and build evaluation rows for a conformance case."""

from __future__ import annotations

import hashlib
import importlib.metadata
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tests.scoring.conformance.cases import Case
from tests.scoring.conformance.data import (
    SEED,
    TARGETS,
    evaluation_frame,
    threshold_rows,
    training_frame,
)

_VERSIONED = ("scikit-learn", "sklearn2pmml", "xgboost", "xgboost-cpu", "lightgbm", "numpy",
              "pandas")
EXPORT_FORMAT = 1  # bump when the export procedure below changes


def library_versions() -> str:
    versions = []
    for dist in _VERSIONED:
        try:
            versions.append(f"{dist}={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return ";".join(versions)


@dataclass
class Fitted:
    """A case after fitting and export: everything the tests need."""

    case: Case
    pipeline: object
    document: bytes
    path: Path
    X_eval: pd.DataFrame
    n_threshold_rows: int

    @property
    def float_context(self) -> bool:
        """Whether the document computes in float32 (XGBoost's ``x-mathContext="float"``)."""
        return b'x-mathContext="float"' in self.document

    @property
    def tolerance(self) -> dict:
        """``assert_frames_close`` keywords for pmmlserve against JPMML."""
        return {"ulps": 4} if self.float_context else {"rtol": 1e-12}


def fit(case: Case, seed: int = SEED):
    X, y = training_frame(seed)
    from threadpoolctl import threadpool_limits

    pipeline = case.build()
    params = case.fit_params(pipeline) if case.fit_params else {}
    # one thread: the machine is shared, and OpenMP estimators crawl when oversubscribed
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")  # convergence and feature-name chatter from the estimators
        pipeline.fit(X, y[TARGETS[case.task]], **params)
    if case.verify:
        pipeline.verify(X.dropna().sample(12, random_state=0))
    return pipeline


def _describe(pipeline) -> str:
    """Every parameter, however deeply nested (``repr(pipeline)`` elides long ones)."""
    from sklearn.base import BaseEstimator

    params = pipeline.get_params(deep=True)
    return "\n".join(
        f"{k}={type(v).__qualname__ if isinstance(v, BaseEstimator) else repr(v)}"
        for k, v in sorted(params.items())
    )


def cache_key(case: Case, pipeline, seed: int = SEED) -> str:
    """Hash of what the exported document depends on: pipeline, data, libraries."""
    X, y = training_frame(seed)
    h = hashlib.sha256()
    for part in (case.name, type(pipeline[-1]).__qualname__, _describe(pipeline),
                 repr(case.verify), str(seed), library_versions(), str(EXPORT_FORMAT)):
        h.update(part.encode())
        h.update(b"\0")
    h.update(pd.util.hash_pandas_object(X, index=True).to_numpy().tobytes())
    h.update(pd.util.hash_pandas_object(y, index=True).to_numpy().tobytes())
    return h.hexdigest()[:24]


def export(case: Case, pipeline, cache_dir: Path, seed: int = SEED) -> Path:
    """Export ``pipeline`` once; later sessions reuse the document from ``cache_dir``."""
    from tests.oracles import sklearn2pmml_export

    path = Path(cache_dir) / f"{case.name}-{cache_key(case, pipeline, seed)}.pmml"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        sklearn2pmml_export(pipeline, tmp)
        tmp.replace(path)
    return path


def evaluation_rows(case: Case, pipeline, seed: int = SEED) -> tuple[pd.DataFrame, int]:
    """The shared evaluation rows plus, for tree cases, rows on the fitted split thresholds."""
    X = evaluation_frame(seed)
    if case.thresholds is None:
        return X, 0
    thresholds = case.thresholds(pipeline)
    extra = threshold_rows(X.iloc[1], thresholds)
    return pd.concat([X, extra], ignore_index=True), len(extra)


def prepare(case: Case, cache_dir: Path, seed: int = SEED) -> Fitted:
    pipeline = fit(case, seed)
    path = export(case, pipeline, cache_dir, seed)
    X_eval, n_thresholds = evaluation_rows(case, pipeline, seed)
    return Fitted(case, pipeline, path.read_bytes(), path, X_eval, n_thresholds)


def jpmml_evaluate(document: bytes, X: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """JPMML's ``evaluateAll`` keeping per-row errors: ``(results, errors)``.

    ``errors`` holds the Java exception text for failed rows and None elsewhere; the results of
    failed rows are all missing.
    """
    from tests.oracles import jpmml_evaluator

    evaluator = jpmml_evaluator(document)
    result = evaluator.evaluateAll(X.reset_index(drop=True))
    errors = pd.Series([None] * len(result), dtype=object)
    if "errors" in result.columns:
        raw = result.pop("errors")
        errors = raw.where(raw.notna() & (raw.astype(str) != "None"), None).astype(object)
        errors = errors.reset_index(drop=True)
    return result.reset_index(drop=True), errors


def sklearn_predict(case: Case, pipeline, X: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """scikit-learn's own answer, named like JPMML's columns: ``(frame, refused)``.

    When the pipeline refuses the frame (NaN where an estimator wants none, an invalid value
    under a Domain), rows are scored one by one; ``refused`` marks the rows it rejected.
    """
    target = TARGETS[case.task]

    def score(frame):
        if case.task == "regression":
            return pd.DataFrame({target: pipeline.predict(frame)})
        proba = pipeline.predict_proba(frame)
        out = pd.DataFrame({target: pipeline.predict(frame)})
        for j, label in enumerate(pipeline[-1].classes_):
            out[f"probability({label})"] = proba[:, j]
        return out

    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        try:
            return score(X), np.zeros(len(X), dtype=bool)
        except ValueError:
            pass
        parts, refused = [], []
        for i in range(len(X)):
            try:
                parts.append(score(X.iloc[[i]]))
                refused.append(False)
            except ValueError:
                parts.append(pd.DataFrame({target: [np.nan]}))
                refused.append(True)
    return pd.concat(parts, ignore_index=True), np.asarray(refused)


def records(X: pd.DataFrame) -> list[dict]:
    """Rows as dicts with None for missing values (the predict_one input)."""
    out = []
    for rec in X.to_dict(orient="records"):
        out.append({k: (None if v is None or (isinstance(v, float) and np.isnan(v)) else v)
                    for k, v in rec.items()})
    return out
