"""Factorization machines for CTR and recommendation data, trainable in numpy/scipy.

:class:`FMClassifier` (binary, log-loss) and :class:`FMRegressor` (squared error) are
scikit-learn estimators that accept dense or sparse input, so they can follow a
``OneHotEncoder`` in a ``Pipeline``.  Their parameters export to standard PMML 4.4 (a
``NeuralNetwork`` or a ``RegressionModel``) that any PMML scorer evaluates exactly.

>>> from pmmlserve.fm import FMClassifier
>>> clf = FMClassifier(n_factors=4, tol=None, random_state=0)
>>> clf = clf.fit([[1, 0], [0, 1]] * 10, [1, 0] * 10)
>>> clf.predict([[1, 0]]).tolist()
[1]
"""

from pmmlserve.fm._classes import FMClassifier, FMRegressor

__all__ = ["FMClassifier", "FMRegressor"]
