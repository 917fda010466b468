"""Reading predicates and tree nodes: node by node into the typed document's
:class:`~pmmlserve.pmml._document.TreeNode`, or, for trees of plain nodes as forests are written,
into columns (:class:`~pmmlserve.pmml._document.NodeColumns`)."""

from __future__ import annotations

from typing import Optional

from lxml import etree

from pmmlserve.exceptions import InvalidMarkupError
from pmmlserve.pmml import _document as d
from pmmlserve.pmml._elements import (
    MODEL_ELEMENTS,
    PREDICATE_ELEMENTS,
    child_named,
    local_name,
    number,
    require,
    unsupported,
)

__all__ = ["predicate", "find_predicate", "tree_node", "node_columns"]


def predicate(e: etree._Element) -> d.Predicate:
    name = local_name(e)
    if name == "SimplePredicate":
        return d.SimplePredicate(require(e, "field"), require(e, "operator"), e.get("value"),
                                 e.sourceline)
    if name == "SimpleSetPredicate":
        array = child_named(e, "Array")
        if array is None:
            raise InvalidMarkupError("an Array is required", element=name, line=e.sourceline)
        return d.SimpleSetPredicate(require(e, "field"), require(e, "booleanOperator"),
                                    tuple(_array_values(array)), e.sourceline)
    if name == "CompoundPredicate":
        parts = tuple(predicate(c) for c in e if local_name(c) in PREDICATE_ELEMENTS)
        return d.CompoundPredicate(require(e, "booleanOperator"), parts, e.sourceline)
    if name == "True":
        return d.TruePredicate(e.sourceline)
    if name == "False":
        return d.FalsePredicate(e.sourceline)
    raise unsupported(e, f"predicate <{name}> is not supported")


def find_predicate(e: etree._Element) -> d.Predicate:
    for c in e:
        if local_name(c) in PREDICATE_ELEMENTS:
            return predicate(c)
    raise InvalidMarkupError("a predicate is required", element=local_name(e), line=e.sourceline)


def _array_values(array: etree._Element) -> list[str]:
    """Split an Array's content: whitespace-separated, with double-quoted entries allowed."""
    text = array.text or ""
    values, i, n = [], 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text[i] == '"':
            j, buf = i + 1, []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            values.append("".join(buf))
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace():
                j += 1
            values.append(text[i:j])
            i = j
    return values


_NODE_UNSUPPORTED = frozenset(MODEL_ELEMENTS + ("Partition", "Regression", "DecisionTree"))
_PREDICATES = frozenset(PREDICATE_ELEMENTS)


def tree_node(e: etree._Element) -> d.TreeNode:
    # one pass over the children: trees are most of a large document
    found = None
    children = []
    distributions = []
    for c in e:
        name = local_name(c)
        if name == "Node":
            children.append(tree_node(c))
        elif name == "ScoreDistribution":
            distributions.append(d.ScoreDistribution(
                require(c, "value"), number(c, "recordCount", required=True),
                number(c, "probability"), number(c, "confidence")))
        elif name in _PREDICATES:
            if found is None:
                found = predicate(c)
        elif name in _NODE_UNSUPPORTED:
            raise unsupported(c, f"<{name}> inside a tree Node is not supported")
    if found is None:
        raise InvalidMarkupError("a predicate is required", element="Node", line=e.sourceline)
    return d.TreeNode(found, tuple(children), e.get("score"), e.get("id"),
                      number(e, "recordCount"), e.get("defaultChild"), tuple(distributions),
                      e.sourceline)


def node_columns(top: etree._Element) -> Optional[d.NodeColumns]:
    """The tree as :class:`~pmmlserve.pmml._document.NodeColumns`, or None when it has any
    other shape (then :func:`tree_node` reads it, and reports what is wrong with it).

    One pass over the tree's elements in document order, which must alternate "a Node, its
    predicate (with its Array)": then every Node's first child is its predicate and all its
    other children are Nodes, with no element proxy made twice.  A predicate anywhere else,
    a Node without one, or any other element gives None.
    """
    ns = top.tag[:-4]  # "{namespace}" of "{namespace}Node"
    node_tag, simple_tag = ns + "Node", ns + "SimplePredicate"
    set_tag, array_tag, true_tag = ns + "SimpleSetPredicate", ns + "Array", ns + "True"
    rows = []  # per node, in document order: a row of the columns, transposed at the end
    append = rows.append
    node = None  # the Node whose predicate comes next
    elements = top.iter()
    for e in elements:
        tag = e.tag
        if tag == node_tag:
            if node is not None or not len(e):
                return None  # a Node whose first child is not a predicate, or with none
            node = e
            continue
        if node is None:
            return None  # not the first child of a Node
        n, node = node, None
        # The attributes: one items() call each for the Node and its predicate, read in a loop
        # written out twice (a shared helper made reading a large forest's nodes 20-25% slower)
        node_id = score = default = None
        for name, text in n.items():
            if name == "score":
                score = text
            elif name == "id":
                node_id = text
            elif name == "defaultChild":
                default = text
            else:
                return None  # an attribute of another name
        attributes = e.items()
        if tag == simple_tag:
            field = operator = value = None
            for name, text in attributes:
                if name == "field":
                    field = text
                elif name == "operator":
                    operator = text
                elif name == "value":
                    value = text
                else:
                    return None
            if field is None or operator is None or len(e):
                return None
        elif tag == set_tag:
            a = dict(attributes)
            field, operator = a.pop("field", None), a.pop("booleanOperator", None)
            if a or field is None or operator not in ("isIn", "isNotIn") or len(e) != 1:
                return None
            array = next(elements)  # its only child
            if array.tag != array_tag:
                return None
            value = tuple(_array_values(array))
        elif not rows and tag == true_tag and not len(e) and not attributes:
            field = operator = value = None
        else:
            return None
        append((node_id, score, default, field, operator, value, len(n) - 1, n.sourceline,
                e.sourceline))
    if node is not None:
        return None  # the last Node has no predicate
    return d.NodeColumns(*zip(*rows))
