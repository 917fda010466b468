"""HistGradientBoosting, XGBoost and LightGBM: NaN routing, native categorical splits, links."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

import pmmlserve
from tests.export._helpers import (
    CATEGORIES,
    binary_target,
    check_parity,
    expected,
    frame,
    holdout,
    multiclass_target,
    regression_target,
)
from tests.oracles import assert_schema_valid, float32_ulps, jpmml_predict, jpmml_verify

pytestmark = pytest.mark.jpmml


def categorical_frame(n, seed=0):
    X = frame(n, seed)
    X["color"] = pd.Categorical(X["color"], categories=CATEGORIES)
    X["city"] = pd.Categorical(X["city"])
    X.loc[X.index % 13 == 5, "city"] = np.nan
    return X


def categorical_holdout(X):
    """Unseen and missing categories, given as plain strings (PMML has no pandas dtype)."""
    X = holdout(X.astype({"color": object, "city": object}))
    return X


def as_categories(X, like):
    """What the Python model sees for those rows: unseen categories become NaN."""
    X = X.copy()
    for column in ("color", "city"):
        dtype = like[column].dtype
        X[column] = pd.Categorical(X[column].where(X[column].isin(dtype.categories)),
                                   categories=dtype.categories)
    return X


def check_categorical(model, X_train, X_test, *, rtol=1e-12, scorer=True):
    """Parity when the estimator needs pandas categoricals but the document gets strings."""
    document = pmmlserve.export(model, sample=X_train.iloc[:25])
    assert_schema_valid(document)
    want = expected(model, as_categories(X_test, X_train))
    from tests.oracles import assert_frames_close

    assert_frames_close(jpmml_predict(document, X_test), want, rtol=rtol)
    jpmml_verify(document)
    if scorer:
        scored = pmmlserve.load(document, verify=True).predict(X_test)
        assert_frames_close(scored, want, rtol=rtol)
    return document


# -- HistGradientBoosting ----------------------------------------------------------------------
@pytest.mark.parametrize("make_target", [binary_target, multiclass_target],
                         ids=["binary", "multiclass"])
def test_hist_gradient_boosting_categorical_and_missing(make_target):
    X = categorical_frame(400)
    model = HistGradientBoostingClassifier(max_iter=15, max_depth=4, random_state=0,
                                           categorical_features="from_dtype")
    model.fit(X, make_target(X))
    check_categorical(model, X, categorical_holdout(frame(150, seed=4)))


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_hist_gradient_boosting_regressor(loss):
    X = categorical_frame(400)
    model = HistGradientBoostingRegressor(max_iter=10, loss=loss, random_state=0).fit(
        X, regression_target(X).clip(0.1))
    check_categorical(model, X, categorical_holdout(frame(150, seed=4)))


def test_hist_gradient_boosting_numeric_nan_only():
    X = frame(300)[["age", "income"]]
    model = HistGradientBoostingClassifier(max_iter=10, random_state=0)
    model.fit(X, binary_target(frame(300)))
    test = frame(100, seed=3)[["age", "income"]]
    test.loc[::3, "income"] = np.nan  # never missing in training
    check_parity(model, test)


# -- XGBoost -----------------------------------------------------------------------------------
xgb = pytest.importorskip("xgboost")


def _numeric(X):
    return X[["age", "income"]]


def check_float32(model, X_fit_like, X_test, *, scorer):
    """XGBoost computes in float32: probabilities within 4 float32 ULPs, same classes."""
    document = pmmlserve.export(model, sample=X_fit_like.iloc[:25])
    assert_schema_valid(document)
    want = expected(model, X_test)
    results = [jpmml_predict(document, X_test)]
    jpmml_verify(document)
    if scorer:
        results.append(pmmlserve.load(document, verify=True).predict(X_test))
    binary = want.shape[1] == 2 and "probability(1)" in want
    for got in results:
        for column in want.columns:
            if binary and column == "probability(0)":
                # XGBoost returns 1 - p in float32: compare on the scale of p
                diff = np.abs(got[column].to_numpy() - want[column].to_numpy())
                spacing = np.spacing(np.float32(want["probability(1)"].to_numpy()))
                assert (diff <= 4 * spacing).all()
            else:
                assert float32_ulps(got[column].to_numpy(), want[column].to_numpy()).max() <= 4
        if "y" in got and binary:
            assert (got["y"].to_numpy() == model.predict(X_test)).all()
    return document


XGB_CASES = [
    (binary_target, lambda: xgb.XGBClassifier(n_estimators=40, max_depth=4, n_jobs=1)),
    (lambda X: multiclass_target(X).map({"low": 0, "mid": 1, "high": 2}),
     lambda: xgb.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1)),
    (regression_target, lambda: xgb.XGBRegressor(n_estimators=20, max_depth=3, n_jobs=1)),
]


@pytest.mark.parametrize("make_target, make_model", XGB_CASES,
                         ids=["binary", "multiclass", "regression"])
def test_xgboost_within_4_float32_ulps(make_target, make_model):
    X = frame(400)
    model = make_model().fit(_numeric(X), make_target(X))
    test = _numeric(holdout(frame(200, seed=6)))
    document = check_float32(model, _numeric(X), test, scorer=True)
    assert b'dataType="float"' in document


def test_xgboost_native_categorical_splits():
    X = categorical_frame(400)
    model = xgb.XGBClassifier(n_estimators=15, max_depth=3, enable_categorical=True, n_jobs=1)
    model.fit(X, binary_target(X))
    test = categorical_holdout(frame(150, seed=4))
    document = pmmlserve.export(model, sample=X.iloc[:25])
    assert_schema_valid(document)
    want = expected(model, as_categories(test, X))
    got = jpmml_predict(document, test)
    assert float32_ulps(got["probability(1)"], want["probability(1)"]).max() <= 4
    jpmml_verify(document)


# -- LightGBM ----------------------------------------------------------------------------------
lgb = pytest.importorskip("lightgbm")


@pytest.mark.parametrize("make_target, make_model", [
    (binary_target, lambda: lgb.LGBMClassifier(n_estimators=20, num_leaves=8,
                                               min_child_samples=5, verbose=-1, n_jobs=1)),
    (multiclass_target, lambda: lgb.LGBMClassifier(n_estimators=8, num_leaves=6, verbose=-1,
                                                   n_jobs=1)),
    (regression_target, lambda: lgb.LGBMRegressor(n_estimators=15, verbose=-1, n_jobs=1)),
    (lambda X: regression_target(X).clip(0.1),
     lambda: lgb.LGBMRegressor(n_estimators=10, objective="poisson", verbose=-1, n_jobs=1)),
], ids=["binary", "multiclass", "regression", "poisson"])
def test_lightgbm_categorical_and_missing(make_target, make_model):
    X = categorical_frame(400)
    model = make_model().fit(X, make_target(X))
    check_categorical(model, X, categorical_holdout(frame(150, seed=4)))


def test_lightgbm_without_missing_values_in_training_maps_nan_to_zero():
    X = frame(300, missing=False)[["age", "income"]]
    X["age"] = X["age"] - 40  # so that 0 falls inside the data
    model = lgb.LGBMClassifier(n_estimators=10, num_leaves=6, verbose=-1, n_jobs=1)
    model.fit(X, binary_target(frame(300, missing=False)))
    test = X.iloc[:60].copy()
    test.loc[::2, "age"] = np.nan
    check_parity(model, test)


@pytest.mark.parametrize("make_model", [
    lambda: lgb.LGBMClassifier(n_estimators=5, num_leaves=6, min_child_samples=5,
                               min_data_per_group=5, cat_smooth=1, verbose=-1, n_jobs=1),
    lambda: HistGradientBoostingClassifier(max_iter=5, categorical_features=[1]),
], ids=["lightgbm", "hist"])
def test_integer_coded_categorical_columns(make_model):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=600), "k": rng.integers(0, 6, 600)})
    y = (X["k"].isin([1, 4]) ^ (X["a"] > 1.5)).astype(int)
    fit = {"categorical_feature": ["k"]} if "LGBM" in type(make_model()).__name__ else {}
    model = make_model().fit(X, y, **fit)
    test = X.iloc[:120].copy()
    test.loc[::5, "k"] = 9  # unseen code
    test.loc[::7, "k"] = -1  # negative code
    document = check_parity(model, test)
    assert b'<DataField name="k" optype="categorical" dataType="integer">' in document
    assert b'field="k"' in document
