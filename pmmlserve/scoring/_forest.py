"""Tree kernels: many lowered trees as parallel arrays (evaluated level by level over all rows and
trees at once, treelite-style), and as generated nested ``if`` statements for one record."""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import pandas as pd

from pmmlserve.scoring._bitforest import BitKernel
from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._predicates import Comparison, Membership
from pmmlserve.scoring._scope import BatchContext, NamedField
from pmmlserve.scoring._treeir import Decision, IRNode, Leaf, depth, iter_nodes
from pmmlserve.scoring._values import is_numeric

__all__ = ["Forest"]

_BLOCK = 1 << 16  # rows x trees per block of the batch kernel

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
        # Every decision becomes "x <= threshold" on one column of a feature matrix:
        #   x <  t  is  x <= nextafter(t, -inf);  x > t / x >= t swap the two children;
        #   a set test on a string field is a 0/1 indicator column of that set (<= 0.5 swapped);
        #   anything else (compound predicates...) is a 1/0/NaN column of the predicate itself.
        # Missing values (NaN) follow the decision's "unknown" child.
        self._features: list[tuple] = []  # ("num", field) | ("set", field, values) | ("pred", p)
        self._generic: set[int] = set()   # decisions the generated code tests as predicates
        feature_index: dict[tuple, int] = {}
        m = len(order)
        feat = np.zeros(m, np.intp)
        thr = np.full(m, np.inf)
        child = np.repeat(np.arange(m, dtype=np.intp), 2)  # [2i] = FALSE child, [2i+1] = TRUE
        unk = np.arange(m, dtype=np.intp)

        def feature(key: tuple, ident: tuple) -> int:
            if ident not in feature_index:
                feature_index[ident] = len(self._features)
                self._features.append(key)
            return feature_index[ident]

        for i, node in enumerate(order):
            if isinstance(node, Leaf):
                continue
            p = node.predicate
            if isinstance(p, Comparison) and p.op in _OPS and p.op not in ("equal", "notEqual") \
                    and is_numeric(p.field.info.data_type):
                feat[i] = feature(("num", p.field), ("num", id(p.field)))
                t = float(p.value)
                thr[i] = np.nextafter(t, -np.inf) if p.op in ("lessThan", "greaterOrEqual") else t
                swap = p.op in ("greaterThan", "greaterOrEqual")
            elif (isinstance(p, Membership) or (isinstance(p, Comparison) and p.op in
                                                ("equal", "notEqual"))) \
                    and not is_numeric(p.field.info.data_type):
                values = p.values if isinstance(p, Membership) else frozenset([p.value])
                feat[i] = feature(("set", p.field, values), ("set", id(p.field), values))
                thr[i] = 0.5
                negate = p.negate if isinstance(p, Membership) else p.op == "notEqual"
                swap = not negate  # TRUE is the indicator 1.0 > 0.5
            else:
                self._generic.add(id(node))
                feat[i] = feature(("pred", p), ("pred", id(p)))
                thr[i] = 0.5
                swap = True
            true_child, false_child = index[id(node.yes)], index[id(node.no)]
            le_child, gt_child = (false_child, true_child) if swap else (true_child, false_child)
            child[2 * i], child[2 * i + 1] = gt_child, le_child
            unk[i] = index[id(node.unknown)]
        self.feat, self.thr, self.child, self.unk = feat, thr, child, unk
        self._decision = np.array([isinstance(n, Decision) for n in order], dtype=bool)
        # set tests on one field share one hash lookup per batch: codes into the field's
        # vocabulary, then one boolean table row per set
        self._vocab: dict[int, pd.Index] = {}
        for key in self._features:
            if key[0] == "set":
                vocab = self._vocab.setdefault(id(key[1]), [])
                vocab.extend(v for v in sorted(key[2]) if v not in vocab)
        self._vocab = {k: pd.Index(v, dtype=object) for k, v in self._vocab.items()}
        # per set feature: membership by code, then 0.0 for "in no set", NaN for missing (-1)
        self._members = [
            np.append(self._vocab[id(key[1])].isin(list(key[2])).astype(np.float64), [0.0, np.nan])
            if key[0] == "set" else None for key in self._features]
        self.root_index = np.array([index[id(r)] for r in roots], dtype=np.intp)
        self.depth = max((depth(r) for r in roots), default=0)
        self._group = {k: g for g, k in enumerate(self._vocab)}
        self._bits = BitKernel.build(
            self.root_index, child, unk, feat, thr, len(self.leaves),
            {j: (self._group[id(key[1])], self._members[j])
             for j, key in enumerate(self._features) if key[0] == "set"})

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
        T = len(self.roots)
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
        thr, child, unk, leaf = self.thr, self.child, self.unk, ~self._decision
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
            done = leaf.take(nxt)
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
    def emit_fields(self, gen: Codegen) -> dict:
        """Bind every value the trees test to a local (before any branch), return {id: var}."""
        out = {}
        for key in self._features:
            kind, obj = key[0], key[1]
            if kind == "pred":
                out[id(obj)] = gen.assign(obj.emit(gen), "p")
            elif id(obj) not in out:
                out[id(obj)] = obj.emit(gen)
        return out

    def emit_tree(self, gen: Codegen, t: int, fields: dict,
                  on_leaf: Callable[[Codegen, Leaf], None], counter: Optional[str] = None) -> None:
        """Write tree ``t`` as nested ifs; ``on_leaf`` writes what a reached leaf does.

        ``counter`` names a local incremented at each unknown branch taken.
        """
        self._emit(gen, self.roots[t], fields, on_leaf, frozenset(), counter)

    def _emit(self, gen: Codegen, node: IRNode, fields: dict, on_leaf, known: frozenset,
              counter: Optional[str]) -> None:
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
            test = f"{v} {_OPS[p.op]} {gen.literal(p.value)}"
            nullable = p.field.info.nullable and id(p.field) not in known
            key = id(p.field)
        elif isinstance(p, Membership):
            v = fields[id(p.field)]
            test = f"{v} {'not in' if p.negate else 'in'} {gen.const(p.values, 'set')}"
            nullable = p.field.info.nullable and id(p.field) not in known
            key = id(p.field)
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
