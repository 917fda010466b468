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
            and tree.missing_value_strategy in _STRATEGY_CODES
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
        """Add tree ``t``; False when it needs the IR path after all.

        One pass from the last node to the first (children before parents), as
        :meth:`~pmmlserve.pmml._document.NodeColumns.root` builds nodes: a node's children are
        the top entries of a stack of finished subtrees, so every decision is written once,
        with its targets already known (a chain from its last test to its first).
        """
        b = tree.columns
        kids = b.children
        if tree.missing_value_strategy == "none" and max(kids) > 2:
            return False  # a missing value walks on along a chain: the IR path
        strategy = _STRATEGY_CODES[tree.missing_value_strategy]
        floats = tree.common.math_context == "float"
        last = tree.no_true_child_strategy == "returnLastPrediction"
        values, leaf_trees = self.values, self.leaf_trees
        predicates, yes, no, unknown = self.predicates, self.yes, self.no, self.unknown
        memo, scores, lines = self.memo, b.scores, b.predicate_lines
        fields, operators, tested = b.fields, b.operators, b.values
        first = len(predicates)
        null = -1  # the tree's leaf with no prediction, once needed

        def missing() -> int:
            nonlocal null
            if null < 0:
                values.append(_NAN)
                leaf_trees.append(t)
                null = len(values) - 1
            return null

        def leaf(i: int) -> int:
            """Node ``i``'s score as a new leaf (NaN without one)."""
            x = scores[i]
            if x is not None:
                x = float(x)  # a ValueError: the IR path reports it, with the line
                if floats:
                    x = f32(x)
            values.append(_NAN if x is None else x)
            leaf_trees.append(t)
            return len(values) - 1

        def prediction(i: int) -> int:
            """Node ``i``'s own prediction as a leaf (the missing one without a score)."""
            return missing() if scores[i] is None else leaf(i)

        def where_missing(i: int, children: list):
            """The code a missing value goes to from node ``i`` by the tree's strategy (not
            "none"); False when defaultChild names no child (the IR path reports it)."""
            if strategy == _DEFAULT:
                default = self._default(b, i, children)
                return missing() if default is None else default
            return missing() if strategy == _NULL else prediction(i)

        stack: list[tuple[int, int]] = []  # (node, the code its subtree starts at)
        try:
            for i in range(len(kids) - 1, -1, -1):
                k = kids[i]
                if not k:
                    stack.append((i, leaf(i)))
                    continue
                children = stack[-k:]
                del stack[-k:]
                children.reverse()  # the first child was finished last
                tests = []
                for c, _ in children:
                    key = (fields[c], operators[c], tested[c])
                    test = memo.get(key)
                    if test is None:
                        test = self._compile(key, lines[c])
                    tests.append(test)
                if k == 2 and tests[0].always is None and tests[1].always is None and \
                        complements(tests[0], tests[1]):
                    # the common case: one test decides between both children ("none": a
                    # missing value finds no child TRUE)
                    u = where_missing(i, children) if strategy != _NONE else \
                        prediction(i) if last else missing()
                    if u is False:
                        return False
                    predicates.append(tests[0])
                    yes.append(children[0][1])
                    no.append(children[1][1])
                    unknown.append(u)
                    stack.append((i, ~(len(predicates) - 1)))
                    continue
                # children tested in turn, as the IR lowers them: "c_j TRUE -> c_j, FALSE ->
                # the rest", a test followed by its complement deciding both children at once
                links, j = [], 0
                for test in tests:
                    if test.always is not None:
                        return False
                while j < k:
                    if j + 1 < k and complements(tests[j], tests[j + 1]):
                        links.append((tests[j], children[j][1], children[j + 1][1]))
                        j += 2
                    else:
                        links.append((tests[j], children[j][1], None))
                        j += 1
                if any(link[2] is not None for link in links[:-1]):
                    return False  # a complement pair before more children: the IR path
                # a missing value: by the strategy, or under "none" on to the next test
                u = None if strategy == _NONE else where_missing(i, children)
                if u is False:
                    return False
                test, y, n = links[-1]
                if n is None:  # no child TRUE
                    n = (u if strategy == _LAST else prediction(i)) if last else missing()
                # (a pair ends a chain only under a strategy: "none" takes two children at
                # most, and two complementary ones are the common case above)
                predicates.append(test)
                yes.append(y)
                no.append(n)
                unknown.append(n if u is None else u)
                for test, y, _ in reversed(links[:-1]):
                    n = ~(len(predicates) - 1)
                    predicates.append(test)
                    yes.append(y)
                    no.append(n)
                    unknown.append(n if u is None else u)
                stack.append((i, ~(len(predicates) - 1)))
        except ValueError:  # a score that is not a number, or a MarkupError from a predicate:
            return False    # the IR path reports it, with the line
        self.roots.append(stack[0][1])
        self.depths.append(len(predicates) - first)  # a bound on the longest path
        return True

    @staticmethod
    def _default(b: d.NodeColumns, i: int, children: list):
        """The code of node ``i``'s defaultChild; None when it names none, False when it names
        no child of ``i`` (the IR path reports it)."""
        default = b.default_children[i]
        if default is None:
            return None
        for c, code in children:
            if b.ids[c] == default:
                return code
        return False


_NONE, _NULL, _LAST, _DEFAULT = range(4)
_STRATEGY_CODES = {"none": _NONE, "nullPrediction": _NULL, "lastPrediction": _LAST,
                   "defaultChild": _DEFAULT}
_NAN = float("nan")
