"""The public ``pmmlserve.export`` function: destinations, errors, naming, verification."""

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.tree import DecisionTreeRegressor

import pmmlserve
from pmmlserve.exceptions import ExportError, UnsupportedEstimatorError, VerificationError
from tests.export._helpers import binary_target, check_parity, frame
from tests.oracles import assert_schema_valid, jpmml_verify

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fitted():
    X = frame(200, missing=False)[["age", "income"]]
    return LogisticRegression().fit(X, binary_target(frame(200, missing=False))), X


def test_writes_a_path_atomically_and_returns_the_same_bytes(fitted, tmp_path):
    model, X = fitted
    path = tmp_path / "model.pmml"
    path.write_bytes(b"old version")
    document = pmmlserve.export(model, path, sample=X.iloc[:5])
    assert path.read_bytes() == document
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pmml"]  # no temporary left


def test_writes_a_binary_file_object(fitted):
    model, _ = fitted
    buffer = io.BytesIO()
    document = pmmlserve.export(model, buffer)
    assert buffer.getvalue() == document


def test_names_model_and_target(fitted):
    model, _ = fitted
    document = pmmlserve.export(model, model_name="ctr-v1", target_name="clicked")
    assert b'modelName="ctr-v1"' in document
    assert b'<DataField name="clicked" optype="categorical"' in document
    assert b'<DataField name="y"' in pmmlserve.export(model)  # sklearn2pmml's default


def test_unsupported_estimator_names_the_class_and_lists_supported():
    X = frame(50, missing=False)[["age", "income"]]
    model = KNeighborsClassifier(3).fit(X, binary_target(frame(50, missing=False)))
    with pytest.raises(UnsupportedEstimatorError) as info:
        pmmlserve.export(model)
    assert "KNeighborsClassifier" in str(info.value)
    assert "LogisticRegression" in str(info.value) and "XGBClassifier" in str(info.value)


def test_unsupported_transformer_is_named():
    X = frame(50, missing=False)[["age", "income"]]
    pipeline = make_pipeline(PCA(1), LogisticRegression())
    pipeline.fit(X, binary_target(frame(50, missing=False)))
    with pytest.raises(UnsupportedEstimatorError, match="PCA"):
        pmmlserve.export(pipeline)


@pytest.mark.parametrize("pipeline", [
    make_pipeline(FunctionTransformer(lambda x: x * 2), LogisticRegression()),
    make_pipeline(SGDClassifier(loss="hinge")),
], ids=["lambda", "hinge"])
def test_settings_that_cannot_be_exact_are_refused(pipeline):
    X = frame(60, missing=False)[["age", "income"]]
    pipeline.fit(X, binary_target(frame(60, missing=False)))
    with pytest.raises(ExportError):
        pmmlserve.export(pipeline)


def test_unknown_backend_is_a_value_error(fitted):
    with pytest.raises(ValueError, match="backend"):
        pmmlserve.export(fitted[0], backend="onnx")


@pytest.mark.jpmml
def test_estimator_fitted_on_an_array_gets_positional_field_names():
    X = frame(200, missing=False)[["age", "income"]]
    tree = DecisionTreeRegressor(max_depth=4, random_state=0).fit(X.to_numpy(), X["income"])
    document = pmmlserve.export(tree, sample=X.to_numpy()[:10])
    assert b'<DataField name="x1"' in document and b'<DataField name="x2"' in document
    renamed = X.set_axis(["x1", "x2"], axis=1)
    # the estimator is scored on the array it was fitted on: compare through a wrapper frame
    assert_schema_valid(document)
    jpmml_verify(document)
    predicted = pmmlserve.load(document).predict(renamed)["y"].to_numpy()
    np.testing.assert_allclose(predicted, tree.predict(X.to_numpy()), rtol=1e-12)


@pytest.mark.jpmml
def test_model_verification_catches_a_tampered_document(fitted):
    model, X = fitted
    document = check_parity(model, X.iloc[:40], sample=X.iloc[:8])
    assert b'<ModelVerification recordCount="8" fieldCount="4">' in document
    # shift the first expected probability: both verifiers must now refuse the document
    head, _, tail = document.partition(b"<data:probability_0>")
    value, _, rest = tail.partition(b"</data:probability_0>")
    bad = head + b"<data:probability_0>" + repr(float(value) * 1.001).encode() + \
        b"</data:probability_0>" + rest
    with pytest.raises(Exception, match="match"):
        jpmml_verify(bad)
    with pytest.raises(VerificationError):
        pmmlserve.load(bad, verify=True)


def _without_java_env() -> dict:
    env = dict(os.environ)
    env.pop("JAVA_HOME", None)
    env["PATH"] = os.pathsep.join(
        d for d in env.get("PATH", "").split(os.pathsep)
        if d and not (Path(d) / "java").exists()
    )
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_export_needs_no_java_and_imports_no_optional_library():
    script = textwrap.dedent("""
        import shutil, sys
        import numpy as np, pandas as pd
        from sklearn.compose import make_column_transformer
        from sklearn.ensemble import GradientBoostingClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder
        import pmmlserve
        assert shutil.which("java") is None
        rng = np.random.default_rng(0)
        X = pd.DataFrame({"a": rng.normal(size=200), "c": rng.choice(["u", "v"], 200)})
        y = (X["a"] > 0).astype(int)
        model = make_pipeline(make_column_transformer(
            (OneHotEncoder(), ["c"]), remainder="passthrough"),
            GradientBoostingClassifier(n_estimators=5)).fit(X, y)
        document = pmmlserve.export(model, sample=X.iloc[:5])
        assert document.startswith(b"<?xml")
        loaded = [m for m in ("xgboost", "lightgbm", "jpype", "sklearn2pmml") if m in sys.modules]
        assert not loaded, loaded
        print("exported", len(document))
    """)
    result = subprocess.run([sys.executable, "-c", script], env=_without_java_env(),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "exported" in result.stdout


def test_sklearn2pmml_backend_without_java_is_a_clear_error(fitted, monkeypatch):
    pytest.importorskip("sklearn2pmml")
    for key, value in _without_java_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(ExportError, match="Java"):
        pmmlserve.export(fitted[0], backend="sklearn2pmml")


def test_sklearn2pmml_backend_without_the_package_is_a_clear_error(fitted, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn2pmml", None)
    with pytest.raises(ExportError, match="pip install"):
        pmmlserve.export(fitted[0], backend="sklearn2pmml")


@pytest.mark.jpmml
def test_sklearn2pmml_backend_covers_what_native_does_not(tmp_path):
    pytest.importorskip("sklearn2pmml")
    X = frame(80, missing=False)[["age", "income"]]
    model = KNeighborsClassifier(3).fit(X, binary_target(frame(80, missing=False)))
    document = pmmlserve.export(model, tmp_path / "knn.pmml", backend="sklearn2pmml",
                                sample=X.iloc[:5], model_name="knn")
    assert b"NearestNeighborModel" in document and b'modelName="knn"' in document
    jpmml_verify(document)
    assert (tmp_path / "knn.pmml").read_bytes() == document


def test_sample_must_hold_the_input_columns(fitted):
    model, X = fitted
    with pytest.raises(ExportError, match="income"):
        pmmlserve.export(model, sample=X.drop(columns=["income"]))


def test_pmmlserve_export_stays_callable_after_submodule_imports(fitted):
    import importlib

    from pmmlserve.export._api import export

    importlib.import_module("pmmlserve.export._writer")
    assert callable(pmmlserve.export)
    assert pmmlserve.export(fitted[0]) == export(fitted[0])


def test_pmml_pipeline_target_field_names_the_target():
    pytest.importorskip("sklearn2pmml")
    from sklearn2pmml.pipeline import PMMLPipeline

    X = frame(80, missing=False)[["age", "income"]]
    pipeline = PMMLPipeline([("lr", LogisticRegression())])
    pipeline.fit(X, binary_target(frame(80, missing=False)))  # a Series named "clicked"
    assert b'<DataField name="clicked"' in pmmlserve.export(pipeline)
