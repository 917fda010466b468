"""Public descriptions of a model's fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Field", "Interval"]


@dataclass(frozen=True)
class Interval:
    """A range of valid values of a continuous field (PMML ``Interval``)."""

    closure: str  # "openClosed", "openOpen", "closedOpen", "closedClosed"
    left: float | None = None
    right: float | None = None

    def contains(self, x: float) -> bool:
        """Return whether ``x`` lies inside the interval."""
        if self.left is not None:
            if x < self.left or (x == self.left and self.closure.startswith("open")):
                return False
        if self.right is not None:
            if x > self.right or (x == self.right and self.closure.endswith("Open")):
                return False
        return True


@dataclass(frozen=True)
class Field:
    """One input, target or output field of a loaded model.

    Attributes
    ----------
    name : str
        The field name, exactly as in the document (and as ``predict`` names columns).
    data_type : str
        The PMML ``dataType``: ``"double"``, ``"float"``, ``"integer"``, ``"string"``,
        ``"boolean"``, ``"date"``...
    op_type : str
        The PMML ``optype``: ``"continuous"``, ``"categorical"`` or ``"ordinal"``.
    values : tuple
        The valid values of a categorical or ordinal field, in document order (empty when the
        document does not restrict them).
    intervals : tuple of Interval
        The valid ranges of a continuous field (empty when unrestricted).
    feature : str or None
        For output fields, the PMML ``feature`` (``"probability"``, ``"predictedValue"``...).
    """

    name: str
    data_type: str
    op_type: str
    values: tuple[Any, ...] = ()
    intervals: tuple[Interval, ...] = ()
    feature: str | None = None
