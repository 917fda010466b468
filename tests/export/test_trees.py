"""scikit-learn trees and ensembles: NaN routing, float32 thresholds, folded one-hot splits."""

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from tests.export._helpers import (
    binary_target,
    check_parity,
    frame,
    holdout,
    multiclass_target,
    regression_target,
)

pytestmark = pytest.mark.jpmml


def _encode():
    # the trees see NaN in "age" (they route it natively) and one-hot colors/cities
    return ColumnTransformer([
        ("num", "passthrough", ["age", "income"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["color", "city"]),
    ])


CLASSIFIERS = [
    DecisionTreeClassifier(max_depth=5, random_state=0),
    RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0),
    ExtraTreesClassifier(n_estimators=5, max_depth=4, random_state=0),
]


@pytest.mark.parametrize("model", CLASSIFIERS, ids=lambda m: type(m).__name__)
@pytest.mark.parametrize("make_target", [binary_target, multiclass_target],
                         ids=["binary", "multiclass"])
def test_tree_classifiers_route_missing_values_like_sklearn(model, make_target):
    X = frame(300)
    pipeline = make_pipeline(_encode(), model).fit(X, make_target(X))
    check_parity(pipeline, holdout(frame(150, seed=7)))


@pytest.mark.parametrize("model", [
    DecisionTreeRegressor(max_depth=6, random_state=0),
    RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0),
    ExtraTreesRegressor(n_estimators=5, max_depth=4, random_state=0),
], ids=lambda m: type(m).__name__)
def test_tree_regressors_match_predict(model):
    X = frame(300)
    pipeline = make_pipeline(_encode(), model).fit(X, regression_target(X))
    check_parity(pipeline, holdout(frame(150, seed=7)))


@pytest.mark.parametrize("make_target, model", [
    (binary_target, GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=0)),
    (binary_target, GradientBoostingClassifier(n_estimators=10, loss="exponential",
                                               random_state=0)),
    (multiclass_target, GradientBoostingClassifier(n_estimators=8, max_depth=2,
                                                   random_state=0)),
    (regression_target, GradientBoostingRegressor(n_estimators=15, random_state=0)),
    (regression_target, GradientBoostingRegressor(n_estimators=10, loss="huber",
                                                  random_state=0)),
], ids=["binary", "exponential", "multiclass", "squared", "huber"])
def test_gradient_boosting_matches_sklearn(make_target, model):
    # GradientBoosting refuses NaN: scale the imputed-free numeric columns instead
    X = frame(300, missing=False)
    pre = ColumnTransformer([
        ("num", StandardScaler(), ["age", "income"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["color", "city"]),
    ])
    pipeline = make_pipeline(pre, model).fit(X, make_target(X))
    check_parity(pipeline, holdout(frame(150, seed=8, missing=False), missing=False))


def test_float32_thresholds_select_the_same_rows_as_sklearn():
    # inputs sitting exactly on and around float32 roundings of the learned thresholds
    X = frame(200, missing=False)[["age", "income"]]
    y = (X["income"] > np.median(X["income"])).astype(int)
    tree = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y)
    t = tree.tree_.threshold[tree.tree_.feature >= 0]
    f = tree.tree_.feature[tree.tree_.feature >= 0]
    probes = X.iloc[np.repeat(0, 4 * len(t))].copy().reset_index(drop=True)
    for i, (feature, threshold) in enumerate(zip(f, t)):
        column = X.columns[feature]
        t32 = np.float32(threshold)
        for j, value in enumerate([threshold, float(t32), float(np.nextafter(t32, np.inf)),
                                   float(np.nextafter(t32, -np.inf))]):
            probes.loc[4 * i + j, column] = value
    document = check_parity(tree, probes)
    assert b'dataType="float"' in document


def test_one_hot_splits_become_category_predicates():
    X = frame(300)
    pipeline = make_pipeline(_encode(), DecisionTreeClassifier(max_depth=6, random_state=0))
    pipeline.fit(X, binary_target(X))
    document = check_parity(pipeline, holdout(frame(100, seed=9)))
    assert b'field="color"' in document and b"NormDiscrete" not in document
