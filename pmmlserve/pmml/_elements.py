"""Small accessors over lxml elements for the reader: local names (any PMML namespace),
children by name, and attributes that are required, numbers or booleans, each failing with a
:class:`~pmmlserve.exceptions.InvalidMarkupError` that names the element and its line."""

from __future__ import annotations

from typing import Optional

from lxml import etree

from pmmlserve.exceptions import InvalidMarkupError, UnsupportedMarkupError

__all__ = ["local_name", "children_named", "child_named", "require", "number", "unsupported",
           "bool_attribute", "MODEL_ELEMENTS", "EXPRESSION_ELEMENTS", "PREDICATE_ELEMENTS"]

MODEL_ELEMENTS = ("RegressionModel", "TreeModel", "MiningModel", "NeuralNetwork")
EXPRESSION_ELEMENTS = (
    "Constant", "FieldRef", "NormContinuous", "NormDiscrete", "Discretize", "MapValues", "Apply"
)
PREDICATE_ELEMENTS = ("SimplePredicate", "SimpleSetPredicate", "CompoundPredicate", "True", "False")

_LOCAL_NAMES: dict[str, str] = {}


def local_name(element: etree._Element) -> str:
    """The element's name without its namespace (cached per tag)."""
    tag = element.tag
    if not isinstance(tag, str):  # comments and processing instructions are removed already
        return ""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = _LOCAL_NAMES.setdefault(tag, tag.rsplit("}", 1)[-1])
    return name


def children_named(element: etree._Element, *names: str) -> list[etree._Element]:
    """The children with these local names, in document order (filtered by lxml: no element
    proxy for the others)."""
    return list(element.iterchildren(*(_ANY_NAMESPACE[n] for n in names)))


class _AnyNamespace(dict):
    """name -> "{*}name", lxml's tag for that local name in any namespace (or none)."""

    def __missing__(self, name: str) -> str:
        self[name] = tag = "{*}" + name
        return tag


_ANY_NAMESPACE = _AnyNamespace()


def child_named(element: etree._Element, name: str) -> Optional[etree._Element]:
    for c in element:
        if local_name(c) == name:
            return c
    return None


def require(element: etree._Element, attribute: str) -> str:
    value = element.get(attribute)
    if value is None:
        raise InvalidMarkupError(
            f"required attribute {attribute!r} is missing", element=local_name(element),
            line=element.sourceline,
        )
    return value


def number(element: etree._Element, attribute: str, default=None, *, required=False):
    text = require(element, attribute) if required else element.get(attribute)
    if text is None:
        return default
    try:
        return float(text)
    except ValueError:
        raise InvalidMarkupError(
            f"attribute {attribute}={text!r} is not a number", element=local_name(element),
            line=element.sourceline,
        ) from None


def unsupported(element: etree._Element, what: str | None = None) -> UnsupportedMarkupError:
    name = local_name(element)
    return UnsupportedMarkupError(what or f"<{name}> is not supported", element=name,
                                  line=element.sourceline)


def bool_attribute(element: etree._Element, attribute: str, default: bool) -> bool:
    text = element.get(attribute)
    if text is None:
        return default
    if text not in ("true", "false", "1", "0"):
        raise InvalidMarkupError(f"attribute {attribute}={text!r} is not a boolean",
                                 element=local_name(element), line=element.sourceline)
    return text in ("true", "1")
