"""pmmlserve scores sklearn2pmml documents exactly as JPMML does (issue 2).

For every case of :mod:`cases`: JPMML's ``evaluateAll`` on the evaluation rows is the expected
answer; pmmlserve's ``predict`` (whole frame) and ``predict_one`` (row by row) must reproduce
every column within 1e-12 relative, or 4 float32 ULPs for float-context documents.  Rows JPMML
rejects must raise :class:`pmmlserve.EvaluationError`.  A sanity test checks that JPMML itself
reproduces scikit-learn, so the oracle is the right one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.oracles import assert_frames_close, jpmml_verify
from tests.scoring.conformance import harness
from tests.scoring.conformance.cases import CASES

pytestmark = pytest.mark.jpmml

ALL = [case.name for case in CASES]
WITH_ERRORS = [case.name for case in CASES if case.record_errors]
WITH_VERIFICATION = [case.name for case in CASES if case.verify]
WITH_THRESHOLDS = [case.name for case in CASES if case.thresholds is not None]

# predict_one runs on every row that is not a fresh draw (corners, thresholds) plus every 5th
FRESH_STRIDE = 5


def _one_by_one_rows(scored) -> np.ndarray:
    from tests.scoring.conformance.data import N_FRESH

    rows = np.arange(len(scored.X_eval))
    chosen = (rows >= N_FRESH) | (rows % FRESH_STRIDE == 0)
    return rows[chosen & scored.ok.to_numpy()]


@pytest.mark.parametrize("name", ALL)
def test_jpmml_reproduces_sklearn(conformance, name):
    """The oracle check: JPMML agrees with scikit-learn wherever no divergence is documented."""
    scored = conformance(name)
    case, X = scored.case, scored.X_eval
    sk, refused = harness.sklearn_predict(case, scored.pipeline, X)

    explained = np.zeros(len(X), dtype=bool)
    for divergence in case.divergences:
        explained |= np.asarray(divergence.rows(X), dtype=bool)
    jp_missing = scored.expected.isna().all(axis=1).to_numpy()
    jp_failed = ~scored.ok.to_numpy()
    unexplained = (jp_missing | jp_failed | refused) & ~explained
    assert not unexplained.any(), (
        f"JPMML failed or returned missing, or scikit-learn refused, on rows "
        f"{np.flatnonzero(unexplained)[:10].tolist()} with no documented divergence:\n"
        f"{X[unexplained].head().to_string()}\n{scored.errors[unexplained].head().tolist()}"
    )
    if case.record_errors:
        assert jp_failed.any(), "the case documents record errors but JPMML rejected no row"

    compare = ~(explained | jp_missing | jp_failed | refused)
    assert compare.sum() >= 50, f"only {compare.sum()} rows left to compare"
    assert_frames_close(
        sk[compare].reset_index(drop=True),
        scored.expected[compare].reset_index(drop=True),
        rtol=case.sklearn_rtol,
        atol=case.sklearn_atol,
    )


@pytest.mark.parametrize("name", ALL)
def test_predict_matches_jpmml(conformance, loaded, name):
    scored = conformance(name)
    model = loaded(scored)
    ok = scored.ok.to_numpy()
    X = scored.X_eval[ok].reset_index(drop=True)
    expected = scored.expected[ok].reset_index(drop=True)

    actual = model.predict(X)

    assert sorted(actual.columns) == sorted(expected.columns)
    assert_frames_close(actual.reset_index(drop=True), expected, **scored.tolerance)


@pytest.mark.parametrize("name", ALL)
def test_predict_one_matches_jpmml(conformance, loaded, name):
    scored = conformance(name)
    model = loaded(scored)
    rows = _one_by_one_rows(scored)
    expected = scored.expected.iloc[rows].reset_index(drop=True)

    results = [model.predict_one(record) for record in harness.records(scored.X_eval.iloc[rows])]

    for result in results:
        assert sorted(result) == sorted(expected.columns)
    assert_frames_close(pd.DataFrame(results), expected, **scored.tolerance)


@pytest.mark.parametrize("name", WITH_ERRORS)
def test_rows_jpmml_rejects_raise_evaluation_error(conformance, loaded, name):
    import pmmlserve

    scored = conformance(name)
    model = loaded(scored)
    failed = np.flatnonzero(~scored.ok.to_numpy())
    assert failed.size, "JPMML rejected no row: the case no longer exercises record errors"
    errors = scored.errors.to_numpy()
    for i in failed[:12]:
        record = harness.records(scored.X_eval.iloc[[i]])[0]
        frame = scored.X_eval.iloc[[i]].reset_index(drop=True)
        if "MissingArgumentException" in str(errors[i]):
            # A documented departure: JPMML refuses a missing argument to most built-in
            # functions, the PMML spec says the result is missing; pmmlserve follows the spec,
            # so the record scores (see docs/parity.md).
            one = model.predict_one(record)
            assert sorted(one) == sorted(model.predict(frame).columns)
            continue
        with pytest.raises(pmmlserve.EvaluationError):
            model.predict_one(record)
        with pytest.raises(pmmlserve.EvaluationError):
            model.predict(frame)


@pytest.mark.parametrize("name", WITH_VERIFICATION)
def test_embedded_verification_rows_pass(conformance, name):
    import pmmlserve

    scored = conformance(name)
    assert b"<ModelVerification" in scored.document
    jpmml_verify(scored.document)  # the oracle accepts the rows sklearn2pmml embedded

    model = pmmlserve.load(scored.document, verify=True)
    model.verify()


@pytest.mark.parametrize("name", WITH_THRESHOLDS)
def test_threshold_rows_sit_on_split_thresholds(conformance, name):
    """Guards the harness: tree cases really do score rows lying exactly on their splits."""
    scored = conformance(name)
    thresholds = scored.case.thresholds(scored.pipeline)
    assert scored.n_threshold_rows > 0 and thresholds
    extra = scored.X_eval.iloc[-scored.n_threshold_rows:]
    for column, values in thresholds.items():
        assert extra[column].isin(values).any(), f"no row on a {column} threshold"
