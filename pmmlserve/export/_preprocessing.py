"""Converters for scikit-learn's preprocessing transformers.

Numeric transforms become derived fields that repeat scikit-learn's floating-point operations
in the same order (so they reproduce it bit for bit).  A transform of a categorical lookup
stays a lookup: its numbers are transformed here, with numpy, exactly as scikit-learn would.

The encoders (OneHotEncoder, OrdinalEncoder) are *probed*: we transform each known category,
a missing value and an unseen value with the fitted encoder itself and read the lookup tables
off its output, so drop, infrequent grouping and the unknown/missing options all follow
scikit-learn's own semantics instead of a re-implementation of them.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import numpy as np

from pmmlserve.exceptions import ExportError
from pmmlserve.export._encoder import Encoder, is_missing_label
from pmmlserve.export._features import Categorical, Continuous, Feature
from pmmlserve.export._writer import element, fmt_double, fmt_value

__all__ = [
    "simple_imputer",
    "missing_indicator",
    "standard_scaler",
    "min_max_scaler",
    "max_abs_scaler",
    "robust_scaler",
    "one_hot_encoder",
    "ordinal_encoder",
    "kbins_discretizer",
    "function_transformer",
    "polynomial_features",
]


def ref(name: str):
    return element("FieldRef", {"field": name})


def const(x: float):
    return element("Constant", {"dataType": "double"}, text=fmt_double(x))


def apply(function: str, *args):
    return element("Apply", {"function": function}, *args)


def _map_numeric(features: list[Feature], encoder: Encoder, name: str,
                 build: Callable[[int, Any], Any], compute: Callable[[int, float], float]):
    """Transform feature ``i`` into ``build(i, FieldRef)`` (a derived field) or, for a lookup,
    into the lookup of ``compute(i, number)``."""
    out: list[Feature] = []
    for i, feature in enumerate(features):
        if isinstance(feature, Categorical):
            out.append(feature.with_values(lambda v, i=i: compute(i, v)))
            continue
        expression = build(i, ref(feature.field))
        if expression is None:  # the identity
            out.append(feature)
            continue
        out.append(Continuous(encoder.derive(f"{name}({feature.field})", expression)))
    return out


# -- scalers -----------------------------------------------------------------------------------
def _affine(features, encoder, name, shift, scale, *, divide: bool):
    """``(x - shift) / scale`` or ``x * scale + shift``: scikit-learn's two scaler shapes."""

    def build(i, x):
        if divide:
            if shift is not None and shift[i] != 0:
                x = apply("-", x, const(shift[i]))
            if scale is not None and scale[i] != 1:
                x = apply("/", x, const(scale[i]))
        else:
            if scale is not None and scale[i] != 1:
                x = apply("*", x, const(scale[i]))
            if shift is not None and shift[i] != 0:
                x = apply("+", x, const(shift[i]))
        return None if x.tag.endswith("FieldRef") else x

    def compute(i, v):
        v = np.float64(v)
        if divide:
            if shift is not None:
                v = v - shift[i]
            if scale is not None:
                v = v / scale[i]
        else:
            if scale is not None:
                v = v * scale[i]
            if shift is not None:
                v = v + shift[i]
        return float(v)

    return _map_numeric(features, encoder, name, build, compute)


def standard_scaler(est, features, encoder):
    mean = est.mean_ if est.with_mean else None
    return _affine(features, encoder, "standardScaler", mean, est.scale_, divide=True)


def robust_scaler(est, features, encoder):
    center = est.center_ if est.with_centering else None
    scale = est.scale_ if est.with_scaling else None
    return _affine(features, encoder, "robustScaler", center, scale, divide=True)


def max_abs_scaler(est, features, encoder):
    return _affine(features, encoder, "maxAbsScaler", None, est.scale_, divide=True)


def min_max_scaler(est, features, encoder):
    out = _affine(features, encoder, "minMaxScaler", est.min_, est.scale_, divide=False)
    if not est.clip:
        return out
    low, high = (float(b) for b in est.feature_range)
    return _map_numeric(
        out, encoder, "clip",
        lambda i, x: apply("max", apply("min", x, const(high)), const(low)),
        lambda i, v: float(np.clip(v, low, high)),
    )


# -- missing values ----------------------------------------------------------------------------
def _check_missing_values(est) -> None:
    if not is_missing_label(est.missing_values):
        raise ExportError(
            f"{type(est).__name__}(missing_values={est.missing_values!r}) is not supported: "
            "PMML's missing value is NaN/None"
        )


def _impute(feature: Feature, value: Any, encoder: Encoder) -> Feature:
    if isinstance(feature, Categorical):
        if isinstance(value, str):
            raise ExportError("cannot impute a string into an encoded (numeric) column")

        def fill(v):
            return float(value) if v is None or math.isnan(v) else v

        return Categorical(
            feature.field,
            tuple((c, fill(v)) for c, v in feature.mapping),
            fill(feature.missing),
            None if feature.unknown is None else fill(feature.unknown),
        )
    text = fmt_value(value) if isinstance(value, str) else fmt_double(value)
    name = encoder.derive(
        f"imputer({feature.field})",
        element("FieldRef", {"field": feature.field, "mapMissingTo": text}),
        data_type="string" if isinstance(value, str) else "double",
        optype="categorical" if isinstance(value, str) else "continuous",
    )
    # an imputed input column may still feed a categorical encoder
    encoder.alias(name, feature.field)
    return Continuous(name)


def _is_missing(feature: Feature, encoder: Encoder) -> Feature:
    """A 0/1 feature: whether ``feature`` is missing (NaN)."""
    if isinstance(feature, Categorical):
        def nan(v):
            return 1.0 if v is None or math.isnan(v) else 0.0

        return Categorical(
            feature.field,
            tuple((c, nan(v)) for c, v in feature.mapping),
            nan(feature.missing),
            None if feature.unknown is None else nan(feature.unknown),
        )
    expression = apply("if", apply("isMissing", ref(feature.field)), const(1.0), const(0.0))
    return Continuous(encoder.derive(f"missingIndicator({feature.field})", expression))


def simple_imputer(est, features, encoder):
    _check_missing_values(est)
    out = []
    for feature, value in zip(features, est.statistics_):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if getattr(est, "keep_empty_features", False):
                raise ExportError("SimpleImputer(keep_empty_features=True) with an empty column")
            continue  # scikit-learn drops a column it saw no value of
        out.append(_impute(feature, value.item() if hasattr(value, "item") else value, encoder))
    if est.indicator_ is not None:
        out += missing_indicator(est.indicator_, features, encoder)
    return out


def missing_indicator(est, features, encoder):
    _check_missing_values(est)
    return [_is_missing(features[i], encoder) for i in est.features_]


# -- categorical encoders ----------------------------------------------------------------------
class _Probe:
    """Transforms crafted rows with a fitted encoder, to read its lookup tables."""

    def __init__(self, est):
        self.est = est
        self.categories = [list(c) for c in est.categories_]
        self.names = list(getattr(est, "feature_names_in_", range(len(self.categories))))
        self.numeric = [
            np.asarray(cats).dtype.kind in "biuf" for cats in est.categories_
        ]

    def _frame(self, column: int, values: list):
        import pandas as pd

        data = {}
        for j, name in enumerate(self.names):
            base = next(c for c in self.categories[j] if not is_missing_label(c)) \
                if any(not is_missing_label(c) for c in self.categories[j]) else np.nan
            col = list(values) if j == column else [base] * len(values)
            data[name] = pd.Series(col, dtype="float64" if self.numeric[j] else object)
        frame = pd.DataFrame(data)
        return frame if hasattr(self.est, "feature_names_in_") else frame.to_numpy()

    def transform(self, column: int, values: list):
        """The encoder's output rows for ``values`` in ``column`` (None when it refuses)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = self.est.transform(self._frame(column, values))
            except ValueError:
                return None
        out = out.toarray() if hasattr(out, "toarray") else np.asarray(out, dtype=float)
        return np.asarray(out, dtype=float)

    def unseen(self, column: int):
        known = [c for c in self.categories[column] if not is_missing_label(c)]
        if self.numeric[column]:
            return float(max(known, default=0)) + 1.5
        return "\x00pmmlserve-unseen"

    def missing(self, column: int):
        return next((c for c in self.categories[column] if is_missing_label(c)), np.nan)


def _lookups(est, features, encoder, widths) -> list[Feature]:
    """The lookup features of an encoder whose input column ``i`` gives ``widths[i]`` outputs."""
    probe = _Probe(est)
    out, start = [], 0
    for i, (feature, width) in enumerate(zip(features, widths)):
        field = encoder.categorical_field(feature, type(est).__name__)
        all_cats = probe.categories[i]
        known = [c for c in all_cats if not is_missing_label(c)]
        table = probe.transform(i, known)
        missing = probe.transform(i, [probe.missing(i)])
        unknown = probe.transform(i, [probe.unseen(i)])
        if table is None:
            raise ExportError(f"{type(est).__name__} refuses its own categories")
        encoder.declare_categorical(field, known, accept_unknown=unknown is not None)
        for j in range(start, start + width):
            out.append(Categorical(
                field,
                tuple((c, float(table[k, j])) for k, c in enumerate(known)),
                float(missing[0, j]) if missing is not None else 0.0,
                float(unknown[0, j]) if unknown is not None else None,
            ))
        start += width
    return out


def one_hot_encoder(est, features, encoder):
    infrequent = getattr(est, "infrequent_categories_", None) or [None] * len(features)
    drop = est.drop_idx_ if est.drop_idx_ is not None else [None] * len(features)
    widths = []
    for cats, rare, dropped in zip(est.categories_, infrequent, drop):
        n_rare = 0 if rare is None else len(rare)
        widths.append(len(cats) - max(n_rare - 1, 0) - (dropped is not None))
    return _lookups(est, features, encoder, widths)


def ordinal_encoder(est, features, encoder):
    return _lookups(est, features, encoder, [1] * len(features))


# -- numeric transforms ------------------------------------------------------------------------
def kbins_discretizer(est, features, encoder):
    if est.encode not in ("ordinal", "onehot", "onehot-dense"):
        raise ExportError(f"KBinsDiscretizer(encode={est.encode!r}) is not supported")
    out: list[Feature] = []
    for feature, edges in zip(features, est.bin_edges_):
        source = encoder.numeric_field(feature)
        inner = edges[1:-1]
        bins = []
        for k in range(len(inner) + 1):
            bounds = {"closure": "closedOpen"}
            if k > 0:
                bounds["leftMargin"] = fmt_double(inner[k - 1])
            if k < len(inner):
                bounds["rightMargin"] = fmt_double(inner[k])
            bins.append(element("DiscretizeBin", {"binValue": str(k)},
                                element("Interval", bounds)))
        ordinal = est.encode == "ordinal"
        name = encoder.derive(
            f"kBinsDiscretizer({source})",
            element("Discretize", {"field": source, "dataType": "double" if ordinal
                                   else "integer"}, *bins),
            data_type="double" if ordinal else "integer",
            optype="continuous" if ordinal else "categorical",
        )
        if ordinal:
            out.append(Continuous(name))
            continue
        codes = list(range(len(inner) + 1))
        out += [
            Categorical(name, tuple((c, float(c == k)) for c in codes), 0.0, None)
            for k in codes
        ]
    return out


# numpy ufuncs that have an exact PMML built-in counterpart
_FUNCTIONS = {
    "log1p": "ln1p",
    "log": "ln",
    "exp": "exp",
    "expm1": "expm1",
    "sqrt": "sqrt",
    "absolute": "abs",
}


def function_transformer(est, features, encoder):
    func = est.func
    if func is None:
        return list(features)
    name = getattr(func, "__name__", None)
    if not isinstance(func, np.ufunc) or name not in _FUNCTIONS or est.kw_args:
        raise ExportError(
            f"FunctionTransformer(func={func!r}) is not supported; the native exporter "
            f"handles numpy {', '.join(sorted(_FUNCTIONS))}"
        )
    return _map_numeric(
        features, encoder, name,
        lambda i, x: apply(_FUNCTIONS[name], x),
        lambda i, v: float(func(np.float64(v))),
    )


def polynomial_features(est, features, encoder):
    numeric = [encoder.numeric_field(f) for f in features]
    out: list[Feature] = []
    for powers in est.powers_:
        factors = [i for i, p in enumerate(powers) for _ in range(int(p))]
        if not factors:
            out.append(Continuous(encoder.derive("1", const(1.0), key=("constant", 1.0))))
        elif len(factors) == 1:
            out.append(features[factors[0]])
        else:
            # scikit-learn multiplies a lower-degree term by the column with the highest index
            expression = ref(numeric[factors[0]])
            for i in factors[1:]:
                expression = apply("*", expression, ref(numeric[i]))
            name = "*".join(numeric[i] for i in factors)
            out.append(Continuous(encoder.derive(name, expression, key=("poly", tuple(factors),
                                                                        tuple(numeric)))))
    return out
