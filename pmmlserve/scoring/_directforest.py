"""A large forest whose trees were read as :class:`~pmmlserve.pmml._document.NodeColumns`,
lowered straight to the :class:`~pmmlserve.scoring._forest.Forest` arrays, with no IR and no
node objects: the shape gradient-boosted forests come in, where the IR path spent most of a load
on objects it dropped right after.

It applies only where its result is certain to equal the IR lowering's: a node's two children
test complementary predicates (``x <= t`` then ``x > t``, or ``==`` / ``!=``; the same
:func:`~pmmlserve.scoring._treeir.complements` decides), or its children are tested in turn
(with the node's own score for "no child TRUE" under returnLastPrediction: sklearn2pmml's
GradientBoosting trees), the root's predicate is ``True``, the missing value strategy is
``defaultChild``, ``nullPrediction``, ``lastPrediction`` or ``none`` (then two children at most),
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

__all__ = ["direct_forest"]

_STRATEGIES = ("defaultChild", "nullPrediction", "lastPrediction", "none")


def direct_forest(trees: list[d.TreeModel], scope: Scope,
                  predicates: dict) -> Optional[tuple[Forest, np.ndarray]]:
    """(the forest, the value of each leaf position) for ``trees``, or None (see module doc).

    ``predicates`` memoises compiled simple predicates by (field, operator, value), as
    :func:`~pmmlserve.scoring._treeir.lower_tree` does.
    """
    if not trees or not all(_eligible(t) for t in trees):
        return None
    balanced = sum((t.columns.children.count(0) - 1).bit_length() for t in trees)
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
    return (tree.columns is not None and tree.columns.fields[0] is None
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

    def _compile(self, key: tuple, line: Optional[int]):
        kind = d.SimpleSetPredicate if key[1] in ("isIn", "isNotIn") else d.SimplePredicate
        compiled = self.memo[key] = compile_predicate(kind(*key, line), self.scope)
        return compiled

    def tree(self, t: int, tree: d.TreeModel) -> bool:
        """Add tree ``t``; False when it needs the IR path after all."""
        b = tree.columns
        kids = b.children
        n = len(kids)
        strategy = tree.missing_value_strategy
        if strategy == "none" and max(kids) > 2:
            return False  # a missing value walks on along a chain: the IR path
        floats = tree.common.math_context == "float"
        last = tree.no_true_child_strategy == "returnLastPrediction"
        values, leaf_trees = self.values, self.leaf_trees

        def leaf(value: float) -> int:
            values.append(value)
            leaf_trees.append(t)
            return len(values) - 1

        def score(i: int) -> float:
            x = float(b.scores[i])  # a ValueError: the IR path reports it, with the line
            return f32(x) if floats else x

        after = [0] * (n + 1)  # after[i]: the node that follows i's subtree
        for i in range(n - 1, -1, -1):
            k = kids[i]
            after[i] = i + 1 if k == 0 else after[after[i + 1]] if k == 2 else \
                _skip(after, i + 1, k)
        # codes: leaf position, or ~decision; a node's (first) decision is numbered first
        internal = [i for i in range(n) if kids[i]]
        first = len(self.predicates)
        following = first + len(internal)  # the next decision of a chain
        code = [0] * n
        try:
            for k, i in enumerate(internal):
                code[i] = ~(first + k)
            for i in range(n):
                if not kids[i]:
                    code[i] = leaf(float("nan") if b.scores[i] is None else score(i))
            null: list[int] = []
            own: dict[int, int] = {}

            def missing() -> int:
                if not null:
                    null.append(leaf(float("nan")))
                return null[0]

            def prediction(i: int) -> int:
                """Node ``i``'s own prediction as a leaf (none without a score)."""
                if b.scores[i] is None:
                    return missing()
                if i not in own:
                    own[i] = leaf(score(i))
                return own[i]

            keys = list(zip(b.fields, b.operators, b.values))
            memo, lines = self.memo, b.predicate_lines
            decisions: dict[int, tuple] = {}  # decision -> (predicate, yes, no, unknown)
            for i in internal:
                a = i + 1
                pa = memo.get(keys[a])
                if pa is None:
                    pa = self._compile(keys[a], lines[a])
                if kids[i] == 2:
                    c = after[a]
                    pc = memo.get(keys[c])
                    if pc is None:
                        pc = self._compile(keys[c], lines[c])
                    if pa.always is None and pc.always is None and complements(pa, pc):
                        # the common case: one test decides between both children
                        unknown = self._unknown(b, i, (a, c), code, strategy, missing,
                                                prediction, last)
                        if unknown is False:
                            return False
                        decisions[~code[i]] = (pa, code[a], code[c], unknown)
                        continue
                following = self._chain(b, i, after, code, keys, decisions, following,
                                        strategy, missing, prediction, last)
                if following is None:
                    return False
        except ValueError:  # a score that is not a number, or a MarkupError from a predicate:
            return False    # the IR path reports it, with the line
        for k in range(first, following):
            test, yes, no, unknown = decisions[k]
            self.predicates.append(test)
            self.yes.append(yes)
            self.no.append(no)
            self.unknown.append(unknown)
        self.roots.append(code[0])
        self.depths.append(following - first)  # a bound on the longest path
        return True

    @staticmethod
    def _unknown(b: d.NodeColumns, i: int, children: tuple, code: list, strategy: str,
                 missing, prediction, last: bool):
        """Where a missing value goes from node ``i`` past a pair of complementary tests (the
        IR's ``_unknown``); False when defaultChild names no child."""
        if strategy == "defaultChild":
            default = b.default_children[i]
            if default is None:
                return missing()
            for c in children:
                if b.ids[c] == default:
                    return code[c]
            return False  # the IR path reports it
        if strategy == "lastPrediction":
            return prediction(i)
        if strategy == "nullPrediction":
            return missing()
        return prediction(i) if last else missing()  # none: past the pair, no child TRUE

    def _chain(self, b: d.NodeColumns, i: int, after: list, code: list, keys: list,
               decisions: dict, following: int, strategy: str, missing, prediction,
               last: bool) -> Optional[int]:
        """Node ``i``'s children tested in turn, as the IR lowers them: "c_j TRUE -> c_j,
        FALSE -> the rest", a test followed by its complement deciding between both children
        at once.  Returns the next free decision number, None for the IR path."""
        memo, lines = self.memo, b.predicate_lines
        children, tests = [], []
        c = i + 1
        for _ in range(b.children[i]):
            test = memo.get(keys[c]) or self._compile(keys[c], lines[c])
            if test.always is not None:
                return None
            children.append(c)
            tests.append(test)
            c = after[c]
        links, j = [], 0
        while j < len(children):
            if j + 1 < len(children) and complements(tests[j], tests[j + 1]):
                links.append((tests[j], code[children[j]], code[children[j + 1]], True))
                j += 2
            else:
                links.append((tests[j], code[children[j]], None, False))
                j += 1
        unknown = None  # "none": the next test; past a pair, as at the end of the children
        if strategy != "none":
            unknown = self._unknown(b, i, tuple(children), code, strategy, missing, prediction,
                                    last)
            if unknown is False:
                return None
        number = ~code[i]
        for k, (test, yes, no, pair) in enumerate(links):
            if k + 1 < len(links):
                nxt, following = following, following + 1
                if no is not None:
                    return None  # a complement pair before more children: the IR path
                no = ~nxt
            elif no is None:  # no child TRUE
                no = prediction(i) if last else missing()
            if unknown is not None:
                decisions[number] = (test, yes, no, unknown)
            elif pair:
                decisions[number] = (test, yes, no, prediction(i) if last else missing())
            else:
                decisions[number] = (test, yes, no, no)
            if k + 1 < len(links):
                number = nxt
        return following


def _skip(after: list, i: int, k: int) -> int:
    """The node after ``k`` consecutive sibling subtrees, the first at ``i``."""
    for _ in range(k):
        i = after[i]
    return i
