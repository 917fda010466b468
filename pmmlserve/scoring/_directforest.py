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
from pmmlserve.scoring._predicates import compile_simple
from pmmlserve.scoring._scope import Scope
from pmmlserve.scoring._treeir import complements

__all__ = ["direct_forest"]

_NONE, _NULL, _LAST, _DEFAULT = range(4)
_STRATEGY_CODES = {"none": _NONE, "nullPrediction": _NULL, "lastPrediction": _LAST,
                   "defaultChild": _DEFAULT}


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
    lowered = _Lowering(trees, scope, predicates).decisions()
    if lowered is None:
        return None
    values, arguments = lowered
    forest = Forest.from_decisions(*arguments)
    if not forest.record_bits:
        return None
    return forest, values


def _eligible(tree: d.TreeModel) -> bool:
    return (tree.columns is not None and tree.columns.fields[0] is None
            and tree.missing_value_strategy in _STRATEGY_CODES
            and tree.no_true_child_strategy in ("returnNullPrediction", "returnLastPrediction")
            and not (tree.missing_value_strategy == "none" and max(tree.columns.children) > 2))


class _Lowering:
    """The decisions and leaves of a whole forest at once, as :meth:`Forest.from_decisions`
    takes them: the nodes of every tree in one sequence, one pass over it for the shape
    (parents and next siblings), one compilation per distinct predicate, the rest as array
    operations.

    Each node below a root is one decision, "its test TRUE -> the node, FALSE -> its next
    sibling's decision", the last sibling's FALSE going to what "no child TRUE" gives (the
    parent's own score under returnLastPrediction, else no prediction); two last siblings
    with complementary tests make one decision between them (a pair anywhere else: the IR
    path).  A missing value goes where the tree's strategy says, and under "none" on to the
    next test (past a pair: as "no child TRUE").  Leaves: the nodes without children, then,
    where some decision reaches them, each node's own score and each tree's empty prediction.
    """

    def __init__(self, trees: list[d.TreeModel], scope: Scope, memo: dict):
        self.trees = trees
        self.scope = scope
        self.memo = memo
        self.fields: dict = {}  # the fields tested, by name
        columns = [t.columns for t in trees]
        self.columns = columns
        self.sizes = [len(c.children) for c in columns]
        self.kids = [k for c in columns for k in c.children]

    def _compile(self, key: tuple, line: Optional[int]):
        name = key[0]
        field = self.fields.get(name)
        if field is None:
            element = "SimpleSetPredicate" if type(key[2]) is tuple else "SimplePredicate"
            field = self.fields[name] = self.scope.lookup(name, element=element, line=line)
        compiled = self.memo[key] = compile_simple(field, key[1], key[2], line)
        return compiled

    def _shape(self) -> tuple[list[int], list[int]]:
        """Per node, its parent and its next sibling (-1: none), from the children counts."""
        n = len(self.kids)
        parent, following = [-1] * n, [-1] * n
        stack: list[list[int]] = []  # [node, children still to come, its last child so far]
        for i, k in enumerate(self.kids):
            if stack:
                top = stack[-1]
                parent[i] = top[0]
                if top[2] >= 0:
                    following[top[2]] = i
                top[2] = i
                top[1] -= 1
                if not top[1]:
                    stack.pop()
            if k:
                stack.append([i, k, -1])
        return parent, following

    def _tests(self, parent: list[int]) -> Optional[list]:
        """Per node below a root, its compiled test; None for the IR path (a test that does
        not compile, or one that is always TRUE or FALSE)."""
        memo = self.memo
        keys = [k for c in self.columns for k in zip(c.fields, c.operators, c.values)]
        lines = [line for c in self.columns for line in c.predicate_lines]
        tests: list = [None] * len(keys)
        try:
            for i, key in enumerate(keys):
                if parent[i] >= 0:
                    test = memo.get(key)
                    if test is None:
                        test = self._compile(key, lines[i])
                    if test.always is not None:
                        return None
                    tests[i] = test
        except ValueError:  # a MarkupError: the IR path reports it, with the line
            return None
        return tests

    def decisions(self) -> Optional[tuple[np.ndarray, tuple]]:
        """(leaf values, the arguments of :meth:`Forest.from_decisions`), or None."""
        trees, columns, kids_list = self.trees, self.columns, self.kids
        n = len(kids_list)
        parent_list, following_list = self._shape()
        tests = self._tests(parent_list)
        if tests is None:
            return None
        try:  # a ValueError: a score that is not a number; the IR path reports it
            score = np.array([np.nan if x is None else float(x)
                              for c in columns for x in c.scores], dtype=np.float64)
        except ValueError:
            return None
        scored = np.array([x is not None for c in columns for x in c.scores], dtype=bool)
        tree_of = np.repeat(np.arange(len(trees)), self.sizes)
        floats = np.array([t.common.math_context == "float" for t in trees])
        if floats.any():
            rounded = floats[tree_of]
            score[rounded] = score[rounded].astype(np.float32)
        strategy = np.array([_STRATEGY_CODES[t.missing_value_strategy] for t in trees])[tree_of]
        last = np.array([t.no_true_child_strategy == "returnLastPrediction"
                         for t in trees])[tree_of]
        kids = np.array(kids_list, dtype=np.intp)
        parent = np.array(parent_list, dtype=np.intp)
        following = np.array(following_list, dtype=np.intp)

        # complementary siblings: only the last two may pair (an earlier pair: the IR path)
        pair = np.zeros(n, dtype=bool)  # the node and its next sibling make one decision
        seen: dict = {}
        for c in np.flatnonzero(following >= 0).tolist():
            a, b = tests[c], tests[following_list[c]]
            key = (id(a), id(b))
            both = seen.get(key)
            if both is None:
                both = seen[key] = complements(a, b)
            if both:
                if following_list[following_list[c]] >= 0:
                    return None  # a complement pair before more children: the IR path
                pair[c] = True
        absorbed = np.zeros(n, dtype=bool)  # the second of a pair: no decision of its own
        absorbed[following[pair]] = True

        # numbering: leaves (nodes without children), then candidates for each node's own
        # score and each tree's empty prediction (kept where a decision reaches them)
        leaf_nodes = np.flatnonzero(kids == 0)
        inner = np.flatnonzero(kids > 0)
        deciding = np.flatnonzero((parent >= 0) & ~absorbed)
        leaf_id = np.full(n, -1, dtype=np.intp)
        leaf_id[leaf_nodes] = np.arange(leaf_nodes.size)
        own_id = np.full(n, -1, dtype=np.intp)
        own_id[inner] = leaf_nodes.size + np.arange(inner.size)
        empty_id = leaf_nodes.size + inner.size + np.arange(len(trees))
        decision = np.full(n + 1, -1, dtype=np.intp)
        decision[deciding] = np.arange(deciding.size)
        # a node's code: its leaf, or ~ the decision of its first child
        code = np.where(kids == 0, leaf_id, ~decision[np.minimum(np.arange(n) + 1, n)])
        empty = empty_id[tree_of]
        own = np.where(scored, own_id, empty)  # a node's own prediction
        end = np.where(last, own, empty)  # where "no child TRUE" goes from a node

        p = parent[deciding]
        nxt = following[deciding]
        yes = code[deciding]
        no = np.where(pair[deciding], code[nxt],
                      np.where(nxt >= 0, ~decision[nxt], end[p]))
        rule = strategy[p]
        unknown = np.where(rule == _NULL, empty[p], np.where(rule == _LAST, own[p], no))
        unknown = np.where((rule == _NONE) & pair[deciding], end[p], unknown)
        if (rule == _DEFAULT).any():
            defaults = self._default_children(following_list, code, empty)
            if defaults is None:
                return None
            unknown = np.where(rule == _DEFAULT, defaults[p], unknown)
        starts = np.flatnonzero(parent < 0)
        roots = code[starts]

        # keep the candidate leaves some decision reaches, renumbered after the others
        codes = np.concatenate([yes, no, unknown, roots])
        extra = np.unique(codes[codes >= leaf_nodes.size])
        renumber = np.arange(leaf_nodes.size + inner.size + len(trees), dtype=np.intp)
        renumber[extra] = leaf_nodes.size + np.arange(extra.size)

        def leaves(c: np.ndarray) -> list[int]:
            return np.where(c >= 0, renumber[np.maximum(c, 0)], c).tolist()

        candidates = np.concatenate([score[inner], np.full(len(trees), np.nan)])
        candidate_trees = np.concatenate([tree_of[inner], np.arange(len(trees))])
        values = np.concatenate([score[leaf_nodes], candidates[extra - leaf_nodes.size]])
        leaf_trees = np.concatenate([tree_of[leaf_nodes],
                                     candidate_trees[extra - leaf_nodes.size]]).tolist()
        depths = np.bincount(tree_of[deciding], minlength=len(trees)).tolist()
        predicates = [tests[c] for c in deciding.tolist()]
        return values, (values.size, leaf_trees, predicates, leaves(yes), leaves(no),
                        leaves(unknown), leaves(roots), depths)

    def _default_children(self, following: list[int], code: np.ndarray,
                          empty: np.ndarray) -> Optional[np.ndarray]:
        """Per node with children, the code of its defaultChild (``empty``, its tree's empty
        prediction, when it names none); None when one names no child of its node."""
        ids = [x for c in self.columns for x in c.ids]
        named = [x for c in self.columns for x in c.default_children]
        out = empty.copy()
        codes = code.tolist()
        for i, k in enumerate(self.kids):
            if k and named[i] is not None:
                c = i + 1
                while c >= 0 and ids[c] != named[i]:
                    c = following[c]
                if c < 0:
                    return None  # names no child: the IR path reports it
                out[i] = codes[c]
        return out
