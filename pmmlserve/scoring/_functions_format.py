"""``formatNumber``: Java's ``String.format(pattern, number)``, as JPMML calls it.

PMML 4.4 describes ``formatNumber`` with C ``printf`` patterns; JPMML hands the pattern to
``java.util.Formatter``, which differs from C and from Python's ``%`` operator in ways a model
would show.  This module follows Java (in the root/English locale, as the reference JVM runs):

* Floating-point conversions (``%e %f %g``) round *half up* on the digits ``Double.toString``
  prints, not on the exact binary value: ``%.1f`` of 0.15 is ``0.2`` (C gives ``0.1``), and
  ``%.20f`` of 0.1 pads zeros instead of showing the binary expansion.
* ``%g`` never drops trailing zeros and switches to scientific notation when the rounded value
  is below 1e-4 or at least ``10**precision``; ``%#g`` is an error.
* ``%d %o %x %c`` need an integer-typed input and ``%e %f %g %a`` a floating one (else an
  error); ``%x``/``%o`` of a negative int print its 32-bit two's complement.
* ``%s`` prints ``Double.toString``: ``1.0E7``, ``1.0E-4``, ``12345.6789``.
* Only one argument exists: a second consuming conversion is an error (``%1$`` and ``%<``
  refer to the one argument).  Bad flag combinations are errors, as in Java.

Every error is an :class:`~pmmlserve.exceptions.EvaluationError` (JPMML's
``InvalidArgumentException``).  Not emulated: ``%a`` with a precision (an error here), date
conversions (``%t``: an error in JPMML too for numbers), and the few values for which Java 17's
``Double.toString``/``Float.toString`` print more digits than the shortest representation
outside the integral values below 2**63 (some powers of two, small subnormals such as
``Double.MIN_VALUE``, which Java prints ``4.9E-324``).
"""

from __future__ import annotations

import decimal
import functools
import math
import re
import struct
from dataclasses import dataclass

import numpy as np

from pmmlserve.exceptions import EvaluationError

__all__ = ["format_number", "java_digits", "java_double_string", "java_float_string"]

_SPECIFIER = re.compile(r"%(\d+\$)?([-#+ 0,(<]*)(\d+)?(\.\d+)?([a-zA-Z%])")
_INTEGER_CONVERSIONS = frozenset("doxXcC")
_FLOAT_CONVERSIONS = frozenset("eEfgGaA")
_GENERAL_CONVERSIONS = frozenset("sSbBhH")
# Flags each conversion refuses (java.util.Formatter's checkBadFlags and print-time checks).
_BAD_FLAGS = {
    "d": "#", "o": "+ ,(", "x": "+ ,(", "c": "#+ 0,(",
    "e": ",", "f": "", "g": "#", "a": ",(",
    "s": "#+ 0,(", "b": "#+ 0,(", "h": "#+ 0,(",
}
_LOG10_2 = math.log10(2.0)


def java_digits(value: float, significant_bits: int = 53) -> tuple[str, int]:
    """The decimal digits ``Double.toString`` (``Float.toString`` for 24 significant bits)
    prints for ``|value|``, and the exponent.

    Returns ``(digits, exponent)`` with ``|value| = 0.digits * 10**exponent`` (no leading or
    trailing zeros; ``("0", 1)`` for zero).  Java 17 prints the shortest digits that round trip,
    like ``repr``, except for integral values below 2**63 with spare bits, whose digits it takes
    from the exact integer (dropping only the digits below the precision, rounded half up).

    Examples
    --------
    >>> java_digits(0.15)
    ('15', 0)
    >>> java_digits(2.842224131579679e17)[0]
    '284222413157967904'
    """
    magnitude = abs(value)
    if magnitude == 0:
        return "0", 1
    if magnitude.is_integer() and magnitude < 2.0**63:
        n = int(magnitude)
        excess = n.bit_length() - 1 - significant_bits - 1
        if excess >= 0:
            # the decimal digits below the precision of a number with `excess` spare bits
            drop = int(excess * _LOG10_2) if excess > 1 else 0
            n, residue = divmod(n, 10**drop)
            n += residue >= 10**drop // 2 if drop else 0
            text = str(n)
            return text.rstrip("0"), len(text) + drop
    shortest = repr(magnitude) if significant_bits == 53 else \
        np.format_float_scientific(np.float32(magnitude), unique=True)
    sign, digit_tuple, exponent = decimal.Decimal(shortest).as_tuple()
    text = "".join(map(str, digit_tuple))
    return text.rstrip("0"), len(text) + exponent


def _scientific(digits: str, point: int, upper: bool = True) -> str:
    mantissa = digits[0] + "." + (digits[1:] or "0")
    return f"{mantissa}{'E' if upper else 'e'}{point - 1}"


def _plain(digits: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits)) + ".0"
    return digits[:point] + "." + digits[point:]


def java_double_string(value: float) -> str:
    """``Double.toString(value)``: ``1.0``, ``0.001``, ``1.0E7``, ``1.0E-4``, ``Infinity``.

    Examples
    --------
    >>> java_double_string(1e7), java_double_string(12345.6789), java_double_string(-1e-7)
    ('1.0E7', '12345.6789', '-1.0E-7')
    """
    return _java_string(value, 53)


def java_float_string(value: float) -> str:
    """``Float.toString`` of a float32 value held in a Python float.

    Examples
    --------
    >>> java_float_string(0.1), java_float_string(float(np.float32(1.6561353e17)))
    ('0.1', '1.65613527E17')
    """
    return _java_string(value, 24)


def _java_string(value: float, bits: int) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    digits, point = java_digits(value, bits)
    return sign + _layout(digits, point, abs(value))


def _layout(digits: str, point: int, magnitude: float) -> str:
    if magnitude == 0 or 1e-3 <= magnitude < 1e7:
        return _plain(digits, point)
    return _scientific(digits, point)


# --------------------------------------------------------------------------- the formatter


@dataclass(frozen=True)
class _Spec:
    """One parsed conversion: ``%[flags][width][.precision]conversion``."""

    conversion: str  # lower case: "d", "f", "s"...
    upper: bool
    flags: str
    width: int | None
    precision: int | None


def _bad_pattern(pattern: str, why: str) -> EvaluationError:
    return EvaluationError(f"formatNumber cannot accept the pattern {pattern!r}: {why}",
                           value=pattern)


@functools.lru_cache(maxsize=256)
def _compile(pattern: str, kind: str) -> tuple[str | _Spec, ...]:
    """Split ``pattern`` into literal text and specifiers, checked as java.util.Formatter does
    for one argument of ``kind`` ("integer", "float" or "double")."""
    pieces: list[str | _Spec] = []
    position = 0
    consumed = False  # an ordinary specifier already took the one argument
    used = False  # any specifier referred to it
    while True:
        start = pattern.find("%", position)
        if start < 0:
            pieces.append(pattern[position:])
            return tuple(piece for piece in pieces if piece != "")
        pieces.append(pattern[position:start])
        match = _SPECIFIER.match(pattern, start)
        if match is None:
            raise _bad_pattern(pattern, f"unknown conversion at {pattern[start:start + 2]!r}")
        index, flags, width, precision, conversion = match.groups()
        spec = _Spec(conversion.lower(), conversion.isupper(), flags,
                     int(width) if width else None, int(precision[1:]) if precision else None)
        if conversion in "%n":
            pieces.append(_text(pattern, spec))
        else:
            pieces.append(_check(pattern, spec, kind))
            if index is not None and index != "1$":
                raise _bad_pattern(pattern, f"there is no argument {index[:-1]}")
            if "<" in flags and not used:
                raise _bad_pattern(pattern, "'<' refers to no previous argument")
            if index is None and "<" not in flags:
                if consumed:
                    raise _bad_pattern(pattern, "there is only one argument")
                consumed = True
            used = True
        position = match.end()


def _text(pattern: str, spec: _Spec) -> str:
    if spec.conversion == "n":
        if spec.flags or spec.width is not None or spec.precision is not None:
            raise _bad_pattern(pattern, "%n takes no flags, width or precision")
        return "\n"
    if spec.precision is not None or spec.flags.replace("-", ""):
        raise _bad_pattern(pattern, "%% takes only the '-' flag and a width")
    if "-" in spec.flags and spec.width is None:
        raise _bad_pattern(pattern, "'-' needs a width")
    return _justify("%", spec)


def _check(pattern: str, spec: _Spec, kind: str) -> _Spec:
    c, flags = spec.conversion, spec.flags.replace("<", "")
    if c in _INTEGER_CONVERSIONS and kind != "integer":
        raise _bad_pattern(pattern, f"%{c} needs an integer input")
    if c in _FLOAT_CONVERSIONS and kind == "integer":
        raise _bad_pattern(pattern, f"%{c} needs a floating-point input")
    if c not in _INTEGER_CONVERSIONS | _FLOAT_CONVERSIONS | _GENERAL_CONVERSIONS:
        raise _bad_pattern(pattern, f"%{c} does not format a number")
    bad = set(flags) & set(_BAD_FLAGS[c])
    if bad:
        raise _bad_pattern(pattern, f"flags {''.join(sorted(bad))!r} do not apply to %{c}")
    if ("-" in flags or "0" in flags) and spec.width is None:
        raise _bad_pattern(pattern, "'-' and '0' need a width")
    if ("-" in flags and "0" in flags) or ("+" in flags and " " in flags):
        raise _bad_pattern(pattern, "conflicting flags")
    if spec.precision is not None and c in "doxc":
        raise _bad_pattern(pattern, f"%{c} takes no precision")
    if spec.precision is not None and c == "a":
        raise _bad_pattern(pattern, "%a with a precision is not supported by pmmlserve")
    return spec


def _justify(text: str, spec: _Spec) -> str:
    # Java measures the width in UTF-16 code units: a supplementary character counts twice.
    length = len(text) + sum(ord(ch) > 0xFFFF for ch in text) if not text.isascii() else len(text)
    if spec.width is None or length >= spec.width:
        return text
    padding = " " * (spec.width - length)
    return text + padding if "-" in spec.flags else padding + text


def _group(digits: str, spec: _Spec) -> str:
    """Insert the English locale's thousands separators into an integer part."""
    if "," not in spec.flags:
        return digits
    head = len(digits) % 3 or 3
    return ",".join([digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)])


def _signed(spec: _Spec, negative: bool, body: str, suffix: str = "") -> str:
    """Sign, zero padding and parentheses around a magnitude, then justification."""
    flags = spec.flags
    lead = ("(" if "(" in flags else "-") if negative else "+" if "+" in flags else \
        " " if " " in flags else ""
    trail = ")" if negative and "(" in flags else ""
    if "0" in flags and spec.width is not None:
        body = body.rjust(spec.width - len(lead) - len(suffix) - len(trail), "0")
    text = lead + body + suffix + trail
    return _justify(text.upper() if spec.upper else text, spec)


def _decimal_with_grouping(number: decimal.Decimal, places: int, spec: _Spec) -> str:
    text = format(number.quantize(decimal.Decimal(1).scaleb(-places), decimal.ROUND_HALF_UP), "f")
    whole, dot, fraction = text.partition(".")
    if places == 0 and "#" in spec.flags:
        dot = "."
    return _group(whole, spec) + dot + fraction


def _round_significant(number: decimal.Decimal, places: int) -> tuple[decimal.Decimal, int]:
    """``number = m * 10**e`` with ``1 <= m < 10`` rounded half up to ``places`` decimals."""
    exponent = number.adjusted()
    mantissa = number.scaleb(-exponent).quantize(decimal.Decimal(1).scaleb(-places),
                                                 decimal.ROUND_HALF_UP)
    if mantissa >= 10:
        exponent += 1
        mantissa = mantissa.scaleb(-1).quantize(decimal.Decimal(1).scaleb(-places))
    return mantissa, exponent


def _scientific_body(number: decimal.Decimal, places: int, spec: _Spec) -> tuple[str, str]:
    if number == 0:
        mantissa, exponent = decimal.Decimal(0).quantize(decimal.Decimal(1).scaleb(-places)), 0
    else:
        mantissa, exponent = _round_significant(number, places)
    body = format(mantissa, "f") + ("." if places == 0 and "#" in spec.flags else "")
    return body, f"e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def _double_hex(magnitude: float) -> str:
    """``Double.toHexString`` without "0x": ``1.8p1``, ``0.0p0``, ``0.0000000000001p-1022``."""
    mantissa, _, exponent = magnitude.hex()[2:].partition("p")  # "1.8000000000000", "+1"
    whole, _, fraction = mantissa.partition(".")
    return f"{whole}.{fraction.rstrip('0') or '0'}p{int(exponent)}"


def _floating(spec: _Spec, value: float) -> str:
    negative = value < 0
    magnitude = abs(value)
    if math.isinf(magnitude):
        return _signed(_without_flags(spec, "0"), negative, "Infinity")
    if spec.conversion == "a":
        hex_body = _double_hex(magnitude)  # a float input is widened to double first
        signed = negative or "+" in spec.flags or " " in spec.flags
        zeros = spec.width - len(hex_body) - 2 - signed if "0" in spec.flags and spec.width else 0
        return _signed(_without_flags(spec, "0"), negative, "0x" + "0" * max(zeros, 0) + hex_body)
    digits, point = java_digits(magnitude)
    number = decimal.Decimal(f"0.{digits}e{point}")
    precision = 6 if spec.precision is None else spec.precision
    if spec.conversion == "f":
        return _signed(spec, negative, _decimal_with_grouping(number, precision, spec))
    if spec.conversion == "e":
        return _signed(spec, negative, *_scientific_body(number, precision, spec))
    significant = max(precision, 1)  # %g
    exponent = 0 if number == 0 else _round_significant(number, significant - 1)[1]
    if -4 <= exponent < significant:
        return _signed(spec, negative,
                       _decimal_with_grouping(number, significant - 1 - exponent, spec))
    return _signed(spec, negative, *_scientific_body(number, significant - 1, spec))


def _without_flags(spec: _Spec, drop: str) -> _Spec:
    """``spec`` without the flags in ``drop`` (Java pads infinities with spaces, not zeros)."""
    return _Spec(spec.conversion, spec.upper, "".join(f for f in spec.flags if f not in drop),
                 spec.width, spec.precision)


def _integer(spec: _Spec, n: int, pattern: str) -> str:
    c = spec.conversion
    if c == "d":
        return _signed(spec, n < 0, _group(str(abs(n)), spec))
    if c == "c":
        if not 0 <= n <= 0x10FFFF:
            raise _bad_pattern(pattern, f"{n} is not a Unicode code point")
        return _justify(chr(n).upper() if spec.upper else chr(n), spec)
    unsigned = n & 0xFFFFFFFF  # Java prints the two's complement of a negative int
    digits = format(unsigned, "o" if c == "o" else "x")
    prefix = ("0" if c == "o" else "0x") if "#" in spec.flags else ""
    if "0" in spec.flags:
        digits = digits.rjust(spec.width - len(prefix), "0")
    text = prefix + digits
    return _justify(text.upper() if spec.upper else text, spec)


def _general(spec: _Spec, value: float, kind: str) -> str:
    if spec.conversion == "b":
        text = "true"  # any present argument
    elif spec.conversion == "h":
        if kind == "integer":
            code = int(value)
        elif kind == "float":
            code = struct.unpack("<i", struct.pack("<f", value))[0]
        else:
            bits = struct.unpack("<q", struct.pack("<d", value))[0]
            code = bits ^ (bits >> 32)
        text = format(code & 0xFFFFFFFF, "x")
    elif kind == "integer":
        text = str(int(value))
    else:
        text = java_float_string(value) if kind == "float" else java_double_string(value)
    if spec.precision is not None:
        text = text[:spec.precision]
    return _justify(text.upper() if spec.upper else text, spec)


def format_number(pattern: str, value: float, kind: str = "double") -> str:
    """``String.format(pattern, value)`` for a ``kind`` ("integer", "float", "double") input.

    Raises
    ------
    EvaluationError
        When Java would refuse the pattern for this input.

    Examples
    --------
    >>> format_number("%.1f", 0.15), format_number("%05d", 42.0, "integer")
    ('0.2', '00042')
    """
    value = value + 0.0  # JPMML holds no -0.0
    out = []
    with decimal.localcontext() as context:
        context.prec = 800  # %f of 1e308 needs every digit
        for piece in _compile(pattern, kind):
            if isinstance(piece, str):
                out.append(piece)
            elif piece.conversion in _GENERAL_CONVERSIONS:
                out.append(_general(piece, value, kind))
            elif kind == "integer":
                out.append(_integer(piece, int(value), pattern))
            else:
                out.append(_floating(piece, value))
    return "".join(out)
