"""Training loop shared by :class:`FMClassifier` and :class:`FMRegressor`."""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted

from pmmlserve.fm import _model
from pmmlserve.fm._optim import SOLVERS

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(estimator, *args, **kwargs):
        return estimator._validate_data(*args, **kwargs)


# ---------------------------------------------------------------------------------------------
# Losses, as functions of the raw score: value per row and derivative with respect to the score.


class LogLoss:
    """Binary log-loss; targets are 0/1."""

    @staticmethod
    def value(score: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.logaddexp(0.0, score) - y * score

    @staticmethod
    def gradient(score: np.ndarray, y: np.ndarray) -> np.ndarray:
        return sigmoid(score) - y

    @staticmethod
    def initial_score(y: np.ndarray, sample_weight: np.ndarray) -> float:
        # log-odds of the base rate, kept finite when one class is absent (first partial_fit)
        rate = np.clip(np.average(y, weights=sample_weight), 1e-3, 1 - 1e-3)
        return float(np.log(rate / (1 - rate)))


class SquaredLoss:
    """Half the squared error, so that its derivative is the residual."""

    @staticmethod
    def value(score: np.ndarray, y: np.ndarray) -> np.ndarray:
        return 0.5 * (score - y) ** 2

    @staticmethod
    def gradient(score: np.ndarray, y: np.ndarray) -> np.ndarray:
        return score - y

    @staticmethod
    def initial_score(y: np.ndarray, sample_weight: np.ndarray) -> float:
        return float(np.average(y, weights=sample_weight))


def sigmoid(score: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-score))``: the same expression PMML's ``logistic`` and ``logit`` use,
    so that exported documents reproduce ``predict_proba`` to the last bits."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-score))


# ---------------------------------------------------------------------------------------------


class _Trainer:
    """Mutable training state: the parameters and one optimizer per parameter array."""

    def __init__(self, estimator: BaseFM, n_features: int, rng: np.random.RandomState,
                 w0: float):
        e = estimator
        # Starting the bias at the best constant spares the first epochs learning it (a
        # per-coordinate step of ~learning_rate would take long to reach a large mean).
        self.w0 = np.array([w0])
        self.w = np.zeros(n_features)
        self.V = rng.normal(0.0, e.init_std, size=(n_features, e.n_factors))
        solver = SOLVERS[e.solver]
        extra = {"beta": e.ftrl_beta} if e.solver == "ftrl" else {}
        self.opt_w0 = solver(self.w0, e.learning_rate, **extra)
        self.opt_w = solver(self.w, e.learning_rate, **extra, **_l2(e, e.l2_reg_w))
        self.opt_V = solver(self.V, e.learning_rate, **extra, **_l2(e, e.l2_reg_v))
        self.l2_w = e.l2_reg_w
        self.l2_v = e.l2_reg_v
        self.batch_size = e.batch_size
        self.rng = rng

    def epoch(self, X, y: np.ndarray, sample_weight: np.ndarray, loss) -> float:
        """One pass over ``(X, y)`` in shuffled mini-batches; return the mean training loss."""
        n = X.shape[0]
        order = self.rng.permutation(n)
        X, y, sample_weight = X[order], y[order], sample_weight[order]
        total = 0.0
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            if sp.issparse(X):
                batch = _model.sparse_batch(X, start, stop)
            else:
                batch = _model.dense_batch(X[start:stop])
            yb, swb = y[start:stop], sample_weight[start:stop]
            batch_weight = swb.sum()
            if batch_weight == 0:
                continue
            score, cache = _model.forward(batch, self.w0[0], self.w, self.V)
            total += float(swb @ loss.value(score, yb))
            # the weighted mean, so that an integer weight acts like repeating the row
            dscore = swb * loss.gradient(score, yb) / batch_weight
            grad = _model.backward(batch, cache, dscore)
            self.opt_w0.step(self.w0, slice(None), np.array([grad.w0]), 0.0)
            self.opt_w.step(self.w, batch.rows, grad.w, self.l2_w)
            self.opt_V.step(self.V, batch.rows, grad.V, self.l2_v)
        return total / max(float(sample_weight.sum()), np.finfo(float).tiny)

    def snapshot(self) -> tuple[float, np.ndarray, np.ndarray]:
        return float(self.w0[0]), self.w.copy(), self.V.copy()


def _l2(estimator: BaseFM, l2: float) -> dict:
    # FTRL needs the penalty up front to start its accumulator at the initial weights.
    return {"l2": l2} if estimator.solver == "ftrl" else {}


@dataclass(frozen=True)
class _Constraint:
    kind: type | tuple
    low: float | None = None
    low_open: bool = False


_CONSTRAINTS = {
    "n_factors": _Constraint(numbers.Integral, 1),
    "learning_rate": _Constraint(numbers.Real, 0, low_open=True),
    "l2_reg_w": _Constraint(numbers.Real, 0),
    "l2_reg_v": _Constraint(numbers.Real, 0),
    "batch_size": _Constraint(numbers.Integral, 1),
    "max_iter": _Constraint(numbers.Integral, 1),
    "n_iter_no_change": _Constraint(numbers.Integral, 1),
    "init_std": _Constraint(numbers.Real, 0),
    "ftrl_beta": _Constraint(numbers.Real, 0),
}


class BaseFM(BaseEstimator):
    """Parameters, validation and the epoch loop; subclasses set the loss and the target."""

    _loss = SquaredLoss

    def __init__(
        self,
        n_factors=8,
        *,
        solver="adagrad",
        learning_rate=0.05,
        l2_reg_w=1e-5,
        l2_reg_v=1e-5,
        batch_size=256,
        max_iter=100,
        tol=1e-4,
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        init_std=0.1,
        ftrl_beta=1.0,
        random_state=None,
    ):
        self.n_factors = n_factors
        self.solver = solver
        self.learning_rate = learning_rate
        self.l2_reg_w = l2_reg_w
        self.l2_reg_v = l2_reg_v
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.init_std = init_std
        self.ftrl_beta = ftrl_beta
        self.random_state = random_state

    # -- hooks for the subclasses ------------------------------------------------------------

    def _encode_target(self, y, *, first_call: bool, classes=None) -> np.ndarray:
        raise NotImplementedError

    def _stratify(self, y: np.ndarray):
        return None

    # -- public training entry points (documented on the subclasses) ---------------------------

    def _fit(self, X, y, sample_weight):
        self._check_params()
        X, y, sample_weight = self._prepare(X, y, sample_weight, first_call=True)
        rng = check_random_state(self.random_state)
        self._start(X.shape[1], y, sample_weight, rng)
        validation = None
        if self.early_stopping:
            X, X_val, y, y_val, sample_weight, sw_val = train_test_split(
                X, y, sample_weight, test_size=self.validation_fraction,
                random_state=rng.randint(np.iinfo(np.int32).max), stratify=self._stratify(y))
            validation = (X_val, y_val, sw_val)
            self.validation_loss_curve_ = []
        converged, best_params = self._run_epochs(X, y, sample_weight, validation)
        if not converged and self.tol is not None:
            warnings.warn(
                f"{type(self).__name__} stopped after max_iter={self.max_iter} epochs "
                "before the loss stopped improving; consider raising max_iter.",
                ConvergenceWarning, stacklevel=3)
        self._publish(best_params)
        return self

    def _run_epochs(self, X, y, sample_weight, validation):
        """Train until ``max_iter`` or until the monitored loss stalls.

        Returns whether it stalled, and the parameters of the best validation epoch (None
        without validation data).
        """
        best_monitored, stalled, best_params = np.inf, 0, None
        for _ in range(self.max_iter):
            monitored = self._epoch(X, y, sample_weight)
            if validation is not None:
                monitored = self._mean_loss(*validation)
                if monitored < min(self.validation_loss_curve_, default=np.inf):
                    best_params = self._trainer.snapshot()
                self.validation_loss_curve_.append(monitored)
            if self.tol is not None:
                stalled = stalled + 1 if monitored > best_monitored - self.tol else 0
                best_monitored = min(best_monitored, monitored)
                if stalled >= self.n_iter_no_change:
                    return True, best_params
        return False, best_params

    def _partial_fit(self, X, y, sample_weight, classes=None):
        first_call = not hasattr(self, "_trainer")
        if first_call:
            self._check_params()
        X, y, sample_weight = self._prepare(X, y, sample_weight, first_call=first_call,
                                            classes=classes)
        if first_call:
            self._start(X.shape[1], y, sample_weight, check_random_state(self.random_state))
        self._epoch(X, y, sample_weight)
        self._publish()
        return self

    def _start(self, n_features, y, sample_weight, rng) -> None:
        """Fresh parameters, optimizer state and training history."""
        w0 = self._loss.initial_score(y, sample_weight)
        self._trainer = _Trainer(self, n_features, rng, w0)
        self.n_iter_ = 0
        self.loss_curve_ = []
        self.validation_loss_curve_ = None

    def _epoch(self, X, y, sample_weight) -> float:
        loss = self._trainer.epoch(X, y, sample_weight, self._loss)
        self.loss_curve_.append(loss)
        self.n_iter_ += 1
        return loss

    # -- scoring ------------------------------------------------------------------------------

    def _decision(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = _validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=False)
        return _model.decision(X, self.w0_, self.w_, self.V_)

    def _mean_loss(self, X, y, sample_weight) -> float:
        score = _model.decision(X, self._trainer.w0[0], self._trainer.w, self._trainer.V)
        total = float(sample_weight @ self._loss.value(score, y))
        return total / max(float(sample_weight.sum()), np.finfo(float).tiny)

    # -- helpers ------------------------------------------------------------------------------

    def _publish(self, params=None) -> None:
        """Expose the trained parameters as fitted attributes (the best epoch's, if given)."""
        if params is not None:
            w0, w, V = params
            self._trainer.w0[0] = w0
            self._trainer.w[:] = w
            self._trainer.V[:] = V
        self.w0_ = float(self._trainer.w0[0])
        self.w_ = self._trainer.w
        self.V_ = self._trainer.V

    def _prepare(self, X, y, sample_weight, *, first_call: bool, classes=None):
        """Validated float64 ``X`` (dense or CSR), encoded ``y`` and the sample weights."""
        X, y = _validate_data(self, X, y, accept_sparse="csr", dtype=np.float64,
                              reset=first_call, y_numeric=self._loss is SquaredLoss)
        if sp.issparse(X):
            # explicit zeros would make a batch "use" features it does not, and so
            # regularise them where the equivalent dense batch would not
            X = X.copy()
            X.eliminate_zeros()
        y = self._encode_target(y, first_call=first_call, classes=classes)
        return X, y, self._check_sample_weight(sample_weight, X)

    @staticmethod
    def _check_sample_weight(sample_weight, X) -> np.ndarray:
        n = X.shape[0]
        if sample_weight is None:
            return np.ones(n)
        if isinstance(sample_weight, numbers.Number):
            return np.full(n, float(sample_weight))
        sample_weight = check_array(sample_weight, ensure_2d=False, dtype=np.float64,
                                    input_name="sample_weight")
        if sample_weight.shape != (n,):
            raise ValueError(
                f"sample_weight.shape == {sample_weight.shape}, expected ({n},)")
        if np.any(sample_weight < 0):
            raise ValueError("sample_weight must be non-negative")
        if not np.any(sample_weight > 0):
            raise ValueError("sample_weight is zero everywhere: nothing to learn from")
        return sample_weight

    def _check_params(self) -> None:
        for name, rule in _CONSTRAINTS.items():
            value = getattr(self, name)
            ok = isinstance(value, rule.kind) and not isinstance(value, bool)
            if ok and rule.low is not None:
                ok = value > rule.low if rule.low_open else value >= rule.low
            if not ok:
                bound = "" if rule.low is None else f" {'>' if rule.low_open else '>='} {rule.low}"
                raise ValueError(f"{name} must be a number{bound}, got {value!r}")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {sorted(SOLVERS)}, got {self.solver!r}")
        if self.tol is not None and not (isinstance(self.tol, numbers.Real) and self.tol >= 0):
            raise ValueError(f"tol must be None or a number >= 0, got {self.tol!r}")
        if self.early_stopping and not 0 < self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
