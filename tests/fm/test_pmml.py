"""PMML encodings of the factorization machines, checked by the XSD and by JPMML."""

import numpy as np
import pandas as pd
import pytest
from lxml import etree
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from pmmlserve.exceptions import ExportError
from pmmlserve.fm import FMClassifier, FMRegressor
from pmmlserve.fm._pmml import PMML_NS, build_fm_document, build_fm_model
from tests.oracles import assert_frames_close, assert_schema_valid, jpmml_predict, pypmml_predict

NS = {"p": PMML_NS}


def make_inputs(kind, rng, n=500):
    """Features of one kind and the binary mask an exporter would know for them."""
    dense = rng.normal(size=(n, 4))
    codes = rng.integers(0, 4, size=(n, 3))
    indicators = OneHotEncoder().fit_transform(codes).toarray()
    if kind == "dense":
        return dense, False
    if kind == "binary":
        return indicators, True
    X = np.hstack([dense, indicators])  # mixed
    return X, [False] * dense.shape[1] + [True] * indicators.shape[1]


def target(X, rng):
    # interactions plus an offset that keeps regression predictions far from zero, where a
    # relative tolerance would be meaningless
    return 10.0 + X[:, 0] - X[:, 1] * X[:, 2] + X[:, -1] * X[:, -2] + 0.1 * rng.normal(size=len(X))


def fitted(estimator_kind, X, rng):
    y = target(X, rng)
    kw = dict(n_factors=3, batch_size=32, max_iter=30, tol=None, random_state=0)
    if estimator_kind == "classifier":
        return FMClassifier(**kw).fit(X, np.where(y > np.median(y), "yes", "no"))
    return FMRegressor(**kw).fit(X, y)


def export(model, features, encoding, binary):
    if isinstance(model, FMClassifier):
        return build_fm_document(model.w0_, model.w_, model.V_, features,
                                 function="classification", classes=model.classes_,
                                 encoding=encoding, binary_inputs=binary)
    return build_fm_document(model.w0_, model.w_, model.V_, features, function="regression",
                             encoding=encoding, binary_inputs=binary)


@pytest.mark.jpmml
@pytest.mark.parametrize("inputs", ["dense", "binary", "mixed"])
@pytest.mark.parametrize("estimator_kind", ["classifier", "regressor"])
@pytest.mark.parametrize("encoding", ["neural", "regression"])
def test_jpmml_reproduces_the_estimator(rng, encoding, estimator_kind, inputs):
    X, binary = make_inputs(inputs, rng)
    train, held_out = slice(0, 400), slice(400, None)
    model = fitted(estimator_kind, X[train], rng)
    features = [f"x{i}" for i in range(X.shape[1])]
    document = export(model, features, encoding, binary)
    assert_schema_valid(document)

    rows = pd.DataFrame(X[held_out], columns=features)
    actual = jpmml_predict(document, rows)
    if estimator_kind == "classifier":
        proba = model.predict_proba(X[held_out])
        expected = pd.DataFrame({"probability(no)": proba[:, 0], "probability(yes)": proba[:, 1]})
        assert_frames_close(actual, expected, rtol=1e-12)
        assert actual["y"].tolist() == model.predict(X[held_out]).tolist()
    else:
        prediction = model.predict(X[held_out])
        assert np.abs(prediction).min() > 1.0
        assert_frames_close(actual, pd.DataFrame({"y": prediction}), rtol=1e-12)


@pytest.mark.jpmml
def test_pypmml_agrees_with_the_neural_encoding(rng):
    # A second scorer for the encoding that relies on connections skipping layers.
    X, _ = make_inputs("dense", rng, n=300)
    model = fitted("classifier", X[:250], rng)
    features = [f"x{i}" for i in range(X.shape[1])]
    document = export(model, features, "neural", False)
    actual = pypmml_predict(document, pd.DataFrame(X[250:270], columns=features))
    proba = model.predict_proba(X[250:270])
    assert_frames_close(actual, pd.DataFrame({"probability(yes)": proba[:, 1]}), rtol=1e-12)


@pytest.mark.jpmml
@pytest.mark.parametrize("encoding", ["neural", "regression"])
def test_model_placed_after_one_hot_preprocessing(encoding):
    """The exporter's contract: features are DerivedFields of a categorical DataField."""
    rng = np.random.default_rng(7)
    cities, devices = ["Lyon", "Paris", "Nice"], ["ios", "android"]
    frame = pd.DataFrame({"city": rng.choice(cities, 600), "device": rng.choice(devices, 600)})
    y = np.where((frame.city == "Paris") ^ (frame.device == "ios"), "click", "skip")
    pipeline = make_pipeline(OneHotEncoder(categories=[cities, devices]),
                             FMClassifier(n_factors=2, batch_size=32, max_iter=20, tol=None,
                                          random_state=0))
    pipeline.fit(frame, y)
    fm = pipeline[-1]

    indicators, features = [], []
    for column, levels in [("city", cities), ("device", devices)]:
        for level in levels:
            name = f"{column}={level}"
            field = etree.Element(f"{{{PMML_NS}}}DerivedField", name=name,
                                  optype="continuous", dataType="double")
            etree.SubElement(field, f"{{{PMML_NS}}}NormDiscrete", field=column, value=level)
            indicators.append(field)
            features.append(name)
    built = build_fm_model(fm.w0_, fm.w_, fm.V_, features, function="classification",
                           classes=fm.classes_, target="label", encoding=encoding,
                           binary_inputs=True, active_fields=["city", "device"],
                           local_fields=indicators)
    assert built.output_fields == ("probability(click)", "probability(skip)")

    document = etree.fromstring(
        f'<PMML xmlns="{PMML_NS}" version="4.4"><Header/><DataDictionary>'
        '<DataField name="city" optype="categorical" dataType="string">'
        + "".join(f'<Value value="{c}"/>' for c in cities) + "</DataField>"
        '<DataField name="device" optype="categorical" dataType="string">'
        + "".join(f'<Value value="{d}"/>' for d in devices) + "</DataField>"
        '<DataField name="label" optype="categorical" dataType="string">'
        '<Value value="click"/><Value value="skip"/></DataField></DataDictionary></PMML>')
    document.append(built.element)
    data = etree.tostring(document)
    assert_schema_valid(data)
    actual = jpmml_predict(data, frame)
    proba = pipeline.predict_proba(frame)
    expected = pd.DataFrame({"probability(click)": proba[:, 0], "probability(skip)": proba[:, 1]})
    assert_frames_close(actual, expected, rtol=1e-12)


# -- structure ------------------------------------------------------------------------------------


@pytest.fixture
def params(rng):
    return 0.25, rng.normal(size=5), rng.normal(size=(5, 3))


def test_binary_inputs_drop_the_squared_terms(params):
    features = list("abcde")
    plain = build_fm_model(*params, features, function="regression", encoding="neural")
    binary = build_fm_model(*params, features, function="regression", encoding="neural",
                            binary_inputs=True)
    assert len(plain.element.findall("p:NeuralInputs/p:NeuralInput", NS)) == 10
    assert len(binary.element.findall("p:NeuralInputs/p:NeuralInput", NS)) == 5
    regression = build_fm_model(*params, features, function="regression",
                                encoding="regression", binary_inputs=True)
    predictors = regression.element.findall("p:RegressionTable/p:NumericPredictor", NS)
    assert [p.get("exponent", "1") for p in predictors] == ["1"] * 5 + ["2"] * 3
    assert regression.derived_fields == ("fm_factor(0)", "fm_factor(1)", "fm_factor(2)")


def test_mining_schema_lists_active_fields_and_target(params):
    built = build_fm_model(*params, list("abcde"), function="classification", classes=[0, 1],
                           target="clicked", active_fields=["raw"], encoding="regression")
    fields = [(f.get("name"), f.get("usageType", "active"))
              for f in built.element.findall("p:MiningSchema/p:MiningField", NS)]
    assert fields == [("clicked", "target"), ("raw", "active")]
    assert built.output_fields == ("probability(0)", "probability(1)")


@pytest.mark.parametrize("change, message", [
    (dict(w=np.zeros(4)), "shape"),
    (dict(V=np.full((5, 3), np.nan)), "NaN"),
    (dict(features=list("abcda")), "distinct"),
    (dict(encoding="tree"), "encoding"),
    (dict(function="clustering"), "function"),
    (dict(classes=[1, 1]), "differ"),
    (dict(classes=None), "two classes"),
    (dict(target="a"), "target"),
    (dict(binary_inputs=[True, False]), "binary_inputs"),
    (dict(field_prefix="x", features=["x_factor(0)", "b", "c", "d", "e"]), "field_prefix"),
])
def test_inconsistent_arguments_raise_export_error(params, change, message):
    w0, w, V = params
    args = dict(w0=w0, w=w, V=V, features=list("abcde"), function="classification",
                classes=[0, 1], encoding="regression") | change
    with pytest.raises(ExportError, match=message):
        build_fm_model(**args)
