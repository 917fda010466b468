"""Features: the columns of the matrix that flows through a pipeline, described symbolically.

A converter receives the features of its input matrix and returns the features of its output.
Each feature says how to compute its column from document fields:

``Continuous``
    the numeric value of a field (a missing value is sklearn's NaN);
``Categorical``
    a number looked up from the value of a categorical field: a one-hot indicator, an ordinal
    code, an indicator of infrequent categories...  Keeping the lookup symbolic lets a tree fold a
    split into a set predicate and a linear model fold a coefficient into a
    ``CategoricalPredictor``, instead of materialising a derived field per column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Union

__all__ = ["Continuous", "Categorical", "Feature", "indicator"]


@dataclass(frozen=True)
class Continuous:
    """The numeric value of field ``field``.

    ``float32`` says the field is declared ``dataType="float"``.
    """

    field: str
    float32: bool = False


@dataclass(frozen=True)
class Categorical:
    """A number chosen by the value of the categorical field ``field``.

    Attributes
    ----------
    field : str
        The categorical field.
    mapping : tuple of (category, float)
        The number for each known category, in category order.
    missing : float
        The number for a missing value (NaN when the column is missing too).
    unknown : float or None
        The number for a category outside ``mapping``; None when such a value is an error.
    """

    field: str
    mapping: tuple[tuple[Any, float], ...]
    missing: float
    unknown: float | None

    @property
    def categories(self) -> tuple[Any, ...]:
        return tuple(c for c, _ in self.mapping)

    def indicator_of(self) -> Any | None:
        """The category this feature is the 0/1 indicator of, or None if it is not one.

        Only a plain indicator (missing and unknown values give 0) folds into a
        ``CategoricalPredictor``, which JPMML and PMML ignore on a missing input.
        """
        ones = [c for c, v in self.mapping if v == 1.0]
        rest = all(v in (0.0, 1.0) for _, v in self.mapping)
        if len(ones) == 1 and rest and self.missing == 0.0 and self.unknown in (0.0, None):
            return ones[0]
        return None

    def with_values(self, fn) -> Categorical:
        """The same lookup with every number passed through ``fn`` (NaN stays NaN)."""

        def f(v):
            return v if v is None or math.isnan(v) else float(fn(v))

        return Categorical(
            self.field,
            tuple((c, f(v)) for c, v in self.mapping),
            f(self.missing),
            None if self.unknown is None else f(self.unknown),
        )


Feature = Union[Continuous, Categorical]


def indicator(field: str, categories, hot, *, missing_hot: bool = False,
              unknown: float | None = 0.0) -> Categorical:
    """A 0/1 feature that is 1 for the categories in ``hot`` (and for a missing value if asked)."""
    hot = set(hot)
    return Categorical(
        field,
        tuple((c, 1.0 if c in hot else 0.0) for c in categories),
        1.0 if missing_hot else 0.0,
        unknown,
    )
