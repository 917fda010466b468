"""The three benchmark pipelines and their artifacts: PMML (sklearn2pmml), ONNX (skl2onnx), pickle.

All three share the numeric branch (median imputer, then standard scaler).  The categorical branch
is a one-hot encoder for the logistic regression and the gradient boosting classifier; the
histogram gradient boosting classifier takes dense input only (one-hot would be a dense ~300-column
matrix), so it gets ordinal codes instead, split on as numbers rather than as native categorical
splits.  Every engine scores the same pipeline.
"""

from __future__ import annotations

import contextlib
import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from scoring_bench.data import CATEGORICAL, COLUMNS, NUMERIC, TARGET

__all__ = ["ModelSpec", "ModelFiles", "Artifacts", "MODELS", "build_artifacts"]


@dataclass(frozen=True)
class ModelSpec:
    key: str
    title: str
    preprocessing: str
    make_classifier: Callable[[], object]
    categorical: str  # "onehot" or "ordinal"


@dataclass(frozen=True)
class ModelFiles:
    pmml: Path
    onnx: Path
    pickle: Path

    @classmethod
    def in_dir(cls, directory: Path, key: str) -> "ModelFiles":
        return cls(directory / f"{key}.pmml", directory / f"{key}.onnx", directory / f"{key}.pkl")


@dataclass(frozen=True)
class Artifacts:
    """Where one fitted model's files are, and how long making them took (seconds)."""

    spec: ModelSpec
    files: ModelFiles
    fit_s: float
    export_pmml_s: float
    export_onnx_s: float
    onnx_note: str


def _logreg():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def _gbc():
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0)


def _hgb():
    from sklearn.ensemble import HistGradientBoostingClassifier

    # no early stopping: always 100 trees, whatever the training size
    return HistGradientBoostingClassifier(max_iter=100, early_stopping=False, random_state=0)


_ONEHOT = "median imputer + standard scaler (numeric); one-hot, unknown ignored (categorical)"
_ORDINAL = (
    "median imputer + standard scaler (numeric); ordinal codes, unknown = -1, split on as "
    "numbers (categorical)"
)
MODELS = [
    ModelSpec("logreg", "LogisticRegression", _ONEHOT, _logreg, "onehot"),
    ModelSpec("gbc", "GradientBoostingClassifier(100 trees, depth 3)", _ONEHOT, _gbc, "onehot"),
    ModelSpec("hgb", "HistGradientBoostingClassifier(100 trees)", _ORDINAL, _hgb, "ordinal"),
]


def _preprocessor(categorical: str):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    if categorical == "onehot":
        encoder = OneHotEncoder(handle_unknown="ignore")
    else:
        encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    return ColumnTransformer([("num", numeric, NUMERIC), ("cat", encoder, list(CATEGORICAL))])


def _fit(spec: ModelSpec, X: pd.DataFrame, y: np.ndarray):
    from sklearn2pmml.pipeline import PMMLPipeline

    from threadpoolctl import threadpool_limits

    pipeline = PMMLPipeline(
        [("preprocess", _preprocessor(spec.categorical)), ("classifier", spec.make_classifier())]
    )
    # One thread: on a busy 2-core machine OpenMP's thread team made the HistGradientBoosting
    # fit take minutes instead of seconds.  Fitting is not what is measured.
    with threadpool_limits(limits=1):
        # A named label gives the PMML target a name (an unnamed one is called "y").
        return pipeline.fit(X[COLUMNS], pd.Series(y, name=TARGET))


@contextlib.contextmanager
def _skl2onnx_bool_attribute_fix():
    """Make skl2onnx 1.20 convert HistGradientBoosting* under onnx >= 1.23.

    Its tree builder passes ``nodes_missing_value_tracks_true`` as Python/NumPy booleans, which
    ``onnx.helper.make_attribute`` now rejects ("Expected an int, got a boolean").  Casting to int
    is what the attribute means; the patch is undone on exit.
    """
    from skl2onnx.common import tree_ensemble

    original = tree_ensemble.add_node

    def add_node(*args, nodes_missing_value_tracks_true=0, **kwargs):
        return original(
            *args, nodes_missing_value_tracks_true=int(nodes_missing_value_tracks_true), **kwargs
        )

    tree_ensemble.add_node = add_node
    try:
        yield
    finally:
        tree_ensemble.add_node = original


def _to_onnx(pipeline, X: pd.DataFrame) -> tuple[bytes, str]:
    """Convert with one [N, 1] input per column (float32 or string) and no ZipMap."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.pipeline import Pipeline

    plain = Pipeline(pipeline.steps)
    types = [
        (c, StringTensorType([None, 1]) if c in CATEGORICAL else FloatTensorType([None, 1]))
        for c in COLUMNS
    ]
    options = {id(plain.steps[-1][1]): {"zipmap": False}}
    note = "float32 inputs: onnxruntime runs Imputer and TreeEnsemble in float only"
    with _skl2onnx_bool_attribute_fix():
        model = convert_sklearn(
            plain, initial_types=types, options=options,
            target_opset={"": 17, "ai.onnx.ml": 3},
        )
    return model.SerializeToString(), note


def build_artifacts(X: pd.DataFrame, y: np.ndarray, workdir: Path, specs=MODELS,
                    log=print) -> list[Artifacts]:
    """Fit each pipeline of ``specs`` and write its three artifacts into ``workdir``."""
    from sklearn.pipeline import Pipeline
    from sklearn2pmml import sklearn2pmml

    out = []
    for spec in specs:
        files = ModelFiles.in_dir(workdir, spec.key)
        t0 = time.perf_counter()
        pipeline = _fit(spec, X, y)
        t1 = time.perf_counter()
        sklearn2pmml(pipeline, str(files.pmml))
        t2 = time.perf_counter()
        onnx_bytes, note = _to_onnx(pipeline, X)
        files.onnx.write_bytes(onnx_bytes)
        t3 = time.perf_counter()
        plain = Pipeline(pipeline.steps)  # what a sklearn server unpickles: no sklearn2pmml needed
        files.pickle.write_bytes(pickle.dumps(plain, protocol=pickle.HIGHEST_PROTOCOL))
        out.append(Artifacts(spec, files, t1 - t0, t2 - t1, t3 - t2, note))
        log(f"  {spec.key}: fit {t1 - t0:.1f} s, sklearn2pmml {t2 - t1:.1f} s, "
            f"skl2onnx {t3 - t2:.2f} s; PMML {files.pmml.stat().st_size / 1024:.0f} KiB, "
            f"ONNX {files.onnx.stat().st_size / 1024:.0f} KiB")
    return out
