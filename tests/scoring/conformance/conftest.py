"""Session fixtures: each case is fitted, exported and scored by JPMML once per session.

Exports are cached in pytest's cache directory (``.pytest_cache/d/pmmlserve-conformance``),
keyed by the pipeline's parameters, the training data and the library versions, so a second
run does not start Java for sklearn2pmml at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tests.scoring.conformance import harness
from tests.scoring.conformance.cases import CASES_BY_NAME


@dataclass
class Scored:
    """A fitted, exported case plus JPMML's answer on its evaluation rows."""

    fitted: harness.Fitted
    expected: pd.DataFrame  # JPMML evaluateAll, one row per evaluation row (failed rows: missing)
    errors: pd.Series  # JPMML's error text per row, None where it scored the row

    def __getattr__(self, name):
        return getattr(self.fitted, name)

    @property
    def ok(self) -> pd.Series:
        return self.errors.isna()


@pytest.fixture(scope="session")
def conformance_cache_dir(request, tmp_path_factory) -> Path:
    cache = getattr(request.config, "cache", None)
    if cache is None:  # -p no:cacheprovider
        return tmp_path_factory.mktemp("pmmlserve-conformance")
    return Path(cache.mkdir("pmmlserve-conformance"))


@pytest.fixture(scope="session")
def conformance(conformance_cache_dir):
    """``conformance(name) -> Scored``, memoised for the session."""
    from tests.oracles import require_java

    memo: dict[str, Scored] = {}

    def get(name: str) -> Scored:
        if name not in memo:
            require_java()
            pytest.importorskip("sklearn2pmml")
            pytest.importorskip("jpmml_evaluator")
            fitted = harness.prepare(CASES_BY_NAME[name], conformance_cache_dir)
            expected, errors = harness.jpmml_evaluate(fitted.document, fitted.X_eval)
            memo[name] = Scored(fitted, expected, errors)
        return memo[name]

    return get


@pytest.fixture(scope="session")
def loaded():
    """``loaded(scored) -> pmmlserve.Model``, one load per document for the session."""
    import pmmlserve

    memo: dict[str, object] = {}

    def get(scored: Scored):
        name = scored.case.name
        if name not in memo:
            memo[name] = pmmlserve.load(scored.document)
        return memo[name]

    return get
