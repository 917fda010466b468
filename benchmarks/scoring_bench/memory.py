"""Memory per (model, engine), each measured in a fresh child process.

Why not in the timing process: RSS cannot be attributed there (the JVM that jpmml_evaluator starts
stays resident, allocator arenas freed by one engine are reused by the next).  A probe process
imports numpy/pandas and reads the batch, then reports, in MiB:

``import_rss``      RSS growth from importing the engine's package
``load_rss``        RSS growth from loading the model; includes starting the JVM (jpmml_evaluator:
                    in-process JPype; pypmml: the py4j gateway, a child process whose RSS is
                    added), since serving one model with that engine costs exactly that
``batch_peak_rss``  peak RSS during one 10,000-row batch, above the RSS before it (the kernel's
                    high-water mark, reset through /proc/<pid>/clear_refs, for the probe and
                    its children)
``load_traced``     Python heap allocated by a second load and still alive (tracemalloc:
                    invisible to it are the JVM heap and native buffers of onnxruntime)
``batch_traced``    Python heap peak during a second batch, above the heap before it

Run as ``python -m scoring_bench.memory ENGINE MODEL_KEY WORKDIR``; prints one JSON object.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

__all__ = ["probe_in_child"]

MIB = 1024 * 1024


def _descendants(pid: int) -> list[int]:
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                children = [int(c) for c in f.read().split()]
        except OSError:
            continue
        for child in children:
            out.append(child)
            out.extend(_descendants(child))
    return out


def _status_kib(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _family() -> list[int]:
    return [os.getpid(), *_descendants(os.getpid())]


def _rss() -> int:
    """Bytes resident in this process and all its descendants."""
    return sum(_status_kib(p, "VmRSS") for p in _family()) * 1024


def _reset_peak() -> bool:
    ok = True
    for pid in _family():
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")  # 5: reset the peak RSS (VmHWM) to the current RSS
        except OSError:
            ok = False
    return ok


def _peak() -> int:
    return sum(_status_kib(p, "VmHWM") for p in _family()) * 1024


def _probe(engine_name: str, key: str, workdir: Path) -> dict:
    import importlib

    import pandas as pd

    from scoring_bench.engines import by_name
    from scoring_bench.models import ModelFiles

    frame = pd.read_pickle(workdir / "batch.pkl")
    engine = by_name(engine_name)
    files = ModelFiles.in_dir(workdir, key)
    gc.collect()
    rss0 = _rss()
    importlib.import_module(engine.module)
    gc.collect()
    rss1 = _rss()
    model = engine.load(files)
    gc.collect()
    rss2 = _rss()
    run = engine.batch(model)
    exact_peak = _reset_peak()
    before = _rss()
    run(frame)
    peak = _peak() if exact_peak else max(_rss(), before)
    del run, model
    gc.collect()

    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    model = engine.load(files)
    gc.collect()
    loaded = tracemalloc.get_traced_memory()[0]
    run = engine.batch(model)
    tracemalloc.reset_peak()
    run(frame)
    batch_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "import_rss": (rss1 - rss0) / MIB,
        "load_rss": (rss2 - rss1) / MIB,
        "batch_peak_rss": (peak - before) / MIB,
        "load_traced": (loaded - base) / MIB,
        "batch_traced": (batch_peak - loaded) / MIB,
        "peak_exact": exact_peak,
        "processes": len(_family()),
    }


def probe_in_child(engine_name: str, key: str, workdir: Path, timeout: float = 600) -> dict:
    """Run the probe for one (engine, model) in a fresh interpreter; ``{"error": ...}`` on
    failure."""
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "scoring_bench.memory", engine_name, key, str(workdir)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"probe timed out after {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"probe failed (exit {done.returncode}): {tail[:300]}"}
    return json.loads(lines[-1])


if __name__ == "__main__":
    name, model_key, directory = sys.argv[1:4]
    try:
        result = _probe(name, model_key, Path(directory))
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0][:300]}
    print(json.dumps(result), flush=True)
    # pypmml's gateway and JPype's JVM can keep the interpreter from exiting promptly
    os._exit(0)
