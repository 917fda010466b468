"""The conformance matrix: fitted PMMLPipelines exported by sklearn2pmml.

A :class:`Case` builds an unfitted :class:`~sklearn2pmml.pipeline.PMMLPipeline`, names its target
and says how to read split thresholds back out of the fitted model (so evaluation rows can sit
exactly on them).  Cases are plain data: the fixtures in ``conftest.py`` fit, export and score
them once per session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tests.scoring.conformance.data import CATEGORICAL, FEATURES, NUMERIC, UNSEEN


@dataclass(frozen=True)
class Case:
    """One pipeline of the matrix.

    Attributes
    ----------
    name : str
        Test id, also the file name of the exported document.
    task : str
        ``"binary"``, ``"multiclass"`` or ``"regression"`` (selects the target column).
    build : callable
        Returns a fresh, unfitted PMMLPipeline.
    thresholds : callable or None
        ``thresholds(pipeline) -> {raw column: [threshold, ...]}`` for tree models whose numeric
        inputs reach the trees unchanged.
    sklearn_rtol : float
        Tolerance of the sanity check "JPMML reproduces scikit-learn" (float32 models need more).
    fit_params : callable or None
        ``fit_params(pipeline) -> dict`` of keyword arguments for ``fit``.
    verify : bool
        Whether to embed ModelVerification rows (``PMMLPipeline.verify``) in the document.
    record_errors : bool
        Whether JPMML rejects some evaluation rows (the scorer must raise EvaluationError there).
    divergences : tuple of Divergence
        Documented reasons why JPMML and scikit-learn disagree on some rows; the sanity check
        skips exactly those rows and requires every missing or failed JPMML row to be explained.
    """

    name: str
    task: str
    build: Callable
    thresholds: Callable | None = None
    sklearn_rtol: float = 1e-9
    sklearn_atol: float = 1e-13
    fit_params: Callable | None = None
    verify: bool = False
    record_errors: bool = False
    divergences: tuple = field(default_factory=tuple)


@dataclass(frozen=True)
class Divergence:
    """Rows on which the exported document legitimately disagrees with scikit-learn."""

    reason: str
    rows: Callable  # DataFrame -> boolean mask


def _any_numeric_missing(X):
    return X[NUMERIC].isna().any(axis=1).to_numpy()


def _any_missing(X):
    return X[FEATURES].isna().any(axis=1).to_numpy()


def _any_unseen(X):
    return np.column_stack([(X[c] == v).to_numpy() for c, v in UNSEEN.items()]).any(axis=1)


def _any_out_of_range(X):
    from tests.scoring.conformance.data import training_frame

    train, _ = training_frame()
    lo, hi = train[NUMERIC].min(), train[NUMERIC].max()
    return ((X[NUMERIC] < lo) | (X[NUMERIC] > hi)).any(axis=1).to_numpy()


TREE_NAN = Divergence(
    "sklearn2pmml writes scikit-learn trees with missingValueStrategy=nullPrediction and no "
    "default child: JPMML returns a missing prediction where scikit-learn (>= 1.3) routes NaN "
    "down its learned branch",
    _any_numeric_missing,
)
HGB_UNSEEN = Divergence(
    "OrdinalEncoder(unknown_value=nan) sends an unseen category down HistGradientBoosting's "
    "missing branch, but the PMML keeps the raw string (invalidValueTreatment=asIs), no "
    "split matches and the tree returns a null prediction",
    _any_unseen,
)
DOMAIN_NO_REPLACEMENT = Divergence(
    "Domain missing_value_treatment as_mean/as_median/as_mode is written without a "
    "missingValueReplacement, which PMML treats as informational: the value stays missing "
    "and the regression returns missing (scikit-learn imputes)",
    lambda X: _any_missing(X) | _any_unseen(X) | _any_out_of_range(X),
)


# --- building blocks -----------------------------------------------------------------------------

def _pmml(*steps):
    from sklearn2pmml.pipeline import PMMLPipeline

    return PMMLPipeline(list(steps))


def _ct(*transformers):
    from sklearn.compose import ColumnTransformer

    return ("mapper", ColumnTransformer(list(transformers), remainder="drop"))


def _ohe(**kw):
    from sklearn.preprocessing import OneHotEncoder

    kw.setdefault("handle_unknown", "ignore")
    return OneHotEncoder(sparse_output=False, **kw)


def _imputed_cats():
    """Categoricals with NaN filled by a constant level, then one-hot encoded."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    return make_pipeline(SimpleImputer(strategy="constant", fill_value="__missing__"), _ohe())


# --- reading thresholds out of fitted models -----------------------------------------------------

def _raw_numeric(pipeline) -> dict[int, str]:
    """Map a final-estimator feature index to its raw numeric column, when it reaches it unchanged.

    The cases that ask for thresholds put numeric columns first, through "passthrough" or a
    SimpleImputer, so the transformed value equals the raw one for every non-missing input.
    """
    names = pipeline[:-1].get_feature_names_out()
    out = {}
    for i, name in enumerate(names):
        raw = str(name).split("__", 1)[-1]
        if raw in NUMERIC:
            out[i] = raw
    return out


def _collect(pairs, mapping) -> dict[str, list[float]]:
    found: dict[str, set] = {}
    for feature, threshold in pairs:
        if feature in mapping and np.isfinite(threshold):
            found.setdefault(mapping[feature], set()).add(float(threshold))
    return {k: sorted(v) for k, v in found.items()}


def _sk_tree_pairs(tree):
    t = tree.tree_
    return [(int(f), float(v)) for f, v in zip(t.feature, t.threshold) if f >= 0]


def sklearn_tree_thresholds(pipeline):
    est = pipeline[-1]
    trees = []
    if hasattr(est, "tree_"):
        trees = [est]
    elif hasattr(est, "estimators_"):
        trees = list(np.ravel(est.estimators_))
    pairs = [p for tree in trees for p in _sk_tree_pairs(tree)]
    return _collect(pairs, _raw_numeric(pipeline))


def hgb_thresholds(pipeline):
    est = pipeline[-1]
    # with categorical features the estimator moves them to the front of its internal matrix
    is_cat = est.is_categorical_
    if is_cat is None:
        is_cat = np.zeros(est.n_features_in_, dtype=bool)
    internal = np.concatenate([np.flatnonzero(is_cat), np.flatnonzero(~is_cat)])
    pairs = []
    for predictors in est._predictors:  # private, but only used to build test rows
        for predictor in predictors:
            nodes = predictor.nodes
            numeric = (nodes["is_leaf"] == 0) & (nodes["is_categorical"] == 0)
            pairs += list(zip(internal[nodes["feature_idx"][numeric]].tolist(),
                              nodes["num_threshold"][numeric].tolist()))
    return _collect(pairs, _raw_numeric(pipeline))


def xgb_thresholds(pipeline):
    df = pipeline[-1].get_booster().trees_to_dataframe()
    df = df[df["Feature"] != "Leaf"]
    names = list(pipeline[-1].get_booster().feature_names or [])
    index = {name: i for i, name in enumerate(names)}

    def feature_index(f):
        if f in index:
            return index[f]
        return int(str(f).lstrip("f"))

    pairs = [(feature_index(f), float(s)) for f, s in zip(df["Feature"], df["Split"])]
    return _collect(pairs, _raw_numeric(pipeline))


def lgbm_thresholds(pipeline):
    dump = pipeline[-1].booster_.dump_model()
    pairs = []

    def walk(node):
        if "split_feature" not in node:
            return
        if node.get("decision_type") == "<=":
            pairs.append((int(node["split_feature"]), float(node["threshold"])))
        walk(node["left_child"])
        walk(node["right_child"])

    for tree in dump["tree_info"]:
        walk(tree["tree_structure"])
    return _collect(pairs, _raw_numeric(pipeline))


# --- the cases -----------------------------------------------------------------------------------

def _lr_binary():
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return _pmml(
        _ct(("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
            ("cat", _imputed_cats(), CATEGORICAL)),
        ("classifier", LogisticRegression(max_iter=1000)),
    )


def _lr_multinomial():
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    return _pmml(
        _ct(("num", make_pipeline(SimpleImputer(strategy="mean"), MinMaxScaler()), NUMERIC),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                  _ohe(handle_unknown="infrequent_if_exist", min_frequency=20)),
             CATEGORICAL)),
        ("classifier", LogisticRegression(max_iter=2000)),
    )


def _linear_regression():
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression

    return _pmml(
        _ct(("num", SimpleImputer(strategy="mean", add_indicator=True), ["age", "income", "price"]),
            ("hour", "passthrough", ["hour"]),
            ("cat", _imputed_cats(), CATEGORICAL)),
        ("regressor", LinearRegression()),
    )


def _ridge_kbins():
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import KBinsDiscretizer, OrdinalEncoder, StandardScaler

    return _pmml(
        _ct(("bins", make_pipeline(SimpleImputer(strategy="median"),
                                   KBinsDiscretizer(n_bins=5, encode="onehot-dense",
                                                    strategy="quantile",
                                                    quantile_method="averaged_inverted_cdf")),
             ["age", "income"]),
            ("scaled", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
             ["hour", "price"]),
            ("ord", make_pipeline(SimpleImputer(strategy="constant", fill_value="__missing__"),
                                  OrdinalEncoder(handle_unknown="use_encoded_value",
                                                 unknown_value=-1)), ["device", "site"]),
            ("cat", _imputed_cats(), ["country", "browser"])),
        ("regressor", Ridge(alpha=2.0)),
    )


def _tree(estimator, imputer: bool):
    from sklearn.impute import SimpleImputer

    num = SimpleImputer(strategy="median") if imputer else "passthrough"
    return _pmml(_ct(("num", num, NUMERIC), ("cat", _imputed_cats(), CATEGORICAL)),
                 ("estimator", estimator))


def _dt_classifier():
    from sklearn.tree import DecisionTreeClassifier

    # scikit-learn trees handle NaN natively (missing values go left or right per split)
    return _tree(DecisionTreeClassifier(max_depth=6, min_samples_leaf=5, random_state=0), False)


def _dt_regressor():
    from sklearn.tree import DecisionTreeRegressor

    return _tree(DecisionTreeRegressor(max_depth=6, min_samples_leaf=5, random_state=0), True)


def _rf_classifier():
    from sklearn.ensemble import RandomForestClassifier

    return _tree(RandomForestClassifier(n_estimators=15, max_depth=5, random_state=0), False)


def _rf_regressor():
    from sklearn.ensemble import RandomForestRegressor

    return _tree(RandomForestRegressor(n_estimators=10, max_depth=5, random_state=0), True)


def _gb(kind):
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

    cls = GradientBoostingRegressor if kind == "regression" else GradientBoostingClassifier
    return lambda: _tree(cls(n_estimators=25, max_depth=3, learning_rate=0.2, random_state=0),
                         True)


def _hgb(kind):
    def build():
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
        from sklearn.preprocessing import OrdinalEncoder

        cls = (HistGradientBoostingRegressor if kind == "regression"
               else HistGradientBoostingClassifier)
        n_num = len(NUMERIC)
        categorical = [False] * n_num + [True] * len(CATEGORICAL)
        return _pmml(
            _ct(("num", "passthrough", NUMERIC),
                ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                       encoded_missing_value=np.nan), CATEGORICAL)),
            ("estimator", cls(max_iter=20, max_depth=4, categorical_features=categorical,
                              random_state=0)),
        )
    return build


def _xgb(kind):
    def build():
        from xgboost import XGBClassifier, XGBRegressor

        cls = XGBRegressor if kind == "regression" else XGBClassifier
        # categoricals are imputed first: for a bare OneHotEncoder, sklearn feeds XGBoost all-zero
        # indicators for a missing category, while the PMML makes the split predicate unknown
        # (XGBoost's "missing" branch)
        return _pmml(
            _ct(("num", "passthrough", NUMERIC), ("cat", _imputed_cats(), CATEGORICAL)),
            ("estimator", cls(n_estimators=20, max_depth=3, learning_rate=0.3, n_jobs=1,
                              random_state=0)),
        )
    return build


def _lgbm(kind):
    def build():
        from lightgbm import LGBMClassifier, LGBMRegressor
        from sklearn.preprocessing import OrdinalEncoder

        cls = LGBMRegressor if kind == "regression" else LGBMClassifier
        return _pmml(
            _ct(("num", "passthrough", NUMERIC),
                ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                       encoded_missing_value=-1), CATEGORICAL)),
            ("estimator", cls(n_estimators=20, num_leaves=8, min_child_samples=10,
                              learning_rate=0.2, n_jobs=1, random_state=0, verbose=-1)),
        )
    return build


def _lgbm_fit_params(pipeline):
    n = len(NUMERIC)
    return {"estimator__categorical_feature": list(range(n, n + len(CATEGORICAL)))}


def _mlp(kind):
    def build():
        from sklearn.impute import SimpleImputer
        from sklearn.neural_network import MLPClassifier, MLPRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if kind == "regression":
            est = MLPRegressor(hidden_layer_sizes=(8,), activation="tanh", max_iter=300,
                               random_state=0)
        else:
            est = MLPClassifier(hidden_layer_sizes=(8, 4), activation="relu", max_iter=300,
                                random_state=0)
        return _pmml(
            _ct(("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                 NUMERIC), ("cat", _imputed_cats(), CATEGORICAL)),
            ("estimator", est),
        )
    return build


def _domains(continuous: dict, categorical: dict, estimator_factory):
    def build():
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn2pmml.decoration import CategoricalDomain, ContinuousDomain

        # the numeric imputer acts where the domain leaves a missing value (treatment "as_is");
        # categorical domains must replace missing values with a valid level themselves, since
        # sklearn2pmml wants the encoder's categories to be the domain's valid values
        return _pmml(
            _ct(("num", make_pipeline(ContinuousDomain(**continuous),
                                      SimpleImputer(strategy="median"), StandardScaler()),
                 NUMERIC),
                ("cat", make_pipeline(CategoricalDomain(**categorical), _ohe()),
                 CATEGORICAL)),
            ("estimator", estimator_factory()),
        )
    return build


def _logreg():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def _domain_as_is_tree():
    from sklearn.pipeline import make_pipeline
    from sklearn.tree import DecisionTreeClassifier
    from sklearn2pmml.decoration import CategoricalDomain, ContinuousDomain

    return _pmml(
        _ct(("num", ContinuousDomain(invalid_value_treatment="as_is"), NUMERIC),
            ("cat", make_pipeline(
                CategoricalDomain(invalid_value_treatment="as_is",
                                  missing_value_treatment="as_value",
                                  missing_value_replacement="chrome"),
                _ohe()), CATEGORICAL)),
        ("estimator", DecisionTreeClassifier(max_depth=5, min_samples_leaf=5, random_state=0)),
    )


def _feature_engineering():
    """ExpressionTransformer, LookupTransformer and CutTransformer feeding a logistic regression."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn2pmml.decoration import Alias
    from sklearn2pmml.preprocessing import CutTransformer, ExpressionTransformer, LookupTransformer

    region = LookupTransformer({"FR": "eu", "DE": "eu", "ES": "eu", "IT": "eu", "LU": "eu",
                                "MT": "eu", "GB": "uk", "US": "na"}, default_value="other")
    return _pmml(
        # ExpressionTransformer returns a Series when given a one-column DataFrame, so the
        # single-column expression gets its input through an imputer (an array)
        _ct(("evening", make_pipeline(
                SimpleImputer(strategy="median"),
                Alias(ExpressionTransformer("1 if X[0] >= 18 else (0.5 if X[0] >= 12 else 0)"),
                      "evening")), ["hour"]),
            ("log_income", make_pipeline(
                Alias(ExpressionTransformer("numpy.log(X[0] + 1.0) - 0.01 * X[1]", dtype=float),
                      "log_income"),
                SimpleImputer(strategy="median")), ["income", "hour"]),
            # sklearn2pmml puts map_missing_to on the top Apply only when its arguments are fields
            ("income_hour", Alias(ExpressionTransformer("X[0] * X[1]", map_missing_to=-1.0,
                                                        dtype=float), "income_hour"),
             ["income", "hour"]),
            ("ratio", make_pipeline(
                Alias(ExpressionTransformer("X[0] / X[1]", invalid_value_treatment="as_missing",
                                            dtype=float),
                      "price_per_hour"),
                SimpleImputer(strategy="constant", fill_value=0.0)), ["price", "hour"]),
            ("age_bin", make_pipeline(
                SimpleImputer(strategy="median"),
                # labels in sorted order: sklearn2pmml 0.133.1 pairs the encoder's columns with
                # the labels in CutTransformer order, but OneHotEncoder sorts its categories
                CutTransformer(bins=[-np.inf, 25, 35, 50, np.inf],
                               labels=["a_young", "b_adult", "c_middle", "d_senior"]),
                _ohe()), ["age"]),
            # the imputer hands LookupTransformer an array (given a DataFrame it returns a Series)
            ("region", make_pipeline(SimpleImputer(strategy="most_frequent"), region, _ohe()),
             ["country"]),
            ("cat", _imputed_cats(), ["device", "site"])),
        ("classifier", LogisticRegression(max_iter=1000)),
    )


CASES = [
    Case("lr_binary", "binary", _lr_binary, verify=True),
    Case("lr_multinomial", "multiclass", _lr_multinomial),
    Case("linear_regression", "regression", _linear_regression, verify=True,
         divergences=(Divergence("hour is passed through unimputed: scikit-learn refuses the "
                                 "NaN, the PMML regression returns missing",
                                 lambda X: X["hour"].isna().to_numpy()),)),
    Case("ridge_kbins", "regression", _ridge_kbins),
    Case("dt_classifier_nan", "binary", _dt_classifier, sklearn_tree_thresholds,
         divergences=(TREE_NAN,)),
    Case("dt_regressor", "regression", _dt_regressor, sklearn_tree_thresholds),
    Case("rf_classifier_nan", "binary", _rf_classifier, sklearn_tree_thresholds,
         divergences=(TREE_NAN,)),
    Case("rf_regressor", "regression", _rf_regressor, sklearn_tree_thresholds),
    Case("gb_binary", "binary", _gb("binary"), sklearn_tree_thresholds),
    Case("gb_multiclass", "multiclass", _gb("multiclass"), sklearn_tree_thresholds),
    Case("gb_regression", "regression", _gb("regression"), sklearn_tree_thresholds),
    Case("hgb_binary_native_cat", "binary", _hgb("binary"), hgb_thresholds,
         divergences=(HGB_UNSEEN,)),
    Case("hgb_multiclass_native_cat", "multiclass", _hgb("multiclass"), hgb_thresholds,
         divergences=(HGB_UNSEEN,)),
    Case("hgb_regression_native_cat", "regression", _hgb("regression"), hgb_thresholds,
         divergences=(HGB_UNSEEN,)),
    # XGBoost computes in float32 (and sums trees in another order than JPMML's float context)
    Case("xgb_binary", "binary", _xgb("binary"), xgb_thresholds, sklearn_rtol=1e-5,
         sklearn_atol=1e-6),
    Case("xgb_multiclass", "multiclass_int", _xgb("multiclass"), xgb_thresholds,
         sklearn_rtol=1e-5, sklearn_atol=1e-6),
    Case("xgb_regression", "regression", _xgb("regression"), xgb_thresholds, sklearn_rtol=1e-5,
         sklearn_atol=1e-6),
    Case("lgbm_binary_cat", "binary", _lgbm("binary"), lgbm_thresholds,
         fit_params=_lgbm_fit_params),
    Case("lgbm_regression_cat", "regression", _lgbm("regression"), lgbm_thresholds,
         fit_params=_lgbm_fit_params),
    Case("mlp_classifier", "binary", _mlp("binary")),
    Case("mlp_regressor", "regression", _mlp("regression")),
    # unseen categories and numbers outside the training range are invalid: JPMML rejects the
    # record (and scikit-learn's Domain raises)
    Case("domain_return_invalid", "binary",
         _domains({}, {"missing_value_treatment": "as_mode"}, _logreg), record_errors=True,
         divergences=(Divergence("invalid value: JPMML and the Domain both reject the record",
                                 lambda X: _any_unseen(X) | _any_out_of_range(X)),
                      Divergence("categorical as_mode without missingValueReplacement stays "
                                 "missing in PMML", lambda X: X[CATEGORICAL].isna().any(axis=1)
                                 .to_numpy()))),
    Case("domain_as_missing", "multiclass",
         _domains({"invalid_value_treatment": "as_missing", "missing_value_treatment": "as_mean",
                   "with_statistics": True},
                  {"invalid_value_treatment": "as_missing", "missing_value_treatment": "as_mode",
                   "with_statistics": True}, _logreg),
         divergences=(DOMAIN_NO_REPLACEMENT,)),
    Case("domain_as_value", "binary",
         _domains({"invalid_value_treatment": "as_value", "invalid_value_replacement": 0.0,
                   "missing_value_treatment": "as_median"},
                  {"invalid_value_treatment": "as_value", "invalid_value_replacement": "mobile",
                   "missing_value_treatment": "as_value",
                   "missing_value_replacement": "safari"}, _logreg),
         divergences=(DOMAIN_NO_REPLACEMENT,)),
    Case("domain_as_is_tree", "binary", _domain_as_is_tree, divergences=(TREE_NAN,)),
    Case("feature_engineering", "binary", _feature_engineering, record_errors=True,
         divergences=(
             Divergence("ln(missing income): JPMML raises MissingArgumentException (the PMML "
                        "spec says a function of a missing argument is missing); scikit-learn "
                        "yields NaN and imputes it", lambda X: X["income"].isna().to_numpy()),
             Divergence("price / hour with hour == 0: JPMML returns Infinity (the Apply's "
                        "invalidValueTreatment=asMissing does not fire); the Python "
                        "expression raises ZeroDivisionError -> missing -> imputed 0",
                        lambda X: (X["hour"] == 0).to_numpy()),
             Divergence("the SimpleImputer on hour (one branch only) is hoisted into the "
                        "MiningField, so every expression using hour sees the median",
                        lambda X: X["hour"].isna().to_numpy()),
         )),
]

CASES_BY_NAME = {case.name: case for case in CASES}
