"""Tree kernels: many lowered trees as parallel arrays (evaluated level by level over all rows and
trees at once, treelite-style), and as generated nested ``if`` statements for one record."""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import pandas as pd

from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._predicates import Comparison, Membership
from pmmlserve.scoring._scope import BatchContext, NamedField
from pmmlserve.scoring._treeir import Decision, IRNode, Leaf, depth, iter_nodes
from pmmlserve.scoring._values import is_numeric

__all__ = ["Forest"]

LEAF, LE, LT, SET = 0, 1, 2, 3
_OPS = {"lessOrEqual": "<=", "lessThan": "<", "greaterThan": ">", "greaterOrEqual": ">=",
        "equal": "==", "notEqual": "!="}


class Forest:
    """Compiled trees sharing one feature matrix.

    Parameters
    ----------
    roots : list of IR roots, one per tree.

    Attributes
    ----------
    leaves : list of Leaf
        Every distinct leaf; :meth:`leaf_indices` returns positions in this list.
    """

    def __init__(self, roots: list[IRNode]):
        self.roots = roots
        nodes: list[IRNode] = []
        seen: set[int] = set()
        for root in roots:
            for node in iter_nodes(root):
                if id(node) not in seen:
                    seen.add(id(node))
                    nodes.append(node)
        self.leaves = [n for n in nodes if isinstance(n, Leaf)]
        leaf_pos = {id(leaf): i for i, leaf in enumerate(self.leaves)}
        # Leaves first, so that a node index below len(leaves) is its leaf position.
        order = self.leaves + [n for n in nodes if isinstance(n, Decision)]
        index = {id(n): i for i, n in enumerate(order)}
        assert all(index[id(leaf)] == leaf_pos[id(leaf)] for leaf in self.leaves)
        self._features: list[tuple] = []      # ("num", field) | ("code", field) | ("pred", p)
        self._generic: set[int] = set()       # decisions tested through a precomputed predicate
        feature_index: dict[tuple, int] = {}
        vocabs: dict[int, dict] = {}          # id(field) -> {value: code}
        sets: list[tuple[int, frozenset]] = []
        m = len(order)
        kind = np.zeros(m, np.int8)
        feat = np.zeros(m, np.intp)
        thr = np.full(m, np.inf)
        set_id = np.zeros(m, np.intp)
        yes = np.arange(m, dtype=np.intp)
        no = yes.copy()
        unk = yes.copy()

        def feature(key: tuple) -> int:
            k = (key[0], id(key[1]))
            if k not in feature_index:
                feature_index[k] = len(self._features)
                self._features.append(key)
            return feature_index[k]

        for i, node in enumerate(order):
            if isinstance(node, Leaf):
                continue
            p = node.predicate
            swap = False
            if isinstance(p, Comparison) and p.op in ("lessOrEqual", "lessThan", "greaterThan",
                                                      "greaterOrEqual") \
                    and is_numeric(p.field.info.data_type):
                kind[i] = LE if p.op in ("lessOrEqual", "greaterThan") else LT
                feat[i] = feature(("num", p.field))
                thr[i] = p.value
                swap = p.op in ("greaterThan", "greaterOrEqual")
            elif (isinstance(p, Membership) or (isinstance(p, Comparison) and p.op in
                                                ("equal", "notEqual"))) \
                    and not is_numeric(p.field.info.data_type):
                values = p.values if isinstance(p, Membership) else frozenset([p.value])
                vocab = vocabs.setdefault(id(p.field), {})
                for v in sorted(values):
                    vocab.setdefault(v, len(vocab))
                kind[i] = SET
                feat[i] = feature(("code", p.field))
                set_id[i] = len(sets)
                sets.append((id(p.field), values))
                swap = (p.negate if isinstance(p, Membership) else p.op == "notEqual")
            else:
                self._generic.add(id(node))
                kind[i] = LE
                feat[i] = feature(("pred", p))
                thr[i] = 0.5
                swap = True  # TRUE is encoded as 1.0 > 0.5
            y, n_ = (node.no, node.yes) if swap else (node.yes, node.no)
            yes[i], no[i], unk[i] = index[id(y)], index[id(n_)], index[id(node.unknown)]
        self._vocab_index = {k: pd.Index(list(v)) for k, v in vocabs.items()}
        width = max((len(v) for v in vocabs.values()), default=0) + 1
        table = np.zeros((max(len(sets), 1), width), dtype=bool)
        for s, (fid, values) in enumerate(sets):
            vocab = vocabs[fid]
            table[s, [vocab[v] for v in values]] = True
        self.kind, self.feat, self.thr, self.set_id = kind, feat, thr, set_id
        self.yes, self.no, self.unk, self.set_table = yes, no, unk, table
        self.root_index = np.array([index[id(r)] for r in roots], dtype=np.intp)
        self.depth = max((depth(r) for r in roots), default=0)
        self._has_lt = bool((kind == LT).any())
        self._has_set = bool((kind == SET).any())
        self._only_lt = self._has_lt and not bool((kind == LE).any()) and not self._has_set

    # ------------------------------------------------------------------ batch
    def _matrix(self, ctx: BatchContext) -> np.ndarray:
        X = np.empty((ctx.n, max(len(self._features), 1)))
        for j, (kind, obj) in enumerate(self._features):
            if kind == "num":
                X[:, j] = obj.batch(ctx)
            elif kind == "code":
                col = obj.batch(ctx)
                index = self._vocab_index[id(obj)]
                codes = index.get_indexer(col).astype(np.float64)
                codes[codes < 0] = len(index)
                codes[pd.isna(col)] = np.nan
                X[:, j] = codes
            else:
                v = obj.batch(ctx).astype(np.float64)
                v[v < 0] = np.nan
                X[:, j] = v
        return X

    def leaf_indices(self, ctx: BatchContext) -> np.ndarray:
        """Positions in :attr:`leaves` reached by every row in every tree, shape (n, trees)."""
        n = ctx.n
        X = self._matrix(ctx)
        F = X.shape[1]
        Xf = X.ravel()
        base = (np.arange(n, dtype=np.intp) * F)[:, None]
        idx = np.broadcast_to(self.root_index, (n, len(self.roots))).copy()
        has_nan = bool(np.isnan(X).any())
        kind, feat, thr, yes, no, unk = self.kind, self.feat, self.thr, self.yes, self.no, self.unk
        for _ in range(self.depth):
            x = Xf[base + feat[idx]]
            if self._only_lt:
                r = x < thr[idx]
            else:
                t = thr[idx]
                r = x <= t
                if self._has_lt:
                    r = np.where(kind[idx] == LT, x < t, r)
            if self._has_set:
                is_set = kind[idx] == SET
                codes = np.where(is_set & ~np.isnan(x), x, 0).astype(np.intp)
                r = np.where(is_set, self.set_table[self.set_id[idx], codes], r)
            nxt = np.where(r, yes[idx], no[idx])
            if has_nan:
                nxt = np.where(np.isnan(x), unk[idx], nxt)
            idx = nxt
        return idx

    # ------------------------------------------------------------------ one record
    def emit_fields(self, gen: Codegen) -> dict:
        """Bind every value the trees test to a local (before any branch), return {id: var}."""
        out = {}
        for kind, obj in self._features:
            if kind == "pred":
                out[id(obj)] = gen.assign(obj.emit(gen), "p")
            else:
                out[id(obj)] = obj.emit(gen)
        return out

    def emit_tree(self, gen: Codegen, t: int, fields: dict,
                  on_leaf: Callable[[Codegen, Leaf], None]) -> None:
        """Write tree ``t`` as nested ifs; ``on_leaf`` writes what a reached leaf does."""
        self._emit(gen, self.roots[t], fields, on_leaf, frozenset())

    def _emit(self, gen: Codegen, node: IRNode, fields: dict, on_leaf, known: frozenset) -> None:
        if isinstance(node, Leaf):
            on_leaf(gen, node)
            return
        p = node.predicate
        if id(node) in self._generic:
            v = fields[id(p)]
            test = v
            nullable = True
            key = None
        elif isinstance(p, Comparison):
            v = fields[id(p.field)]
            test = f"{v} {_OPS[p.op]} {gen.const(p.value)}"
            nullable = p.field.info.nullable and id(p.field) not in known
            key = id(p.field)
        elif isinstance(p, Membership):
            v = fields[id(p.field)]
            test = f"{v} {'not in' if p.negate else 'in'} {gen.const(p.values, 'set')}"
            nullable = p.field.info.nullable and id(p.field) not in known
            key = id(p.field)
        if not nullable:
            branches = [(f"if {test}", node.yes, known), ("else", node.no, known)]
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
                self._emit(gen, child, fields, on_leaf, k)


def leaf_table(leaves: list[Leaf], fn: Callable[[Optional[Leaf]], object], dtype) -> np.ndarray:
    """An array of ``fn(leaf)`` over a forest's leaves (for gathering leaf payloads)."""
    return np.array([fn(leaf) for leaf in leaves], dtype=dtype)
