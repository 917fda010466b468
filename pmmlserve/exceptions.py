"""The exceptions pmmlserve raises, in one hierarchy.

::

    PMMLServeError
    ├── MarkupError (ValueError)             the document is bad: take the model out of service
    │   ├── PMMLSyntaxError                  not well-formed XML, or a hostile document (DTD, entities, depth, size)
    │   ├── InvalidMarkupError               well-formed XML that breaks a PMML rule
    │   ├── UnsupportedMarkupError           valid PMML that pmmlserve does not evaluate
    │   └── VerificationError                the document's ModelVerification rows do not reproduce
    ├── EvaluationError (ValueError)         one record is bad: skip or report that record
    ├── ExportError (ValueError)             an estimator cannot be written as PMML
    │   └── UnsupportedEstimatorError        ... because pmmlserve does not know how
    └── StoreError (OSError)                 the model store cannot do what was asked
        └── VersionNotFoundError (LookupError)

A *markup* error is about the model and is raised when the document is loaded, never while
scoring.  An *evaluation* error is about one record and names the field, the value and the row.
Both also inherit the builtin a caller would naturally catch (``ValueError``, ``OSError``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
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


class PMMLServeError(Exception):
    """Base class of every exception raised by pmmlserve."""


class MarkupError(PMMLServeError, ValueError):
    """The PMML document is malformed, invalid or unsupported.

    Parameters
    ----------
    message : str
        What is wrong.
    element : str, optional
        The PMML element (local name) at fault.
    line : int, optional
        The source line of that element, when known.
    """

    def __init__(self, message: str, *, element: str | None = None, line: int | None = None):
        self.element = element
        self.line = line
        where = ""
        if element is not None:
            where = f" (at {element}"
            where += f", at or around line {line})" if line is not None else ")"
        super().__init__(message + where)


class PMMLSyntaxError(MarkupError):
    """The document is not well-formed XML, or is rejected as hostile."""


class InvalidMarkupError(MarkupError):
    """The document is XML but breaks a rule of PMML (a missing attribute, a bad reference...)."""


class UnsupportedMarkupError(MarkupError):
    """The document is valid PMML, but uses an element or attribute pmmlserve does not evaluate."""


class VerificationError(MarkupError):
    """The document's ModelVerification rows are not reproduced by the model.

    Attributes
    ----------
    mismatches : list of dict
        One entry per differing cell: ``row``, ``field``, ``expected``, ``actual``.
    """

    def __init__(self, message: str, mismatches: list[dict[str, Any]] | None = None):
        self.mismatches = list(mismatches or [])
        super().__init__(message, element="ModelVerification")


class EvaluationError(PMMLServeError, ValueError):
    """One input record cannot be scored.

    Parameters
    ----------
    message : str
        Why.
    field : str, optional
        The field at fault.
    value : object, optional
        The offending value.
    row : int, optional
        The position of the record in the batch (0-based), when scoring a batch.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        row: int | None = None,
    ):
        self.field = field
        self.value = value
        self.row = row
        self.reason = message
        super().__init__(self._render())

    def _render(self) -> str:
        parts = []
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        if self.value is not None:
            parts.append(f"value {self.value!r}")
        prefix = ", ".join(parts)
        return f"{prefix}: {self.reason}" if prefix else self.reason

    def at_row(self, row: int) -> EvaluationError:
        """Return a copy of this error that names the batch row ``row``."""
        return type(self)(self.reason, field=self.field, value=self.value, row=row)


class ExportError(PMMLServeError, ValueError):
    """An estimator cannot be exported to PMML."""


class UnsupportedEstimatorError(ExportError):
    """The exporter has no converter for this estimator class."""


class StoreError(PMMLServeError, OSError):
    """The model store cannot complete the operation (or found a corrupted version)."""


class VersionNotFoundError(StoreError, LookupError):
    """The requested model, version or alias does not exist in the store."""
