"""pmmlserve: export, store and score PMML models in pure Python.

The public API is what this module exports; everything in a module whose name starts with an
underscore is private.

>>> import pmmlserve
>>> model = pmmlserve.load("model.pmml")                  # doctest: +SKIP
>>> model.predict_one({"age": 31, "city": "Lyon"})         # doctest: +SKIP
{'probability(0)': 0.73, 'probability(1)': 0.27, ...}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pmmlserve._version import __version__
from pmmlserve.exceptions import (
    EvaluationError,
    ExportError,
    InvalidMarkupError,
    MarkupError,
    PMMLServeError,
    PMMLSyntaxError,
    StoreError,
    UnsupportedEstimatorError,
    UnsupportedMarkupError,
    VerificationError,
    VersionNotFoundError,
)
from pmmlserve.scoring import Field, Interval, Model, load

# Imported eagerly (it is light: scikit-learn loads only when an estimator is converted), so
# that the name always means the function, whatever submodule of the package is imported.
from pmmlserve.export import export  # noqa: E402  isort: skip

if TYPE_CHECKING:  # pragma: no cover
    from pmmlserve.store import LiveModel, ModelStore, Version

__all__ = [
    "__version__",
    "load",
    "Model",
    "Field",
    "Interval",
    "export",
    "ModelStore",
    "Version",
    "LiveModel",
    "PMMLServeError",
    "MarkupError",
    "PMMLSyntaxError",
    "InvalidMarkupError",
    "UnsupportedMarkupError",
    "VerificationError",
    "EvaluationError",
    "ExportError",
    "UnsupportedEstimatorError",
    "StoreError",
    "VersionNotFoundError",
]

# Attributes whose modules need optional dependencies (scikit-learn, fsspec) are imported on
# first use, so that a serving process that only scores never imports the training stack.
_LAZY = {
    "ModelStore": ("pmmlserve.store", "ModelStore"),
    "Version": ("pmmlserve.store", "Version"),
    "LiveModel": ("pmmlserve.store", "LiveModel"),
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'pmmlserve' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
