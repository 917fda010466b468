"""Factorization machines through the registry (markup from pmmlserve.fm._pmml)."""

import pytest
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from pmmlserve.fm import FMClassifier, FMRegressor
from tests.export._helpers import binary_target, check_parity, frame, holdout, regression_target

pytestmark = [pytest.mark.jpmml,
              pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")]


@pytest.mark.parametrize("model, make_target", [
    (FMClassifier(n_factors=3, max_iter=30, random_state=0), binary_target),
    (FMRegressor(n_factors=2, max_iter=30, random_state=0), regression_target),
], ids=["classifier", "regressor"])
def test_factorization_machine_after_one_hot(model, make_target):
    X = frame(300, missing=False)
    pre = ColumnTransformer([("num", StandardScaler(), ["age", "income"]),
                             ("cat", OneHotEncoder(handle_unknown="ignore"), ["color", "city"])])
    pipeline = make_pipeline(pre, model).fit(X, make_target(X))
    document = check_parity(pipeline, holdout(frame(120, seed=3, missing=False),
                                              missing=False))
    # one-hot inputs are 0/1: their squared terms fold into the linear weights, so only the
    # factor sums and the two scaled numeric inputs are squared
    assert document.count(b'exponent="2"') == model.n_factors + 2
