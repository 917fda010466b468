"""Fixtures for the store tests: a fresh store on each backend."""

from __future__ import annotations

import uuid

import pytest

BACKENDS = ["path", "file-url", "memory"]


def make_root(kind: str, tmp_path) -> str:
    if kind == "path":
        return str(tmp_path / "store")
    if kind == "file-url":
        pytest.importorskip("fsspec")
        return f"file://{tmp_path / 'store'}"
    pytest.importorskip("fsspec")
    return f"memory://pmmlserve-tests-{uuid.uuid4().hex}"


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    from pmmlserve import ModelStore

    root = make_root(request.param, tmp_path)
    yield ModelStore(root)
    if request.param == "memory":
        import fsspec

        fsspec.filesystem("memory").rm(root.split("://", 1)[1], recursive=True)


@pytest.fixture
def local_store(tmp_path):
    from pmmlserve import ModelStore

    return ModelStore(tmp_path / "store")
