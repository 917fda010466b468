"""The pytest plugin, run inside pytest with ``pytester`` (enabled in conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

pytest.importorskip("sklearn")

# The inner test files fit the same small pipeline as conftest.ctr_lr, from this source.
PIPELINE = '''
import pytest
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from pmmlserve.datasets import make_ctr

FEATURES = ["item_price", "user_age", "hour", "device", "site"]


@pytest.fixture(scope="module")
def trained():
    df = make_ctr(1000, seed=0)
    X = df[FEATURES]
    pipeline = make_pipeline(
        make_column_transformer(
            (SimpleImputer(), ["item_price", "user_age", "hour"]),
            (OneHotEncoder(handle_unknown="ignore"), ["device", "site"])),
        LogisticRegression(max_iter=500)).fit(X, df["click"])
    return pipeline, X
'''


def test_the_plugin_is_registered_through_the_pytest11_entry_point(pytester):
    (point,) = [e for e in entry_points(group="pytest11") if e.name == "pmmlserve"]
    assert point.value == "pmmlserve.testing._plugin"
    config = pytester.parseconfig()
    assert config.pluginmanager.get_plugin("pmmlserve").__name__ == "pmmlserve.testing._plugin"


def test_loading_the_plugin_imports_neither_sklearn_nor_jpype():
    code = ("import sys, pmmlserve.testing._plugin; print(sorted({m.split('.')[0] for m in "
            "sys.modules} & {'sklearn', 'scipy', 'jpype', 'jpmml_evaluator', 'fsspec'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_pmml_parity_passes_a_faithful_document_and_fails_a_wrong_one(pytester):
    pytester.makepyfile(test_inner=PIPELINE + '''
import re

import pmmlserve


def test_faithful(trained, pmml_parity):
    pipeline, X = trained
    report = pmml_parity(pipeline, pmmlserve.export(pipeline, sample=X.head(5)), X)
    assert report.passed and report.rows == len(X)


def test_wrong(trained, pmml_parity):
    pipeline, X = trained
    document = pmmlserve.export(pipeline)
    wrong = re.sub(rb'(value="tablet" coefficient=")[^"]+"', rb'\\g<1>0.5"', document)
    pmml_parity(pipeline, wrong, X)
''')
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*ParityError: pmmlserve differs on * of 1,000 rows*",
        "*Per column:*",
        "*Worst 5 row(s)*",
        "*probability(1) ?estimator?*",
    ])
    # __tracebackhide__: the traceback stops at the test's own line
    result.stdout.no_fnmatch_line("*_parity.py:*")


def test_tolerances_come_from_the_command_line_then_the_ini_file(pytester):
    pytester.makeini("[pytest]\npmml_rtol = 1e-5\npmml_atol = 1e-7\n")
    pytester.makepyfile(test_inner='''
def test_tolerances(pmml_parity):
    expected = [float(x) for x in open("expected.txt").read().split()]
    assert [pmml_parity.rtol, pmml_parity.atol] == expected
''')
    (pytester.path / "expected.txt").write_text("1e-5 1e-7")
    pytester.runpytest().assert_outcomes(passed=1)
    (pytester.path / "expected.txt").write_text("0.001 1e-7")
    pytester.runpytest("--pmml-rtol=1e-3").assert_outcomes(passed=1)
    pytester.makeini("[pytest]\n")
    (pytester.path / "expected.txt").write_text("1e-9 0.5")
    pytester.runpytest("--pmml-atol", "0.5").assert_outcomes(passed=1)


def test_the_tolerances_are_overridable_per_call(pytester):
    pytester.makepyfile(test_inner=PIPELINE + '''
import pmmlserve


class Shifted:
    def __init__(self, pipeline):
        self.pipeline = pipeline
        self.classes_ = pipeline.classes_
        self.feature_names_in_ = pipeline.feature_names_in_

    def predict_proba(self, X):
        return self.pipeline.predict_proba(X) + [[-1e-6, 1e-6]]


def test_override(trained, pmml_parity):
    pipeline, X = trained
    document = pmmlserve.export(pipeline)
    assert pmml_parity(Shifted(pipeline), document, X, atol=1e-5).passed
''')
    pytester.runpytest().assert_outcomes(passed=1)
    result = pytester.runpytest("--pmml-atol=1e-3")  # the call's own atol still wins
    result.assert_outcomes(passed=1)


def test_bad_tolerances_are_usage_errors(pytester):
    pytester.makeini("[pytest]\npmml_atol = tiny\n")
    pytester.makepyfile(test_inner="def test_x(pmml_parity):\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*pmml_atol in the ini file is not a number: 'tiny'*"])


def test_the_options_are_listed_in_help(pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*pmmlserve offline/online parity*", "*--pmml-rtol=RTOL*",
                                 "*--pmml-atol=ATOL*", "*pmml_rtol*"])


def test_pmml_model_loads_relative_to_the_test_file_once_per_session(pytester, ctr_lr):
    _, _, document = ctr_lr
    models = pytester.mkdir("models")
    (models / "ctr.pmml").write_bytes(document)
    pytester.makepyfile(**{"models/test_inner": '''
from pathlib import Path

import pmmlserve


def test_load(pmml_model):
    model = pmml_model("ctr.pmml")
    assert isinstance(model, pmmlserve.Model)
    assert [f.name for f in model.input_fields] == [
        "item_price", "user_age", "hour", "device", "site"]
    assert pmml_model(Path(__file__).parent / "ctr.pmml") is model
    assert pmml_model((Path(__file__).parent / "ctr.pmml").read_bytes()) is model


def test_same_model_in_another_test(pmml_model):
    assert pmml_model("ctr.pmml").has_verification
'''})
    pytester.runpytest().assert_outcomes(passed=2)


def test_pmml_model_reports_a_bad_document(pytester):
    (pytester.path / "bad.pmml").write_text("<PMML")
    pytester.makepyfile(test_inner='''
def test_load(pmml_model):
    pmml_model("bad.pmml")
''')
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*PMMLSyntaxError*"])


def test_pmml_store_is_an_empty_store_in_the_tests_temporary_directory(pytester, ctr_lr):
    _, _, document = ctr_lr
    (pytester.path / "ctr.pmml").write_bytes(document)
    pytester.makepyfile(test_inner='''
from pathlib import Path

import pmmlserve


def test_publish(pmml_store, tmp_path):
    assert isinstance(pmml_store, pmmlserve.ModelStore)
    assert Path(pmml_store.root).is_relative_to(tmp_path)
    assert pmml_store.names() == []
    version = pmml_store.publish("ctr", Path(__file__).parent / "ctr.pmml")
    assert pmml_store.current("ctr").id == version.id == 1
    assert pmml_store.load("ctr").has_verification


def test_fresh_store(pmml_store):
    assert pmml_store.names() == []
''')
    pytester.runpytest().assert_outcomes(passed=2)
