"""How a Segmentation combines its segments' predictions (PMML 4.4 "Multiple Models").

One :class:`Combiner` holds the rules; it has a batch backend (numpy over a rows × segments
matrix, looping over segments, never over rows) and a single-record backend (plain Python over
lists, called from the generated code).  Both read the specification as JPMML-Evaluator does:

* only segments whose predicate is TRUE take part; when none does, the result is missing;
* ``missingPredictionTreatment``: *returnMissing* — one missing prediction makes the result
  missing; *skipSegment* — missing predictions are left out, unless their share of the segments'
  weight exceeds ``missingThreshold`` (then the result is missing); *continue* — a missing
  prediction makes a sum, average, median or maximum missing, and is a vote for "missing" in a
  majority vote, which wins when it gets strictly the most votes (and the threshold applies);
* sums add the segments in document order, from 0 (JPMML's ``Vector.sum``); a median is
  Commons Math's legacy percentile ``lower + d * (upper - lower)``; a weighted median is the
  smallest value whose cumulative weight reaches half the total weight;
* classification *max* and *median* pick the category with the highest maximum (median)
  probability, then return the distribution of the segment(s) that supplied it (for the median:
  whose probability is closest to it), averaged;
* votes become probabilities by their share of the non-missing votes; ties go to the category
  voted for first.

Missing is NaN in float columns and None in label columns and in the single-record lists.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from pmmlserve.scoring._results import predicted_label, scalar_argmax

__all__ = ["Combiner", "VALUE_METHODS", "VOTE_METHODS", "CLASS_METHODS", "TREATMENTS",
           "seq_sum"]

VALUE_METHODS = ("sum", "weightedSum", "average", "weightedAverage", "median", "weightedMedian",
                 "max")
VOTE_METHODS = ("majorityVote", "weightedMajorityVote")
CLASS_METHODS = VOTE_METHODS + ("average", "weightedAverage", "median", "max")
TREATMENTS = ("continue", "skipSegment", "returnMissing")
_SUMS = ("sum", "weightedSum", "average", "weightedAverage")


# --------------------------------------------------------------------------- arithmetic helpers

def seq_sum(x: np.ndarray, float32: bool = False) -> np.ndarray:
    """Sum ``x`` over axis 1 (the segments), adding them left to right from 0 as JPMML does.

    Numpy's own ``sum`` is pairwise, which can differ in the last bit.
    """
    shape = (x.shape[0],) + x.shape[2:]
    if float32:
        total32 = np.zeros(shape, np.float32)
        for t in range(x.shape[1]):
            total32 += x[:, t].astype(np.float32)
        return total32.astype(np.float64)
    total = np.zeros(shape)
    for t in range(x.shape[1]):
        total += x[:, t]
    return total


def _seq(xs) -> float:
    total = 0.0
    for x in xs:  # builtin sum() compensates rounding on Python >= 3.12
        total += x
    return total


def _f32_seq(xs, ws=None) -> np.float32:
    """float32 sum of ``xs`` (times ``ws``, each product rounded to float32), left to right."""
    a = np.asarray(xs, dtype=np.float32)
    if ws is not None:
        a *= np.asarray(ws, dtype=np.float32)
    return np.cumsum(a, dtype=np.float32)[-1] if len(a) else np.float32(0)


def _ratio(a: float, b: float) -> float:
    """``a / b`` with IEEE semantics (what numpy gives the batch path)."""
    if b == 0:
        return math.nan if a == 0 or a != a else math.copysign(math.inf, a)
    return a / b


def _median_rows(vals: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Legacy-percentile median of each row's kept values (NaN for a row without any)."""
    n, k = vals.shape
    s = np.sort(np.where(keep, vals, np.inf), axis=1)
    cnt = keep.sum(axis=1)
    pos = (cnt + 1) * 0.5
    f = np.floor(pos).astype(np.intp)
    rows = np.arange(n)
    lower = s[rows, np.clip(f - 1, 0, k - 1)]
    upper = s[rows, np.clip(f, 0, k - 1)]
    last = s[rows, np.clip(cnt - 1, 0, k - 1)]
    with np.errstate(invalid="ignore"):
        out = np.where(pos >= cnt, last, lower + (pos - f) * (upper - lower))
    out[cnt == 0] = np.nan
    return out


def _median_list(xs: list) -> float:
    s = sorted(xs)
    pos = (len(s) + 1) * 0.5
    if pos >= len(s):
        return s[-1]
    f = math.floor(pos)
    lower, upper = s[f - 1], s[f]
    return lower + (pos - f) * (upper - lower)


def _weighted_median_rows(vals: np.ndarray, keep: np.ndarray, w: np.ndarray,
                          f32: bool = False) -> np.ndarray:
    if f32:  # float32 values and weights; the cumulative weight is still a double
        vals = vals.astype(np.float32).astype(np.float64)
        w = w.astype(np.float32).astype(np.float64)
    fill = np.where(keep, vals, np.inf)
    order = np.argsort(fill, axis=1, kind="stable")
    sv = np.take_along_axis(fill, order, axis=1)
    sw = np.take_along_axis(np.where(keep, w, 0.0), order, axis=1)
    half = 0.5 * seq_sum(np.where(keep, w, 0.0), f32)
    hit = np.cumsum(sw, axis=1) >= half[:, None]
    out = sv[np.arange(len(sv)), np.argmax(hit, axis=1)]
    out[~hit.any(axis=1)] = np.nan
    return out


def _weighted_median_list(xs: list, ws: list, f32: bool = False) -> Optional[float]:
    if f32:
        xs = [float(np.float32(x)) for x in xs]
        ws = [float(np.float32(w)) for w in ws]
    half = 0.5 * (float(_f32_seq(ws)) if f32 else _seq(ws))
    cumulative = 0.0
    for i in sorted(range(len(xs)), key=xs.__getitem__):
        cumulative += ws[i]
        if cumulative >= half:
            return xs[i]
    return None


# --------------------------------------------------------------------------- the rules


class Combiner:
    """The combination rule of one Segmentation.

    Parameters
    ----------
    method : str
        ``multipleModelMethod`` (an aggregating one: not modelChain/selectFirst/selectAll).
    weights : sequence of float
        ``Segment@weight``, in document order.
    treatment : str
        ``missingPredictionTreatment``.
    threshold : float
        ``missingThreshold``.
    labels : tuple, optional
        A classifier's categories, in document order.
    float_sum : bool
        The Segmentation's model has a float math context: sums, weighted sums and averages
        of values are float32 arithmetic (JPMML's ``FloatValue``), on values rounded to float32.
    """

    def __init__(self, method: str, weights: Sequence[float], treatment: str = "continue",
                 threshold: float = 1.0, labels: Optional[tuple] = None, float_sum: bool = False):
        self.method = method
        self.weights = [float(w) for w in weights]
        self.w = np.asarray(self.weights)
        self.weight_sum = _seq(self.weights)
        self.treatment = treatment
        self.threshold = threshold
        self.labels = tuple(labels or ())
        self.float_sum = float_sum
        self.weighted = method.startswith("weighted")

    # ------------------------------------------------------------------ missing predictions
    def _gate(self, use: Optional[np.ndarray], missing: np.ndarray, votes: bool = False):
        """(segments that take part, rows whose result is missing); ``use`` None = all TRUE."""
        if use is None:
            use = np.ones(missing.shape, dtype=bool)
        miss = use & missing
        out = ~use.any(axis=1)
        if not miss.any():
            return use, out
        t = self.treatment
        if t == "returnMissing" or (t == "continue" and not votes):
            return use & ~miss, out | miss.any(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = seq_sum(np.where(miss, self.w, 0.0)) / seq_sum(np.where(use, self.w, 0.0))
        out = out | (share > self.threshold)
        if t == "skipSegment":
            keep = use & ~miss
            # a sum of no segment is 0 (JPMML); other statistics of nothing are missing
            return keep, out if self.method in ("sum", "weightedSum") else out | ~keep.any(axis=1)
        return use, out  # continue, votes: a missing prediction is a vote for "missing"

    def _gate_one(self, applied: list, missing: list, votes: bool = False) -> Optional[list]:
        used = [i for i, a in enumerate(applied) if a]
        if not used:
            return None
        miss = [i for i in used if missing[i]]
        if not miss:
            return used
        t = self.treatment
        if t == "returnMissing" or (t == "continue" and not votes):
            return None
        share = _ratio(_seq(self.weights[i] for i in miss), _seq(self.weights[i] for i in used))
        if share > self.threshold:
            return None
        if t == "skipSegment":
            kept = [i for i in used if not missing[i]]
            return kept if kept or self.method in ("sum", "weightedSum") else None
        return used

    # ------------------------------------------------------------------ regression, batch
    def values(self, vals: np.ndarray, use: Optional[np.ndarray] = None) -> np.ndarray:
        """Combine the segments' values (rows × segments, NaN = missing) into one column."""
        missing = np.isnan(vals)
        if use is None and not missing.any():
            return self._combine(vals, None)
        keep, out = self._gate(use, missing)
        total = self._combine(vals, keep)
        total[out] = np.nan
        return total

    def _sums(self, vals: np.ndarray, keep: Optional[np.ndarray]) -> np.ndarray:
        m, f32 = self.method, self.float_sum
        dtype = np.float32 if f32 else np.float64
        w = self.w.astype(dtype)
        x = (vals if keep is None else np.where(keep, vals, 0.0)).astype(dtype, copy=False)
        if self.weighted:
            x = x * w
        total = seq_sum(x, f32).astype(dtype)
        if m == "average":
            count = vals.shape[1] if keep is None else keep.sum(axis=1)
            total = total / np.asarray(count, dtype=dtype)
        elif m == "weightedAverage":
            wsum = (np.full(len(vals), self.weight_sum) if keep is None and not f32
                    else seq_sum(np.broadcast_to(w, vals.shape) if keep is None
                                 else np.where(keep, w, 0), f32)).astype(dtype)
            total = np.where(wsum == 0, np.nan, total / wsum)
        return total.astype(np.float64)

    def _combine(self, vals: np.ndarray, keep: Optional[np.ndarray]) -> np.ndarray:
        m, w = self.method, self.w
        every = np.ones(vals.shape, dtype=bool) if keep is None and m not in _SUMS else keep
        with np.errstate(invalid="ignore", divide="ignore"):
            if m in _SUMS:
                return self._sums(vals, keep)
            if m == "median":
                return _median_rows(vals, every)
            if m == "weightedMedian":
                return _weighted_median_rows(vals, every, w, self.float_sum)
            return np.max(np.where(every, vals, -np.inf), axis=1)  # max

    # ------------------------------------------------------------------ regression, one record
    def one_value(self, applied: Optional[list], values: list) -> Optional[float]:
        """Single-record :meth:`values`: ``applied`` flags (None: all TRUE) and values
        (None = missing)."""
        if applied is None and None not in values:
            xs, ws = values, self.weights  # every segment, none missing: the forest's case
        else:
            used = self._gate_one(applied or [True] * len(values), [v is None for v in values])
            if used is None:
                return None
            xs = [values[i] for i in used]
            ws = [self.weights[i] for i in used]
        m = self.method
        if m in _SUMS:
            if self.float_sum:
                total = _f32_seq(xs, ws if self.weighted else None)
                if m == "average":
                    return float(total / np.float32(len(xs)))
                if m == "weightedAverage":
                    wsum = _f32_seq(ws)
                    return None if wsum == 0 else float(total / wsum)
                return float(total)
            total = _seq([x * w for x, w in zip(xs, ws)] if self.weighted else xs)
            if m == "average":
                return total / len(xs)
            if m == "weightedAverage":
                wsum = _seq(ws)
                return None if wsum == 0 else total / wsum
            return total
        if m == "median":
            return _median_list(xs)
        if m == "weightedMedian":
            return _weighted_median_list(xs, ws, self.float_sum)
        return max(xs)

    # ------------------------------------------------------------------ classification, batch
    def votes(self, values: np.ndarray, missing: np.ndarray,
              use: Optional[np.ndarray] = None) -> tuple[np.ndarray, dict]:
        """majorityVote, weightedMajorityVote: ``values`` are the segments' labels (rows ×
        segments, object), ``missing`` where they are missing.  Returns (labels, {label: p})."""
        n, k = values.shape
        keep, out = self._gate(use, missing, votes=True)
        valid = keep & ~missing
        labels = list(self.labels)
        seen = pd.unique(values[valid].ravel())
        labels += [v for v in seen.tolist() if v not in labels]
        w = self.w if self.weighted else np.ones(k)
        hits = [valid & (values == label) for label in labels]
        counts = np.stack([seq_sum(np.where(h, w, 0.0)) for h in hits], axis=1) if labels \
            else np.zeros((n, 0))
        total = seq_sum(np.where(valid, w, 0.0))
        best = counts.max(axis=1) if labels else np.zeros(n)
        if self.treatment == "continue":
            out = out | (seq_sum(np.where(keep & missing, w, 0.0)) > best)
        out = out | ~valid.any(axis=1) | (total == 0)
        # ties go to the category voted for first (JPMML keeps the votes in insertion order)
        first = np.stack([np.where(h.any(axis=1), np.argmax(h, axis=1), k) for h in hits], axis=1) \
            if labels else np.zeros((n, 0), np.intp)
        label_col = np.full(n, None, dtype=object)
        if labels:
            key = np.where(counts == best[:, None], first, k + 1)
            label_col = np.array(labels + [None], dtype=object)[np.argmin(key, axis=1)]
        label_col[out] = None
        with np.errstate(invalid="ignore", divide="ignore"):
            probs = {label: np.where(out, np.nan, counts[:, j] / total)
                     for j, label in enumerate(self.labels)}
        return label_col, probs

    def probabilities(self, P: np.ndarray, missing: np.ndarray,
                      use: Optional[np.ndarray] = None) -> tuple[np.ndarray, dict]:
        """average, weightedAverage, median, max: ``P`` holds the segments' probabilities
        (labels × rows × segments, NaN = absent), ``missing`` where a prediction is missing (a
        segment without any probability counts as missing too)."""
        labels = self.labels
        L, n, k = P.shape
        absent = np.isnan(P)
        if labels:
            missing = missing | np.logical_and.reduce(absent, axis=0)
        keep, out = self._gate(use, missing)
        P = np.where(keep & ~absent, P, 0.0)
        m = self.method
        with np.errstate(invalid="ignore", divide="ignore"):
            if m == "average":
                count = keep.sum(axis=1)
                result = [seq_sum(P[j]) / count for j in range(L)]
            elif m == "weightedAverage":
                wsum = seq_sum(np.where(keep, self.w, 0.0))
                wsum[wsum == 0] = np.nan
                result = [seq_sum(P[j] * self.w) / wsum for j in range(L)]
            else:
                result = self._winner_distribution(P, keep)
        cols = {label: np.where(out, np.nan, col) for label, col in zip(labels, result)}
        return predicted_label(cols, labels, n), cols

    def _winner_distribution(self, P: np.ndarray, keep: np.ndarray) -> list:
        """max/median: the averaged distribution of the segments that supplied the winner."""
        L, n, k = P.shape
        if L == 0:
            return []
        if self.method == "max":
            stat = np.stack([np.max(np.where(keep, P[j], -np.inf), axis=1) for j in range(L)])
        else:
            stat = np.stack([_median_rows(P[j], keep) for j in range(L)])
        win = np.argmax(np.where(np.isnan(stat), -np.inf, stat), axis=0)
        rows = np.arange(n)
        target = stat[win, rows]
        pw = P[win, rows]  # rows × segments: each segment's probability of the winner
        if self.method == "max":
            contrib = keep & (pw == target[:, None])
        else:
            diff = np.where(keep, np.abs(target[:, None] - pw), np.inf)
            contrib = keep & (diff == diff.min(axis=1)[:, None])
        count = contrib.sum(axis=1)
        return [seq_sum(np.where(contrib, P[j], 0.0)) / count for j in range(L)]

    # ------------------------------------------------------------------ classification, one record
    def one_class(self, applied: list, values: list, probs: Optional[list] = None
                  ) -> tuple[Any, dict]:
        """Single-record combination of class predictions: per segment its flag, label and
        {label: p} (None without probabilities; votes need none)."""
        if self.method in VOTE_METHODS:
            return self._one_votes(applied, values)
        labels = self.labels
        nothing = (None, dict.fromkeys(labels))
        rows, missing = [], []
        for v, p in zip(values, probs):
            row = [p.get(label) for label in labels] if p else [None] * len(labels)
            gone = row.count(None)
            rows.append([0.0 if x is None else x for x in row] if gone else row)
            missing.append(v is None or (gone == len(row) > 0))
        used = self._gate_one(applied, missing)
        if used is None:
            return nothing
        chosen = [rows[i] for i in used]
        m = self.method
        if m == "average":
            dist = [_seq(col) / len(chosen) for col in zip(*chosen)]
        elif m == "weightedAverage":
            ws = [self.weights[i] for i in used]
            wsum = _seq(ws)
            if wsum == 0:
                return nothing
            dist = [_seq([w * x for w, x in zip(ws, col)]) / wsum for col in zip(*chosen)]
        else:
            dist = self._one_winner_distribution(chosen)
        out = dict(zip(labels, dist))
        return scalar_argmax(out), out

    def _one_winner_distribution(self, rows: list) -> list:
        cols = list(zip(*rows))
        if not cols:
            return []
        stat = [max(c) if self.method == "max" else _median_list(list(c)) for c in cols]
        win = 0
        for j, s in enumerate(stat):
            if s > stat[win]:
                win = j
        if self.method == "max":
            chosen = [r for r in rows if r[win] == stat[win]]
        else:
            diffs = [abs(stat[win] - r[win]) for r in rows]
            closest = min(diffs)
            chosen = [r for r, diff in zip(rows, diffs) if diff == closest]
        return [_seq(col) / len(chosen) for col in zip(*chosen)]

    def _one_votes(self, applied: list, values: list) -> tuple[Any, dict]:
        nothing = (None, dict.fromkeys(self.labels))
        used = self._gate_one(applied, [v is None for v in values], votes=True)
        if used is None:
            return nothing
        counts: dict = {}
        missing_votes = total = 0.0
        for i in used:
            w = self.weights[i] if self.weighted else 1.0
            if values[i] is None:
                missing_votes += w
                continue
            counts[values[i]] = counts.get(values[i], 0.0) + w
            total += w
        if not counts or total == 0:
            return nothing
        winner = max(counts, key=counts.__getitem__)  # the first of equal maxima
        if self.treatment == "continue" and missing_votes > counts[winner]:
            return nothing
        return winner, {label: counts.get(label, 0.0) / total for label in self.labels}
