"""Linear models: parity with the estimator through JPMML and pmmlserve (1e-12 relative)."""

import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from tests.export._helpers import (
    binary_target,
    check_parity,
    frame,
    holdout,
    multiclass_target,
    regression_target,
)

pytestmark = pytest.mark.jpmml


def _preprocess():
    return ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "income"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["color", "city"]),
    ])


@pytest.mark.parametrize("make_target, model", [
    (binary_target, LogisticRegression()),
    (multiclass_target, LogisticRegression(C=0.5)),
    (multiclass_target, OneVsRestClassifier(LogisticRegression())),
    (binary_target, SGDClassifier(loss="log_loss", random_state=0)),
    (multiclass_target, SGDClassifier(loss="log_loss", random_state=0)),
], ids=["binary", "multinomial", "one-vs-rest", "sgd-binary", "sgd-ovr"])
def test_classifiers_match_predict_proba(make_target, model):
    X = frame(300)
    pipeline = make_pipeline(_preprocess(), model).fit(X, make_target(X))
    check_parity(pipeline, holdout(frame(120, seed=5)))


@pytest.mark.parametrize("model", [
    LinearRegression(), Ridge(alpha=2.0), Lasso(alpha=0.05), ElasticNet(alpha=0.05),
    SGDRegressor(random_state=0),
], ids=lambda m: type(m).__name__)
def test_regressors_match_predict(model):
    X = frame(300)
    pipeline = make_pipeline(_preprocess(), model).fit(X, regression_target(X))
    document = check_parity(pipeline, holdout(frame(120, seed=5)), target_name="spend")
    assert b'name="spend"' in document


def test_one_hot_columns_fold_into_categorical_predictors():
    X = frame(200)
    pipeline = make_pipeline(_preprocess(), LogisticRegression()).fit(X, binary_target(X))
    document = check_parity(pipeline, holdout(frame(80, seed=6)))
    assert document.count(b"<CategoricalPredictor") == 7  # 4 colors + 3 cities
    assert b"NormDiscrete" not in document
