"""LiveModel: hot swaps under load, refusal of bad versions, lifecycle."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pmmlserve import LiveModel, StoreError, VersionNotFoundError
from tests.store._docs import X_VALUES, regression_pmml

X = np.array(X_VALUES * 4)


def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    """Wait for the watcher thread; the timeout only turns a hang into a failure."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def point_alias_by_hand(root: Path, name: str, vid: int) -> None:
    """Move an alias without the store's checks, as a careless tool could (but atomically)."""
    tmp = root / name / "aliases" / "by-hand.tmp"
    tmp.write_text(json.dumps({"version": vid}))
    os.replace(tmp, root / name / "aliases" / "current")


def install_document(root: Path, name: str, vid: int, doc: bytes) -> None:
    """Replace a version's document and fix its manifest, so only verification can catch it."""
    vdir = root / name / "versions" / str(vid)
    manifest = json.loads((vdir / "manifest.json").read_text())
    manifest.update(sha256=hashlib.sha256(doc).hexdigest(), size=len(doc))
    (vdir / "model.pmml").write_bytes(doc)
    (vdir / "manifest.json").write_text(json.dumps(manifest))


def test_swaps_under_load_without_failed_requests(local_store, caplog):
    caplog.set_level(logging.INFO, logger="pmmlserve.live")
    root = Path(local_store.root)
    intercepts = {local_store.publish("ctr", regression_pmml(100.0)).id: 100.0}
    live = LiveModel(local_store, "ctr", poll_interval=0.01)
    responses: list[tuple[int, float]] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def score_batches() -> None:
        frame = pd.DataFrame({"x": X})
        while not stop.is_set():
            try:
                out = live.predict(frame)
                offsets = np.unique(out["y"].to_numpy() - X)
                # One response, one version: every row carries the same intercept.
                assert len(offsets) == 1, offsets
                responses.append((out.attrs["model_version"], float(offsets[0])))
            except BaseException as exc:  # noqa: BLE001 - any failure of a request is the finding
                failures.append(exc)

    def score_records() -> None:
        while not stop.is_set():
            try:
                responses.append((-1, live.predict_one({"x": 0.0})["y"]))
            except BaseException as exc:  # noqa: BLE001
                failures.append(exc)

    def serving(vid: int) -> None:
        """Wait until the watcher serves ``vid`` and a request has been answered by it."""
        wait_for(lambda: live.version.id == vid, f"version {vid}")
        mark = len(responses)
        wait_for(lambda: intercepts[vid] in {o for _, o in responses[mark:]}, f"{vid} to answer")

    threads = [threading.Thread(target=score_batches) for _ in range(2)]
    threads.append(threading.Thread(target=score_records))
    for t in threads:
        t.start()
    try:
        serving(1)
        v2 = local_store.publish("ctr", regression_pmml(200.0))
        intercepts[v2.id] = 200.0
        serving(2)
        local_store.promote("ctr", 1)
        serving(1)
        local_store.rollback("ctr")
        serving(2)

        # A corrupted document: the store refuses to promote it; pointed to anyway, never served.
        local_store.publish("ctr", regression_pmml(300.0), activate=False)
        (root / "ctr/versions/3/model.pmml").write_bytes(regression_pmml(300.0)[:-40])
        with pytest.raises(StoreError, match="version 3"):
            local_store.promote("ctr", 3)
        point_alias_by_hand(root, "ctr", 3)
        wait_for(lambda: isinstance(live.last_error, StoreError), "the corrupted version's error")
        assert "version 3" in str(live.last_error)

        # Intact bytes whose ModelVerification fails: refused too.
        local_store.publish("ctr", regression_pmml(400.0), activate=False)
        install_document(root, "ctr", 4, regression_pmml(400.0, wrong_verification=True))
        point_alias_by_hand(root, "ctr", 4)
        refused = "version 4 not activated"
        wait_for(lambda: refused in caplog.text, "the refusal of version 4")
        serving(2)

        v5 = local_store.publish("ctr", regression_pmml(500.0))
        intercepts[v5.id] = 500.0
        serving(5)
        assert live.last_error is None
    finally:
        stop.set()
        for t in threads:
            t.join()
        live.close()

    assert failures == []
    served = {offset for _, offset in responses}
    assert served == {100.0, 200.0, 500.0}  # 300 and 400 never answered a request
    assert all(intercepts[v] == offset for v, offset in responses if v != -1)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("version 3 not activated" in r.getMessage() for r in errors)
    assert any("version 4 not activated" in r.getMessage() for r in errors)


def test_refresh_on_demand_and_retry_of_a_failed_target(local_store):
    root = Path(local_store.root)
    local_store.publish("ctr", regression_pmml(1.0))
    with LiveModel(str(root), "ctr", poll_interval=None) as live:
        local_store.publish("ctr", regression_pmml(2.0))
        assert live.version.id == 1  # no watcher: nothing moves until refresh()
        assert live.refresh().id == 2
        assert live.predict_one({"x": 1.0}) == {"y": 3.0}

        local_store.publish("ctr", regression_pmml(3.0), activate=False)
        point_alias_by_hand(root, "ctr", 3)
        (root / "ctr/versions/3/model.pmml").write_bytes(b"garbage")
        assert live.refresh().id == 2
        assert "version 3" in str(live.last_error)
        point_alias_by_hand(root, "ctr", 2)  # pointing back at what is served clears the error
        assert live.refresh().id == 2 and live.last_error is None
        point_alias_by_hand(root, "ctr", 3)
        assert live.refresh().id == 2 and live.last_error is not None
        # Repaired in place: an explicit refresh retries the same target.
        (root / "ctr/versions/3/model.pmml").write_bytes(regression_pmml(3.0))
        assert live.refresh().id == 3 and live.last_error is None
        assert [f.name for f in live.input_fields] == ["x"]
        assert [f.name for f in live.target_fields] == ["y"]


def test_follows_another_alias(local_store):
    for i in (1, 2):
        local_store.publish("ctr", regression_pmml(float(i)))
    local_store.set_alias("ctr", "stable", 1)
    with LiveModel(local_store, "ctr", alias="stable", poll_interval=None) as live:
        assert live.predict_one({"x": 0.0}) == {"y": 1.0}
        local_store.set_alias("ctr", "stable", 2)
        assert live.refresh().id == 2


def test_creation_fails_when_nothing_can_be_served(local_store):
    with pytest.raises(VersionNotFoundError):
        LiveModel(local_store, "ctr")
    with pytest.raises(ValueError, match="poll_interval"):
        LiveModel(local_store, "ctr", poll_interval=0)


def test_close_stops_the_watcher(local_store):
    local_store.publish("ctr", regression_pmml(1.0))
    live = LiveModel(local_store, "ctr", poll_interval=0.01)
    watcher = live._watcher
    assert watcher is not None and watcher.is_alive()
    live.close()
    assert not watcher.is_alive()
    local_store.publish("ctr", regression_pmml(2.0))
    assert live.predict_one({"x": 0.0}) == {"y": 1.0}  # still answers, no longer follows
