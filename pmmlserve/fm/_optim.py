"""Per-coordinate optimizers for the factorization-machine parameters.

Each optimizer owns the state of one parameter array (the bias ``w0``, the linear weights ``w``
or the factors ``V``) and updates only the rows it is given: on one-hot data a mini-batch touches
a few hundred of possibly millions of features, and an update that walked every row would cost
more than the gradient itself.  ``rows`` is either an integer index array or ``slice(None)``
(every row; the slice avoids copying through fancy indexing).

The L2 penalty is passed in separately from the loss gradient because FTRL applies it in closed
form instead of as a gradient term.
"""

from __future__ import annotations

from typing import Union

import numpy as np

Rows = Union[np.ndarray, slice]

# Keeps AdaGrad's first step finite when a coordinate's accumulated squared gradient is zero.
_ADAGRAD_EPS = 1e-10


class SGD:
    """Plain stochastic gradient descent with a constant step."""

    def __init__(self, param: np.ndarray, learning_rate: float, **_: float):
        self.learning_rate = learning_rate

    def step(self, param: np.ndarray, rows: Rows, grad: np.ndarray, l2: float) -> None:
        if l2:
            grad = grad + l2 * param[rows]
        param[rows] -= self.learning_rate * grad


class AdaGrad:
    """AdaGrad: each coordinate's step shrinks with its accumulated squared gradient."""

    def __init__(self, param: np.ndarray, learning_rate: float, **_: float):
        self.learning_rate = learning_rate
        self.sum_sq = np.zeros_like(param)

    def step(self, param: np.ndarray, rows: Rows, grad: np.ndarray, l2: float) -> None:
        if l2:
            grad = grad + l2 * param[rows]
        sum_sq = self.sum_sq[rows] + grad * grad
        self.sum_sq[rows] = sum_sq
        param[rows] -= self.learning_rate * grad / (np.sqrt(sum_sq) + _ADAGRAD_EPS)


class FTRL:
    """FTRL-Proximal (McMahan et al., 2013) with the L2 penalty applied in closed form.

    The weights are a function of two accumulators, ``z`` and ``n``:
    ``param = -z / ((beta + sqrt(n)) / alpha + l2)``.  Plain FTRL starts every weight at zero,
    which would leave the factors stuck (their gradient vanishes when all of ``V`` is zero), so
    ``z`` starts at the value that makes that formula return the random initial point.
    """

    def __init__(self, param: np.ndarray, learning_rate: float, *, beta: float = 1.0,
                 l2: float = 0.0):
        self.alpha = learning_rate
        self.beta = beta
        self.n = np.zeros_like(param)
        self.z = -(beta / learning_rate + l2) * param

    def step(self, param: np.ndarray, rows: Rows, grad: np.ndarray, l2: float) -> None:
        n_old = self.n[rows]
        n_new = n_old + grad * grad
        sqrt_new = np.sqrt(n_new)
        sigma = (sqrt_new - np.sqrt(n_old)) / self.alpha
        z = self.z[rows] + grad - sigma * param[rows]
        self.z[rows] = z
        self.n[rows] = n_new
        param[rows] = -z / ((self.beta + sqrt_new) / self.alpha + l2)


SOLVERS = {"sgd": SGD, "adagrad": AdaGrad, "ftrl": FTRL}
