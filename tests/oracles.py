"""Independent oracles the tests compare pmmlserve against.

JPMML (through ``jpmml_evaluator`` and JPype) is the reference evaluator; pypmml is a second
opinion; sklearn2pmml writes reference documents.  Every helper skips the calling test with a
clear reason when its oracle cannot run here (no Java, package not installed), so the suite still
works outside CI; CI installs all of them.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SHARED_XSD = Path(__file__).resolve().parents[2] / "shared" / "pmml" / "pmml-4-4.xsd"


def java_available() -> bool:
    return shutil.which("java") is not None


def require_java() -> None:
    if not java_available():
        pytest.skip("no Java runtime on PATH: JPMML oracle unavailable")


@functools.lru_cache(maxsize=None)
def _jpmml_from_bytes(digest: str, path: str):
    jpmml_evaluator = pytest.importorskip("jpmml_evaluator")
    from jpmml_evaluator import make_evaluator

    return make_evaluator(path, backend="jpype", lax=True)


def jpmml_evaluator(pmml: bytes | str | os.PathLike):
    """Return a (cached) JPMML evaluator for a document given as bytes or a path."""
    require_java()
    data = Path(pmml).read_bytes() if not isinstance(pmml, bytes) else pmml
    digest = hashlib.sha256(data).hexdigest()
    path = Path(tempfile.gettempdir()) / f"pmmlserve-oracle-{digest[:16]}.pmml"
    if not path.exists():
        path.write_bytes(data)
    return _jpmml_from_bytes(digest, str(path))


def jpmml_predict(pmml, X: pd.DataFrame) -> pd.DataFrame:
    """Score ``X`` with JPMML's ``evaluateAll``; a per-row error fails the test."""
    evaluator = jpmml_evaluator(pmml)
    result = evaluator.evaluateAll(X.reset_index(drop=True))
    if "errors" in result.columns:
        errors = result["errors"].dropna()
        errors = errors[errors != "None"]
        assert errors.empty, f"JPMML failed on rows: {errors.head().to_dict()}"
        result = result.drop(columns=["errors"])
    return result


def jpmml_verify(pmml) -> None:
    """Run JPMML's ModelVerification; raises on mismatch."""
    jpmml_evaluator(pmml).verify()


def pypmml_predict(pmml, X: pd.DataFrame) -> pd.DataFrame:
    """Score ``X`` row by row with pypmml (second opinion; py4j-backed)."""
    require_java()
    pypmml = pytest.importorskip("pypmml")
    data = Path(pmml).read_bytes() if not isinstance(pmml, bytes) else pmml
    model = pypmml.Model.fromString(data.decode("utf-8"))
    rows = [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in rec.items()}
        for rec in X.to_dict(orient="records")
    ]
    # predict returns a py4j JavaMap, which pandas would read as a sequence of its keys
    return pd.DataFrame([dict(model.predict(r)) for r in rows])


def sklearn2pmml_export(pipeline, path: str | os.PathLike) -> bytes:
    """Write ``pipeline`` (a PMMLPipeline) with sklearn2pmml and return the document bytes."""
    require_java()
    sklearn2pmml = pytest.importorskip("sklearn2pmml")
    sklearn2pmml.sklearn2pmml(pipeline, str(path))
    return Path(path).read_bytes()


@functools.lru_cache(maxsize=1)
def pmml_schema():
    """The PMML 4.4 XML schema from ../shared, or skip."""
    if not SHARED_XSD.exists():
        pytest.skip(f"PMML 4.4 schema not found at {SHARED_XSD}")
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(SHARED_XSD)))


def assert_schema_valid(document: bytes) -> None:
    from lxml import etree

    schema = pmml_schema()
    doc = etree.fromstring(document)
    if not schema.validate(doc):
        raise AssertionError(f"not valid PMML 4.4: {schema.error_log}")


def float32_ulps(a, b) -> np.ndarray:
    """Distance in float32 units-in-the-last-place between two arrays (NaN == NaN)."""
    a32 = np.asarray(a, dtype=np.float32)
    b32 = np.asarray(b, dtype=np.float32)
    ia = a32.view(np.int32).astype(np.int64)
    ib = b32.view(np.int32).astype(np.int64)
    # map the sign-magnitude bit pattern onto a monotonic integer line
    ia = np.where(ia < 0, -(2**31) - ia, ia)
    ib = np.where(ib < 0, -(2**31) - ib, ib)
    d = np.abs(ia - ib)
    both_nan = np.isnan(a32) & np.isnan(b32)
    return np.where(both_nan, 0, d)


def assert_frames_close(actual: pd.DataFrame, expected: pd.DataFrame, *, rtol=1e-12, atol=0.0,
                        ulps: int | None = None, columns=None) -> None:
    """Compare two result frames column by column (numbers by tolerance, others exactly)."""
    columns = list(expected.columns) if columns is None else list(columns)
    assert len(actual) == len(expected), (len(actual), len(expected))
    for col in columns:
        assert col in actual.columns, f"missing column {col!r}; have {list(actual.columns)}"
        e = expected[col].to_numpy()
        a = actual[col].to_numpy()
        e_num = pd.to_numeric(pd.Series(e), errors="coerce").to_numpy(dtype=float)
        a_num = pd.to_numeric(pd.Series(a), errors="coerce").to_numpy(dtype=float)
        numeric = not np.any(np.isnan(e_num) & pd.notna(pd.Series(e)).to_numpy())
        if numeric:
            same_missing = np.isnan(e_num) == np.isnan(a_num)
            assert same_missing.all(), (
                f"{col}: missing differs at rows {np.flatnonzero(~same_missing)[:10]}"
            )
            ok = np.isnan(e_num)
            if ulps is not None:
                ok |= float32_ulps(a_num, e_num) <= ulps
            else:
                ok |= np.abs(a_num - e_num) <= atol + rtol * np.abs(e_num)
            if not ok.all():
                bad = np.flatnonzero(~ok)
                raise AssertionError(
                    f"{col}: {len(bad)} rows differ, e.g. rows {bad[:5].tolist()}: "
                    f"actual {a_num[bad[:5]].tolist()} expected {e_num[bad[:5]].tolist()}"
                )
        else:
            a_str = [None if pd.isna(x) else str(x) for x in a.tolist()]
            e_str = [None if pd.isna(x) else str(x) for x in e.tolist()]
            bad = [i for i, (x, y) in enumerate(zip(a_str, e_str)) if x != y]
            assert not bad, f"{col}: rows {bad[:10]} differ: {[(a_str[i], e_str[i]) for i in bad[:5]]}"
