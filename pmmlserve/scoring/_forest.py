"""Tree kernels: many lowered trees as parallel arrays (evaluated level by level over all rows and
trees at once, treelite-style, or by bit masks: see ``_bitforest``), and for one record either
generated nested conditionals or, in large forests, the bit kernel's masks as Python integers."""

from __future__ import annotations

import math
from bisect import bisect_left
from typing import Callable, Optional

import numpy as np
import pandas as pd

from pmmlserve.scoring._bitforest import BitKernel
from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._predicates import Comparison, Membership
from pmmlserve.scoring._scope import BatchContext, FieldInfo
from pmmlserve.scoring._treeir import Decision, IRNode, Leaf, depth
from pmmlserve.scoring._values import is_numeric

__all__ = ["Forest"]

_BLOCK = 1 << 16  # rows x trees per block of the batch kernel

_OPS = {"lessOrEqual": "<=", "lessThan": "<", "greaterThan": ">", "greaterOrEqual": ">=",
        "equal": "==", "notEqual": "!="}
_NEGATED = {"lessOrEqual": ">", "lessThan": ">=", "greaterThan": "<=", "greaterOrEqual": "<"}
# trees up to this many decisions deep are written as one expression: Python allows 200
# nested parentheses, and a decision with a separate missing branch takes two
_EXPRESSION_DEPTH = 64
# In a forest with at least this many decisions, an input tested by at least _RANK_FEATURE of
# them is compared by rank: one bisect per record gives the number of its thresholds below the
# value, and each test compares that with a small integer.  Same outcomes; the generated source
# is a quarter smaller (no float literal per decision), and with the paren-free branches of
# _rank_expr takes ~15% fewer instructions to compile (HistGradientBoosting, 100 trees).
_RANK_FOREST = 1000
_RANK_FEATURE = 16
# A forest whose trees' balanced depths (log2 of their leaves) add up to at least this scores one
# record with the bit kernel (see BitKernel.record_tables): a fixed ~4 us, where generated code
# costs per decision on the record's paths, and it compiles nothing per tree (on the benchmark's
# HistGradientBoosting model, 100 trees: load 107 -> 69 ms, one record 10.4 -> 7.1 us).
_BITS_PATHS = 200


class Forest:
    """Compiled trees sharing one feature matrix.

    Parameters
    ----------
    roots : list of IR roots, one per tree.

    Attributes
    ----------
    leaves : list of Leaf, or None
        Every distinct leaf; :meth:`leaf_indices` returns positions in this list.  None after
        :meth:`release`, and for a forest built by :meth:`from_decisions`.
    """

    def __init__(self, roots: list[IRNode]):
        self._begin(roots, [], [])
        decisions: list[Decision] = []
        # node -> its position among the leaves, or ~(its position among the decisions)
        code: dict[int, int] = {}
        # per tree, its number of decisions (a bound on its depth), or None when it shares
        # nodes with an earlier tree
        sizes: list[Optional[int]] = []
        for t, root in enumerate(roots):  # each distinct node once, parents before children
            stack = [root]
            leaves_before, decisions_before = len(self.leaves), len(decisions)
            shared = False
            while stack:
                node = stack.pop()
                c = code.get(id(node))
                if c is not None:
                    shared = shared or (c < leaves_before if c >= 0 else ~c < decisions_before)
                    continue
                if type(node) is Decision:
                    code[id(node)] = ~len(decisions)
                    decisions.append(node)
                    stack += (node.unknown, node.no, node.yes)
                else:
                    code[id(node)] = len(self.leaves)
                    self.leaves.append(node)
                    self.leaf_trees.append(t)
            sizes.append(None if shared else len(decisions) - decisions_before)
        # A tree with few decisions is shallow enough without measuring its depth.
        memo: dict = {}
        depths = [size if size is not None and size <= _EXPRESSION_DEPTH else depth(r, memo)
                  for size, r in zip(sizes, roots)]
        self._assemble(len(self.leaves), [d.predicate for d in decisions],
                       [code[id(d.yes)] for d in decisions], [code[id(d.no)] for d in decisions],
                       [code[id(d.unknown)] for d in decisions],
                       [code[id(r)] for r in roots], depths, decisions)

    @classmethod
    def from_decisions(cls, n_leaves: int, leaf_trees: list[int], predicates: list,
                       yes: list[int], no: list[int], unknown: list[int], roots: list[int],
                       depths: list[int]) -> "Forest":
        """A forest given as its decisions, without IR (nothing to write out as code).

        Children and roots are codes: a leaf's position (``0 <= c < n_leaves``), or ``~j`` for
        decision ``j``; ``predicates[j]`` is decision ``j``'s compiled predicate (TRUE: ``yes``).
        """
        forest = cls.__new__(cls)
        forest._begin(None, None, leaf_trees)
        forest._assemble(n_leaves, predicates, yes, no, unknown, roots, depths, None)
        return forest

    def _begin(self, roots: Optional[list[IRNode]], leaves: Optional[list[Leaf]],
               leaf_trees: list[int]) -> None:
        self.roots = roots
        self.leaves = leaves
        #: per leaf, the first tree that reaches it
        self.leaf_trees = leaf_trees
        self._features: list[tuple] = []  # ("num", field) | ("set", field, values) | ("pred", p)
        self._generic: set[int] = set()   # decisions the generated code tests as predicates
        self._feature_index: dict[tuple, int] = {}

    def _assemble(self, n_leaves: int, predicates: list, yes: list[int], no: list[int],
                  unknown: list[int], roots: list[int], depths: list[int],
                  decisions: Optional[list[Decision]]) -> None:
        """The parallel arrays and the bit kernel of decisions given by codes (see
        :meth:`from_decisions`); ``decisions``, when given, are their IR nodes."""
        m = n_leaves + len(predicates)
        # Every decision becomes "x <= threshold" on one column of a feature matrix:
        #   x <  t  is  x <= nextafter(t, -inf);  x > t / x >= t swap the two children;
        #   a set test on a string field is a 0/1 indicator column of that set (<= 0.5 swapped);
        #   anything else (compound predicates...) is a 1/0/NaN column of the predicate itself.
        # Missing values (NaN) follow the decision's "unknown" child.
        # per distinct predicate (decisions share them): (feature, threshold, swap)
        distinct: dict[int, int] = {}
        which = np.array([distinct.setdefault(id(p), len(distinct)) for p in predicates],
                         dtype=np.intp)
        specs = [self._test_of(p) for p in {id(p): p for p in predicates}.values()]
        if decisions is not None:
            for k, j in enumerate(which.tolist()):
                if self._features[specs[j][0]][0] == "pred":
                    self._generic.add(id(decisions[k]))

        def index(codes) -> np.ndarray:
            c = np.asarray(codes, dtype=np.intp)
            return np.where(c >= 0, c, n_leaves - 1 - c)  # ~j is decision j: node n_leaves + j

        self.feat = np.zeros(m, np.intp)
        self.thr = np.full(m, np.inf)
        self.child = np.repeat(np.arange(m, dtype=np.intp), 2)  # [2i] FALSE child, [2i+1] TRUE
        self.unk = np.arange(m, dtype=np.intp)
        if specs:
            features, thresholds, swaps = (np.array(column) for column in zip(*specs))
            swap = swaps.astype(bool)[which]
            yes_, no_ = index(yes), index(no)
            self.feat[n_leaves:] = features[which]
            self.thr[n_leaves:] = thresholds.astype(np.float64)[which]
            self.child[2 * n_leaves::2] = np.where(swap, yes_, no_)
            self.child[2 * n_leaves + 1::2] = np.where(swap, no_, yes_)
            self.unk[n_leaves:] = index(unknown)
        # set tests on one field share one hash lookup per batch: codes into the field's
        # vocabulary, then one boolean table row per set
        vocabs: dict[int, dict] = {}  # field -> its tested values, in order
        for key in self._features:
            if key[0] == "set":
                vocabs.setdefault(id(key[1]), {}).update(dict.fromkeys(sorted(key[2])))
        self._vocab = {k: pd.Index(list(v), dtype=object) for k, v in vocabs.items()}
        # per set feature: membership by code, then 0.0 for "in no set", NaN for missing (-1)
        codes = {k: dict(zip(v, range(len(v)))) for k, v in vocabs.items()}
        self._members = []
        for key in self._features:
            members = None
            if key[0] == "set":
                code = codes[id(key[1])]
                members = np.zeros(len(code) + 2)
                members[[code[v] for v in key[2]]] = 1.0
                members[-1] = np.nan
            self._members.append(members)
        self.root_index = index(roots)
        self.n_leaves = n_leaves
        #: an upper bound of the longest decision path (the level-by-level kernel's steps)
        self.depth = max(depths, default=0)
        self._expressions = [d <= _EXPRESSION_DEPTH for d in depths]
        self._group = {k: g for g, k in enumerate(self._vocab)}
        self._bits = BitKernel.build(
            self.root_index, self.child, self.unk, self.feat, self.thr, n_leaves,
            {j: (self._group[id(key[1])], self._members[j])
             for j, key in enumerate(self._features) if key[0] == "set"})

    def release(self) -> None:
        """Drop the IR (:attr:`roots`, :attr:`leaves`) once the owner has emitted its code.

        The batch kernels need only the arrays; a large forest's IR holds most of the objects
        a load creates, which the garbage collector would otherwise keep tracing.
        """
        self.roots = self.leaves = None

    def _feature(self, key: tuple, ident: tuple) -> int:
        j = self._feature_index.get(ident)
        if j is None:
            j = self._feature_index[ident] = len(self._features)
            self._features.append(key)
        return j

    def _test_of(self, p) -> tuple[int, float, bool]:
        """(feature column, threshold, whether TRUE is the ``> threshold`` side) of ``p``."""
        numeric = is_numeric(p.field.info.data_type) if hasattr(p, "field") else False
        if type(p) is Comparison and numeric and p.op in _NEGATED:
            t = float(p.value)
            if p.op in ("lessThan", "greaterOrEqual"):
                t = math.nextafter(t, -math.inf)
            return (self._feature(("num", p.field), ("num", id(p.field))), t,
                    p.op in ("greaterThan", "greaterOrEqual"))
        if not numeric and (type(p) is Membership or (type(p) is Comparison
                                                     and p.op in ("equal", "notEqual"))):
            values = p.values if type(p) is Membership else frozenset([p.value])
            negate = p.negate if type(p) is Membership else p.op == "notEqual"
            # TRUE is the indicator 1.0 > 0.5
            return self._feature(("set", p.field, values), ("set", id(p.field), values)), 0.5, \
                not negate
        return self._feature(("pred", p), ("pred", id(p))), 0.5, True

    # ------------------------------------------------------------------ batch
    def _columns(self, ctx: BatchContext) -> tuple[dict, dict]:
        """Feature columns (numbers, NaN = missing) and codes of the set-tested fields
        (positions in the field's vocabulary, its length for any other value, -1 = missing)."""
        numbers: dict[int, np.ndarray] = {}
        codes: dict[int, np.ndarray] = {}
        for j, key in enumerate(self._features):
            kind, obj = key[0], key[1]
            if kind == "num":
                numbers[j] = np.asarray(obj.batch(ctx), dtype=np.float64)
            elif kind == "set":
                g = self._group[id(obj)]
                if g not in codes:
                    col = obj.batch(ctx)
                    vocab = self._vocab[id(obj)]
                    c = vocab.get_indexer(pd.Index(col, dtype=object, copy=False))
                    c[c < 0] = len(vocab)  # values outside every set
                    c[pd.isna(col)] = -1
                    codes[g] = c
            else:
                v = obj.batch(ctx).astype(np.float64)
                v[v < 0] = np.nan
                numbers[j] = v
        return numbers, codes

    def _matrix(self, numbers: dict, codes: dict, n: int) -> np.ndarray:
        # column-major: each feature column is written contiguously
        X = np.empty((n, max(len(self._features), 1)), order="F")
        for j, key in enumerate(self._features):
            if key[0] == "set":
                X[:, j] = self._members[j].take(codes[self._group[id(key[1])]])
            else:
                X[:, j] = numbers[j]
        return X

    def leaf_values(self, ctx: BatchContext, values: np.ndarray) -> np.ndarray:
        """``values[leaf_indices(ctx)]``, without the intermediate positions where it can."""
        if self._bits is not None:
            numbers, codes = self._columns(ctx)
            return self._bits.leaf_indices(numbers, codes, ctx.n, values)
        return values[self.leaf_indices(ctx)]

    def leaf_indices(self, ctx: BatchContext, count_unknown: bool = False):
        """Positions in :attr:`leaves` reached by every row in every tree, shape (n, trees).

        With ``count_unknown``, also return how many decisions each row passed through its
        unknown branch (a defaultChild tree's missingValuePenalty applies once per step).
        """
        numbers, codes = self._columns(ctx)
        if self._bits is not None and not count_unknown:
            return self._bits.leaf_indices(numbers, codes, ctx.n)
        X = self._matrix(numbers, codes, ctx.n)
        has_nan = bool(np.isnan(X).any())
        T = len(self.root_index)
        idx = np.empty((ctx.n, T), dtype=np.intp)
        counts = np.zeros((ctx.n, T), dtype=np.intp) if count_unknown else None
        # Rows are processed in blocks whose (rows x trees) index arrays stay in cache.
        step = max(1, _BLOCK // max(T, 1))
        Xf = X.ravel(order="F")
        offsets = self.feat * np.intp(ctx.n)  # feature f of row r is Xf[f * n + r]
        for start in range(0, ctx.n, step):
            stop = min(start + step, ctx.n)
            self._descend(Xf, offsets, start, stop, idx[start:stop], has_nan,
                          counts[start:stop] if counts is not None else None)
        return (idx, counts) if count_unknown else idx

    def _descend(self, Xf: np.ndarray, offsets: np.ndarray, start: int, stop: int,
                 out: np.ndarray, has_nan: bool, counts: Optional[np.ndarray]) -> None:
        """Walk rows start..stop down every tree, one level per step, over the (row, tree)
        pairs still at a decision; pairs that reach a leaf leave the working set, so deep,
        unbalanced trees (HistGradientBoosting, LightGBM) cost what their paths cost."""
        trees = out.shape[1]
        node = np.tile(self.root_index, stop - start)
        row = np.repeat(np.arange(start, stop, dtype=np.intp), trees)
        pos = np.arange(node.size, dtype=np.intp)
        flat = out.reshape(-1)
        flat_counts = counts.reshape(-1) if counts is not None else None
        thr, child, unk, n_leaves = self.thr, self.child, self.unk, self.n_leaves
        for _ in range(self.depth):
            x = Xf.take(offsets.take(node) + row)
            le = x <= thr.take(node)
            nxt = child.take(node * 2 + le)
            if has_nan:
                missing = np.isnan(x)
                if missing.any():
                    nxt = np.where(missing, unk.take(node), nxt)
                    if flat_counts is not None:
                        np.add.at(flat_counts, pos[missing], 1)
            done = nxt < n_leaves  # leaves come first
            if done.all():
                node = nxt
                break
            if done.any():
                flat[pos[done]] = nxt[done]
                keep = ~done
                node, row, pos = nxt[keep], row[keep], pos[keep]
            else:
                node = nxt
        flat[pos] = node

    # ------------------------------------------------------------------ one record
    @property
    def record_bits(self) -> bool:
        """Whether :meth:`emit_reached` can score one record with the bit kernel instead of
        writing the trees out: a large forest that the bit kernel holds, testing only inputs
        (no predicate columns)."""
        return self._bits is not None and self._bits.balanced_depths >= _BITS_PATHS \
            and all(key[0] != "pred" for key in self._features)

    def emit_reached(self, gen: Codegen, fields: dict, values: np.ndarray) -> str:
        """Write the bit kernel for one record (see :meth:`BitKernel.record_tables`); return a
        local holding, per tree in order, the ``values`` entry of the leaf the record reaches.

        A missing value, or NaN (as in the batch kernels), selects an input's last row.
        """
        bisect = gen.const(bisect_left, "bisect")
        codes = {}  # field group -> (its field, dict of the codes of its vocabulary, "others")
        for key in self._features:
            if key[0] == "set" and self._group[id(key[1])] not in codes:
                vocab = self._vocab[id(key[1])]
                codes[self._group[id(key[1])]] = (
                    key[1], gen.const({value: i for i, value in enumerate(vocab)}, "codes"),
                    len(vocab))
        words = []
        for start, inputs in self._bits.record_tables():
            terms = [gen.table(start, "w")]
            for key, thresholds, rows in inputs:
                if key >= 0:
                    field = self._features[key][1]
                    v = fields[id(field)]
                    row = f"{bisect}({gen.table(tuple(thresholds), 'thr')}, {v})"
                    known = _present(v, field.info)
                else:
                    field, lookup, others = codes[-1 - key]
                    v = fields[id(field)]
                    row = f"{lookup}.get({v}, {others})"
                    known = _present(v, field.info)
                table = gen.table(rows, "rows")
                terms.append(f"{table}[{row} if {known} else -1]" if known else f"{table}[{row}]")
            words.append(gen.assign(" & ".join(terms), "w"))
        reached = gen.const(self._bits.record_values(values), "reached")
        return gen.assign(f"{reached}({', '.join(words)})", "lv")

    def emit_fields(self, gen: Codegen, trees: bool = True) -> dict:
        """Bind every value the trees test to a local (before any branch), return {id: var}.

        For trees to be written out (``trees``; not for :meth:`emit_reached`), a nullable
        number compared by order also gets a NaN-for-missing twin (key ``("nan", id)``), so
        that ``x is None or x <= t`` is written ``not q > t``.  A number compared by rank (see
        :data:`_RANK_FOREST`) gets instead, under ``("rank", id)``, ``(low, high,
        {threshold: k})``: ``low``/``high`` hold how many thresholds lie below the value, or -1
        / more than any ``k`` when it is missing; ``x <= t`` is then ``low <= k``.
        """
        out: dict = {}
        nan = None
        expressions = trees and any(self._expressions)
        ranked = self._ranked() if expressions else {}
        for j, key in enumerate(self._features):
            kind, obj = key[0], key[1]
            if kind == "pred":
                out[id(obj)] = gen.assign(obj.emit(gen), "p")
            elif id(obj) not in out:
                v = out[id(obj)] = obj.emit(gen)
                if j in ranked:
                    out[("rank", id(obj))] = self._emit_rank(gen, v, obj.info, ranked[j])
                elif kind == "num" and obj.info.nullable and expressions:
                    nan = nan or gen.const(float("nan"), "nan")
                    out[("nan", id(obj))] = gen.assign(f"({nan} if {v} is None else {v})", "q")
        return out

    def _ranked(self) -> dict[int, list[float]]:
        """Number features compared by rank, with their sorted distinct thresholds."""
        feat, thr = self.feat[self.n_leaves:], self.thr[self.n_leaves:]
        if len(feat) < _RANK_FOREST:
            return {}
        out = {}
        for j, key in enumerate(self._features):
            if key[0] != "num" or key[1].info.data_type not in ("double", "float"):
                continue
            t = thr[feat == j]
            if len(t) >= _RANK_FEATURE and np.isfinite(t).all():
                out[j] = np.unique(t).tolist()
        return out

    @staticmethod
    def _emit_rank(gen: Codegen, v: str, info: FieldInfo, thresholds: list[float]) -> tuple:
        """Bind ``v``'s rank among ``thresholds``.  A NaN (only an ``asIs`` invalid result
        makes one) is missing, as in the batch kernels, even for a value that cannot be
        missing otherwise."""
        rank = f"{gen.const(bisect_left, 'bisect')}({gen.const(tuple(thresholds), 'thr')}, {v})"
        known = _present(v, info)
        low = gen.assign(f"({rank} if {known} else -1)" if known else rank, "r")
        high = gen.assign(f"({len(thresholds)} if {low} < 0 else {low})", "r")
        return low, high, {t: k for k, t in enumerate(thresholds)}

    def emit_tree(self, gen: Codegen, t: int, fields: dict, target: str, op: str,
                  leaf: Callable[[Leaf], str], counter: Optional[str] = None) -> None:
        """Write ``{target} {op} <leaf(reached leaf)>`` for tree ``t`` (``op`` is ``=``,
        ``+=``...).

        The tree is one conditional expression (compiles faster than statements, and runs a
        little faster); trees deeper than :data:`_EXPRESSION_DEPTH`, and trees that count their
        unknown branches in the local ``counter``, are nested ``if`` statements.
        """
        if counter is None and self._expressions[t]:
            expr = self._expr(gen, self.roots[t], fields, leaf, frozenset())[0]
            gen.line(f"{target} {op} {expr}")
        else:
            self._emit(gen, self.roots[t], fields,
                       lambda g, lf: g.line(f"{target} {op} {leaf(lf)}"), frozenset(), counter)

    def _test(self, gen: Codegen, node: Decision, fields: dict, known: frozenset):
        """(test, tested local, field key or None, whether the local can be missing, the test
        on ranks or None: see :meth:`_rank_test`)."""
        p = node.predicate
        if id(node) in self._generic:
            v = fields[id(p)]
            return v, v, None, True, None
        cached = fields.get(("test", id(p)))  # trees share their predicates: write each once
        if cached is None:
            v = fields[id(p.field)]
            rank = None
            if isinstance(p, Comparison):
                value = gen.literal(p.value)
                test = f"{v} {_OPS[p.op]} {value}"
                rank = self._rank_test(p, fields.get(("rank", id(p.field))))
            else:
                value = gen.const(p.values, "set")
                test = f"{v} {'not in' if p.negate else 'in'} {value}"
            cached = fields["test", id(p)] = (test, v, id(p.field), p.field.info.nullable, value,
                                              rank)
        test, v, key, nullable, _, rank = cached
        return test, v, key, nullable and key not in known, rank

    @staticmethod
    def _rank_test(p: Comparison, rank: Optional[tuple]) -> Optional[tuple]:
        """(low, high, is it ``x <= t``, k) for an order test written on ranks, else None."""
        if rank is None or p.op not in _NEGATED or type(p.value) is not float:
            return None
        t = p.value
        if p.op in ("lessThan", "greaterOrEqual"):  # x < t is x <= the float below t
            t = math.nextafter(t, -math.inf)
        k = rank[2].get(t)
        return None if k is None else (rank[0], rank[1], p.op in ("lessOrEqual", "lessThan"), k)

    def _expr(self, gen: Codegen, node: IRNode, fields: dict, leaf,
              known: frozenset) -> tuple[str, bool]:
        """(the expression, whether it is a bare conditional expression).

        Only a "then" part needs parentheses (``a if x else b if y else c`` nests to the
        right); each parenthesis costs CPython's parser a tuple and a group attempt.
        """
        if isinstance(node, Leaf):
            return leaf(node), False
        test, v, key, nullable, rank = self._test(gen, node, fields, known)
        if rank is not None:
            return self._rank_expr(gen, node, fields, leaf, known, key, rank), True
        unknown = node.unknown if nullable else None
        if unknown is not None and unknown is not node.yes and unknown is not node.no:
            inner = known | {key} if key is not None else known
            return (f"{_then(self._expr(gen, unknown, fields, leaf, known))} if {v} is None "
                    f"else {_then(self._expr(gen, node.yes, fields, leaf, inner))} if {test} "
                    f"else {self._expr(gen, node.no, fields, leaf, inner)[0]}"), True
        if unknown is not None:
            p = node.predicate
            q = fields.get(("nan", key))
            if q is not None and isinstance(p, Comparison) and p.op in _NEGATED:
                # NaN fails every ordering test: "not q > t" is TRUE for a missing q
                value = fields["test", id(p)][4]
                test = f"not {q} {_NEGATED[p.op]} {value}" if unknown is node.yes \
                    else f"{q} {_OPS[p.op]} {value}"
            elif unknown is node.yes:
                test = f"{v} is None or {test}"
            else:
                test = f"{v} is not None and {test}"
        return (f"{_then(self._expr(gen, node.yes, fields, leaf, known))} if {test} "
                f"else {self._expr(gen, node.no, fields, leaf, known)[0]}"), True

    def _rank_expr(self, gen: Codegen, node: Decision, fields: dict, leaf, known: frozenset,
                   key: int, rank: tuple) -> str:
        """:meth:`_expr` for a test on ranks, whose outcomes (integers) negate exactly: the
        larger branch goes last, where it needs no parentheses."""
        low, high, le, k = rank
        unknown = node.unknown if key not in known else None
        if unknown is node.yes or unknown is node.no:
            # a missing value's low rank (-1) passes every "<=" test, its high rank none
            var = (low if le else high) if unknown is node.yes else (high if le else low)
            unknown = None
        else:
            var = low
        inner = known | {key} if unknown is not None else known
        yes = self._expr(gen, node.yes, fields, leaf, inner)
        no = self._expr(gen, node.no, fields, leaf, inner)
        if len(yes[0]) > len(no[0]):
            le, yes, no = not le, no, yes
        expr = f"{_then(yes)} if {var} {'<=' if le else '>'} {k} else {no[0]}"
        if unknown is None:
            return expr
        return f"{_then(self._expr(gen, unknown, fields, leaf, known))} if {low} < 0 else {expr}"

    def _emit(self, gen: Codegen, node: IRNode, fields: dict, on_leaf, known: frozenset,
              counter: Optional[str]) -> None:
        if isinstance(node, Leaf):
            on_leaf(gen, node)
            return
        test, v, key, nullable, _ = self._test(gen, node, fields, known)  # no ranks here
        if not nullable:
            branches = [(f"if {test}", node.yes, known), ("else", node.no, known)]
        elif counter is not None:
            inner = known | {key} if key is not None else known
            with gen.block(f"if {v} is None"):
                gen.line(f"{counter} += 1")
                self._emit(gen, node.unknown, fields, on_leaf, known, counter)
            branches = [(f"elif {test}", node.yes, inner), ("else", node.no, inner)]
        elif node.unknown is node.yes:
            branches = [(f"if {v} is None or {test}", node.yes, known), ("else", node.no, known)]
        elif node.unknown is node.no:
            branches = [(f"if {v} is not None and {test}", node.yes, known),
                        ("else", node.no, known)]
        else:
            inner = known | {key} if key is not None else known
            branches = [(f"if {v} is None", node.unknown, known),
                        (f"elif {test}", node.yes, inner), ("else", node.no, inner)]
        for header, child, k in branches:
            with gen.block(header):
                self._emit(gen, child, fields, on_leaf, k, counter)


def _present(v: str, info: FieldInfo) -> str:
    """A test that local ``v`` holds a value: not None, and not NaN (which only an Apply whose
    invalid results pass ``asIs`` can make; it is missing, as in the batch kernels); "" when
    the compiler knows both (see ``FieldInfo``)."""
    tests = ([f"{v} is not None"] if info.nullable else []) + \
        ([] if info.never_nan else [f"{v} == {v}"])
    return " and ".join(tests)


def _then(expression: tuple[str, bool]) -> str:
    """An :meth:`Forest._expr` result as the "then" part of a conditional expression."""
    text, conditional = expression
    return f"({text})" if conditional else text
