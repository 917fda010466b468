"""ModelStore: publish, read back, aliases, integrity and gc, on every backend."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

import pmmlserve
from pmmlserve import ModelStore, StoreError, VersionNotFoundError
from tests.oracles import SHARED_XSD
from tests.store._docs import X_VALUES, regression_pmml


def overwrite(store: ModelStore, key: str, data: bytes) -> None:
    """Change a stored file behind the store's back (bit rot, a buggy tool, a person)."""
    fsspec = pytest.importorskip("fsspec")
    fs, path = fsspec.core.url_to_fs(f"{store.root}/{key}")
    fs.pipe_file(path, data)


def intercept_of(model) -> float:
    """Which document a model is: our documents predict y = intercept at x = 0."""
    return float(model.predict_one({"x": 0.0})["y"])


def test_publish_and_read_back(store):
    doc = regression_pmml(1.5, 2.0)
    v = store.publish("ctr", doc, metadata={"auc": np.float64(0.71), "rows": np.int64(1000)})

    assert v.id == 1
    assert v.sha256 == hashlib.sha256(doc).hexdigest()
    assert v.size == len(doc)
    assert v.created_at.tzinfo is not None and v.created_at.utcoffset() == dt.timedelta(0)
    assert v.producer["application"] == "pmmlserve-tests"
    assert [f.name for f in v.input_fields] == ["x"]
    assert [f.name for f in v.target_fields] == ["y"]
    assert dict(v.metadata) == {"auc": 0.71, "rows": 1000}
    assert v.pmmlserve_version == pmmlserve.__version__

    assert store.versions("ctr") == [v]
    assert store.current("ctr") == v
    assert store.version("ctr", 1).metadata["auc"] == 0.71
    assert store.get("ctr") == doc
    assert store.get("ctr", 1) == doc
    model = store.load("ctr")
    x = np.array(X_VALUES)
    np.testing.assert_allclose(model.predict({"x": x})["y"].to_numpy(), 1.5 + 2.0 * x)
    assert store.names() == ["ctr"]


def test_ids_increase_and_publish_activates(store):
    ids = [store.publish("ctr", regression_pmml(float(i))).id for i in range(1, 4)]
    assert ids == [1, 2, 3]
    assert store.current("ctr").id == 3
    assert [v.replaced for v in store.versions("ctr")] == [None, 1, 2]

    v4 = store.publish("ctr", regression_pmml(4.0), activate=False)
    assert v4.id == 4 and v4.replaced is None
    assert store.current("ctr").id == 3
    assert intercept_of(store.load("ctr")) == 3.0
    assert intercept_of(store.load("ctr", 4)) == 4.0


@pytest.mark.parametrize(
    "doc, error",
    [
        (regression_pmml(1.0, wrong_verification=True), pmmlserve.VerificationError),
        (b"<PMML><not-closed></PMML>", pmmlserve.MarkupError),
    ],
    ids=["fails-verification", "malformed"],
)
def test_a_failing_document_never_enters_the_store(store, doc, error):
    with pytest.raises(error):
        store.publish("ctr", doc)
    assert store.versions("ctr") == []
    with pytest.raises(VersionNotFoundError):
        store.current("ctr")
    # Nothing was claimed either: the first good version is still number 1.
    assert store.publish("ctr", regression_pmml(1.0)).id == 1


def test_publish_accepts_path_bytes_text_and_file_object(local_store, tmp_path):
    doc = regression_pmml(7.0)
    path = tmp_path / "model.pmml"
    path.write_bytes(doc)
    sources = [path, str(path), doc, doc.decode(), io.BytesIO(doc)]
    for source in sources:
        local_store.publish("ctr", source)
    assert {local_store.get("ctr", v.id) for v in local_store.versions("ctr")} == {doc}
    with pytest.raises(TypeError):
        local_store.publish("ctr", 42)


def test_metadata_must_be_json(local_store):
    with pytest.raises(ValueError, match="JSON"):
        local_store.publish("ctr", regression_pmml(1.0), metadata={"tags": {"a", "b"}})
    with pytest.raises(ValueError, match="JSON"):
        local_store.publish("ctr", regression_pmml(1.0), metadata={"auc": float("nan")})
    assert local_store.versions("ctr") == []


def test_promote_rollback_and_aliases(store):
    for i in (1, 2, 3):
        store.publish("ctr", regression_pmml(float(i)))
    assert store.promote("ctr", 1).id == 1
    assert intercept_of(store.load("ctr")) == 1.0
    # Rollback walks back through what the alias pointed to: 3, then 2, then 1.
    assert [store.rollback("ctr").id for _ in range(3)] == [3, 2, 1]
    with pytest.raises(StoreError, match="roll back"):
        store.rollback("ctr")

    assert store.set_alias("ctr", "canary", store.version("ctr", 2)).id == 2
    assert store.aliases("ctr") == {"canary": 2, "current": 1}
    assert intercept_of(store.load("ctr", alias="canary")) == 2.0
    with pytest.raises(VersionNotFoundError):
        store.promote("ctr", 9)
    assert store.aliases("ctr") == {"canary": 2, "current": 1}


def test_missing_things_raise_version_not_found(store):
    with pytest.raises(VersionNotFoundError):
        store.load("nothing")
    store.publish("ctr", regression_pmml(1.0))
    with pytest.raises(LookupError):
        store.get("ctr", 2)
    with pytest.raises(VersionNotFoundError, match="stable"):
        store.load("ctr", alias="stable")
    with pytest.raises(StoreError):
        store.rollback("ctr", alias="stable")


@pytest.mark.parametrize("name", ["", "../etc", ".hidden", "a/b", "a b"])
def test_names_are_checked(local_store, name):
    with pytest.raises(ValueError, match="invalid"):
        local_store.publish(name, regression_pmml(1.0))


@pytest.mark.parametrize(
    "damage",
    [
        lambda doc: doc.replace(b'intercept="1.0"', b'intercept="9.0"'),  # same size, other bytes
        lambda doc: doc[: len(doc) // 2],  # truncated
    ],
    ids=["changed", "truncated"],
)
def test_a_damaged_document_is_refused_naming_the_version(store, damage):
    store.publish("ctr", regression_pmml(5.0))
    store.publish("ctr", regression_pmml(1.0), activate=False)
    overwrite(store, "ctr/versions/2/model.pmml", damage(regression_pmml(1.0)))

    for read in (lambda: store.get("ctr", 2), lambda: store.load("ctr", 2)):
        with pytest.raises(StoreError, match=r"version 2 of model 'ctr' is corrupted"):
            read()
    with pytest.raises(StoreError, match="version 2"):
        store.promote("ctr", 2)
    assert store.current("ctr").id == 1
    assert intercept_of(store.load("ctr")) == 5.0


def test_layout_is_plain_readable_files(local_store):
    doc = regression_pmml(1.0)
    local_store.publish("ctr", doc, metadata={"data": {"from": "2026-01-01", "to": "2026-02-01"}})
    local_store.publish("ctr", regression_pmml(2.0))
    root = Path(local_store.root) / "ctr"

    assert (root / "versions/1/model.pmml").read_bytes() == doc
    manifest = json.loads((root / "versions/1/manifest.json").read_text())
    assert manifest["sha256"] == hashlib.sha256(doc).hexdigest()
    assert manifest["size"] == len(doc)
    assert manifest["created_at"].endswith("Z")
    assert manifest["producer"] == {"application": "pmmlserve-tests", "version": "1.0"}
    assert manifest["schema"]["inputs"][0]["name"] == "x"
    assert manifest["metadata"]["data"]["to"] == "2026-02-01"
    assert json.loads((root / "versions/2/manifest.json").read_text())["replaced"] == 1
    assert json.loads((root / "aliases/current").read_text())["version"] == 2

    # An alias is a pointer a person can also write by hand.
    (root / "aliases/current").write_text("1\n")
    assert local_store.current("ctr").id == 1


def test_gc_keeps_newest_and_aliased_versions_and_never_reuses_ids(store):
    for i in range(1, 7):
        store.publish("ctr", regression_pmml(float(i)))
    store.set_alias("ctr", "stable", 1)

    assert store.gc("ctr", keep=2) == [2, 3, 4]
    assert [v.id for v in store.versions("ctr")] == [1, 5, 6]

    store.promote("ctr", 1)
    assert store.gc("ctr", keep=0) == [5, 6]
    assert [v.id for v in store.versions("ctr")] == [1]
    assert store.publish("ctr", regression_pmml(7.0)).id == 7
    # Rollback skips the versions gc removed.
    assert store.rollback("ctr").id == 1


def test_store_object_store_urls_need_storage_options_only_for_urls(tmp_path):
    with pytest.raises(ValueError, match="storage_options"):
        ModelStore(tmp_path, storage_options={"anon": True})


def test_fixture_documents_are_valid_pmml():
    """The test documents themselves, checked against the PMML 4.4 schema (an oracle)."""
    if not SHARED_XSD.exists():
        pytest.skip(f"PMML schema not found at {SHARED_XSD}")
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(SHARED_XSD)))
    for doc in (regression_pmml(1.0), regression_pmml(-2.5, 0.5, verification=False)):
        assert schema.validate(etree.fromstring(doc)), schema.error_log


@pytest.mark.jpmml
def test_fixture_verification_rows_agree_with_jpmml():
    """JPMML accepts the good documents' ModelVerification and rejects the wrong one."""
    from tests.oracles import jpmml_verify

    jpmml_verify(regression_pmml(3.5, 2.0))
    with pytest.raises(Exception):  # noqa: B017 - JPype surfaces Java exceptions as JavaError
        jpmml_verify(regression_pmml(3.5, 2.0, wrong_verification=True))
