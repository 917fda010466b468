"""String built-in functions: uppercase, lowercase, stringLength, substring, trimBlanks, concat,
replace, matches and formatNumber.

Semantics are JPMML's, which works on Java strings:

* Lengths and positions count UTF-16 code units, as Java does: ``stringLength("a😀")`` is 3.
* ``substring(s, startPos, length)`` is 1-based and clamps at the end of the string; JPMML
  refuses ``startPos < 1``, ``length < 0`` and non-integral positions (a record error), where the
  spec follows XQuery's lenient rules.
* ``trimBlanks`` is Java's ``String.trim()``: it strips every character up to U+0020 (tabs,
  newlines, control characters) but not other Unicode spaces such as U+00A0.
* ``concat`` skips missing arguments (all missing gives ``""``), where the spec's general rule
  would make the result missing.
* ``matches`` is true when the pattern matches *any* substring (Java ``Matcher.find``).
* ``replace`` replaces every match; in the replacement ``$n``/``${name}`` insert groups, ``\\x``
  is a literal ``x`` and ``$$`` a literal ``$`` (PMML's PCRE-style escape, which JPMML
  translates).  Patterns are Java regular expressions compiled with Python's ``re``: the common
  syntax agrees, Java-only constructs (``\\p{Lu}``, ``\\z``...) are an error here.
* ``uppercase``/``lowercase`` use the full Unicode case mappings (``"ß"`` upper-cases to
  ``"SS"``), as Java's root-locale ``toUpperCase``/``toLowerCase`` do.

Numbers reaching a string argument must already be Java strings (``1.0`` for a double 1, ``1``
for an integer); :func:`pmmlserve.scoring._functions_format.java_double_string` renders them.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import replace
from typing import Any, Callable, Sequence

import numpy as np

from pmmlserve.exceptions import EvaluationError
from pmmlserve.scoring._functions_base import BuiltinFunction, fail_at
from pmmlserve.scoring._functions_format import format_number

__all__ = ["TEXT_FUNCTIONS", "specialize_format"]

_JAVA_BLANKS = "".join(map(chr, range(0x21)))  # what String.trim() strips


def _utf16_length(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode("utf-16-le", "surrogatepass")) // 2


def _java_substring(s: str, start: int, length: int) -> str:
    """Java's ``s.substring(start, start + length)`` after JPMML's clamping (0-based start)."""
    if s.isascii() or _utf16_length(s) == len(s):
        return s[start:start + length]
    units = s.encode("utf-16-le", "surrogatepass")
    return units[2 * start:2 * (start + length)].decode("utf-16-le", "surrogatepass")


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _strings(function: Callable[..., Any]) -> Callable[..., np.ndarray]:
    """Batch backend over a one-record string function: None in any argument gives None."""
    def batch(*columns: np.ndarray) -> np.ndarray:
        if len(columns) == 1:  # the common case, without a row tuple per value
            return _objects([None if s is None else function(s) for s in columns[0]])
        return _objects([None if None in row else function(*row) for row in zip(*columns)])
    return batch


def _string_function(name: str, arity: int, function: Callable[..., Any]) -> BuiltinFunction:
    return BuiltinFunction(name, arity, arity, _strings(function), function, handles_missing=False,
                           result_type="string", argument_kind="string")


# --------------------------------------------------------------------------- stringLength


def _length_batch(column: np.ndarray) -> np.ndarray:
    return np.array([math.nan if s is None else _utf16_length(s) for s in column],
                    dtype=np.float64)


_STRING_LENGTH = BuiltinFunction("stringLength", 1, 1, _length_batch,
                                 lambda s: float(_utf16_length(s)), handles_missing=False,
                                 result_type="integer", argument_kind="string")


# --------------------------------------------------------------------------- substring


def _substring_checks(start: np.ndarray, length: np.ndarray) -> None:
    fail_at(start < 1, "substring: startPos must be equal to or greater than 1", start)
    fail_at(length < 0, "substring: length must not be negative", length)
    for name, column in (("startPos", start), ("length", length)):
        fail_at(np.isfinite(column) & (column != np.floor(column)),
                f"substring: {name} must be an integer", column)


def _substring_row(s: str, start: float, length: float) -> str:
    begin = int(start) - 1
    if s.isascii():  # one code unit per character: Python's slice clamps as JPMML does
        return s[begin:begin + int(length)]
    size = _utf16_length(s)
    begin = min(begin, size)
    return _java_substring(s, begin, min(int(length), size - begin))


def _substring_batch(text: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    ok = (text != None) & ~np.isnan(start) & ~np.isnan(length)  # noqa: E711 (elementwise)
    _substring_checks(np.where(ok, start, 1.0), np.where(ok, length, 0.0))
    return _objects([_substring_row(s, b, n) if keep else None
                     for s, b, n, keep in zip(text, start.tolist(), length.tolist(), ok.tolist())])


def _substring_scalar(s: str, start: float, length: float) -> str:
    try:
        _substring_checks(np.array([float(start)]), np.array([float(length)]))
    except EvaluationError as error:
        raise EvaluationError(error.reason, value=error.value) from None
    return _substring_row(s, start, length)


_SUBSTRING = BuiltinFunction("substring", 3, 3, _substring_batch, _substring_scalar,
                             handles_missing=False, result_type="string", argument_kind="mixed",
                             argument_kinds=("string", "numeric"))


# --------------------------------------------------------------------------- concat


def _concat_scalar(*values: Any) -> str:
    return "".join(v for v in values if v is not None)


def _concat_batch(*columns: np.ndarray) -> np.ndarray:
    return _objects([_concat_scalar(*row) for row in zip(*columns)])


_CONCAT = BuiltinFunction("concat", 2, None, _concat_batch, _concat_scalar, handles_missing=True,
                          result_type="string", argument_kind="string", missing_is_error=False)


# --------------------------------------------------------------------------- regular expressions


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.ASCII)  # Java: \w, \d, \s, \b and (?i) are ASCII-only
    except re.error as error:
        raise EvaluationError(f"the regular expression cannot be compiled: {error}",
                              value=pattern) from None


_GROUP_REFERENCE = re.compile(r"\\(.)|\$(?:\{(\w+)\}|(\d+))|(\\|\$)", re.DOTALL)


@functools.lru_cache(maxsize=256)
def _template(replacement: str, pattern: str) -> tuple[str | int, ...]:
    """Parse a Java ``Matcher.replaceAll`` replacement into literals and group numbers/names."""
    compiled = _regex(pattern)
    replacement = replacement.replace("$$", "\\$")  # PMML's PCRE-style "$$", as JPMML rewrites it
    pieces: list[str | int] = []
    position = 0
    for match in _GROUP_REFERENCE.finditer(replacement):
        pieces.append(replacement[position:match.start()])
        escaped, name, number, stray = match.groups()
        if stray is not None:
            raise EvaluationError("replace: a lone '$' or a trailing '\\' in the replacement",
                                  value=replacement)
        if escaped is not None:
            pieces.append(escaped)
        elif name is not None:
            if name not in compiled.groupindex:
                raise EvaluationError(f"replace: no group named {name!r}", value=replacement)
            pieces.append(compiled.groupindex[name])
        else:
            # Java takes the first digit, then more digits while they still name a group.
            digits = number[0]
            for ch in number[1:]:
                if int(digits + ch) > compiled.groups:
                    break
                digits += ch
            if int(digits) > compiled.groups:
                raise EvaluationError(f"replace: no group {digits}", value=replacement)
            pieces.append(int(digits))
            pieces.append(number[len(digits):])
        position = match.end()
    pieces.append(replacement[position:])
    return tuple(p for p in pieces if p != "")


def _replace_scalar(s: str, pattern: str, replacement: str) -> str:
    template = _template(replacement, pattern)

    def expand(match: re.Match[str]) -> str:
        return "".join(p if isinstance(p, str) else (match.group(p) or "") for p in template)
    return _regex(pattern).sub(expand, s)


def _matches_scalar(s: str, pattern: str) -> bool:
    return _regex(pattern).search(s) is not None


def _matches_batch(text: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    return np.array([math.nan if s is None or p is None else float(_matches_scalar(s, p))
                     for s, p in zip(text, pattern)], dtype=np.float64)


_MATCHES = BuiltinFunction("matches", 2, 2, _matches_batch, _matches_scalar,
                           handles_missing=False, result_type="boolean", argument_kind="string")


# --------------------------------------------------------------------------- formatNumber


def _format_number(kind: str) -> tuple[Callable[..., np.ndarray], Callable[..., str]]:
    def scalar(value: float, pattern: str) -> str:
        return format_number(pattern, float(value), kind)

    def batch(values: np.ndarray, patterns: np.ndarray) -> np.ndarray:
        out = np.empty(len(values), dtype=object)
        for row, (value, pattern) in enumerate(zip(values.tolist(), patterns)):
            if value == value and pattern is not None:
                try:
                    out[row] = format_number(pattern, value, kind)
                except EvaluationError as error:
                    raise error.at_row(row) from None
        return out
    return batch, scalar


_FORMAT_NUMBER = BuiltinFunction("formatNumber", 2, 2, *_format_number("double"),
                                 handles_missing=False, result_type="string",
                                 argument_kind="mixed", argument_kinds=("numeric", "string"))


def specialize_format(fn: BuiltinFunction, arg_types: Sequence[str | None]) -> BuiltinFunction:
    """The ``formatNumber`` variant for an input of ``arg_types[0]``: Java formats an Integer,
    a Float and a Double differently (``%d`` needs an Integer, ``%s`` prints ``1`` or ``1.0``).

    Examples
    --------
    >>> from pmmlserve.scoring._functions import BUILTINS
    >>> specialize_format(BUILTINS["formatNumber"], ["integer", "string"]).scalar(7.0, "%03d")
    '007'
    """
    kind = arg_types[0] if arg_types and arg_types[0] in ("integer", "float") else "double"
    if kind == "double":
        return fn
    batch, scalar = _format_number(kind)
    return replace(fn, batch=batch, scalar=scalar)


# --------------------------------------------------------------------------- registry

TEXT_FUNCTIONS: tuple[BuiltinFunction, ...] = (
    _string_function("uppercase", 1, str.upper),
    _string_function("lowercase", 1, str.lower),
    _string_function("trimBlanks", 1, lambda s: s.strip(_JAVA_BLANKS)),
    _string_function("replace", 3, _replace_scalar),
    _STRING_LENGTH,
    _SUBSTRING,
    _CONCAT,
    _MATCHES,
    _FORMAT_NUMBER,
)
