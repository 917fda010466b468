"""``pmmlserve.export``: write a fitted scikit-learn estimator as a PMML 4.4 document."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Any, Union

import numpy as np
import pandas as pd

from pmmlserve.exceptions import ExportError

__all__ = ["export"]

Destination = Union[str, os.PathLike, IO[bytes], None]


def export(
    estimator: Any,
    destination: Destination = None,
    *,
    sample: Any = None,
    model_name: str | None = None,
    backend: str = "native",
    target_name: str | None = None,
) -> bytes:
    """Write a fitted estimator or Pipeline as a PMML 4.4 document.

    Parameters
    ----------
    estimator : estimator or Pipeline
        Fitted on a pandas DataFrame (its column names become the input fields; an estimator
        fitted on an array gets fields ``x1, x2, ...``).
    destination : path or binary file object, optional
        Where to write the document as well; a path is replaced atomically.
    sample : DataFrame, optional
        Rows of training-like data.  The estimator scores them and they are embedded as
        ``ModelVerification``, which ``pmmlserve.load(..., verify=True)`` and JPMML check.
    model_name : str, optional
        The ``modelName`` of the model element.
    backend : {"native", "sklearn2pmml"}
        ``"native"`` needs no Java.  ``"sklearn2pmml"`` delegates to the sklearn2pmml package
        (which needs Java) for estimators the native exporter does not cover.
    target_name : str, optional
        The name of the target field.  scikit-learn does not record the label's name, so it
        defaults to a PMMLPipeline's ``target_fields``, else to ``"y"`` as in sklearn2pmml.

    Returns
    -------
    bytes
        The document (UTF-8 XML).

    Raises
    ------
    UnsupportedEstimatorError
        When the native exporter has no converter for a step; the message lists those it has.
    ExportError
        When a step is supported but some setting of it cannot be written exactly.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> import pmmlserve
    >>> X = pd.DataFrame({"age": [20.0, 30.0, 40.0, 50.0]})
    >>> clf = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> document = pmmlserve.export(clf, sample=X)
    >>> document.startswith(b"<?xml")
    True
    """
    target_name = target_name or _recorded_target(estimator)
    if backend == "native":
        data = _export_native(estimator, sample, model_name, target_name)
    elif backend == "sklearn2pmml":
        from pmmlserve.export._sklearn2pmml import export_sklearn2pmml

        data = export_sklearn2pmml(estimator, _as_frame(estimator, sample), model_name,
                                   target_name, _input_columns(estimator))
    else:
        raise ValueError(f"backend must be 'native' or 'sklearn2pmml', not {backend!r}")
    if destination is not None:
        _write(destination, data)
    return data


def _recorded_target(estimator: Any) -> str:
    """The label's name as sklearn2pmml's PMMLPipeline records it, else ``"y"``."""
    fields = np.atleast_1d(getattr(estimator, "target_fields", []))
    return str(fields[0]) if fields.size == 1 else "y"


def _input_columns(estimator: Any) -> list[str]:
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    n = getattr(estimator, "n_features_in_", None)
    if n is None:
        raise ExportError(f"{type(estimator).__name__} is not fitted (no n_features_in_)")
    return [f"x{i + 1}" for i in range(n)]


def _as_frame(estimator: Any, sample: Any) -> pd.DataFrame | None:
    if sample is None or isinstance(sample, pd.DataFrame):
        return sample
    columns = _input_columns(estimator)
    return pd.DataFrame(np.asarray(sample), columns=columns)


def _export_native(estimator: Any, sample: Any, model_name: str | None, target: str) -> bytes:
    from sklearn.utils.validation import check_is_fitted

    from pmmlserve.export._composition import split_pipeline, transform
    from pmmlserve.export._encoder import Encoder
    from pmmlserve.export._registry import model_converter
    from pmmlserve.export._verification import model_verification
    from pmmlserve.export._writer import serialize

    check_is_fitted(estimator)
    columns = _input_columns(estimator)
    encoder = Encoder(columns)
    steps, final = split_pipeline(estimator)
    convert = model_converter(final)  # fail early, before any work, on an unknown model
    features = encoder.raw_features()
    for step in steps:
        features = transform(step, features, encoder)
    width = getattr(final, "n_features_in_", None)
    if width is not None and width != len(features):
        raise ExportError(
            f"{type(final).__name__} was fitted on {width} features but the pipeline gives "
            f"{len(features)}"
        )
    exported = convert(final, features, encoder, target)
    if model_name is not None:
        exported.model.set("modelName", model_name)
    root = encoder.document(exported.model, target=exported.target)
    if sample is not None:
        frame = _as_frame(estimator, sample)
        # an estimator fitted on an array is scored on an array (and would warn on a frame)
        scored = frame if hasattr(estimator, "feature_names_in_") else frame.to_numpy()
        model_verification(root, estimator, exported, frame, scored)
    return serialize(root)


def _write(destination: Destination, data: bytes) -> None:
    if hasattr(destination, "write"):
        destination.write(data)
        return
    path = Path(destination)
    # atomic publish: a temporary file in the same directory, fsync, rename, fsync the directory
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
