"""The factorization-machine equation, vectorised over a mini-batch.

A second-order factorization machine (Rendle, 2010) scores a row ``x`` of ``p`` features as::

    y(x) = w0 + sum_i w_i x_i + sum_{i<j} <v_i, v_j> x_i x_j
         = w0 + x.w + 1/2 sum_f [ (x.V)_f ** 2 - (x**2).(V**2)_f ]

The second form costs O(k * nnz(x)) and is what every function here computes, one mini-batch at
a time, with sparse matrix products instead of a Python loop per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from pmmlserve.fm._optim import Rows


@dataclass(frozen=True)
class Batch:
    """A mini-batch restricted to the features it actually uses.

    Attributes
    ----------
    X : ndarray or scipy.sparse.csr_matrix of shape (n_rows, n_used)
        The batch, with columns renumbered to ``rows`` (its non-zero features).
    rows : ndarray of int or slice
        Which parameter rows (features) the columns of ``X`` are; ``slice(None)`` when the batch
        uses every feature.
    """

    X: np.ndarray | sp.csr_matrix
    rows: Rows


def dense_batch(X: np.ndarray) -> Batch:
    """Restrict a dense batch to its columns holding a non-zero value."""
    used = np.flatnonzero(np.any(X != 0, axis=0))
    if len(used) == X.shape[1]:
        return Batch(X, slice(None))
    return Batch(X[:, used], used)


def sparse_batch(X: sp.csr_matrix, start: int, stop: int) -> Batch:
    """Rows ``start:stop`` of a CSR matrix (without explicit zeros), columns compacted.

    Built straight from the CSR arrays: slicing through scipy and then selecting columns would
    copy the batch twice.
    """
    lo, hi = X.indptr[start], X.indptr[stop]
    used, columns = np.unique(X.indices[lo:hi], return_inverse=True)
    indptr = X.indptr[start:stop + 1] - lo
    compact = sp.csr_matrix((X.data[lo:hi], columns.ravel(), indptr),
                            shape=(stop - start, len(used)))
    if len(used) == X.shape[1]:
        return Batch(compact, slice(None))
    return Batch(compact, used)


def square(X: np.ndarray | sp.spmatrix) -> np.ndarray | sp.spmatrix:
    """Element-wise square, keeping a sparse matrix sparse."""
    return X.multiply(X).tocsr() if sp.issparse(X) else X * X


def decision(X, w0: float, w: np.ndarray, V: np.ndarray) -> np.ndarray:
    """The raw FM score of every row of ``X`` (dense or CSR) for parameters ``w0, w, V``."""
    XV = X @ V
    pairwise = (XV * XV).sum(axis=1) - square(X) @ (V * V).sum(axis=1)
    return w0 + X @ w + 0.5 * pairwise


@dataclass(frozen=True)
class Gradient:
    """The gradient of a batch loss with respect to the parameters a batch touches."""

    w0: float
    w: np.ndarray
    V: np.ndarray


def forward(batch: Batch, w0: float, w: np.ndarray, V: np.ndarray):
    """Score a batch; return the scores and what :func:`backward` reuses."""
    X = batch.X
    Vb = V[batch.rows]
    XV = X @ Vb
    X2 = square(X)
    pairwise = (XV * XV).sum(axis=1) - X2 @ (Vb * Vb).sum(axis=1)
    score = w0 + X @ w[batch.rows] + 0.5 * pairwise
    return score, (X2, XV, Vb)


def backward(batch: Batch, cache, dscore: np.ndarray) -> Gradient:
    """Gradient of ``sum(dscore * score)`` with respect to the touched parameters.

    ``d score / d v_if = x_i (x.V)_f - v_if x_i**2``, summed over the batch as two sparse
    products.
    """
    X2, XV, Vb = cache
    Xt = batch.X.T
    grad_V = Xt @ (dscore[:, None] * XV) - Vb * (X2.T @ dscore)[:, None]
    return Gradient(float(dscore.sum()), Xt @ dscore, grad_V)
