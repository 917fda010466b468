"""Which converter handles which estimator class, keyed by class path strings.

Keys are ``module.QualifiedName`` strings and values ``"module:function"`` strings, so that
neither scikit-learn's optional friends (xgboost, lightgbm) nor our converters for them are
imported before an estimator of theirs shows up.  Lookup walks the estimator's MRO, so a
subclass (sklearn2pmml's ``PMMLPipeline``, say) uses its base class's converter.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from pmmlserve.exceptions import UnsupportedEstimatorError

__all__ = ["TRANSFORMERS", "MODELS", "transformer_converter", "model_converter", "class_path"]

_PRE = "pmmlserve.export._preprocessing"
_LIN = "pmmlserve.export._linear"
_SKT = "pmmlserve.export._sklearn_trees"

# A transformer converter: (fitted transformer, list of Feature, Encoder) -> list of Feature.
TRANSFORMERS: dict[str, str] = {
    "sklearn.pipeline.Pipeline": "pmmlserve.export._composition:pipeline",
    "sklearn.pipeline.FeatureUnion": "pmmlserve.export._composition:feature_union",
    "sklearn.compose._column_transformer.ColumnTransformer":
        "pmmlserve.export._composition:column_transformer",
    "sklearn.impute._base.SimpleImputer": f"{_PRE}:simple_imputer",
    "sklearn.impute._base.MissingIndicator": f"{_PRE}:missing_indicator",
    "sklearn.preprocessing._data.StandardScaler": f"{_PRE}:standard_scaler",
    "sklearn.preprocessing._data.MinMaxScaler": f"{_PRE}:min_max_scaler",
    "sklearn.preprocessing._data.MaxAbsScaler": f"{_PRE}:max_abs_scaler",
    "sklearn.preprocessing._data.RobustScaler": f"{_PRE}:robust_scaler",
    "sklearn.preprocessing._encoders.OneHotEncoder": f"{_PRE}:one_hot_encoder",
    "sklearn.preprocessing._encoders.OrdinalEncoder": f"{_PRE}:ordinal_encoder",
    "sklearn.preprocessing._discretization.KBinsDiscretizer": f"{_PRE}:kbins_discretizer",
    "sklearn.preprocessing._function_transformer.FunctionTransformer":
        f"{_PRE}:function_transformer",
    "sklearn.preprocessing._polynomial.PolynomialFeatures": f"{_PRE}:polynomial_features",
}

# A model converter: (fitted estimator, list of Feature, Encoder, target name) -> Exported.
MODELS: dict[str, str] = {
    "sklearn.linear_model._logistic.LogisticRegression": f"{_LIN}:logistic_regression",
    "sklearn.linear_model._stochastic_gradient.SGDClassifier": f"{_LIN}:sgd_classifier",
    "sklearn.multiclass.OneVsRestClassifier": f"{_LIN}:one_vs_rest",
    "sklearn.linear_model._base.LinearRegression": f"{_LIN}:linear_regressor",
    "sklearn.linear_model._ridge.Ridge": f"{_LIN}:linear_regressor",
    "sklearn.linear_model._coordinate_descent.Lasso": f"{_LIN}:linear_regressor",
    "sklearn.linear_model._coordinate_descent.ElasticNet": f"{_LIN}:linear_regressor",
    "sklearn.linear_model._stochastic_gradient.SGDRegressor": f"{_LIN}:linear_regressor",
    "sklearn.tree._classes.DecisionTreeClassifier": f"{_SKT}:decision_tree",
    "sklearn.tree._classes.DecisionTreeRegressor": f"{_SKT}:decision_tree",
    "sklearn.ensemble._forest.RandomForestClassifier": f"{_SKT}:forest",
    "sklearn.ensemble._forest.RandomForestRegressor": f"{_SKT}:forest",
    "sklearn.ensemble._forest.ExtraTreesClassifier": f"{_SKT}:forest",
    "sklearn.ensemble._forest.ExtraTreesRegressor": f"{_SKT}:forest",
    "sklearn.ensemble._gb.GradientBoostingClassifier": f"{_SKT}:gradient_boosting",
    "sklearn.ensemble._gb.GradientBoostingRegressor": f"{_SKT}:gradient_boosting",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier":
        "pmmlserve.export._hist:hist_gradient_boosting",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor":
        "pmmlserve.export._hist:hist_gradient_boosting",
    "xgboost.sklearn.XGBClassifier": "pmmlserve.export._xgboost:xgboost",
    "xgboost.sklearn.XGBRegressor": "pmmlserve.export._xgboost:xgboost",
    "lightgbm.sklearn.LGBMClassifier": "pmmlserve.export._lightgbm:lightgbm",
    "lightgbm.sklearn.LGBMRegressor": "pmmlserve.export._lightgbm:lightgbm",
    "pmmlserve.fm._classes.FMClassifier": "pmmlserve.export._fm:factorization_machine",
    "pmmlserve.fm._classes.FMRegressor": "pmmlserve.export._fm:factorization_machine",
}


def class_path(obj: Any) -> str:
    """``module.QualifiedName`` of ``obj``'s class."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _lookup(obj: Any, table: dict[str, str]) -> Callable | None:
    for cls in type(obj).__mro__:
        target = table.get(f"{cls.__module__}.{cls.__qualname__}")
        if target is not None:
            module_name, function = target.split(":")
            return getattr(importlib.import_module(module_name), function)
    return None


def _supported(table: dict[str, str]) -> str:
    return ", ".join(sorted({key.rsplit(".", 1)[1] for key in table}))


def transformer_converter(obj: Any) -> Callable:
    """The converter for transformer ``obj``; raise UnsupportedEstimatorError if none."""
    found = _lookup(obj, TRANSFORMERS)
    if found is None:
        raise UnsupportedEstimatorError(
            f"cannot export transformer {class_path(obj)}; the native exporter supports "
            f"{_supported(TRANSFORMERS)} (try backend='sklearn2pmml')"
        )
    return found


def model_converter(obj: Any) -> Callable:
    """The converter for final estimator ``obj``; raise UnsupportedEstimatorError if none."""
    found = _lookup(obj, MODELS)
    if found is None:
        raise UnsupportedEstimatorError(
            f"cannot export estimator {class_path(obj)}; the native exporter supports "
            f"{_supported(MODELS)} (try backend='sklearn2pmml')"
        )
    return found
