"""assert_parity: expected values come from scikit-learn (and JPMML), and each failure is built
so that the rows that must differ are known in advance."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import pmmlserve
from pmmlserve.testing import ParityError, ParityReport, assert_parity
from pmmlserve.testing._parity import _float32_ulps
from tests.oracles import require_java

pytest.importorskip("sklearn")


class Moved:
    """A fitted classifier whose P(class 1) is replaced on chosen rows: a known difference."""

    def __init__(self, estimator, changes):
        self.estimator = estimator
        self.changes = changes  # row -> function of the true probability
        self.classes_ = estimator.classes_
        self.feature_names_in_ = estimator.feature_names_in_

    def predict_proba(self, X):
        proba = self.estimator.predict_proba(X).copy()
        for row, change in self.changes.items():
            proba[row, 1] = change(proba[row, 1])
        return proba


def test_a_faithful_document_passes_with_a_report(ctr_lr):
    pipeline, X, document = ctr_lr
    report = assert_parity(pipeline, document, X)
    assert isinstance(report, ParityReport) and report.passed
    assert report.rows == len(X)
    assert report.columns == ("probability(0)", "probability(1)")
    assert report.comparisons == ("predict vs estimator", "predict_one vs estimator")
    assert report.summary["rows"].tolist() == [2000, 2000, 100, 100]
    assert report.summary["over_tolerance"].sum() == 0
    assert report.max_abs_diff <= 1e-12
    assert report.differing_rows == () and report.worst.empty
    assert str(report).startswith("pmmlserve matches on all 2,000 rows")


def test_the_failure_message_shows_counts_worst_rows_and_column_maxima(ctr_lr):
    pipeline, X, document = ctr_lr
    moved = Moved(pipeline, {5: lambda p: p + 1e-6, 1500: lambda p: p + 1e-4})
    with pytest.raises(ParityError) as caught:
        assert_parity(moved, document, X)
    error = caught.value
    assert isinstance(error, AssertionError)
    report = error.report
    assert report.differing_rows == (5, 1500)
    assert report.worst.index.tolist() == [1500, 5]  # worst first
    row = X.iloc[1500]
    assert report.worst.loc[1500, "device"] == row["device"]
    assert report.worst.loc[1500, "item_price"] == row["item_price"]
    summary = report.summary
    assert summary.loc[("predict vs estimator", "probability(1)"), "over_tolerance"] == 2
    assert summary.loc[("predict vs estimator", "probability(0)"), "over_tolerance"] == 0
    assert summary.loc[("predict_one vs estimator", "probability(1)"), "over_tolerance"] == 1
    assert summary.loc[("predict vs estimator", "probability(1)"), "max_abs_diff"] == (
        pytest.approx(1e-4, rel=1e-6))
    message = str(error)
    assert message.startswith("pmmlserve differs on 2 of 2,000 rows")
    assert "Per column:" in message and "max_abs_diff" in message
    assert "Worst 2 row(s)" in message and "row 1500" in message
    assert row["device"] in message and row["site"] in message
    assert "probability(1) [estimator]" in message and "probability(1) [predict_one]" in message


def test_a_wrong_coefficient_fails_exactly_the_rows_it_affects(ctr_lr):
    pipeline, X, document = ctr_lr
    pattern = rb'(<CategoricalPredictor name="device" value="tablet" coefficient=")([^"]+)"'
    wrong = re.sub(pattern, lambda m: m.group(1) + b'0.5"', document)
    assert wrong != document
    with pytest.raises(ParityError) as caught:
        assert_parity(pipeline, wrong, X)
    tablets = np.flatnonzero(X["device"].to_numpy() == "tablet")
    assert caught.value.report.differing_rows == tuple(tablets)


def test_a_missing_value_on_one_side_is_a_difference(ctr_lr):
    pipeline, X, document = ctr_lr
    with pytest.raises(ParityError) as caught:
        assert_parity(Moved(pipeline, {7: lambda p: np.nan}), document, X)
    report = caught.value.report
    assert report.differing_rows == (7,)
    assert report.summary.loc[("predict vs estimator", "probability(1)"), "max_abs_diff"] == np.inf
    assert "missing" in str(caught.value)


@pytest.mark.parametrize(
    "labels, columns",
    [
        ([0, 1], ["probability(0)", "probability(1)"]),
        (["no", "yes"], ["probability(no)", "probability(yes)"]),
        ([False, True], ["probability(false)", "probability(true)"]),
        ([0.0, 1.0], ["probability(0)", "probability(1)"]),
        ([1, 2, 3], ["probability(1)", "probability(2)", "probability(3)"]),
    ],
)
def test_class_labels_are_matched_to_probability_columns(labels, columns):
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"a": np.linspace(0, 1, 60), "b": np.tile([0.0, 1.0, 2.0], 20)})
    y = np.repeat(np.array(labels, dtype=object), 60 // len(labels)).astype(type(labels[0]))
    clf = LogisticRegression().fit(X, y)
    report = assert_parity(clf, pmmlserve.export(clf, sample=X.head(5)), X)
    assert list(report.columns) == columns


def test_a_regressor_is_compared_on_the_target_column():
    from sklearn.tree import DecisionTreeRegressor

    from pmmlserve.datasets import make_ctr

    df = make_ctr(1000, seed=1)
    X = df[["hour", "position"]]
    tree = DecisionTreeRegressor(max_depth=5, random_state=0).fit(X, df["item_price"])
    report = assert_parity(tree, pmmlserve.export(tree, sample=X.head(10)), X)
    assert report.columns == ("y",) and report.passed


def test_arrays_loaded_models_and_live_models_are_accepted(tmp_path):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    clf = LogisticRegression().fit(X, X[:, 0] + rng.normal(size=200) > 0)
    document = pmmlserve.export(clf, sample=X[:5])
    assert assert_parity(clf, pmmlserve.load(document), X).passed

    store = pmmlserve.ModelStore(tmp_path / "store")
    store.publish("clf", document)
    with pmmlserve.LiveModel(store, "clf", poll_interval=None) as live:
        assert assert_parity(clf, live, X, records=0).comparisons == ("predict vs estimator",)


def test_a_document_missing_a_class_column_fails_clearly(ctr_lr):
    pipeline, X, document = ctr_lr

    class Labelled:  # the same probabilities, for classes the document does not name
        classes_ = np.array(["no", "yes"])
        feature_names_in_ = pipeline.feature_names_in_

        def predict_proba(self, data):
            return pipeline.predict_proba(data)

    with pytest.raises(ParityError, match=r"no probability column for the estimator's class 'no'"):
        assert_parity(Labelled(), document, X)


def test_a_regressor_against_a_classification_document_fails_clearly(ctr_lr):
    pipeline, X, document = ctr_lr

    class Regressor:
        feature_names_in_ = pipeline.feature_names_in_

        def predict(self, data):
            return pipeline.predict_proba(data)[:, 1]

    with pytest.raises(ParityError, match="the estimator is a regressor"):
        assert_parity(Regressor(), document, X)


def test_verification_rows_that_do_not_reproduce_fail_even_when_x_matches(ctr_lr):
    pipeline, X, document = ctr_lr
    first = re.search(rb"<data:probability_1>([^<]+)<", document)
    tampered = document.replace(first.group(0), b"<data:probability_1>0.5<", 1)
    with pytest.raises(ParityError, match="ModelVerification rows do not reproduce") as caught:
        assert_parity(pipeline, tampered, X)
    assert caught.value.report.passed  # the scores themselves matched


def test_float32_ulps_count_steps_as_numpy_nextafter_takes_them():
    start = np.array([0.25, -3.5, 1e-30, 0.0, -0.0, 7.0], dtype=np.float32)
    for k in (0, 1, 2, 17):
        moved = start.copy()
        for _ in range(k):
            moved = np.nextafter(moved, np.float32(np.inf))
        assert _float32_ulps(start, moved).tolist() == [float(k)] * len(start)
    tiny = np.nextafter(np.float32(0), np.float32(1))
    assert _float32_ulps(np.array([tiny]), np.array([-tiny])).tolist() == [2.0]


def test_ulps_replace_rtol(ctr_lr):
    pipeline, X, document = ctr_lr

    def up(steps):
        def change(p):
            value = np.float32(p)
            for _ in range(steps):
                value = np.nextafter(value, np.float32(1))
            return float(value)
        return change

    moved = Moved(pipeline, {3: up(3)})
    with pytest.raises(ParityError):
        assert_parity(moved, document, X)  # 3 float32 ULPs is far beyond rtol=1e-9
    report = assert_parity(moved, document, X, ulps=3)
    assert report.summary["max_ulps"].max() == 3
    with pytest.raises(ParityError) as caught:
        assert_parity(moved, document, X, ulps=2)
    assert caught.value.report.differing_rows == (3,)
    assert "tolerance: 2 float32 ULPs or |Δ| <= 1e-12" in str(caught.value)
    assert assert_parity(moved, document, X, ulps=2, atol=1e-6).passed  # or within atol


def test_an_xgboost_document_agrees_within_a_few_float32_ulps():
    xgboost = pytest.importorskip("xgboost")
    from pmmlserve.datasets import make_ctr

    df = make_ctr(1500, seed=2)
    X = df[["item_price", "user_age", "hour", "position", "item_ctr_7d"]]
    clf = xgboost.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1).fit(X, df["click"])
    # probability(0) is 1 - p in float32: a few ULPs of p, possibly many of itself (atol)
    report = assert_parity(clf, pmmlserve.export(clf, sample=X.head(10)), X, ulps=4, atol=1e-6)
    assert report.passed
    assert report.summary.xs("probability(1)", level="column")["max_ulps"].max() <= 4


def test_bad_arguments_are_refused(ctr_lr):
    pipeline, X, document = ctr_lr
    with pytest.raises(ValueError, match="reference"):
        assert_parity(pipeline, document, X, reference="onnx")
    with pytest.raises(ValueError, match="ulps"):
        assert_parity(pipeline, document, X, ulps=-1)
    with pytest.raises(ValueError, match="needs the document itself"):
        assert_parity(pipeline, pmmlserve.load(document), X, reference="jpmml")


def test_jpmml_unavailable_is_a_warning_and_recorded(ctr_lr, monkeypatch):
    pipeline, X, document = ctr_lr
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.warns(UserWarning, match="JPMML comparison skipped: no Java runtime"):
        report = assert_parity(pipeline, document, X, reference="jpmml")
    assert report.skipped and report.skipped[0].startswith("jpmml (no Java runtime")
    assert "Not compared: jpmml" in str(report)


@pytest.mark.jpmml
def test_jpmml_reference_separates_export_errors_from_scoring_errors(ctr_lr):
    require_java()
    pytest.importorskip("jpmml_evaluator")
    pipeline, X, document = ctr_lr
    report = assert_parity(pipeline, document, X, reference="jpmml")
    assert report.comparisons[-1] == "predict vs jpmml" and report.passed

    # a wrong document: the estimator disagrees, JPMML agrees with pmmlserve
    wrong = re.sub(rb'(name="device" value="tablet" coefficient=")[^"]+"', rb'\g<1>0.5"', document)
    with pytest.raises(ParityError) as caught:
        assert_parity(pipeline, wrong, X, reference="jpmml")
    over = caught.value.report.summary["over_tolerance"]
    assert over.loc["predict vs estimator"].sum() > 0
    assert over.loc["predict vs jpmml"].sum() == 0
