"""Bit-vector tree kernel: QuickScorer (Lucchese et al., SIGIR 2015) recast for numpy.

Every leaf of a tree owns one bit of a word.  A decision whose outcome sends a record to one
child rules out the leaves under its other children; AND-ing, over all decisions of a tree,
the mask of the outcome each one takes leaves exactly one bit set: the reached leaf (for any
other leaf, the lowest decision shared with the reached path ruled it out).  Since every
decision of a :class:`~pmmlserve.scoring._forest.Forest` tests one input (``x <= t`` on a
number, a set of a string field's codes), the AND of all decisions on one input depends only
on where the value falls among that input's thresholds (or which code it has): a small table,
built at load, indexed per batch by one ``searchsorted`` (or the codes) per input.  The batch
then costs one gather-and-AND per input over a (rows, trees) array of words, whatever the
depth of the trees — deep HistGradientBoosting / LightGBM trees included.

Trees with more than 64 leaves, or whose lowered form shares a decision between two paths,
keep the level-by-level kernel.

One record uses the same tables (:meth:`BitKernel.record_tables`): each row as one Python
integer holding every tree's word, so a record costs a bisect and an integer AND per input, then
a few numpy calls to turn the words into the leaves' values, whatever the size of the forest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

__all__ = ["BitKernel"]

_MAX_LEAVES = 64
_CHUNK_BYTES = 4 << 20    # one chunk's tables, at most (trees are split into chunks)
_BLOCK_BYTES = 256 << 10  # the (rows, trees) words of one row block

_WORDS = ((8, np.uint8), (16, np.uint16), (32, np.uint32), (64, np.uint64))
_WORD_BITS = np.array([bits for bits, _ in _WORDS])
_WORD_BYTES = _WORD_BITS // 8
# trailing zeros of every byte value (bit 8 for 0, which never occurs)
_CTZ8 = np.array([(v & -v).bit_length() - 1 if v else 8 for v in range(256)], dtype=np.intp)


@dataclass(frozen=True)
class _Input:
    """One input of a chunk: a number column cut by ``thresholds``, or a column of codes.

    ``table[r]`` is, per tree of the chunk, the AND of the masks of the outcomes every decision
    on this input takes for a value of rank (or code) ``r``.
    """

    key: int                            # Forest feature index (numbers) or -1 - field group
    thresholds: Optional[np.ndarray]    # sorted; None for codes
    table: np.ndarray                   # (ranks or codes + missing, trees in chunk)


@dataclass(frozen=True)
class _Chunk:
    start: int
    stop: int
    inputs: tuple[_Input, ...]
    leaf_of_slot: np.ndarray  # (trees, 64): Forest leaf position of each bit
    dtype: type
    slots: tuple[int, ...]    # per tree: its number of leaf slots (bits in use)


class BitKernel:
    """Leaf positions of every row in every tree of a forest, by bit masks (see module doc)."""

    def __init__(self, chunks: list[_Chunk], trees: int):
        self._chunks = chunks
        self._trees = trees

    @classmethod
    def build(cls, roots: np.ndarray, child: np.ndarray, unk: np.ndarray, feat: np.ndarray,
              thr: np.ndarray, n_leaves: int, set_features: dict[int, tuple[int, np.ndarray]]
              ) -> Optional["BitKernel"]:
        """Compile the forest's parallel arrays, or return None if a tree does not fit.

        Parameters
        ----------
        roots : node index of each tree's root.
        child : ``child[2i]`` / ``child[2i + 1]``: decision ``i``'s child when ``x > thr[i]`` /
            ``x <= thr[i]``; ``unk[i]`` when ``x`` is missing.  Nodes below ``n_leaves`` are leaves.
        feat, thr : the input each decision tests and its threshold.
        set_features : feature index -> (field group, outcome per code): for a set test on a
            string field, 1.0 (in the set: the ``x > thr`` child), 0.0 or NaN per code of the
            field's vocabulary (the last code is "missing").
        """
        layout = _layout(roots, child, unk, n_leaves)
        if layout is None:
            return None
        trees = len(roots)
        sizes = np.diff(layout.bounds).tolist()
        widths = _WORD_BYTES[np.searchsorted(_WORD_BITS, layout.slots)].tolist()
        # per feature: its input key (the feature, or -1 - its field group for a set test) and
        # its row in the group's outcome table
        keys = np.arange(len(feat), dtype=np.intp)
        rows = np.zeros(len(feat), dtype=np.intp)
        outcomes: dict[int, list] = {}
        for j, (group, outcome) in set_features.items():
            keys[j] = -1 - group
            rows[j] = len(outcomes.setdefault(-1 - group, []))
            outcomes[-1 - group].append(outcome)
        tables = {key: np.stack(o) for key, o in outcomes.items()}
        chunks = []
        start = 0
        while start < trees:
            stop = _chunk_end(sizes, widths, start)
            chunks.append(_chunk(layout, start, stop, feat, thr, keys, rows, tables))
            start = stop
        return cls(chunks, trees)

    def leaf_indices(self, numbers: dict[int, np.ndarray], codes: dict[int, np.ndarray],
                     n: int, values: Optional[np.ndarray] = None) -> np.ndarray:
        """Leaf positions, shape (n, trees); with ``values`` (one per leaf position), the
        reached leaves' values instead.

        ``numbers[j]`` is feature ``j``'s column (NaN = missing); ``codes[g]`` field group
        ``g``'s codes (-1 = missing).
        """
        out = np.empty((n, self._trees), dtype=np.intp if values is None else values.dtype)
        for chunk in self._chunks:
            ranks = [_ranks(inp, numbers, codes) for inp in chunk.inputs]
            width = chunk.stop - chunk.start
            per_slot = chunk.leaf_of_slot if values is None else values.take(chunk.leaf_of_slot)
            if chunk.dtype == np.uint8:  # straight from the word: no bit scan
                per_word, stride = per_slot.take(_CTZ8, axis=1).ravel(), 256
            else:
                per_word, stride = per_slot.ravel(), _MAX_LEAVES
            base = np.arange(width, dtype=np.intp) * stride
            step = max(64, _BLOCK_BYTES // (width * np.dtype(chunk.dtype).itemsize))
            for lo in range(0, n, step):
                hi = min(lo + step, n)
                words = None
                for inp, r in zip(chunk.inputs, ranks):
                    part = inp.table.take(r[lo:hi], axis=0)
                    if words is None:
                        words = part
                    else:
                        np.bitwise_and(words, part, out=words)
                if words is None:  # trees that are single leaves
                    words = np.ones((hi - lo, width), dtype=chunk.dtype)
                index = words.astype(np.intp) if chunk.dtype == np.uint8 else _lowest_bit(words)
                index += base
                per_word.take(index, out=out[lo:hi, chunk.start:chunk.stop])
        return out

    # ------------------------------------------------------------------ one record
    @property
    def balanced_depths(self) -> int:
        """The sum over trees of the depth a balanced tree with as many leaves would have."""
        return sum((n - 1).bit_length() for chunk in self._chunks for n in chunk.slots)

    def record_tables(self) -> list[tuple[int, list[tuple[int, Optional[list], tuple]]]]:
        """Per chunk: (the integer to start from, per input (key, sorted thresholds or None
        for codes, table rows as Python ints)).

        For one record, AND-ing into the start the rows its values select (the last row when
        missing) gives the chunk's words as one integer: a few ANDs of integers of a few
        hundred bytes cost less than an interpreted walk down every tree.  The start holds the
        bits of each tree's leaf slots (no row clears the bits above them), so that the result
        has exactly one bit per tree.
        """
        return [(_as_ints(np.array([[(1 << n) - 1 for n in chunk.slots]], dtype=chunk.dtype))[0],
                 [(inp.key, None if inp.thresholds is None else inp.thresholds.tolist(),
                   _as_ints(inp.table)) for inp in chunk.inputs])
                for chunk in self._chunks]

    def record_values(self, values: np.ndarray) -> Callable[..., np.ndarray]:
        """A function of each chunk's words (see :meth:`record_tables`) returning, per tree,
        the ``values`` entry (one per leaf position) of the leaf the record reached.

        A word has one bit set, ``2**slot``; its remainder modulo a prime ``p`` (11, 19, 37,
        67 for 8- to 64-bit words) differs for every slot, so one table per tree, indexed by
        that remainder, holds the leaves' values: no bit scan.
        """
        parts = []
        for chunk in self._chunks:
            width = chunk.stop - chunk.start
            bits = np.dtype(chunk.dtype).itemsize * 8
            p = _MODULI[bits]
            table = np.zeros((width, p), dtype=values.dtype)
            residues = [(1 << k) % p for k in range(bits)]
            table[:, residues] = values.take(chunk.leaf_of_slot[:, :bits])
            # operands of one dtype: numpy's mixed-type arithmetic costs twice as much
            fits = p * width <= np.iinfo(chunk.dtype).max
            base = np.arange(width, dtype=chunk.dtype if fits else np.intp) * p
            parts.append((width * (bits // 8), chunk.dtype, chunk.dtype(p), base, table.ravel()))
        frombuffer = np.frombuffer
        if len(parts) == 1:
            ((size, dtype, p, base, table),) = parts

            def reached(w: int) -> np.ndarray:
                return table.take(frombuffer(w.to_bytes(size, "little"), dtype) % p + base)

            return reached

        def reached_chunks(*words: int) -> np.ndarray:
            return np.concatenate([
                table.take(frombuffer(w.to_bytes(size, "little"), dtype) % p + base)
                for w, (size, dtype, p, base, table) in zip(words, parts)])

        return reached_chunks


def _ranks(inp: _Input, numbers: dict, codes: dict) -> np.ndarray:
    """Each row's row of ``inp.table``."""
    if inp.thresholds is None:
        r = codes[-1 - inp.key].copy()
        r[r < 0] = len(inp.table) - 1
        return r
    x = numbers[inp.key]
    r = np.searchsorted(inp.thresholds, x)
    r[np.isnan(x)] = len(inp.table) - 1
    return r


def _lowest_bit(words: np.ndarray) -> np.ndarray:
    """Index of the lowest set bit of each (non-zero) 16-, 32- or 64-bit word (bytes index
    a per-byte table instead: see :meth:`BitKernel.leaf_indices`)."""
    low = words & (~words + words.dtype.type(1))  # two's complement: isolates the lowest bit
    if words.dtype == np.uint64:
        exp = low.astype(np.float64).view(np.int64) >> 52
        return (exp - 1023).astype(np.intp)
    exp = low.astype(np.float32).view(np.int32) >> 23  # exact: powers of two below 2**32
    return (exp - 127).astype(np.intp)


@dataclass(frozen=True)
class _Layout:
    """Every tree's leaf slots and every decision's masks (see :func:`_layout`)."""

    decisions: np.ndarray     # node of each decision reached, tree by tree
    trees: np.ndarray         # the tree of each of them
    bounds: np.ndarray        # tree t's decisions: [bounds[t], bounds[t + 1])
    masks: np.ndarray         # (decisions, 3) uint64: the word kept when x > t, x <= t, missing
    slots: np.ndarray         # per tree: its number of leaf slots (bits in use)
    leaf_of_slot: np.ndarray  # (trees, 64): the leaf position of each bit


def _layout(roots: np.ndarray, child: np.ndarray, unk: np.ndarray,
            n_leaves: int) -> Optional[_Layout]:
    """Number the leaf occurrences of every tree (a leaf under two decisions takes two slots)
    and give each decision its masks: all bits of its tree but those of the leaves under the
    children an outcome does not take.

    The forest is walked level by level, every tree at once, down from the roots and back up;
    the numbering within a tree does not matter, since exactly one slot survives the AND of
    every decision's mask.  None when a tree has more than 64 leaf occurrences or a decision
    is reached twice (in one tree or from two).
    """
    trees = len(roots)
    gt, le = child[0::2], child[1::2]
    tree_of = np.full(len(unk), -1, dtype=np.intp)
    at_root = roots >= n_leaves
    frontier = roots[at_root]
    stamp = np.zeros(len(unk), dtype=np.intp)  # finds a node twice in one level, without sorting
    if _twice(frontier, stamp):
        return None
    tree_of[frontier] = np.flatnonzero(at_root)
    edge_of = np.zeros((len(unk), 3), dtype=np.intp)  # per decision: the edge of each outcome
    parents: list[np.ndarray] = []  # per level: each decision's distinct children, as edges
    kids: list[np.ndarray] = []
    edges = 0
    while frontier.size:
        a, b, c = gt[frontier], le[frontier], unk[frontier]
        own_b, own_c = b != a, (c != a) & (c != b)
        k0 = edges + np.arange(frontier.size)
        k1 = k0[-1] + np.cumsum(own_b)
        k2 = k1[-1] + np.cumsum(own_c)
        edge_of[frontier, 0] = k0
        edge_of[frontier, 1] = np.where(own_b, k1, k0)
        edge_of[frontier, 2] = np.where(own_c, k2, np.where(c == a, k0, edge_of[frontier, 1]))
        p = np.concatenate([frontier, frontier[own_b], frontier[own_c]])
        k = np.concatenate([a, b[own_b], c[own_c]])
        parents.append(p)
        kids.append(k)
        edges += k.size
        below = k >= n_leaves
        frontier = k[below]
        if (tree_of[frontier] >= 0).any() or _twice(frontier, stamp):
            return None  # reached twice
        tree_of[frontier] = tree_of[p[below]]
    parent = np.concatenate(parents) if parents else np.zeros(0, dtype=np.intp)
    node = np.concatenate(kids) if kids else np.zeros(0, dtype=np.intp)
    # leaf occurrences: under a decision, or a tree's root
    to_leaf = np.flatnonzero(node < n_leaves)
    leaf_trees = np.concatenate([tree_of[parent[to_leaf]], np.flatnonzero(~at_root)])
    leaves = np.concatenate([node[to_leaf], roots[~at_root]])
    slots = np.bincount(leaf_trees, minlength=trees)
    if slots.max(initial=0) > _MAX_LEAVES:
        return None
    order = np.argsort(leaf_trees, kind="stable")
    slot = np.empty_like(order)
    slot[order] = np.arange(order.size) - (np.cumsum(slots) - slots)[leaf_trees[order]]
    leaf_of_slot = np.zeros((trees, _MAX_LEAVES), dtype=np.intp)
    leaf_of_slot[leaf_trees, slot] = leaves
    # bits under every edge and decision, from the deepest level up
    edge_bits = np.zeros(edges, dtype=np.uint64)
    edge_bits[to_leaf] = np.left_shift(np.uint64(1), slot[:to_leaf.size].astype(np.uint64))
    bits = np.zeros(len(unk), dtype=np.uint64)
    stop = edges
    for p, k in zip(reversed(parents), reversed(kids)):
        start = stop - k.size
        below = np.flatnonzero(k >= n_leaves)
        edge_bits[start + below] = bits[k[below]]
        np.bitwise_or.at(bits, p, edge_bits[start:stop])
        stop = start
    reached = np.flatnonzero(tree_of >= 0)
    reached = reached[np.argsort(tree_of[reached], kind="stable")]
    owner = tree_of[reached]
    masks = ~(bits[reached, None] & ~edge_bits[edge_of[reached]])
    bounds = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=trees))])
    return _Layout(reached, owner, bounds, masks, slots, leaf_of_slot)


def _twice(nodes: np.ndarray, stamp: np.ndarray) -> bool:
    """Whether ``nodes`` holds a node twice (``stamp``: scratch space, one entry per node)."""
    positions = np.arange(nodes.size)
    stamp[nodes] = positions  # of a node given twice, the last position stays
    return bool((stamp[nodes] != positions).any())


def _chunk_end(sizes: list[int], widths: list[int], start: int) -> int:
    """First tree after ``start``'s chunk: as many trees as keep its tables within budget
    (``sizes``: each tree's decisions; ``widths``: the bytes of its word)."""
    decisions = 0
    widest = 1
    stop = start
    while stop < len(sizes):
        d = decisions + sizes[stop]
        w = max(widest, widths[stop])
        # table rows: one per decision plus, per input, one for "above every threshold"
        # and one for missing (16 stands for those few extra rows)
        if stop > start and (d + 16) * (stop + 1 - start) * w > _CHUNK_BYTES:
            break
        decisions, widest, stop = d, w, stop + 1
    return stop


def _word(leaves: int):
    return next((bits, dtype) for bits, dtype in _WORDS if leaves <= bits)


def _chunk(layout: _Layout, start: int, stop: int, feat: np.ndarray, thr: np.ndarray,
           feature_keys: np.ndarray, rows: np.ndarray, outcomes: dict) -> _Chunk:
    width = stop - start
    slots = layout.slots[start:stop]
    dtype = _word(int(slots.max(initial=1)))[1]
    ones = dtype(np.iinfo(dtype).max)
    lo, hi = layout.bounds[start], layout.bounds[stop]
    dec_a = layout.decisions[lo:hi]
    tau_a = layout.trees[lo:hi] - start
    m_all = layout.masks[lo:hi].astype(dtype)  # gt, le, missing
    keys = feature_keys[feat[dec_a]]
    inputs = []
    for key in np.unique(keys).tolist():
        sel = np.flatnonzero(keys == key)
        t, m = tau_a[sel], m_all[sel]
        if key >= 0:
            inputs.append(_number_input(key, thr[dec_a[sel]], t, m, width, ones))
        else:
            outcome = outcomes[key][rows[feat[dec_a[sel]]]]
            inputs.append(_code_input(key, outcome, t, m, width, ones))
    return _Chunk(start, stop, tuple(inputs), layout.leaf_of_slot[start:stop], dtype,
                  tuple(slots.tolist()))


def _number_input(key: int, thresholds: np.ndarray, tau: np.ndarray, masks: np.ndarray,
                  width: int, ones) -> _Input:
    """Row r: decisions with the r smallest thresholds see ``x > t``, the others ``x <= t``;
    the last row: every decision sees a missing value."""
    order = np.argsort(thresholds, kind="stable")
    t, tau, masks = thresholds[order], tau[order], masks[order]
    m = len(t)
    above = np.full((m + 1, width), ones)
    above[np.arange(1, m + 1), tau] = masks[:, 0]
    np.bitwise_and.accumulate(above, axis=0, out=above)
    below = np.full((m + 1, width), ones)  # upside down: row m - r for rank r
    below[np.arange(m, 0, -1), tau] = masks[:, 1]
    np.bitwise_and.accumulate(below, axis=0, out=below)
    table = np.empty((m + 2, width), dtype=masks.dtype)
    np.bitwise_and(above, below[::-1], out=table[:m + 1])
    missing = np.full(width, ones)
    np.bitwise_and.at(missing, tau, masks[:, 2])
    table[m + 1] = missing
    return _Input(key, np.ascontiguousarray(t), table)


def _code_input(key: int, outcome: np.ndarray, tau: np.ndarray, masks: np.ndarray,
                width: int, ones) -> _Input:
    """Row c: every decision's outcome for code c (1.0 = in its set, 0.0 = not, NaN)."""
    per_code = np.where(np.isnan(outcome), masks[:, 2:3],
                        np.where(outcome > 0.5, masks[:, 0:1], masks[:, 1:2]))
    table = np.full((width, outcome.shape[1]), ones)
    np.bitwise_and.at(table, tau, per_code.astype(masks.dtype))
    return _Input(key, None, np.ascontiguousarray(table.T))


# 2**k mod p differs for every k below the word's bits (see BitKernel.record_values)
_MODULI = {8: 11, 16: 19, 32: 37, 64: 67}


def _as_ints(table: np.ndarray) -> tuple:
    """Each row of a 2-d array of words as one Python integer (first word lowest)."""
    data = np.ascontiguousarray(table).tobytes()
    size = table.shape[1] * table.dtype.itemsize
    return tuple(int.from_bytes(data[i:i + size], "little") for i in range(0, len(data), size))
