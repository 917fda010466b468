"""How a team's own test suite checks its models with pmmlserve's pytest fixtures.

    pytest examples/test_parity.py                        # the fixtures come with pmmlserve
    pytest examples/test_parity.py --pmml-rtol 1e-7       # loosen every pmml_parity check

Installing pmmlserve registers its pytest plugin, so these fixtures need no conftest.py:

* ``pmml_parity(estimator, pmml, X, **options)``: score ``X`` with the estimator and with
  pmmlserve (batch and single-record paths) and fail with a readable report on any difference
  beyond ``--pmml-rtol`` / ``--pmml-atol`` (or ``pmml_rtol`` / ``pmml_atol`` in the ini file);
* ``pmml_model(path)``: load a document (relative paths from this file's directory), compiled
  once per session;
* ``pmml_store``: an empty ``ModelStore`` in the test's temporary directory.

In a real project the estimator and the document come from the training job's artifacts; here
they are trained on the synthetic CTR log, small enough to run in seconds.
"""

from __future__ import annotations

import shutil

import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

import pmmlserve
from pmmlserve.datasets import make_ctr

NUMERIC = ["user_age", "user_activity", "item_price", "item_ctr_7d", "hour", "position"]
CATEGORICAL = ["ad_category", "device", "region", "site"]


@pytest.fixture(scope="module")
def log():
    """Training rows and newer rows to check on, some with categories never seen in training."""
    df = make_ctr(6_000, seed=0)
    train, recent = df.iloc[:5_000], df.iloc[5_000:].copy()
    recent.loc[recent.index[::50], "site"] = "a-site-launched-yesterday"
    return train, recent


@pytest.fixture(scope="module")
def ctr_lr(log):
    train, _ = log
    pipeline = make_pipeline(
        make_column_transformer(
            (make_pipeline(SimpleImputer(), StandardScaler()), NUMERIC),
            (OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)),
        LogisticRegression(max_iter=1000))
    return pipeline.fit(train[NUMERIC + CATEGORICAL], train["click"])


@pytest.fixture(scope="module")
def ctr_hgb(log):
    """Gradient boosting with native missing-value handling and categorical splits."""
    train, _ = log
    pipeline = make_pipeline(
        make_column_transformer(
            ("passthrough", NUMERIC),
            (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), CATEGORICAL)),
        HistGradientBoostingClassifier(max_iter=30, categorical_features=[6, 7, 8, 9],
                                       random_state=0))
    return pipeline.fit(train[NUMERIC + CATEGORICAL], train["click"])


def test_the_exported_document_scores_like_the_pipeline(ctr_lr, log, pmml_parity, tmp_path):
    train, recent = log
    path = tmp_path / "ctr_lr.pmml"
    pmmlserve.export(ctr_lr, path, sample=train.head(30))
    report = pmml_parity(ctr_lr, path, recent)
    assert report.rows == len(recent)


def test_missing_values_and_unseen_categories_too(ctr_hgb, log, pmml_parity):
    """The rows a live system sends: gaps (NaN) and a category the model never saw."""
    train, recent = log
    assert recent[NUMERIC].isna().any().any()
    document = pmmlserve.export(ctr_hgb, sample=train.head(30))
    pmml_parity(ctr_hgb, document, recent)


def test_the_published_version_serves_the_same_scores(ctr_lr, log, pmml_store, pmml_parity):
    train, recent = log
    pmml_store.publish("ctr", pmmlserve.export(ctr_lr, sample=train.head(30)),
                       metadata={"features": NUMERIC + CATEGORICAL})
    with pmmlserve.LiveModel(pmml_store, "ctr", poll_interval=None) as live:
        pmml_parity(ctr_lr, live, recent)


def test_a_checked_in_document_keeps_its_contract(ctr_lr, log, pmml_model, tmp_path):
    """What serving code relies on: the input names and the output columns."""
    train, _ = log
    document = tmp_path / "ctr.pmml"
    pmmlserve.export(ctr_lr, document, sample=train.head(30))
    model = pmml_model(document)  # in a real suite: pmml_model("models/ctr.pmml")
    assert [f.name for f in model.input_fields] == NUMERIC + CATEGORICAL
    assert [f.name for f in model.output_fields] == ["probability(0)", "probability(1)"]


def test_xgboost_in_float32_within_a_few_ulps(log, pmml_parity):
    """XGBoost computes in float32: compare in float32 ULPs, not in double tolerances."""
    xgboost = pytest.importorskip("xgboost")
    train, recent = log
    columns = NUMERIC  # numeric features only, so XGBoost takes the frame as it is
    model = xgboost.XGBClassifier(n_estimators=30, max_depth=4, n_jobs=1)
    model.fit(train[columns], train["click"])
    document = pmmlserve.export(model, sample=train[columns].head(30))
    # probability(0) = 1 - p in float32 carries p's rounding as an absolute error: atol
    pmml_parity(model, document, recent[columns], ulps=4, atol=1e-6)


@pytest.mark.skipif(shutil.which("java") is None, reason="JPMML needs a Java runtime")
def test_jpmml_agrees_as_well(ctr_lr, log, pmml_parity):
    """The reference evaluator as a third opinion (needs Java and jpmml_evaluator)."""
    pytest.importorskip("jpmml_evaluator")
    train, recent = log
    document = pmmlserve.export(ctr_lr, sample=train.head(30))
    report = pmml_parity(ctr_lr, document, recent, reference="jpmml")
    assert "predict vs jpmml" in report.comparisons
