"""Tree IR: a PMML tree (multiway children, three-valued predicates, a missing value strategy)
lowered into binary decisions, then into parallel arrays for the numpy kernel.

Lowering a node with children c1..ck gives a chain of decisions: "c1's predicate is TRUE → c1,
FALSE → next decision, UNKNOWN → as the strategy says"; past the last child the
noTrueChildStrategy applies.  When two consecutive predicates are complements over the field's
domain (``x <= t`` / ``x > t``), the second test is dropped, which keeps ``defaultChild`` trees
(HistGradientBoosting, LightGBM) free of repeated subtrees.
"""

from __future__ import annotations

from dataclasses import dataclass
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

__all__ = ["Leaf", "Decision", "lower_tree", "depth"]


@dataclass(eq=False, slots=True)
class Leaf:
    """Where evaluation stops: a document node (its score), or ``None`` for a null prediction."""

    node: Optional[d.TreeNode]
    entity_id: Optional[str] = None


@dataclass(eq=False, slots=True)
class Decision:
    predicate: CompiledPredicate
    yes: "IRNode"
    no: "IRNode"
    unknown: "IRNode"


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
    def __init__(self, tree: d.TreeModel, scope: Scope, predicates: dict):
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
        self.root = tree.nodes()
        self.scope = scope
        self.predicates = predicates
        self.strategy = tree.missing_value_strategy
        self.null = Leaf(None)
        self._built: dict[int, IRNode] = {}
        self._implicit: Optional[dict[int, str]] = None

    def _implicit_id(self, node: d.TreeNode) -> str:
        """JPMML's id for a node without one: its 1-based depth-first pre-order position."""
        if self._implicit is None:
            self._implicit = {}
            stack = [self.root]
            while stack:
                n = stack.pop()
                self._implicit[id(n)] = str(len(self._implicit) + 1)
                stack.extend(reversed(n.children))
        return self._implicit[id(node)]

    def leaf(self, node: d.TreeNode) -> IRNode:
        if node.score is None and not node.distributions:
            return self.null  # a node without a score cannot be "the last prediction"
        return Leaf(node, node.id if node.id is not None else self._implicit_id(node))

    def build(self, node: d.TreeNode) -> IRNode:
        key = id(node)
        if key not in self._built:
            self._built[key] = self._build(node)
        return self._built[key]

    def _build(self, node: d.TreeNode) -> IRNode:
        children = []
        for child in node.children:
            pred = self.predicate(child.predicate)
            if pred.always is False:
                continue
            children.append((child, pred))
            if pred.always is True:
                break
        if not children:
            return self.leaf(node)
        return self._chain(node, children, 0)

    def predicate(self, p: d.Predicate) -> CompiledPredicate:
        # forests repeat their thresholds: compile each distinct simple test once
        if type(p) is not d.SimplePredicate:
            return compile_predicate(p, self.scope)
        key = (p.field, p.operator, p.value)
        compiled = self.predicates.get(key)
        if compiled is None:
            compiled = self.predicates[key] = compile_predicate(p, self.scope)
        return compiled

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


def lower_tree(tree: d.TreeModel, scope: Scope,
               predicates: Optional[dict] = None) -> tuple[IRNode, Leaf]:
    """Lower a TreeModel to the binary IR; returns (root, the shared null-prediction leaf).

    ``predicates`` memoises compiled simple predicates; trees lowered in one scope may share it.
    """
    lowering = _Lowering(tree, scope, {} if predicates is None else predicates)
    root_pred = lowering.predicate(lowering.root.predicate)
    root = lowering.build(lowering.root)
    if root_pred.always is not True:
        # a root predicate other than True: FALSE/UNKNOWN at the root means no prediction
        root = Decision(root_pred, root, lowering.null, lowering.null)
    return root, lowering.null


def depth(root: IRNode, memo: Optional[dict] = None) -> int:
    """Length of the longest decision path (``memo`` may be shared by trees sharing nodes).

    Iterative: a chain lowered from a node with thousands of children is that deep.
    """
    memo = {} if memo is None else memo
    stack = [root]
    while stack:
        node = stack[-1]
        if type(node) is Leaf or id(node) in memo:
            stack.pop()
            continue
        kids = (node.yes, node.no, node.unknown)
        pending = [k for k in kids if type(k) is not Leaf and id(k) not in memo]
        if pending:
            stack += pending
            continue
        memo[id(node)] = 1 + max(0 if type(k) is Leaf else memo[id(k)] for k in kids)
        stack.pop()
    return 0 if type(root) is Leaf else memo[id(root)]
