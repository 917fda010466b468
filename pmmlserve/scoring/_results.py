"""What a compiled model element produces, for a batch and for one record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._scope import BatchContext

__all__ = ["BatchResult", "ScalarResult", "CompiledModel"]


@dataclass
class BatchResult:
    """Predictions for all rows.

    ``value`` holds regression values (float64, NaN = missing) or predicted class labels
    (object, None = missing); ``probabilities`` maps each class label to a float64 column.
    """

    value: np.ndarray
    probabilities: Optional[dict] = None
    entity_id: Optional[np.ndarray] = None
    confidence: Optional[dict] = None


@dataclass
class ScalarResult:
    """Names of the generated locals holding one record's prediction."""

    value: str
    probabilities: Optional[dict] = None
    entity_id: Optional[str] = None
    confidence: Optional[dict] = None
    extra: dict = field(default_factory=dict)


class CompiledModel:
    """A model element compiled to kernels.

    Attributes
    ----------
    function : str
        ``"regression"`` or ``"classification"``.
    labels : tuple or None
        The class labels of a classifier, in document order, as parsed target values.
    math_context : str
        ``"double"`` or ``"float"``.
    """

    function: str
    labels: Optional[tuple] = None
    math_context: str = "double"

    def batch(self, ctx: BatchContext) -> BatchResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def emit(self, gen: Codegen) -> ScalarResult:  # pragma: no cover - abstract
        raise NotImplementedError


def predicted_label(probabilities: dict, labels: tuple, n: int) -> np.ndarray:
    """The label with the highest probability per row (first in document order on ties)."""
    if not labels:
        return np.full(n, None, dtype=object)
    stack = np.stack([probabilities[label] for label in labels])
    missing = np.isnan(stack).all(axis=0)
    best = np.argmax(np.where(np.isnan(stack), -np.inf, stack), axis=0)
    out = np.array(labels, dtype=object)[best]
    out[missing] = None
    return out


def scalar_argmax(probabilities: dict) -> Any:
    """Single-record counterpart of :func:`predicted_label`."""
    best, best_p = None, None
    for label, p in probabilities.items():
        if p is not None and (best_p is None or p > best_p):
            best, best_p = label, p
    return best
