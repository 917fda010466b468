"""The one place that reads private attributes of another library, behind a version check.

scikit-learn exposes a fitted HistGradientBoosting model only through private attributes (its
trees live in ``_predictors``; its categorical preprocessing in ``_preprocessor``).  Everything
that touches them is here, and refuses scikit-learn versions it was not checked against, so
that a change there fails loudly at export time instead of writing a wrong document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pmmlserve.exceptions import ExportError

__all__ = ["HistTree", "HistInternals", "hist_internals"]

# The scikit-learn releases whose HistGradientBoosting internals this module was checked on.
_SKLEARN_CHECKED = ((1, 4), (1, 9))


@dataclass(frozen=True)
class HistTree:
    """One HistGradientBoosting tree: its node records and left-category bitsets."""

    nodes: np.ndarray  # structured array, sklearn's PREDICTOR_RECORD_DTYPE
    left_categories: np.ndarray  # (n_categorical_splits, 8) uint32 bitsets of raw categories


@dataclass(frozen=True)
class HistInternals:
    """What a HistGradientBoosting model predicts with.

    ``trees[i][k]`` is iteration ``i``'s tree for raw score ``k``; ``baseline[k]`` the raw
    score before any tree; ``preprocessor`` the ColumnTransformer that ordinal-encodes
    categorical features (categorical columns first) or None.
    """

    trees: list[list[HistTree]]
    baseline: np.ndarray
    preprocessor: Any


def _sklearn_version() -> tuple[int, int]:
    import sklearn

    major, minor = sklearn.__version__.split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


def hist_internals(est: Any) -> HistInternals:
    """Read a fitted HistGradientBoosting model's trees (checked scikit-learn versions only)."""
    version = _sklearn_version()
    low, high = _SKLEARN_CHECKED
    if not low <= version <= high:
        raise ExportError(
            f"exporting {type(est).__name__} reads scikit-learn internals checked on "
            f"{low[0]}.{low[1]}-{high[0]}.{high[1]}, not {'.'.join(map(str, version))}; "
            "use backend='sklearn2pmml'"
        )
    try:
        trees = [
            [HistTree(p.nodes, p.raw_left_cat_bitsets) for p in iteration]
            for iteration in est._predictors
        ]
        baseline = np.asarray(est._baseline_prediction, dtype=np.float64).reshape(-1)
        preprocessor = getattr(est, "_preprocessor", None)
    except AttributeError as exc:  # pragma: no cover - guarded by the version check
        raise ExportError(f"unexpected {type(est).__name__} internals: {exc}") from exc
    return HistInternals(trees, baseline, preprocessor)
