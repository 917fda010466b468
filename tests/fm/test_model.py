"""The FM equation and its gradient, against the definition and finite differences."""

import numpy as np
import pytest
import scipy.sparse as sp

from pmmlserve.fm import _model
from pmmlserve.fm._optim import FTRL, SOLVERS


def brute_force_score(X, w0, w, V):
    """The textbook FM: w0 + sum_i w_i x_i + sum_{i<j} <v_i, v_j> x_i x_j, one pair at a time."""
    scores = []
    for x in X:
        s = w0 + x @ w
        for i in range(len(x)):
            for j in range(i + 1, len(x)):
                s += (V[i] @ V[j]) * x[i] * x[j]
        scores.append(s)
    return np.array(scores)


@pytest.fixture
def params(rng):
    p, k = 7, 3
    return 0.3, rng.normal(size=p), rng.normal(size=(p, k))


def test_decision_matches_pairwise_definition_dense_and_sparse(rng, params):
    X = rng.normal(size=(20, 7)) * (rng.random((20, 7)) < 0.5)
    expected = brute_force_score(X, *params)
    np.testing.assert_allclose(_model.decision(X, *params), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_model.decision(sp.csr_matrix(X), *params), expected,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
def test_backward_matches_finite_differences(rng, params, sparse):
    w0, w, V = params
    X = rng.normal(size=(5, 7))
    X[:, 2] = 0.0  # a feature the batch does not use: it must be left out of the gradient
    dscore = rng.normal(size=5)
    batch = _model.sparse_batch(sp.csr_matrix(X), 0, 5) if sparse else _model.dense_batch(X)
    assert np.array_equal(batch.rows, [0, 1, 3, 4, 5, 6])

    score, cache = _model.forward(batch, w0, w, V)
    np.testing.assert_allclose(score, brute_force_score(X, w0, w, V), rtol=1e-12)
    grad = _model.backward(batch, cache, dscore)

    def objective(w0_, w_, V_):
        return dscore @ brute_force_score(X, w0_, w_, V_)

    h = 1e-6
    assert grad.w0 == pytest.approx((objective(w0 + h, w, V) - objective(w0 - h, w, V)) / (2 * h))
    for col, i in enumerate(batch.rows):
        e = np.zeros_like(w)
        e[i] = h
        numeric = (objective(w0, w + e, V) - objective(w0, w - e, V)) / (2 * h)
        assert grad.w[col] == pytest.approx(numeric, rel=1e-6)
        for f in range(V.shape[1]):
            E = np.zeros_like(V)
            E[i, f] = h
            numeric = (objective(w0, w, V + E) - objective(w0, w, V - E)) / (2 * h)
            assert grad.V[col, f] == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_ftrl_starts_at_the_initial_weights(rng):
    # A zero gradient must leave the random initial factors where they are; plain FTRL
    # (accumulators at zero) would collapse them to zero and the factors would never learn.
    V = rng.normal(size=(4, 3))
    start = V.copy()
    FTRL(V, 0.1, beta=1.0, l2=0.5).step(V, slice(None), np.zeros_like(V), 0.5)
    np.testing.assert_allclose(V, start, rtol=1e-15)


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_one_step_updates_only_the_given_rows(rng, solver):
    w = rng.normal(size=6)
    before = w.copy()
    rows = np.array([1, 4])
    optimizer = SOLVERS[solver](w, 0.1, beta=1.0, l2=0.0)
    optimizer.step(w, rows, np.array([1.0, -1.0]), 0.0)
    untouched = np.setdiff1d(np.arange(6), rows)
    assert np.array_equal(w[untouched], before[untouched])
    # a step goes against the gradient
    assert w[1] < before[1] and w[4] > before[4]
