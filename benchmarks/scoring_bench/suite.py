"""The whole benchmark run: data, artifacts, agreement, timings, memory, targets -> one dict."""

from __future__ import annotations

import dataclasses
import datetime
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scoring_bench import machine, memory, timing
from scoring_bench.data import make_table, to_records
from scoring_bench.engines import ENGINES, Engine, own_gc_hooks_only
from scoring_bench.models import MODELS, Artifacts, build_artifacts

__all__ = ["Settings", "run"]


@dataclass(frozen=True)
class Settings:
    """Sizes and repeat counts (the defaults are the full run; see ``quick``)."""

    train_rows: int = 20_000
    batch_rows: int = 10_000
    latency_rounds: int = 20
    latency_block: int = 250  # single-record calls per engine per round
    latency_warmup: int = 200
    batch_repeats: int = 7
    load_repeats: int = 15
    latency_block_budget_s: float = 15.0  # a block stops early after this long
    agree_records: int = 500  # single-record calls checked against sklearn
    tolerance: float = 1e-6  # max |P(click) - sklearn's P(click)| for "agrees"
    memory: bool = True
    threads: int | None = None  # None: every library's default thread count
    quick: bool = False
    seed: int = 0

    @classmethod
    def quick_run(cls, **overrides) -> "Settings":
        return cls(latency_rounds=3, latency_block=100, latency_warmup=50, batch_repeats=2,
                   load_repeats=2, agree_records=100, latency_block_budget_s=3.0, quick=True,
                   **overrides)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _attempt(fn, *args):
    try:
        return fn(*args), None
    except Exception as exc:  # one engine's failure is a row in the report, not the end of the run
        return None, f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


def _diff(actual, expected, tolerance: float) -> dict:
    d = np.abs(np.asarray(actual, dtype=float) - np.asarray(expected, dtype=float))
    nan = np.isnan(d)  # a missing score where sklearn has one (or the reverse) disagrees
    finite = d[~nan]
    return {"max_abs_diff": float(finite.max()) if finite.size else None,
            "n_over_tol": int((finite > tolerance).sum() + nan.sum()),
            "n_nan": int(nan.sum()), "n": int(d.size)}


def _agreement(engine, model, frame, records, reference, settings) -> dict:
    """Score with both paths and compare with sklearn; the batch call also warms the engine up."""
    out: dict = {}
    n = min(settings.agree_records, len(records))
    batch_fn, error = _attempt(engine.batch, model)
    scores, error = _attempt(batch_fn, frame) if batch_fn else (None, error)
    out["batch"] = _diff(scores, reference, settings.tolerance) if error is None else {
        "error": error}
    one_fn, error = _attempt(engine.one, model)
    scores, error = _attempt(lambda: [one_fn(r) for r in records[:n]]) if one_fn else (None, error)
    out["one"] = _diff(scores, reference[:n], settings.tolerance) if error is None else {
        "error": error}
    out["ok"] = all(p.get("n_over_tol", 1) == 0 for p in (out["batch"], out["one"]))
    return out


def _bench_model(art: Artifacts, engines: list[Engine], frame, records, settings, cold: bool,
                 ) -> dict:
    spec, files = art.spec, art.files
    rows = {e.name: {} for e in engines}
    models = {}
    for e in engines:  # first load (the cold one for the first model: may start a JVM)
        t0 = time.perf_counter()
        with own_gc_hooks_only(e.name):
            models[e.name], error = _attempt(e.load, files)
        key = "cold_load_s" if cold else "first_load_s"
        rows[e.name][key if error is None else "status"] = (
            time.perf_counter() - t0 if error is None else f"n/a: {error}")
    live = [e for e in engines if models[e.name] is not None]
    reference = _sklearn_reference(files, frame)  # the yardstick: no point going on without it
    for e in live:
        rows[e.name]["agreement"] = _agreement(e, models[e.name], frame, records, reference,
                                               settings)
        a = rows[e.name]["agreement"]
        _log(f"    {e.name:12s} agrees with sklearn: {a['ok']}; max|diff| one-record "
             f"{a['one'].get('max_abs_diff', a['one'].get('error'))}, batch "
             f"{a['batch'].get('max_abs_diff', a['batch'].get('error'))}")
    _log(f"    timing single records ({settings.latency_rounds} rounds x "
         f"{settings.latency_block} calls per engine)")
    ones = {e.name: fn for e in live if (fn := _attempt(e.one, models[e.name])[0])}
    lat = timing.latency(ones, records, rounds=settings.latency_rounds,
                         block=settings.latency_block, warmup=settings.latency_warmup,
                         seed=settings.seed, block_budget_s=settings.latency_block_budget_s,
                         context=own_gc_hooks_only)
    _log(f"    timing {len(frame):,}-row batches ({settings.batch_repeats} rounds)")
    batches = {e.name: fn for e in live if (fn := _attempt(e.batch, models[e.name])[0])}
    bat = timing.batch(batches, frame, repeats=settings.batch_repeats, seed=settings.seed,
                       context=own_gc_hooks_only)
    del ones, batches, models
    _log(f"    timing loads ({settings.load_repeats} rounds)")
    loads = {e.name: (lambda e=e: e.load(files)) for e in live}
    lod = timing.load(loads, repeats=settings.load_repeats, seed=settings.seed,
                      context=own_gc_hooks_only)
    # what a new version costs before it answers: some engines defer work to the first call
    _log(f"    timing load + first score ({settings.load_repeats} rounds)")
    readies = {e.name: (lambda e=e: _ready(e, files, records[0])) for e in live}
    ready = timing.load(readies, repeats=settings.load_repeats, seed=settings.seed,
                        context=own_gc_hooks_only)
    for e in live:
        row = rows[e.name]
        row["status"] = "ok"
        row["latency_us"] = _summarize(lat.get(e.name), 1e-3)
        row["batch_s"] = _summarize(bat.get(e.name), 1.0)
        if "median" in row["batch_s"]:
            row["batch_s"]["rows_per_s"] = len(frame) / row["batch_s"]["median"]
        row["load_ms"] = _summarize(lod.get(e.name), 1e3)
        row["ready_ms"] = _summarize(ready.get(e.name), 1e3)
    return rows


def _ready(engine: Engine, files, record: dict):
    """Load, then score one record: the model is ready once its first answer is out."""
    model = engine.load(files)
    engine.one(model)(record)
    return model


def _summarize(values, scale):
    if values is None:
        return {"error": "not measured"}
    if isinstance(values, timing.Failure):
        return {"error": str(values)}
    return timing.summary(values, scale)


def _sklearn_reference(files, frame) -> np.ndarray:
    import pickle

    with open(files.pickle, "rb") as f:
        return pickle.load(f).predict_proba(frame)[:, 1]


def _memory(arts: list[Artifacts], engines: list[Engine], workdir: Path, results: dict) -> None:
    for art in arts:
        for e in engines:
            row = results["models"][art.spec.key]["engines"][e.name]
            if row.get("status") != "ok":
                continue
            _log(f"  memory probe: {art.spec.key} / {e.name}")
            row["memory_mib"] = memory.probe_in_child(e.name, art.spec.key, workdir)


def run(settings: Settings, engine_names: list[str] | None = None,
        model_keys: list[str] | None = None, command: str = "") -> dict:
    """Run everything and return the results document (see benchmarks/README.md)."""
    started = time.time()
    engines = [e for e in ENGINES if engine_names is None or e.name in engine_names]
    results = {
        "schema": 1,
        "command": command,
        "started_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "settings": dataclasses.asdict(settings),
        "machine": machine.describe_machine(),
        "versions": machine.library_versions(),
        "git": machine.git_state(Path(__file__).resolve().parents[2]),
        "load_average": {"start": machine.load_average()},
        "engines": {e.name: {"label": e.label, "version": e.version(),
                             "unavailable": e.unavailable()} for e in engines},
        "models": {},
    }
    for name, info in results["engines"].items():
        if info["unavailable"]:
            _log(f"engine {name}: n/a ({info['unavailable']})")
    usable = [e for e in engines if not results["engines"][e.name]["unavailable"]]
    _log(f"data: {settings.train_rows:,} training rows, {settings.batch_rows:,} scoring rows")
    X, y = make_table(settings.train_rows, seed=settings.seed + 1)
    frame, _ = make_table(settings.batch_rows, seed=settings.seed + 2)
    records = to_records(frame)
    with tempfile.TemporaryDirectory(prefix="pmmlserve-bench-") as tmp:
        workdir = Path(tmp)
        frame.to_pickle(workdir / "batch.pkl")
        _log("fitting and exporting (sklearn2pmml, skl2onnx)")
        specs = [m for m in MODELS if model_keys is None or m.key in model_keys]
        arts = build_artifacts(X, y, workdir, specs, log=_log)
        for i, art in enumerate(arts):
            _log(f"model {art.spec.key}: {art.spec.title}")
            rows = _bench_model(art, usable, frame, records, settings, cold=(i == 0))
            for e in engines:
                if e not in usable:
                    rows[e.name] = {"status": f"n/a: {results['engines'][e.name]['unavailable']}"}
            results["models"][art.spec.key] = {
                "title": art.spec.title,
                "preprocessing": art.spec.preprocessing,
                "artifacts": {
                    "fit_s": art.fit_s, "export_pmml_s": art.export_pmml_s,
                    "export_onnx_s": art.export_onnx_s, "onnx_note": art.onnx_note,
                    "pmml_kib": art.files.pmml.stat().st_size / 1024,
                    "onnx_kib": art.files.onnx.stat().st_size / 1024,
                    "pickle_kib": art.files.pickle.stat().st_size / 1024,
                },
                "engines": rows,
            }
        if settings.memory:
            _memory(arts, usable, workdir, results)
    results["load_average"]["end"] = machine.load_average()
    results["duration_s"] = time.time() - started
    return results
