"""Transformers, each in a pipeline scored by JPMML and pmmlserve against the estimator."""

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)
from sklearn.tree import DecisionTreeClassifier

from tests.export._helpers import binary_target, check_parity, frame, holdout, regression_target

pytestmark = [
    pytest.mark.jpmml,
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:Found unknown categories"),
]

NUMERIC = ["age", "income"]
STRINGS = ["color", "city"]


def _fit(pre, model, X=None, target=binary_target):
    X = frame(300) if X is None else X
    return make_pipeline(pre, model).fit(X, target(X))


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent", "constant"])
def test_simple_imputer_strategies_with_indicator(strategy):
    pre = ColumnTransformer([
        ("num", SimpleImputer(strategy=strategy, fill_value=-1.0, add_indicator=True), NUMERIC),
        ("cat", OneHotEncoder(handle_unknown="ignore"), STRINGS),
    ])
    check_parity(_fit(pre, LogisticRegression()), holdout(frame(100, seed=3)))


@pytest.mark.parametrize("strategy", ["most_frequent", "constant"])
def test_string_imputer_feeds_one_hot_encoder(strategy):
    X = frame(300)
    X.loc[X.index % 6 == 0, "color"] = None
    cat = make_pipeline(SimpleImputer(strategy=strategy, fill_value="none"),
                        OneHotEncoder(handle_unknown="ignore"))
    pre = ColumnTransformer([("num", SimpleImputer(), NUMERIC), ("cat", cat, ["color"])])
    test = holdout(frame(100, seed=3))
    test.loc[test.index % 4 == 0, "color"] = None
    check_parity(_fit(pre, LogisticRegression(), X), test)


@pytest.mark.parametrize("scaler", [
    StandardScaler(with_mean=False), MinMaxScaler(feature_range=(-1, 2), clip=True),
    MaxAbsScaler(), RobustScaler(quantile_range=(10, 90)),
], ids=lambda s: type(s).__name__)
def test_scalers_are_bit_exact_in_a_linear_model(scaler):
    pre = ColumnTransformer([("num", make_pipeline(SimpleImputer(), scaler), NUMERIC)])
    check_parity(_fit(pre, LinearRegression(), target=regression_target),
                 holdout(frame(100, seed=4)))


def test_scaled_one_hot_columns_still_split_on_categories():
    pre = ColumnTransformer([
        ("num", "passthrough", NUMERIC),
        ("cat", make_pipeline(OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                              StandardScaler()), STRINGS),
    ])
    document = check_parity(_fit(pre, DecisionTreeClassifier(max_depth=6, random_state=0)),
                            holdout(frame(120, seed=4)))
    assert b"MapValues" not in document


@pytest.mark.parametrize("options", [
    dict(handle_unknown="error"),
    dict(handle_unknown="ignore", drop="first"),
    dict(handle_unknown="ignore", drop="if_binary"),
    dict(handle_unknown="infrequent_if_exist", min_frequency=0.15),
    dict(handle_unknown="infrequent_if_exist", max_categories=2, drop="first"),
], ids=["error", "drop-first", "drop-if-binary", "infrequent", "infrequent-drop"])
def test_one_hot_encoder_options(options):
    X = frame(400)
    X.loc[X.index % 10 == 0, "city"] = np.nan  # a missing category seen in training
    pre = ColumnTransformer([("num", SimpleImputer(), NUMERIC),
                             ("cat", OneHotEncoder(**options), STRINGS)])
    test = holdout(frame(120, seed=5), unseen=options["handle_unknown"] != "error")
    check_parity(_fit(pre, LogisticRegression(), X), test)


@pytest.mark.parametrize("model", [LogisticRegression(),
                                   DecisionTreeClassifier(max_depth=6, random_state=0)],
                         ids=["linear", "tree"])
def test_ordinal_encoder_unknown_and_missing_codes(model):
    X = frame(300)
    X.loc[X.index % 8 == 0, "city"] = None
    encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                             encoded_missing_value=-2)
    pre = ColumnTransformer([("num", SimpleImputer(), NUMERIC), ("cat", encoder, STRINGS)])
    check_parity(_fit(pre, model, X), holdout(frame(120, seed=6)))


@pytest.mark.parametrize("encode", ["onehot", "ordinal"])
def test_kbins_discretizer(encode):
    X = frame(300, missing=False)
    pre = ColumnTransformer([("bins", KBinsDiscretizer(n_bins=4, encode=encode,
                                                       quantile_method="averaged_inverted_cdf"),
                              NUMERIC)])
    check_parity(_fit(pre, LogisticRegression(), X), frame(100, seed=7, missing=False))


@pytest.mark.parametrize("func", [np.log1p, np.log, np.sqrt, np.exp], ids=lambda f: f.__name__)
def test_function_transformer_numpy_functions(func):
    X = frame(300, missing=False)
    X["age"] = X["age"].abs() / 10
    test = frame(100, seed=8, missing=False)
    test["age"] = test["age"].abs() / 10
    pre = ColumnTransformer([("f", FunctionTransformer(func), ["age"]),
                             ("num", "passthrough", ["income"])])
    check_parity(_fit(pre, LinearRegression(), X, regression_target), test)


@pytest.mark.parametrize("options", [dict(degree=2), dict(degree=3, interaction_only=True,
                                                          include_bias=False)])
def test_polynomial_features(options):
    pre = make_pipeline(
        ColumnTransformer([("num", SimpleImputer(), NUMERIC),
                           ("cat", OneHotEncoder(handle_unknown="ignore",
                                                 sparse_output=False), ["city"])]),
        PolynomialFeatures(**options), StandardScaler())
    check_parity(_fit(pre, LinearRegression(), target=regression_target),
                 holdout(frame(100, seed=9)))


def test_feature_union_and_positional_columns_with_passthrough_remainder():
    def with_visits(X):
        return X.assign(visits=np.arange(len(X)) % 17 * 1.5)

    X = with_visits(frame(300, missing=False))
    union = FeatureUnion([("scaled", StandardScaler()), ("bins", KBinsDiscretizer(
        n_bins=3, encode="ordinal", quantile_method="averaged_inverted_cdf"))])
    pre = ColumnTransformer([("num", union, [0, 1]),
                             ("cat", OneHotEncoder(handle_unknown="ignore"), [2, 3])],
                            remainder="passthrough")
    document = check_parity(_fit(pre, LogisticRegression(max_iter=500), X),
                            with_visits(holdout(frame(100, seed=10, missing=False),
                                                missing=False)))
    assert b'name="visits"' in document
