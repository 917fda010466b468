"""Tree IR: a PMML tree (multiway children, three-valued predicates, a missing value strategy)
lowered into binary decisions, then into parallel arrays for the numpy kernel.

Lowering a node with children c1..ck gives a chain of decisions: "c1's predicate is TRUE → c1,
FALSE → next decision, UNKNOWN → as the strategy says"; past the last child the
noTrueChildStrategy applies.  When two consecutive predicates are complements over the field's
domain (``x <= t`` / ``x > t``), the second test is dropped, which keeps ``defaultChild`` trees
(HistGradientBoosting, LightGBM) free of repeated subtrees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from pmmlserve.exceptions import InvalidMarkupError, UnsupportedMarkupError
from pmmlserve.pmml import _document as d
from pmmlserve.scoring._predicates import (
    Comparison,
    CompiledPredicate,
    Membership,
    compile_predicate,
)
from pmmlserve.scoring._scope import Scope

__all__ = ["Leaf", "Decision", "lower_tree", "iter_nodes", "depth"]


@dataclass(eq=False)
class Leaf:
    """Where evaluation stops: a document node (its score), or ``None`` for a null prediction."""

    node: Optional[d.TreeNode]
    entity_id: Optional[str] = None


@dataclass(eq=False)
class Decision:
    predicate: CompiledPredicate
    yes: "IRNode"
    no: "IRNode"
    unknown: "IRNode"
    lines: list = field(default_factory=list)


IRNode = Union[Leaf, Decision]

_STRATEGIES = ("none", "nullPrediction", "lastPrediction", "defaultChild")


def _sets(p: CompiledPredicate):
    """(field, set of values it accepts, is the set negated) for set-like predicates."""
    if isinstance(p, Membership):
        return p.field, p.values, p.negate
    if isinstance(p, Comparison) and p.op in ("equal", "notEqual"):
        return p.field, frozenset([p.value]), p.op == "notEqual"
    return None


_OPPOSITE = {"lessOrEqual": "greaterThan", "lessThan": "greaterOrEqual",
             "greaterThan": "lessOrEqual", "greaterOrEqual": "lessThan"}


def complements(a: CompiledPredicate, b: CompiledPredicate) -> bool:
    """Whether exactly one of ``a``, ``b`` is TRUE for every non-missing value of their field."""
    if isinstance(a, Comparison) and isinstance(b, Comparison) and a.field is b.field \
            and a.op in _OPPOSITE and _OPPOSITE[a.op] == b.op and a.value == b.value:
        return True
    sa, sb = _sets(a), _sets(b)
    if sa is None or sb is None or sa[0] is not sb[0]:
        return False
    (fa, va, na), (_, vb, nb) = sa, sb
    if va == vb and na != nb:
        return True
    domain = fa.info.valid_values
    if domain is None or na or nb:
        return False
    return not (va & vb) and (va | vb) == frozenset(domain)


class _Lowering:
    def __init__(self, tree: d.TreeModel, scope: Scope):
        if tree.missing_value_strategy not in _STRATEGIES:
            raise UnsupportedMarkupError(
                f"missingValueStrategy={tree.missing_value_strategy!r} is not supported "
                f"(supported: {', '.join(_STRATEGIES)})", element="TreeModel",
                line=tree.common.line)
        if tree.no_true_child_strategy not in ("returnNullPrediction", "returnLastPrediction"):
            raise UnsupportedMarkupError(
                f"noTrueChildStrategy={tree.no_true_child_strategy!r} is not supported",
                element="TreeModel", line=tree.common.line)
        self.tree = tree
        self.scope = scope
        self.strategy = tree.missing_value_strategy
        self.null = Leaf(None)
        self._built: dict[int, IRNode] = {}
        self._ids: dict[int, str] = {}
        self._number(tree.root, [0])

    def _number(self, node: d.TreeNode, counter: list) -> None:
        # JPMML's implicit node ids: 1-based, depth-first, pre-order
        counter[0] += 1
        self._ids[id(node)] = node.id if node.id is not None else str(counter[0])
        for child in node.children:
            self._number(child, counter)

    def leaf(self, node: d.TreeNode) -> IRNode:
        if node.score is None and not node.distributions:
            return self.null  # a node without a score cannot be "the last prediction"
        return Leaf(node, self._ids[id(node)])

    def build(self, node: d.TreeNode) -> IRNode:
        key = id(node)
        if key not in self._built:
            self._built[key] = self._build(node)
        return self._built[key]

    def _build(self, node: d.TreeNode) -> IRNode:
        children = []
        for child in node.children:
            pred = compile_predicate(child.predicate, self.scope)
            if pred.always is False:
                continue
            children.append((child, pred))
            if pred.always is True:
                break
        if not children:
            return self.leaf(node)
        return self._chain(node, children, 0)

    def _end(self, node: d.TreeNode) -> IRNode:
        if self.tree.no_true_child_strategy == "returnLastPrediction":
            return self.leaf(node)
        return self.null

    def _chain(self, node: d.TreeNode, children: list, i: int) -> IRNode:
        if i == len(children):
            return self._end(node)
        child, pred = children[i]
        if pred.always is True:
            return self.build(child)
        if i + 1 < len(children) and complements(pred, children[i + 1][1]):
            no = self.build(children[i + 1][0])
            rest = lambda: self._chain(node, children, i + 2)  # noqa: E731
        else:
            no = self._chain(node, children, i + 1)
            rest = lambda: no  # noqa: E731
        return Decision(pred, self.build(child), no, self._unknown(node, rest))

    def _unknown(self, node: d.TreeNode, rest) -> IRNode:
        s = self.strategy
        if s == "none":
            return rest()
        if s == "nullPrediction":
            return self.null
        if s == "lastPrediction":
            return self.leaf(node)
        default = node.default_child
        if default is None:
            return self.null
        for child in node.children:
            if child.id is not None and child.id == default:
                return self.build(child)
        raise InvalidMarkupError(f"defaultChild={default!r} names no child of node "
                                 f"{node.id!r}", element="Node", line=node.line)


def lower_tree(tree: d.TreeModel, scope: Scope) -> tuple[IRNode, Leaf]:
    """Lower a TreeModel to the binary IR; returns (root, the shared null-prediction leaf)."""
    lowering = _Lowering(tree, scope)
    root_pred = compile_predicate(tree.root.predicate, scope)
    root = lowering.build(tree.root)
    if root_pred.always is not True:
        # a root predicate other than True: FALSE/UNKNOWN at the root means no prediction
        root = Decision(root_pred, root, lowering.null, lowering.null)
    return root, lowering.null


def iter_nodes(root: IRNode) -> list[IRNode]:
    """All distinct IR nodes reachable from ``root`` (each once, parents before children)."""
    seen: dict[int, IRNode] = {}
    stack = [root]
    order = []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        order.append(node)
        if isinstance(node, Decision):
            stack.extend((node.unknown, node.no, node.yes))
    return order


def depth(root: IRNode) -> int:
    """Length of the longest decision path."""
    memo: dict[int, int] = {}

    def go(node: IRNode) -> int:
        if isinstance(node, Leaf):
            return 0
        k = id(node)
        if k not in memo:
            memo[k] = 1 + max(go(node.yes), go(node.no), go(node.unknown))
        return memo[k]

    import sys
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10000))
    try:
        return go(root)
    finally:
        sys.setrecursionlimit(limit)
