"""Training behaviour of FMClassifier and FMRegressor."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, mean_squared_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from pmmlserve.fm import FMClassifier, FMRegressor


def interaction_data(n, seed, n_cols=6, levels=10):
    """Categoricals whose label depends on low-rank pairwise interactions of their levels."""
    rng = np.random.default_rng(seed)
    main = rng.normal(0.0, 0.5, size=(n_cols, levels))
    emb = rng.normal(0.0, 1.0, size=(n_cols, levels, 2))
    codes = rng.integers(0, levels, size=(n, n_cols))
    cols = np.arange(n_cols)
    E = emb[cols, codes]
    logit = main[cols, codes].sum(axis=1)
    for a, b in [(0, 1), (2, 3), (4, 5), (0, 2)]:
        logit += (E[:, a] * E[:, b]).sum(axis=1)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return codes, y


@pytest.fixture(scope="module")
def one_hot():
    codes, y = interaction_data(6000, seed=1)
    return OneHotEncoder().fit_transform(codes).tocsr(), y


def test_fm_beats_logistic_regression_on_pairwise_interactions():
    codes, y = interaction_data(14000, seed=42)
    train, test = slice(0, 10000), slice(10000, None)
    fm = make_pipeline(OneHotEncoder(), FMClassifier(max_iter=15, tol=None, random_state=0))
    lr = make_pipeline(OneHotEncoder(), LogisticRegression(max_iter=1000))
    fm.fit(codes[train], y[train])
    lr.fit(codes[train], y[train])
    fm_loss = log_loss(y[test], fm.predict_proba(codes[test]))
    lr_loss = log_loss(y[test], lr.predict_proba(codes[test]))
    # the label is mostly interactions, which a linear model on one-hot columns cannot express
    assert fm_loss < lr_loss - 0.1, (fm_loss, lr_loss)


def test_sparse_and_dense_input_train_the_same_model(one_hot):
    X, y = one_hot
    kw = dict(n_factors=4, max_iter=3, tol=None, batch_size=64, random_state=0)
    on_sparse = FMClassifier(**kw).fit(X, y)
    on_dense = FMClassifier(**kw).fit(X.toarray(), y)
    np.testing.assert_allclose(on_sparse.V_, on_dense.V_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(on_sparse.w_, on_dense.w_, rtol=1e-9, atol=1e-12)
    assert on_sparse.w0_ == pytest.approx(on_dense.w0_, rel=1e-9)
    np.testing.assert_allclose(on_sparse.predict_proba(X), on_dense.predict_proba(X.toarray()),
                               rtol=1e-9)


def test_unused_features_keep_their_initial_parameters(one_hot):
    # Lazy updates: a column that never holds a non-zero is neither trained nor penalised, so
    # two models grown from the same seed on different labels agree on it and only on it.
    X, y = one_hot
    X = sp.hstack([X, sp.csr_matrix((X.shape[0], 1))]).tocsr()
    kw = dict(n_factors=4, max_iter=2, tol=None, random_state=3)
    model = FMClassifier(**kw).fit(X, y)
    flipped = FMClassifier(**kw).fit(X, 1 - y)
    assert model.w_[-1] == flipped.w_[-1] == 0.0
    np.testing.assert_array_equal(model.V_[-1], flipped.V_[-1])
    assert not np.any(model.V_[:-1] == flipped.V_[:-1])


# FTRL's beta damps the first steps, so it is given a larger step than the others
@pytest.mark.parametrize("solver, learning_rate", [("sgd", 0.1), ("adagrad", 0.1), ("ftrl", 0.5)])
def test_every_solver_learns_the_classifier(one_hot, solver, learning_rate):
    X, y = one_hot
    model = FMClassifier(solver=solver, learning_rate=learning_rate, batch_size=32, max_iter=5,
                         tol=None, random_state=0)
    model.fit(X, y)
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    base_rate = np.full(len(y), y.mean())
    assert log_loss(y, model.predict_proba(X)) < log_loss(y, base_rate) - 0.1


@pytest.mark.parametrize("solver", ["sgd", "adagrad", "ftrl"])
def test_every_solver_learns_the_regressor(rng, solver):
    X = rng.normal(size=(2000, 6))
    y = 3.0 + X[:, 0] - 2.0 * X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=2000)
    model = FMRegressor(n_factors=4, solver=solver, learning_rate=0.05, batch_size=32,
                        max_iter=20, tol=None, random_state=0).fit(X, y)
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    assert mean_squared_error(y, model.predict(X)) < 0.1 * np.var(y)


def test_string_labels_and_probability_column_order(rng):
    X = rng.normal(size=(400, 3))
    y = np.where(X[:, 0] > 0, "yes", "no")
    model = FMClassifier(n_factors=2, batch_size=32, max_iter=10, tol=None, random_state=0)
    model.fit(X, y)
    assert model.classes_.tolist() == ["no", "yes"]
    proba = model.predict_proba(X)
    # the last column is the probability of classes_[1], the sigmoid of the decision function
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-model.decision_function(X))))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
    assert model.score(X, y) > 0.9


# -- partial_fit ---------------------------------------------------------------------------------


def test_partial_fit_is_fit_one_epoch_at_a_time(one_hot):
    X, y = one_hot
    kw = dict(n_factors=4, solver="ftrl", random_state=0)
    fitted = FMClassifier(max_iter=2, tol=None, **kw).fit(X, y)
    incremental = FMClassifier(**kw)
    incremental.partial_fit(X, y, classes=[0, 1]).partial_fit(X, y)
    assert incremental.n_iter_ == 2
    # same seed, same shuffles, optimizer state carried over: bit-identical parameters
    np.testing.assert_array_equal(incremental.V_, fitted.V_)
    np.testing.assert_array_equal(incremental.w_, fitted.w_)
    assert incremental.w0_ == fitted.w0_


def test_partial_fit_on_a_new_day_improves_on_that_day(one_hot):
    X, y = one_hot
    day1, day2 = slice(0, 3000), slice(3000, None)
    model = FMClassifier(n_factors=4, random_state=0).partial_fit(X[day1], y[day1],
                                                                 classes=[0, 1])
    before = log_loss(y[day2], model.predict_proba(X[day2]))
    model.partial_fit(X[day2], y[day2])
    assert log_loss(y[day2], model.predict_proba(X[day2])) < before


def test_partial_fit_classes_rules(one_hot):
    X, y = one_hot
    with pytest.raises(ValueError, match="classes"):
        FMClassifier().partial_fit(X, y)
    model = FMClassifier().partial_fit(X[:10], np.zeros(10), classes=[0, 1])  # one class seen
    assert model.classes_.tolist() == [0, 1]
    with pytest.raises(ValueError, match="classes"):
        model.partial_fit(X[:10], y[:10], classes=[0, 2])
    with pytest.raises(ValueError, match="not in classes_"):
        model.partial_fit(X[:10], np.full(10, 2))


# -- early stopping and convergence ---------------------------------------------------------------


@pytest.fixture(scope="module")
def overfitting_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2600, 40))
    y = (rng.random(2600) < 1 / (1 + np.exp(-(X[:, 0] + X[:, 1] * X[:, 2])))).astype(int)
    return X[:600], y[:600], X[600:], y[600:]


OVERFIT = dict(n_factors=16, learning_rate=0.02, l2_reg_w=0.0, l2_reg_v=0.0, batch_size=32,
               random_state=0)


def test_early_stopping_stops_at_the_best_validation_epoch(overfitting_data):
    X, y, X_test, y_test = overfitting_data
    model = FMClassifier(early_stopping=True, validation_fraction=0.2, n_iter_no_change=3,
                         tol=0.0, max_iter=60, **OVERFIT).fit(X, y)
    curve = model.validation_loss_curve_
    best = int(np.argmin(curve))
    assert len(curve) == len(model.loss_curve_) == model.n_iter_ < 60
    assert model.n_iter_ == best + 1 + 3  # patience counted from the best epoch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        overfit = FMClassifier(max_iter=60, tol=None, **OVERFIT).fit(X, y)
    assert log_loss(y_test, model.predict_proba(X_test)) < log_loss(
        y_test, overfit.predict_proba(X_test))


def test_early_stopping_restores_the_best_epoch(overfitting_data):
    X, y, _, _ = overfitting_data
    kw = dict(early_stopping=True, validation_fraction=0.2, tol=None, **OVERFIT)
    long_run = FMClassifier(max_iter=12, **kw).fit(X, y)
    best = int(np.argmin(long_run.validation_loss_curve_))
    assert best < 11
    # a run cut right after the best epoch went through the same epochs and ends on its best
    short_run = FMClassifier(max_iter=best + 1, **kw).fit(X, y)
    np.testing.assert_array_equal(long_run.V_, short_run.V_)
    assert long_run.w0_ == short_run.w0_


def test_convergence_on_training_loss_and_warning(rng):
    X = rng.normal(size=(300, 4))
    y = X[:, 0] + 1.0
    converged = FMRegressor(n_factors=2, tol=1e-2, n_iter_no_change=2, random_state=0).fit(X, y)
    assert converged.n_iter_ < converged.max_iter
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        FMRegressor(n_factors=2, max_iter=2, tol=1e-12, random_state=0).fit(X, y)


# -- parameters -----------------------------------------------------------------------------------


@pytest.mark.parametrize("param, value", [
    ("solver", "adam"), ("n_factors", 0), ("learning_rate", 0.0), ("batch_size", 0),
    ("l2_reg_v", -1.0), ("tol", -1.0), ("n_factors", 2.5),
])
def test_invalid_parameters_are_rejected_at_fit(rng, param, value):
    X, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    with pytest.raises(ValueError, match=param):
        FMRegressor(**{param: value}).fit(X, y)


def test_sample_weight_pulls_the_fit_towards_heavy_rows():
    # two groups (one-hot), each a mix of 0s and 1s with different weights
    group = np.repeat([0, 1], 200)
    X = np.eye(2)[group]
    y = np.tile(np.repeat([0.0, 1.0], 100), 2)
    weights = np.where(group == 0, np.where(y == 1, 9.0, 1.0), np.where(y == 1, 1.0, 3.0))
    model = FMRegressor(n_factors=1, max_iter=100, tol=None, batch_size=50, learning_rate=0.1,
                        l2_reg_w=0, l2_reg_v=0, random_state=0).fit(X, y, sample_weight=weights)
    # the weighted least-squares fit of each group is its weighted mean: 9/10 and 1/4
    np.testing.assert_allclose(model.predict(np.eye(2)), [0.9, 0.25], atol=0.02)
