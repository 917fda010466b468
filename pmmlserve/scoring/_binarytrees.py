"""A large forest of binary trees read as :class:`~pmmlserve.pmml._document.BinaryNodes`, lowered
straight to the :class:`~pmmlserve.scoring._forest.Forest` arrays, with no IR and no node
objects: the shape gradient-boosted forests come in, where the IR path spent most of a load on
objects it dropped right after.

It applies only where its result is certain to equal the IR lowering's: a node's two children
test complementary predicates (``x <= t`` then ``x > t``, or ``==`` / ``!=``; the same
:func:`~pmmlserve.scoring._treeir.complements` decides), or it has one child and the
noTrueChildStrategy says what the other outcome gives, the root's predicate is ``True``, the
missing value strategy is ``defaultChild``, ``nullPrediction``, ``lastPrediction`` or ``none``,
and the forest is large enough for one record to go through the bit kernel (nothing is written
out as code, so nothing needs the IR).  Anything else returns None, and the IR path lowers the
forest (and reports what is wrong with it).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from pmmlserve.pmml import _document as d
from pmmlserve.scoring import _forest
from pmmlserve.scoring._forest import Forest
from pmmlserve.scoring._predicates import compile_predicate
from pmmlserve.scoring._scope import Scope
from pmmlserve.scoring._treeir import complements
from pmmlserve.scoring._values import f32

__all__ = ["binary_forest"]

_STRATEGIES = ("defaultChild", "nullPrediction", "lastPrediction", "none")


def binary_forest(trees: list[d.TreeModel], scope: Scope,
                  predicates: dict) -> Optional[tuple[Forest, np.ndarray]]:
    """(the forest, the value of each leaf position) for ``trees``, or None (see module doc).

    ``predicates`` memoises compiled simple predicates by (field, operator, value), as
    :func:`~pmmlserve.scoring._treeir.lower_tree` does.
    """
    if not trees or not all(_eligible(t) for t in trees):
        return None
    balanced = sum((t.binary.children.count(0) - 1).bit_length() for t in trees)
    if balanced < _forest._BITS_PATHS:
        return None  # small: its trees are written out as code, from the IR
    lowering = _Lowering(scope, predicates)
    for t, tree in enumerate(trees):
        if not lowering.tree(t, tree):
            return None
    forest = Forest.from_decisions(len(lowering.values), lowering.leaf_trees,
                                   lowering.predicates, lowering.yes, lowering.no,
                                   lowering.unknown, lowering.roots, lowering.depths)
    if not forest.record_bits:
        return None
    return forest, np.array(lowering.values, dtype=np.float64)


def _eligible(tree: d.TreeModel) -> bool:
    return (tree.binary is not None and tree.binary.fields[0] is None
            and tree.missing_value_strategy in _STRATEGIES
            and tree.no_true_child_strategy in ("returnNullPrediction", "returnLastPrediction"))


class _Lowering:
    """Decisions and leaves of the forest, tree by tree, as :meth:`Forest.from_decisions`
    takes them."""

    def __init__(self, scope: Scope, predicates: dict):
        self.scope = scope
        self.memo = predicates
        self.values: list[float] = []  # per leaf position
        self.leaf_trees: list[int] = []
        self.predicates: list = []     # per decision
        self.yes: list[int] = []
        self.no: list[int] = []
        self.unknown: list[int] = []
        self.roots: list[int] = []
        self.depths: list[int] = []

    def _leaf(self, t: int, value: float) -> int:
        self.values.append(value)
        self.leaf_trees.append(t)
        return len(self.values) - 1

    def _predicate(self, b: d.BinaryNodes, i: int):
        key = (b.fields[i], b.operators[i], b.values[i])
        compiled = self.memo.get(key)
        if compiled is None:
            kind = d.SimpleSetPredicate if key[1] in ("isIn", "isNotIn") else d.SimplePredicate
            compiled = self.memo[key] = compile_predicate(kind(*key, b.predicate_lines[i]),
                                                          self.scope)
        return compiled

    def tree(self, t: int, tree: d.TreeModel) -> bool:
        """Add tree ``t``; False when it needs the IR path after all."""
        b = tree.binary
        n = len(b.children)
        floats = tree.common.math_context == "float"
        scores: list[float] = []
        for s in b.scores:
            try:
                x = float("nan") if s is None else float(s)
            except ValueError:
                return False  # the IR path reports it, with the line
            scores.append(f32(x) if floats else x)
        kids = b.children
        after = [0] * (n + 1)  # after[i]: the node that follows i's subtree
        for i in range(n - 1, -1, -1):
            a = i + 1
            for _ in range(kids[i]):
                a = after[a]
            after[i] = a
        strategy = tree.missing_value_strategy
        if strategy == "none" and max(kids) > 2:
            return False  # a missing value walks on along a chain: the IR path
        last = tree.no_true_child_strategy == "returnLastPrediction"
        # codes: leaf position, or ~decision; a node's (first) decision is numbered first
        code = [0] * n
        internal = [i for i in range(n) if kids[i]]
        decisions: dict[int, tuple] = {}  # decision -> (predicate, yes, no, unknown)
        first = len(self.predicates)
        for k, i in enumerate(internal):
            code[i] = ~(first + k)
        following = first + len(internal)  # the next decision of a chain
        for i in range(n):
            if not kids[i]:
                code[i] = self._leaf(t, scores[i])
        null: list[int] = []
        own: dict[int, int] = {}

        def prediction(i: int) -> int:
            """Node ``i``'s own prediction as a leaf (the null leaf if it has no score)."""
            if b.scores[i] is None:
                return missing()
            if i not in own:
                own[i] = self._leaf(t, scores[i])
            return own[i]

        def missing() -> int:
            if not null:
                null.append(self._leaf(t, float("nan")))
            return null[0]

        for i in internal:
            children = [i + 1]
            for _ in range(kids[i] - 1):
                children.append(after[children[-1]])
            tests = [self._predicate(b, c) for c in children]
            if any(p.always is not None for p in tests):
                return False
            if strategy == "defaultChild":
                default = b.default_children[i]
                if default is None:
                    unknown = missing()
                else:
                    named = [c for c in children if b.ids[c] == default]
                    if not named:
                        return False  # names no child: the IR path reports it
                    unknown = code[named[0]]
            elif strategy == "lastPrediction":
                unknown = prediction(i)
            elif strategy == "nullPrediction":
                unknown = missing()
            else:  # none: the next test (None below), or past a complement pair the end
                unknown = None
            # the chain of tests, as the IR lowers it: "c_j TRUE -> c_j, FALSE -> the rest";
            # a test followed by its complement decides between both children at once
            links, j = [], 0
            while j < len(children):
                if j + 1 < len(children) and complements(tests[j], tests[j + 1]):
                    links.append((tests[j], code[children[j]], code[children[j + 1]], True))
                    j += 2
                else:
                    links.append((tests[j], code[children[j]], None, False))
                    j += 1
            number = ~code[i]
            for k, (test, yes, no, pair) in enumerate(links):
                if k + 1 < len(links):
                    nxt, following = following, following + 1
                    no = ~nxt if no is None else no
                    if no != ~nxt:
                        return False  # a complement pair before more children: IR path
                elif no is None:  # no child TRUE
                    no = prediction(i) if last else missing()
                if unknown is not None:
                    decisions[number] = (test, yes, no, unknown)
                elif pair:  # "none" (two children at most): past a pair, no child TRUE
                    decisions[number] = (test, yes, no, prediction(i) if last else missing())
                else:  # "none": the next test
                    decisions[number] = (test, yes, no, no)
                if k + 1 < len(links):
                    number = nxt
        for k in range(first, following):
            test, yes, no, unknown = decisions[k]
            self.predicates.append(test)
            self.yes.append(yes)
            self.no.append(no)
            self.unknown.append(unknown)
        self.roots.append(code[0])
        self.depths.append(following - first)  # a bound on the longest path
        return True
