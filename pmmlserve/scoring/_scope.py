"""Fields and their visibility: what a compiled element can refer to by name.

A :class:`Node` is anything that yields a value: an input field after its MiningSchema
treatment, a derived field, an expression.  It has two backends: ``batch(ctx)`` returns a
column for all records, ``emit(gen)`` writes single-record code.  A :class:`NamedField`
memoises its node so that a field used in many places is computed once per batch (cached in the
:class:`BatchContext`) and once per record (bound to a local in the generated code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from pmmlserve.exceptions import EvaluationError, InvalidMarkupError
from pmmlserve.scoring._codegen import Codegen

__all__ = ["FieldInfo", "Node", "NamedField", "Scope", "BatchContext"]


@dataclass(frozen=True)
class FieldInfo:
    """What the compiler knows about a value: its type, whether it can be missing, and
    whether a value that is present can be NaN (generated code then tests for neither)."""

    data_type: str
    optype: str = "continuous"
    nullable: bool = True
    valid_values: Optional[tuple] = None  # parsed valid values of a categorical field
    order: Optional[tuple] = None         # an ordinal field's values, lowest first
    never_nan: bool = False               # a value that is present is never NaN


class BatchContext:
    """Per-call state of the batch path: the number of rows and the memoised columns.

    :meth:`subset` gives a context over some of the rows, for work PMML does only where it
    applies (the branch an ``if`` takes): columns already computed are sliced from the parent,
    raw input columns are read from it, and errors are reported with the parent's row numbers.
    """

    __slots__ = ("n", "cache", "data", "parent", "rows")

    def __init__(self, n: int, data: Any, parent: Optional["BatchContext"] = None,
                 rows: Optional[np.ndarray] = None) -> None:
        self.n = n
        self.data = data
        self.parent = parent
        self.rows = rows
        self.cache: dict[int, Any] = {}

    def raw(self, name: str) -> Any:
        """The caller's column ``name`` (or None), for this context's rows."""
        if self.parent is None:
            return self.data.get(name)
        column = self.parent.raw(name)
        if column is None:
            return None
        values = column.to_numpy() if hasattr(column, "to_numpy") else np.asarray(column)
        return values[self.rows]

    def subset(self, mask: np.ndarray) -> "BatchContext":
        rows = np.flatnonzero(mask)
        return BatchContext(len(rows), None, self, rows)

    def cached(self, key: int) -> Any:
        column = self.cache.get(key)
        if column is None and self.parent is not None:
            column = self.parent.cached(key)
            if column is not None:
                column = column[self.rows]
                self.cache[key] = column
        return column

    def locate(self, exc: Exception) -> None:
        """Rewrite an EvaluationError's row from this context's numbering to the caller's."""
        if self.rows is not None and getattr(exc, "row", None) is not None \
                and getattr(exc, "_context", self) is self:
            exc.row = int(self.rows[exc.row])
            exc._context = self.parent
            exc.args = (exc._render(),)


class Node:
    """Base class of compiled values."""

    info: FieldInfo

    def batch(self, ctx: BatchContext) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def emit(self, gen: Codegen) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


class NamedField(Node):
    """A field visible by name: computed at most once per batch and per record."""

    def __init__(self, name: str, info: FieldInfo, source: Node) -> None:
        self.name = name
        self.info = info
        self.source = source

    def batch(self, ctx: BatchContext) -> np.ndarray:
        key = id(self)
        column = ctx.cached(key) if ctx.parent is not None else ctx.cache.get(key)
        if column is None:
            try:
                column = self.source.batch(ctx)
            except EvaluationError as exc:
                ctx.locate(exc)
                raise
            ctx.cache[key] = column
        return column

    def emit(self, gen: Codegen) -> str:
        var = gen.lookup(self)
        if var is None:
            var = gen.bind(self, self.source.emit(gen))
        return var

    def __repr__(self) -> str:
        return f"NamedField({self.name!r}, {self.info})"


class Scope:
    """The fields one model can see: its own definitions, then its parent's."""

    def __init__(self, parent: Optional["Scope"] = None, functions: Optional[dict] = None):
        self.parent = parent
        self.fields: dict[str, NamedField] = {}
        self._pending: dict[str, Any] = {}
        self.functions = functions if functions is not None else (parent.functions if parent else {})
        self._resolving: set[str] = set()

    def define(self, field: NamedField) -> None:
        self.fields[field.name] = field

    def define_lazy(self, name: str, factory) -> None:
        """Define ``name`` by a factory called on first lookup (derived fields compile lazily,
        so a document may define them in any order and unused ones cost nothing)."""
        self._pending[name] = factory

    def lookup(self, name: str, *, element: str | None = None, line: int | None = None) -> NamedField:
        """Resolve a field name, or raise :class:`InvalidMarkupError` naming the reference."""
        scope: Optional[Scope] = self
        while scope is not None:
            found = scope.fields.get(name)
            if found is not None:
                return found
            if name in scope._pending:
                if name in scope._resolving:
                    raise InvalidMarkupError(f"field {name!r} is defined in terms of itself",
                                             element=element, line=line)
                scope._resolving.add(name)
                try:
                    field = scope._pending[name]()
                finally:
                    scope._resolving.discard(name)
                del scope._pending[name]
                scope.fields[name] = field
                return field
            scope = scope.parent
        raise InvalidMarkupError(f"field {name!r} is not defined", element=element, line=line)

    def knows(self, name: str) -> bool:
        scope: Optional[Scope] = self
        while scope is not None:
            if name in scope.fields or name in scope._pending:
                return True
            scope = scope.parent
        return False
