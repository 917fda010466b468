"""Several processes publishing and reading at once; publishers killed at every step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pmmlserve import ModelStore
from tests.store._docs import regression_pmml
from tests.store.conftest import make_root

WORKER = Path(__file__).with_name("_worker.py")


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def local_dir(root: str) -> Path:
    return Path(root.removeprefix("file://"))


def leftovers(model_dir: Path) -> list[str]:
    """Temporary entries and half-written versions under one model's directory."""
    found = [str(p) for p in (model_dir / ".tmp").glob("*")]
    found += [str(p) for p in model_dir.rglob(".*") if p.name not in (".tmp", ".lock")]
    found += [
        str(p) for p in (model_dir / "versions").glob("*") if not (p / "manifest.json").exists()
    ]
    return found


@pytest.mark.parametrize("kind", ["path", "file-url"])
def test_concurrent_publishers_and_readers(tmp_path, kind):
    root = make_root(kind, tmp_path)
    stop, go = tmp_path / "stop", tmp_path / "go"
    n_publishers, per_publisher = 3, 8
    readers = [start("read", root, "ctr", str(stop)) for _ in range(2)]
    publishers = [
        start("publish", root, "ctr", str(w), str(per_publisher), str(go))
        for w in range(n_publishers)
    ]
    go.touch()
    published = [finish(p)["ids"] for p in publishers]
    stop.touch()
    reads = [finish(r) for r in readers]

    # No duplicate and no lost id: together the publishers got exactly 1..N.
    total = n_publishers * per_publisher
    assert sorted(i for ids in published for i in ids) == list(range(1, total + 1))
    assert all(ids == sorted(ids) for ids in published)
    # Every version holds the document its publisher wrote, under the id it was told.
    store = ModelStore(root)
    versions = store.versions("ctr")
    assert [v.id for v in versions] == list(range(1, total + 1))
    for v in versions:
        worker, seq = v.metadata["worker"], v.metadata["seq"]
        assert published[worker][seq] == v.id
        assert store.get("ctr", v.id) == regression_pmml(float(worker * 1000 + seq))
    # A publish never moves `current` back, so the newest version ends up current.
    assert store.current("ctr").id == total
    # Readers saw no torn or mismatched document at any time.
    assert [r["errors"] for r in reads] == [[], []]
    assert all(r["reads"] > 0 for r in reads)


def test_concurrent_threads_on_memory_store():
    pytest.importorskip("fsspec")
    store = ModelStore(make_root("memory", None))
    ids: list[int] = []

    def publish(worker: int) -> None:
        for seq in range(5):
            ids.append(store.publish("ctr", regression_pmml(float(worker * 10 + seq))).id)

    threads = [threading.Thread(target=publish, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ids) == list(range(1, 21))
    assert [v.id for v in store.versions("ctr")] == list(range(1, 21))
    assert store.current("ctr").id == 20


@pytest.mark.parametrize("kind", ["path", "file-url"])
def test_publisher_killed_at_each_step_leaves_a_consistent_store(tmp_path, kind):
    root = make_root(kind, tmp_path)
    out = finish(start("crash", root, "ctr"))
    steps = [out["died_at"][str(n)] for n in range(1, out["completed_with"])]
    assert {
        "claimed",
        "model-written",
        "staged",
        "committed",
        "replace-staged",
        "activated",
    } <= set(steps)
    committed_at = steps.index("committed") + 1
    activated_at = steps.index("activated") + 1

    for n in range(1, out["completed_with"]):
        store = ModelStore(f"{root}/{n}")
        # Readers see complete versions only, each intact, and `current` names one of them.
        expected_ids = [1, 2] if n >= committed_at else [1]
        assert [v.id for v in store.versions("ctr")] == expected_ids, steps[n - 1]
        for vid in expected_ids:
            assert store.get("ctr", vid) == regression_pmml(float(vid))
        current = 2 if n >= activated_at else 1
        assert store.current("ctr").id == current, steps[n - 1]
        assert store.load("ctr").predict_one({"x": 0.0})["y"] == float(current)

        # gc removes whatever the dead publisher left, and the store carries on.
        store.gc("ctr")
        assert leftovers(local_dir(f"{root}/{n}") / "ctr") == [], steps[n - 1]
        assert store.publish("ctr", regression_pmml(3.0)).id == 3  # id 2 is never reused
        assert store.current("ctr").id == 3


def test_live_model_works_in_a_forked_child(tmp_path):
    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    out = finish(start("fork", str(tmp_path / "store"), "ctr"))
    assert out["child_status"] == 0
    assert out["child"] == {"inherited": 1.0, "followed": 2.0, "refreshed_by_thread": True}
    assert out["parent_version"] == 2
