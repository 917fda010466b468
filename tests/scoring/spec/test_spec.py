"""Every hand-worked specification case, checked twice.

``test_expectation_matches_jpmml`` validates the hand-worked expectation against the reference
evaluator (JPMML), so a wrong reading of the specification shows up even before pmmlserve runs;
a case where JPMML legitimately departs from the specification is a strict xfail whose reason says
why.  ``test_pmmlserve_matches_spec`` then holds pmmlserve to the same expectation, record by record
(``predict_one``) and as one frame (``predict``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest

import pmmlserve
from pmmlserve.scoring import _forest
from tests.oracles import jpmml_evaluator, jpmml_predict
from tests.scoring.spec import (
    cases_fields,
    cases_math_context,
    cases_mining,
    cases_neural,
    cases_regression,
    cases_targets_output,
    cases_transformations,
    cases_tree,
    cases_verification,
)
from tests.scoring.spec._case import SpecCase

MODULES = (
    cases_fields,
    cases_transformations,
    cases_regression,
    cases_tree,
    cases_mining,
    cases_neural,
    cases_targets_output,
    cases_verification,
    cases_math_context,
)
CASES: list[SpecCase] = [case for module in MODULES for case in module.CASES]


def _params(*, mark_jpmml_differs: bool):
    params = []
    for case in CASES:
        marks = ()
        if mark_jpmml_differs and case.jpmml_differs:
            marks = pytest.mark.xfail(strict=True, reason=f"JPMML departs from the spec: {case.note}")
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


def test_case_ids_are_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def _is_missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def assert_record(actual: Mapping, expected: Mapping, *, rtol: float, where: str,
                  absent_is_missing: bool = False) -> None:
    """``actual`` has exactly the expected columns, each with the expected value.

    With ``absent_is_missing`` a column may be left out when its expected value is missing (JPMML's
    single-record ``evaluate`` leaves out the output fields of a missing prediction).
    """
    if absent_is_missing:
        extra = set(actual) - set(expected)
        absent = {c for c in set(expected) - set(actual) if expected[c] is not None}
        assert not extra and not absent, (
            f"{where}: columns {sorted(actual)} != expected {sorted(expected)}"
        )
    else:
        assert set(actual) == set(expected), (
            f"{where}: columns {sorted(actual)} != expected {sorted(expected)}"
        )
    for column, want in expected.items():
        got = actual.get(column)
        what = f"{where}, column {column!r}: got {got!r}, expected {want!r}"
        if want is None:
            assert _is_missing(got), what
        elif isinstance(want, bool):
            assert isinstance(got, (bool, np.bool_)) and bool(got) == want, what
        elif isinstance(want, list):
            assert isinstance(got, (list, tuple, np.ndarray)) and len(got) == len(want), what
            for i, (g, w) in enumerate(zip(got, want)):
                assert_record({"item": g}, {"item": w}, rtol=rtol, where=f"{what}, item {i}")
        elif isinstance(want, str):
            assert isinstance(got, str) and got == want, what
        elif isinstance(want, int):
            assert _is_number(got) and not _is_missing(got) and got == want, what
        else:
            assert _is_number(got) and not _is_missing(got), what
            assert math.isclose(float(got), want, rel_tol=rtol, abs_tol=1e-15), what


def _expects_error(expected) -> bool:
    return isinstance(expected, type) and issubclass(expected, Exception)


@pytest.mark.jpmml
@pytest.mark.parametrize("case", _params(mark_jpmml_differs=True))
def test_expectation_matches_jpmml(case: SpecCase):
    evaluator = jpmml_evaluator(case.pmml.encode("utf-8"))
    if "<ModelVerification" in case.pmml:
        evaluator.verify()   # the document's own verification rows hold in JPMML too
    for row, (record, expected) in enumerate(zip(case.records, case.expected)):
        where = f"{case.id} record {row} {record}"
        if _expects_error(expected):
            with pytest.raises(Exception) as caught:  # JPMML raises jpmml_evaluator.JavaError
                evaluator.evaluate(dict(record))
            if case.error_field in record:   # JPMML names an input field the same way
                assert f'"{case.error_field}"' in str(caught.value), f"{where}: {caught.value}"
        else:
            assert_record(evaluator.evaluate(dict(record)), expected, rtol=case.rtol, where=where,
                          absent_is_missing=True)

    # evaluateAll names every column even when a prediction is missing
    good = [(row, record, expected)
            for row, (record, expected) in enumerate(zip(case.records, case.expected))
            if not _expects_error(expected)]
    frame = pd.DataFrame([dict(record) for _, record, _ in good])
    result = jpmml_predict(case.pmml.encode("utf-8"), frame)
    for position, (row, record, expected) in enumerate(good):
        assert_record(result.iloc[position].to_dict(), expected, rtol=case.rtol,
                      where=f"{case.id} evaluateAll, record {row} {record}")


@pytest.mark.parametrize("case", _params(mark_jpmml_differs=False))
def test_pmmlserve_matches_spec(case: SpecCase):
    _check_pmmlserve(case)


TREE_CASES = [pytest.param(case, id=case.id) for module in (cases_tree, cases_mining,
                                                               cases_math_context)
              for case in module.CASES if "<Node" in case.pmml]


@pytest.mark.parametrize("case", TREE_CASES)
def test_tree_tests_written_on_ranks_match_spec(case: SpecCase, monkeypatch):
    # every number tested by a tree is compared by rank, which only large forests get otherwise
    monkeypatch.setattr(_forest, "_RANK_FOREST", 0)
    monkeypatch.setattr(_forest, "_RANK_FEATURE", 1)
    _check_pmmlserve(case)


def _one_record_bit_kernel(pmml: str) -> bool:
    return "_reached" in pmmlserve.load(pmml)._score_one.__pmmlserve_source__


def _bit_kernel_cases() -> list:
    """The tree cases holding a forest that scores one record with the bit kernel when every
    forest does (otherwise only large ones do)."""
    policy = _forest._BITS_PATHS
    _forest._BITS_PATHS = 0
    try:
        return [p for p in TREE_CASES if "<Segmentation" in p.values[0].pmml
                and _one_record_bit_kernel(p.values[0].pmml)]
    finally:
        _forest._BITS_PATHS = policy


@pytest.mark.parametrize("case", _bit_kernel_cases())
def test_forests_scored_one_record_at_a_time_by_the_bit_kernel_match_spec(case: SpecCase,
                                                                          monkeypatch):
    monkeypatch.setattr(_forest, "_BITS_PATHS", 0)
    assert _one_record_bit_kernel(case.pmml)
    _check_pmmlserve(case)


def _check_pmmlserve(case: SpecCase) -> None:
    model = pmmlserve.load(case.pmml)
    good = []
    for row, (record, expected) in enumerate(zip(case.records, case.expected)):
        where = f"{case.id} record {row} {record}"
        if _expects_error(expected):
            # both paths: the record alone, and after the good ones (the row is its position)
            frame = pd.DataFrame([r for _, r, _ in good] + [dict(record)])
            for path, score in (("predict_one", lambda: model.predict_one(dict(record))),
                                ("predict", lambda: model.predict(frame))):
                with pytest.raises(expected) as caught:
                    score()
                field = caught.value.field
                if case.error_field is not None:
                    assert field == case.error_field, f"{where} {path}: error names {field!r}"
                else:
                    assert field in record, f"{where} {path}: error names {field!r}"
                if path == "predict":
                    assert caught.value.row == len(good), \
                        f"{where} predict: error names row {caught.value.row}"
        else:
            assert_record(model.predict_one(dict(record)), expected, rtol=case.rtol, where=where)
            good.append((row, record, expected))

    frame = pd.DataFrame([record for _, record, _ in good])
    result = model.predict(frame)
    assert len(result) == len(good), f"{case.id}: predict returned {len(result)} rows"
    for position, (row, record, expected) in enumerate(good):
        actual = result.iloc[position].to_dict()
        assert_record(actual, expected, rtol=case.rtol,
                      where=f"{case.id} predict, record {row} {record}")
