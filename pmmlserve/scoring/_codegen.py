"""Generate the single-record scoring function as Python source, compiled once at load time.

Every compiled element can ``emit`` itself: it writes statements into a :class:`Codegen` and
returns a Python expression (usually a local variable) holding its value for one record, with
``None`` for missing.  Constants and helper functions are passed in through the function's
globals, never formatted into the source, so no document text ever becomes code.
"""

from __future__ import annotations

import itertools
import math
from contextlib import contextmanager
from typing import Any, Callable, Iterator

__all__ = ["Codegen"]


class Codegen:
    """Accumulates the body of one generated function."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._indent = 1
        self.namespace: dict[str, Any] = {}
        self._consts: dict[tuple, str] = {}
        self._counter = itertools.count()
        self._bindings: list[dict[int, str]] = [{}]
        self._block_sizes: list[int] = []

    # ------------------------------------------------------------------ names and constants
    def var(self, hint: str = "t") -> str:
        """A fresh local variable name."""
        return f"{hint}{next(self._counter)}"

    def const(self, value: Any, hint: str = "k") -> str:
        """A global name bound to ``value`` (shared between equal immutable constants)."""
        try:
            key = (type(value), value)
            hash(key)
        except TypeError:
            key = ("id", id(value))
        name = self._consts.get(key)
        if name is None:
            name = f"_{hint}{next(self._counter)}"
            self.namespace[name] = value
            self._consts[key] = name
        return name

    def table(self, value: Any, hint: str = "tab") -> str:
        """A global name bound to ``value``, a large table (the bit kernel's rows and
        thresholds), by identity: hashing it to share equal ones (what :meth:`const` does)
        cost a large forest's load about a millisecond, and equal tables are rare."""
        name = f"_{hint}{next(self._counter)}"
        self.namespace[name] = value
        return name

    def literal(self, value: Any) -> str:
        """``value`` as source: a finite float or an int as a literal (loaded as a constant,
        faster than a global), anything else through :meth:`const`."""
        if type(value) is int or (type(value) is float and math.isfinite(value)):
            return repr(value)
        return self.const(value)

    # ------------------------------------------------------------------ statements
    def line(self, code: str) -> None:
        self._lines.append("    " * self._indent + code)

    def assign(self, expression: str, hint: str = "t") -> str:
        """Assign ``expression`` to a fresh local and return its name (no-op for simple names)."""
        if expression.isidentifier():
            return expression
        name = self.var(hint)
        self.line(f"{name} = {expression}")
        return name

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        """An indented block (``if x:``, ``else:``...); bindings made inside stay inside."""
        self.line(header + ":")
        self._indent += 1
        self._bindings.append({})
        start = len(self._lines)
        try:
            yield
        finally:
            if len(self._lines) == start:
                self.line("pass")
            self._bindings.pop()
            self._indent -= 1

    # ------------------------------------------------------------------ memoised values
    def lookup(self, key: object) -> str | None:
        """The local already holding ``key``'s value in this block or an enclosing one."""
        k = id(key)
        for scope in reversed(self._bindings):
            if k in scope:
                return scope[k]
        return None

    def bind(self, key: object, expression: str, hint: str = "v") -> str:
        """Store ``expression`` in a local remembered for ``key`` in the current block."""
        name = expression if expression.isidentifier() and not expression.startswith("_") \
            else self.var(hint)
        if name != expression:
            self.line(f"{name} = {expression}")
        self._bindings[-1][id(key)] = name
        return name

    # ------------------------------------------------------------------ result
    def source(self, name: str, params: str) -> str:
        return f"def {name}({params}):\n" + "\n".join(self._lines or ["    pass"]) + "\n"

    def compile(self, name: str, params: str, filename: str = "<pmmlserve>") -> Callable:
        """Compile the accumulated body into a function ``name(params)``."""
        src = self.source(name, params)
        namespace = dict(self.namespace)
        code = compile(src, filename, "exec")
        exec(code, namespace)  # noqa: S102 - our own generated source; constants via globals
        fn = namespace[name]
        fn.__pmmlserve_source__ = src
        return fn
