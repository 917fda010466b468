"""Scoring: compile a PMML document into an immutable, thread-safe model."""

from pmmlserve.scoring._fields import Field, Interval
from pmmlserve.scoring._model import Model, load

__all__ = ["Field", "Interval", "Model", "load"]
