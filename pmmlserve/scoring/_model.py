"""The loaded model (placeholder while the scorer is being written)."""

from __future__ import annotations

__all__ = ["Model", "load"]


class Model:
    """A compiled, immutable PMML model."""


def load(source, *, verify: bool = True) -> Model:
    """Load a PMML document (not implemented yet)."""
    raise NotImplementedError("the scorer is being written")
