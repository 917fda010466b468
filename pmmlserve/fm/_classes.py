"""The public factorization-machine estimators."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets, unique_labels

from pmmlserve.fm._base import BaseFM, LogLoss, SquaredLoss, sigmoid

# Shared numpydoc sections.  Their first line is unindented: it follows the placeholder's own
# indentation in the class docstrings.
_PARAMETERS_DOC = """Parameters
    ----------
    n_factors : int, default=8
        Dimension ``k`` of the factor vectors that model pairwise interactions.
    solver : {"adagrad", "sgd", "ftrl"}, default="adagrad"
        Optimizer: AdaGrad, plain SGD with a constant step, or FTRL-Proximal.
    learning_rate : float, default=0.05
        Step size (the ``alpha`` of AdaGrad and FTRL).  FTRL's ``beta`` damps its first steps,
        so it usually wants a larger value (around 0.5).
    l2_reg_w : float, default=1e-5
        L2 penalty on the linear weights ``w_`` (the bias ``w0_`` is not penalised).
    l2_reg_v : float, default=1e-5
        L2 penalty on the factors ``V_``.
    batch_size : int, default=256
        Rows per mini-batch.
    max_iter : int, default=100
        Maximum number of epochs (passes over the training data).
    tol : float or None, default=1e-4
        Training stops when the monitored loss (validation loss with ``early_stopping``,
        otherwise the training loss) has not improved by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs.  ``None`` always runs ``max_iter`` epochs.
    n_iter_no_change : int, default=5
        Epochs without improvement tolerated before stopping.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training rows (stratified for a classifier),
        monitor their loss, and keep the parameters of the best epoch.
    validation_fraction : float, default=0.1
        Share of the rows held out when ``early_stopping`` is set.
    init_std : float, default=0.1
        Standard deviation of the normal distribution the factors start from.
    ftrl_beta : float, default=1.0
        FTRL's ``beta`` (smoothing of the per-coordinate step); ignored by other solvers.
    random_state : int, RandomState instance or None, default=None
        Seeds the factor initialisation, the shuffling and the validation split.
"""

_NOTES_DOC = """Notes
    -----
    Each mini-batch only updates (and only penalises) the parameters of the features that are
    non-zero in it, as libFM does: on one-hot data a rare level is not shrunk by the batches
    that do not contain it, and an epoch costs O(k * nnz) however many columns there are.
    ``partial_fit`` makes one epoch over the data it is given and keeps the optimizer state
    between calls, for incremental (e.g. daily) training.  The bias starts at the best constant
    (the target's mean, or the log-odds of the positive rate).
"""

_ATTRIBUTES_DOC = """w0_ : float
        Bias.
    w_ : ndarray of shape (n_features_in_,)
        Linear weights.
    V_ : ndarray of shape (n_features_in_, n_factors)
        Factor vectors; the interaction weight of features ``i`` and ``j`` is
        ``V_[i] @ V_[j]``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Names of the features seen during fit, when ``X`` had string column names.
    n_iter_ : int
        Epochs run.
    loss_curve_ : list of float
        Mean training loss of each epoch (measured while the epoch was running).
    validation_loss_curve_ : list of float or None
        Mean validation loss after each epoch, with ``early_stopping``."""


class FMClassifier(ClassifierMixin, BaseFM):
    __doc__ = f"""Binary factorization-machine classifier trained on the log-loss.

    The score of a row is ``w0 + x.w + sum_(i<j) (v_i.v_j) x_i x_j`` and the probability of
    ``classes_[1]`` is ``1 / (1 + exp(-score))``.  Works on dense arrays and on
    ``scipy.sparse`` matrices, e.g. after a ``OneHotEncoder`` in a ``Pipeline``.

    {_PARAMETERS_DOC}
    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two class labels; ``classes_[1]`` is the positive class.
    {_ATTRIBUTES_DOC}

    {_NOTES_DOC}
    Examples
    --------
    >>> import numpy as np
    >>> from pmmlserve.fm import FMClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 2, size=(2000, 6)).astype(float)
    >>> y = np.where(X[:, 0] == X[:, 1], "click", "skip")      # a pure interaction
    >>> clf = FMClassifier(n_factors=4, max_iter=30, tol=None, random_state=0).fit(X, y)
    >>> clf.classes_.tolist()
    ['click', 'skip']
    >>> bool(clf.score(X, y) > 0.95)
    True
    >>> clf.predict_proba(X[:1]).shape
    (1, 2)
    """

    _loss = LogLoss

    def fit(self, X, y, sample_weight=None):
        """Train from scratch.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,)
            Labels: exactly two distinct values.
        sample_weight : array-like of shape (n_samples,), optional
            Per-row weights (e.g. to undo negative down-sampling); each mini-batch's gradient
            is the weighted mean of its rows'.

        Returns
        -------
        self : FMClassifier
            The fitted estimator.

        Examples
        --------
        >>> from pmmlserve.fm import FMClassifier
        >>> clf = FMClassifier(tol=None, random_state=0)
        >>> clf.fit([[0, 1], [1, 0]] * 20, [0, 1] * 20).n_iter_
        100
        """
        return self._fit(X, y, sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one more epoch on ``(X, y)``, continuing from the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,)
            Labels, all among ``classes``.
        classes : array-like of shape (2,), optional
            Both class labels; required on the first call (a single day of data may not show
            both), optional and checked afterwards.
        sample_weight : array-like of shape (n_samples,), optional
            Per-row weights.

        Returns
        -------
        self : FMClassifier
            The updated estimator.

        Examples
        --------
        >>> from pmmlserve.fm import FMClassifier
        >>> clf = FMClassifier(tol=None, random_state=0)
        >>> clf = clf.partial_fit([[0, 1], [1, 0]], [0, 1], classes=[0, 1])
        >>> clf = clf.partial_fit([[1, 1]], [1])
        >>> clf.n_iter_
        2
        """
        return self._partial_fit(X, y, sample_weight, classes=classes)

    def decision_function(self, X) -> np.ndarray:
        """Raw FM score (log-odds of ``classes_[1]``) of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        ndarray of shape (n_samples,)
            The scores.

        Examples
        --------
        >>> from pmmlserve.fm import FMClassifier
        >>> clf = FMClassifier(tol=None, random_state=0).fit([[0, 1], [1, 0]] * 20, [0, 1] * 20)
        >>> clf.decision_function([[1, 0]]).shape
        (1,)
        """
        return self._decision(X)

    def predict_proba(self, X) -> np.ndarray:
        """Probability of each class, in the order of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        ndarray of shape (n_samples, 2)
            ``[1 - p, p]`` with ``p = 1 / (1 + exp(-decision_function(X)))``.

        Examples
        --------
        >>> from pmmlserve.fm import FMClassifier
        >>> clf = FMClassifier(tol=None, random_state=0).fit([[0, 1], [1, 0]] * 20, [0, 1] * 20)
        >>> clf.predict_proba([[1, 0]]).sum()
        np.float64(1.0)
        """
        p = sigmoid(self._decision(X))
        # 1 - p, like scikit-learn's LogisticRegression and PMML's binary logit, so exported
        # documents agree with this method to the last bit
        return np.column_stack([1.0 - p, p])

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Log-probabilities, in the order of ``classes_``.

        Examples
        --------
        >>> from pmmlserve.fm import FMClassifier
        >>> clf = FMClassifier(tol=None, random_state=0).fit([[0, 1], [1, 0]] * 20, [0, 1] * 20)
        >>> bool((clf.predict_log_proba([[1, 0]]) <= 0).all())
        True
        """
        score = self._decision(X)
        return np.column_stack([-np.logaddexp(0.0, score), -np.logaddexp(0.0, -score)])

    def predict(self, X) -> np.ndarray:
        """Most probable class of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        ndarray of shape (n_samples,)
            ``classes_[1]`` where the score is positive, else ``classes_[0]``.

        Examples
        --------
        >>> from pmmlserve.fm import FMClassifier
        >>> clf = FMClassifier(tol=None, random_state=0).fit([[0, 1], [1, 0]] * 20, [0, 1] * 20)
        >>> clf.predict([[1, 0], [0, 1]]).tolist()
        [1, 0]
        """
        positive = self._decision(X) > 0
        return self.classes_[positive.astype(int)]

    def _encode_target(self, y, *, first_call: bool, classes=None) -> np.ndarray:
        check_classification_targets(y)
        if first_call:
            labels = unique_labels(y) if classes is None else unique_labels(classes)
            if len(labels) != 2:
                raise ValueError(
                    f"Only binary classification is supported. {type(self).__name__} needs "
                    f"exactly 2 classes, got {len(labels)} class(es): {labels.tolist()!r}")
            self.classes_ = labels
        elif classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ValueError(
                f"classes={list(classes)!r} differs from the classes of the first call to "
                f"partial_fit, {self.classes_.tolist()!r}")
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"y contains labels not in classes_: {unknown.tolist()!r}")
        return (y == self.classes_[1]).astype(np.float64)

    def _partial_fit(self, X, y, sample_weight, classes=None):
        if not hasattr(self, "_trainer") and classes is None:
            raise ValueError("classes must be passed to the first call to partial_fit")
        return super()._partial_fit(X, y, sample_weight, classes=classes)

    def _stratify(self, y: np.ndarray):
        return y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"binary_only": True}


class FMRegressor(RegressorMixin, BaseFM):
    __doc__ = f"""Factorization-machine regressor trained on the squared error.

    The prediction of a row is ``w0 + x.w + sum_(i<j) (v_i.v_j) x_i x_j``.  Works on dense
    arrays and on ``scipy.sparse`` matrices, e.g. after a ``OneHotEncoder`` in a ``Pipeline``.

    {_PARAMETERS_DOC}
    Attributes
    ----------
    {_ATTRIBUTES_DOC}

    {_NOTES_DOC}
    Examples
    --------
    >>> import numpy as np
    >>> from pmmlserve.fm import FMRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 5))
    >>> y = 1.0 + X[:, 0] - 2.0 * X[:, 1] * X[:, 2]              # one interaction
    >>> reg = FMRegressor(n_factors=4, max_iter=50, tol=None, random_state=0).fit(X, y)
    >>> bool(reg.score(X, y) > 0.95)
    True
    """

    _loss = SquaredLoss

    def fit(self, X, y, sample_weight=None):
        """Train from scratch.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), optional
            Per-row weights.

        Returns
        -------
        self : FMRegressor
            The fitted estimator.

        Examples
        --------
        >>> from pmmlserve.fm import FMRegressor
        >>> reg = FMRegressor(tol=None, random_state=0)
        >>> reg.fit([[0.0, 1.0], [1.0, 0.0]], [1.0, 2.0]).n_iter_
        100
        """
        return self._fit(X, y, sample_weight)

    def partial_fit(self, X, y, sample_weight=None):
        """Train one more epoch on ``(X, y)``, continuing from the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), optional
            Per-row weights.

        Returns
        -------
        self : FMRegressor
            The updated estimator.

        Examples
        --------
        >>> from pmmlserve.fm import FMRegressor
        >>> reg = FMRegressor(tol=None, random_state=0).partial_fit([[0.0, 1.0]], [1.0])
        >>> reg.partial_fit([[1.0, 0.0]], [2.0]).n_iter_
        2
        """
        return self._partial_fit(X, y, sample_weight)

    def predict(self, X) -> np.ndarray:
        """Predicted target of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        ndarray of shape (n_samples,)
            The FM score.

        Examples
        --------
        >>> from pmmlserve.fm import FMRegressor
        >>> reg = FMRegressor(tol=None, random_state=0).fit([[0.0, 1.0], [1.0, 0.0]], [1.0, 2.0])
        >>> reg.predict([[1.0, 0.0]]).shape
        (1,)
        """
        return self._decision(X)

    def _encode_target(self, y, *, first_call: bool, classes=None) -> np.ndarray:
        return np.asarray(y, dtype=np.float64)
