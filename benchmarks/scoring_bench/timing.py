"""Timers: single-record latency, batch time and load time, engines interleaved.

Interleaving: every measurement is split into rounds, and each round runs every engine once in a
freshly shuffled order, so slow drift of the machine (other tenants, CPU frequency) spreads over all
engines instead of landing on whichever ran last.  The garbage collector stays enabled (a server
runs with it on, so its pauses belong in p99); ``gc.collect()`` runs before every block so that one
engine's garbage is not collected on another engine's clock.  ``context(name)``, entered around
each engine's timed block or call, lets the caller set the process up as that engine alone would
have it (see :func:`scoring_bench.engines.own_gc_hooks_only`).

Background work: a JVM keeps compiling and collecting on other threads after a call returns
(measured after one load of the GradientBoosting model: jpmml_evaluator's process kept about one
core busy for 50-200 ms, pypmml's gateway process for up to 250 ms).  On two cores that work
lands on whatever runs next, so before each timed block, batch and load :func:`quiet` waits
until the machine is idle: no engine pays for another's leftovers (and none is denied its own:
a JVM's background compilation still happens, off every clock, as in a warmed-up server).
"""

from __future__ import annotations

import contextlib
import gc
import time
from typing import Any, Callable, ContextManager

import numpy as np

__all__ = ["Failure", "latency", "batch", "load", "quiet", "summary"]

perf_counter_ns = time.perf_counter_ns
Context = Callable[[str], ContextManager]


def _nothing(name: str) -> ContextManager:
    return contextlib.nullcontext()


class Failure(Exception):
    """An engine failed during a measurement; the message is what the report shows."""


def _fail(exc: BaseException) -> Failure:
    return Failure(f"{type(exc).__name__}: {exc}".splitlines()[0][:300])


def _busy() -> tuple[int, int] | None:
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat (None elsewhere)."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user, nice, system, irq, softirq: work; idle, iowait and steal (other tenants) are not
    return ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6], sum(ticks)


def quiet(window_s: float = 0.05, idle: float = 0.1, limit_s: float = 2.0) -> float:
    """Wait until the machine's CPUs were at most ``idle`` busy over one ``window_s`` window
    (at most ``limit_s``); return the seconds waited.  Without /proc/stat: one window."""
    start = time.perf_counter()
    before = _busy()
    while True:
        time.sleep(window_s)
        after = _busy()
        if before is None or after is None:
            break
        busy, total = after[0] - before[0], after[1] - before[1]
        if total > 0 and busy <= idle * total or time.perf_counter() - start > limit_s:
            break
        before = after
    return time.perf_counter() - start


def _time_calls(fn: Callable[[Any], Any], inputs: list, budget_ns: int) -> np.ndarray:
    """Time each call alone; stop early once the block has used ``budget_ns``."""
    # The loop is as thin as it can be: one perf_counter_ns pair per call (~0.1 µs of overhead,
    # included in every engine's number alike).
    out = np.empty(len(inputs), dtype=np.int64)
    deadline = perf_counter_ns() + budget_ns
    for i, x in enumerate(inputs):
        t0 = perf_counter_ns()
        fn(x)
        t1 = out[i] = perf_counter_ns() - t0
        if t0 + t1 > deadline:
            return out[: i + 1]
    return out


def latency(fns: dict[str, Callable], records: list[dict], *, rounds: int, block: int,
            warmup: int, seed: int, block_budget_s: float, context: Context = _nothing
            ) -> dict[str, np.ndarray | Failure]:
    """Per-call nanoseconds of ``fns[name](record)``, up to ``rounds * block`` calls per engine.

    Round ``r`` feeds every engine the same ``block`` records (a window sliding over
    ``records``), so engines see identical inputs.  ``warmup`` untimed calls per engine first.
    The warm-up and each block stop early after ``block_budget_s`` seconds, which bounds the run
    when an engine is pathologically slow (the report shows how many calls were timed).
    """
    rng = np.random.default_rng(seed)
    results: dict[str, list | Failure] = {}
    budget_ns = int(block_budget_s * 1e9)
    for name, fn in fns.items():
        try:
            deadline = perf_counter_ns() + budget_ns
            for i in range(warmup):
                fn(records[i % len(records)])
                if perf_counter_ns() > deadline:
                    break
        except Exception as exc:
            results[name] = _fail(exc)
        else:
            results[name] = []
    for r in range(rounds):
        start = (r * block) % len(records)
        window = [records[(start + i) % len(records)] for i in range(block)]
        for name in rng.permutation(sorted(fns)):
            if isinstance(results[name], Failure):
                continue
            gc.collect()
            quiet()
            try:
                with context(name):
                    results[name].append(_time_calls(fns[name], window, budget_ns))
            except Exception as exc:
                results[name] = _fail(exc)
    return {name: v if isinstance(v, Failure) else np.concatenate(v) for name, v in
            results.items()}


def batch(fns: dict[str, Callable], frame, *, repeats: int, seed: int,
          context: Context = _nothing) -> dict[str, list[float] | Failure]:
    """Seconds per ``fns[name](frame)`` call, ``repeats`` interleaved rounds (warm-up done by the
    caller: the agreement check is each engine's first batch call)."""
    rng = np.random.default_rng(seed)
    results: dict[str, list[float] | Failure] = {name: [] for name in fns}
    for _ in range(repeats):
        for name in rng.permutation(sorted(fns)):
            if isinstance(results[name], Failure):
                continue
            gc.collect()
            quiet()
            try:
                with context(name):
                    t0 = perf_counter_ns()
                    fns[name](frame)
                    results[name].append((perf_counter_ns() - t0) / 1e9)
            except Exception as exc:
                results[name] = _fail(exc)
    return results


def load(fns: dict[str, Callable[[], Any]], *, repeats: int, seed: int,
         context: Context = _nothing) -> dict[str, list[float] | Failure]:
    """Seconds per ``fns[name]()`` (a load from a file path), interleaved; the loaded model is
    released after each call, outside the timed region."""
    rng = np.random.default_rng(seed)
    results: dict[str, list[float] | Failure] = {name: [] for name in fns}
    for _ in range(repeats):
        for name in rng.permutation(sorted(fns)):
            if isinstance(results[name], Failure):
                continue
            gc.collect()
            quiet()
            try:
                with context(name):
                    t0 = perf_counter_ns()
                    model = fns[name]()
                    results[name].append((perf_counter_ns() - t0) / 1e9)
            except Exception as exc:
                results[name] = _fail(exc)
            else:
                del model
    return results


def summary(values, scale: float = 1.0) -> dict[str, float | int]:
    """Median, p99, mean, min and max of ``values * scale`` (p99 by linear interpolation)."""
    a = np.asarray(values, dtype=float) * scale
    return {
        "median": float(np.median(a)),
        "p99": float(np.percentile(a, 99)),
        "mean": float(a.mean()),
        "min": float(a.min()),
        "max": float(a.max()),
        "n": int(a.size),
    }
