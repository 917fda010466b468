"""Build PMML 4.4 elements with lxml, and format numbers so they read back bit-exact."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
from lxml import etree

__all__ = [
    "PMML_NS",
    "DATA_NS",
    "element",
    "data_cell",
    "local_name",
    "fmt_double",
    "fmt_float",
    "fmt_value",
    "value_type",
    "cell_name",
    "serialize",
]

PMML_NS = "http://www.dmg.org/PMML-4_4"
# Inline-table cells use JPMML's namespace and "data:" prefix, so that JPMML and sklearn2pmml
# documents read the same way (a column is named "prefix:local").
DATA_NS = "http://jpmml.org/jpmml-model/InlineTable"
NSMAP = {None: PMML_NS, "data": DATA_NS}


def element(tag: str, attrib: dict[str, Any] | None = None, *children, text: str | None = None):
    """Return a PMML element; attributes whose value is None are left out.

    Attribute values must already be strings (format numbers with :func:`fmt_double`).
    """
    el = etree.Element(f"{{{PMML_NS}}}{tag}", nsmap=NSMAP)
    if attrib:
        for key, value in attrib.items():
            if value is not None:
                el.set(key, value)
    for child in children:
        if child is not None:
            el.append(child)
    if text is not None:
        el.text = text
    return el


def data_cell(column: str, text: str):
    """One inline-table cell ``<data:column>text</data:column>``."""
    el = etree.Element(f"{{{DATA_NS}}}{column}")
    el.text = text
    return el


def local_name(el) -> str:
    """The tag of ``el`` without its namespace."""
    tag = el.tag
    return tag[tag.index("}") + 1:] if isinstance(tag, str) and tag[:1] == "{" else str(tag)


def fmt_double(x: float) -> str:
    """Shortest decimal that parses back to the same IEEE double (PMML spelling of inf/NaN)."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "INF" if x > 0 else "-INF"
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(x)


def fmt_float(x: float) -> str:
    """Shortest decimal that parses back to the same IEEE single (``x`` must be a float32 value)."""
    f = np.float32(x)
    if float(f) != float(x) and not math.isnan(float(x)):
        raise ValueError(f"{x!r} is not a float32 value")
    if np.isnan(f) or np.isinf(f):
        return fmt_double(float(f))
    if float(f).is_integer() and abs(float(f)) < 1e7:
        return str(int(f))
    text = np.format_float_positional(f, unique=True, trim="-")
    sci = np.format_float_scientific(f, unique=True, trim="-")
    return sci if len(sci) < len(text) else text


def value_type(values) -> str:
    """The PMML ``dataType`` of a collection of category labels."""
    kinds = set()
    for v in values:
        if isinstance(v, (bool, np.bool_)):
            kinds.add("boolean")
        elif isinstance(v, (int, np.integer)):
            kinds.add("integer")
        elif isinstance(v, (float, np.floating)):
            kinds.add("integer" if float(v).is_integer() else "double")
        else:
            kinds.add("string")
    if kinds <= {"boolean"} and kinds:
        return "boolean"
    if kinds <= {"integer"} and kinds:
        return "integer"
    if kinds <= {"integer", "double"} and kinds:
        return "double"
    return "string"


def fmt_value(v: Any) -> str:
    """Spell one category label the way it appears in a document."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return fmt_double(v)
    return str(v)


_NOT_NAME = re.compile(r"[^A-Za-z0-9_.\-]")


def cell_name(field: str, taken: set[str]) -> str:
    """An XML local name for an inline-table column holding ``field`` (unique within ``taken``)."""
    base = _NOT_NAME.sub("_", field).strip("_") or "field"
    if not (base[0].isalpha() or base[0] == "_"):
        base = "_" + base
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def serialize(root) -> bytes:
    """The document as UTF-8 bytes: no indentation, because large ensembles are mostly markup."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
