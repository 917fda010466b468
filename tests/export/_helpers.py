"""Shared data and parity checks for the exporter tests.

Expected values always come from the estimator itself (``predict_proba`` / ``predict``); the
exported document is scored by JPMML (the reference) and by pmmlserve.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import pmmlserve
from tests.oracles import (
    assert_frames_close,
    assert_schema_valid,
    jpmml_predict,
    jpmml_verify,
)

CATEGORIES = ["red", "green", "blue", "black"]


def frame(n: int, seed: int = 0, *, missing: bool = True) -> pd.DataFrame:
    """Training-like rows: two numeric columns and two string columns, with gaps."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "age": rng.normal(40, 12, n).round(1),
        "income": rng.lognormal(3, 1, n),
        "color": rng.choice(CATEGORIES, n, p=[0.4, 0.3, 0.2, 0.1]),
        "city": rng.choice(["paris", "lyon", "nice"], n),
    })
    if missing:
        X.loc[X.index % 9 == 0, "age"] = np.nan
    return X


def holdout(X: pd.DataFrame, *, unseen: bool = True, missing: bool = True) -> pd.DataFrame:
    """Held-out rows with an unseen category and missing values mixed in."""
    X = X.copy()
    if unseen:
        X.loc[X.index % 7 == 3, "color"] = "purple"
    if missing:
        X.loc[X.index % 5 == 1, "age"] = np.nan
        X.loc[X.index % 11 == 2, "city"] = None
    return X


def binary_target(X: pd.DataFrame, seed: int = 1) -> pd.Series:
    rng = np.random.default_rng(seed)
    score = (X["age"].fillna(40) - 40) / 12 + (X["color"] == "red") - 0.3 * np.log(X["income"])
    return pd.Series((score + rng.normal(0, 0.5, len(X)) > -0.8).astype(int), name="clicked")


def multiclass_target(X: pd.DataFrame, seed: int = 2) -> pd.Series:
    rng = np.random.default_rng(seed)
    score = (X["age"].fillna(40) - 40) / 12 + rng.normal(0, 0.7, len(X))
    labels = np.where(score < -0.5, "low", np.where(score < 0.5, "mid", "high"))
    return pd.Series(labels, name="segment")


def regression_target(X: pd.DataFrame, seed: int = 3) -> pd.Series:
    rng = np.random.default_rng(seed)
    y = 0.1 * X["age"].fillna(40) + np.log(X["income"]) + 2.0 * (X["city"] == "lyon")
    return pd.Series(y + rng.normal(0, 0.3, len(X)), name="spend")


def expected(estimator, X: pd.DataFrame, target: str = "y") -> pd.DataFrame:
    """What the estimator itself predicts, named like the document's outputs."""
    if hasattr(estimator, "predict_proba") and hasattr(estimator, "classes_"):
        proba = estimator.predict_proba(X)
        return pd.DataFrame(proba, columns=[f"probability({c})" for c in estimator.classes_])
    return pd.DataFrame({target: estimator.predict(X)})


def check_parity(estimator, X_test: pd.DataFrame, *, sample: pd.DataFrame | None = None,
                 rtol: float = 1e-12, atol: float = 0.0, scorer: bool = True,
                 **export_kwargs) -> bytes:
    """Export, validate against the schema, and compare JPMML (and pmmlserve) with the
    estimator on ``X_test``; run both ModelVerifications.  Returns the document."""
    sample = X_test.iloc[:25] if sample is None else sample
    document = pmmlserve.export(estimator, sample=sample, **export_kwargs)
    assert_schema_valid(document)
    want = expected(estimator, X_test, export_kwargs.get("target_name", "y"))
    assert_frames_close(jpmml_predict(document, X_test), want, rtol=rtol, atol=atol)
    jpmml_verify(document)
    if scorer:
        model = pmmlserve.load(document, verify=True)
        assert_frames_close(model.predict(X_test), want, rtol=rtol, atol=atol)
    return document
