"""Processes for the store's concurrency, crash and fork tests (run as a script).

    python _worker.py publish ROOT NAME WORKER COUNT GO  once GO exists, publish COUNT documents
    python _worker.py read ROOT NAME STOPFILE            read and load until STOPFILE exists
    python _worker.py crash ROOT NAME                    see crash()
    python _worker.py fork ROOT NAME                     see fork()

Each prints one JSON line on stdout.  Checks that need the parent's oracles stay in the tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pmmlserve import LiveModel, ModelStore  # noqa: E402
from pmmlserve.store import _backends  # noqa: E402
from tests.store._docs import regression_pmml  # noqa: E402


def publish(root: str, name: str, worker: int, count: int, go: str) -> dict:
    store = ModelStore(root)
    documents = [regression_pmml(float(worker * 1000 + seq)) for seq in range(count)]
    while not os.path.exists(go):  # start together, so that publishers really contend
        time.sleep(0.001)
    ids = []
    for seq in range(count):
        v = store.publish(name, documents[seq], metadata={"worker": worker, "seq": seq})
        ids.append(v.id)
    return {"ids": ids}


def read(root: str, name: str, stopfile: str) -> dict:
    """Read every version and load the current one, over and over, recording any anomaly."""
    store = ModelStore(root)
    reads, errors = 0, []
    while True:
        stopping = os.path.exists(stopfile)  # one last full pass after the publishers finish
        for v in store.versions(name):
            try:
                doc = store.get(name, v.id)
                if hashlib.sha256(doc).hexdigest() != v.sha256 or len(doc) != v.size:
                    errors.append(f"version {v.id}: bytes differ from manifest")
                expected = float(v.metadata["worker"] * 1000 + v.metadata["seq"])
                if regression_pmml(expected) != doc:
                    errors.append(f"version {v.id}: not the document its publisher wrote")
                reads += 1
            except Exception as exc:
                errors.append(f"version {v.id}: {type(exc).__name__}: {exc}")
        try:
            model = store.load(name)
            model.predict_one({"x": 1.0})
        except LookupError:
            pass  # nothing activated yet
        except Exception as exc:
            errors.append(f"load current: {type(exc).__name__}: {exc}")
        if stopping:
            return {"reads": reads, "errors": errors}


def crash(root: str, name: str) -> dict:
    """Publish in a forked child killed with SIGKILL at its n-th step, for n = 1, 2, ...

    Each n uses its own store ``ROOT/<n>`` that already serves version 1.  Stops at the first
    n the publish survives; returns the step name each child died at.
    """
    died_at = {}
    for n in range(1, 100):
        store = ModelStore(f"{root}/{n}")
        store.publish(name, regression_pmml(1.0))
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the publisher that will be killed
            os.close(read_end)
            calls: list[str] = []

            def hook(step: str, n: int = n, fd: int = write_end, calls: list = calls) -> None:
                calls.append(step)
                if len(calls) == n:
                    os.write(fd, step.encode())
                    os.kill(os.getpid(), signal.SIGKILL)

            _backends._STEP_HOOK = hook
            store.publish(name, regression_pmml(2.0))
            os._exit(0)
        os.close(write_end)
        _, status = os.waitpid(pid, 0)
        step = os.read(read_end, 100).decode()
        os.close(read_end)
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            return {"died_at": died_at, "completed_with": n}
        if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
            raise SystemExit(f"publisher for n={n} ended with status {status}")
        died_at[n] = step
    raise SystemExit("publish never completed")


def fork(root: str, name: str) -> dict:
    """A LiveModel made before fork serves in the child, whose watcher then follows the alias."""
    store = ModelStore(root)
    store.publish(name, regression_pmml(1.0))
    live = LiveModel(store, name, poll_interval=0.02)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        result = {"inherited": live.predict_one({"x": 0.0})["y"]}
        store.publish(name, regression_pmml(2.0))
        deadline = time.monotonic() + 60
        while live.version.id != 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        result["followed"] = live.predict_one({"x": 0.0})["y"]
        result["refreshed_by_thread"] = live.version.id == 2
        live.close()
        os.write(write_end, json.dumps(result).encode())
        os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    child = json.loads(os.read(read_end, 10000) or b"{}")
    os.close(read_end)
    parent = live.refresh().id
    live.close()
    return {"child": child, "child_status": status, "parent_version": parent}


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "publish":
        out = publish(args[0], args[1], int(args[2]), int(args[3]), args[4])
    elif command == "read":
        out = read(*args)
    elif command == "crash":
        out = crash(*args)
    elif command == "fork":
        out = fork(*args)
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(out))
