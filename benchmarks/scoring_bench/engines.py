"""One adapter per engine: load a model, score one record, score a batch.

Every adapter returns P(click = 1) so that all engines are compared on the same number.  The
single-record function receives the JSON-like dict a request carries (``None`` for a gap) and does
whatever conversion that engine needs inside the call, because a server has to do it too:

=================  ==============================================================================
pmmlserve          ``model.predict_one(record)`` (the dict as is)
sklearn            ``pipeline.predict_proba(pd.DataFrame([record with None -> NaN]))``
onnxruntime        ``session.run(["probabilities"], {column: np.array([[value]], dtype)})``
jpmml_evaluator    ``evaluator.evaluate(record)`` (the dict as is; JPype + pickle inside)
pypmml             ``model.predict(record)`` (the dict as is; py4j inside)
=================  ==============================================================================

The batch function receives the 10,000-row DataFrame (NaN for gaps) and likewise includes its own
conversion (onnxruntime: one float32/object column array per input).
"""

from __future__ import annotations

import contextlib
import gc
import importlib.metadata
import os
import pickle
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd

from scoring_bench.data import CATEGORICAL, COLUMNS
from scoring_bench.models import ModelFiles

__all__ = ["Engine", "ENGINES", "by_name", "own_gc_hooks_only"]

# Garbage-collector callbacks an engine installed in this process, by engine name.  JPype links
# the collectors: at the end of every Python collection its callback may run a Java collection
# (when Python memory grew), so without care the first collection after another engine's load,
# which allocates, paid for a Java GC (~30 ms measured after a pmmlserve load of the HGB model).
_GC_HOOKS: dict[str, list] = {}


@contextlib.contextmanager
def own_gc_hooks_only(name: str) -> Iterator[None]:
    """Suspend the collector callbacks other engines installed while ``name`` is timed.

    A process serving with one engine has no other engine's hooks; JPMML keeps its own.
    """
    foreign = [h for owner, hooks in _GC_HOOKS.items() if owner != name for h in hooks
               if h in gc.callbacks]
    for h in foreign:
        gc.callbacks.remove(h)
    try:
        yield
    finally:
        gc.callbacks.extend(foreign)

P1 = "probability(1)"
# Set by ``run.py --threads N`` (together with OMP_NUM_THREADS etc.); unset: library defaults.
THREADS_ENV = "PMMLSERVE_BENCH_THREADS"


def threads() -> int | None:
    value = os.environ.get(THREADS_ENV)
    return int(value) if value else None


class Engine:
    """Base adapter: subclasses set ``name``, ``label``, ``dist`` and the three operations."""

    name: str
    label: str
    dist: str  # distribution whose version is reported
    module: str  # imported to check availability

    def version(self) -> str | None:
        try:
            return importlib.metadata.version(self.dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    def unavailable(self) -> str | None:
        """A reason why this engine cannot run here, or None."""
        try:
            importlib.import_module(self.module)
        except Exception as exc:  # an engine that cannot even import is reported, not fatal
            return f"import {self.module} failed: {type(exc).__name__}: {exc}"
        return None

    def load(self, files: ModelFiles) -> Any:
        raise NotImplementedError

    def one(self, model: Any) -> Callable[[dict], float]:
        raise NotImplementedError

    def batch(self, model: Any) -> Callable[[pd.DataFrame], np.ndarray]:
        raise NotImplementedError


class PmmlServe(Engine):
    name, label, dist, module = "pmmlserve", "pmmlserve", "pmmlserve", "pmmlserve"

    def load(self, files):
        import pmmlserve

        return pmmlserve.load(str(files.pmml))

    def one(self, model):
        predict_one = model.predict_one
        return lambda record: predict_one(record)[P1]

    def batch(self, model):
        predict = model.predict
        return lambda frame: np.asarray(predict(frame)[P1], dtype=float)


class Sklearn(Engine):
    name, label, dist, module = "sklearn", "scikit-learn", "scikit-learn", "sklearn"

    def load(self, files):
        with open(files.pickle, "rb") as f:
            return pickle.load(f)

    def one(self, model):
        predict_proba = model.predict_proba
        DataFrame, nan = pd.DataFrame, float("nan")

        def one(record):
            # None -> NaN first: a column holding only None would be object dtype.  (This is
            # ~5x cheaper than DataFrame.astype with a dtype map under pandas 3.)
            row = {k: nan if v is None else v for k, v in record.items()}
            return predict_proba(DataFrame([row]))[0, 1]

        return one

    def batch(self, model):
        predict_proba = model.predict_proba
        return lambda frame: predict_proba(frame)[:, 1]


class OnnxRuntime(Engine):
    name, label, dist, module = "onnxruntime", "onnxruntime", "onnxruntime", "onnxruntime"

    def load(self, files):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads() is not None:
            options.intra_op_num_threads = threads()
            options.inter_op_num_threads = 1
        # otherwise defaults, what a user gets out of the box: intra-op threads = physical cores
        return onnxruntime.InferenceSession(str(files.onnx), options,
                                            providers=["CPUExecutionProvider"])

    def one(self, session):
        run = session.run
        outputs = ["probabilities"]
        kinds = [(c, object if c in CATEGORICAL else np.float32) for c in COLUMNS]
        array = np.array

        def one(record):
            # np.array([[None]], dtype=np.float32) is [[nan]]: a gap reaches the Imputer as NaN
            feeds = {c: array([[record[c]]], dtype=t) for c, t in kinds}
            return run(outputs, feeds)[0][0, 1]

        return one

    def batch(self, session):
        run = session.run
        outputs = ["probabilities"]
        kinds = [(c, object if c in CATEGORICAL else np.float32) for c in COLUMNS]

        def batch(frame):
            feeds = {c: frame[c].to_numpy(dtype=t).reshape(-1, 1) for c, t in kinds}
            return run(outputs, feeds)[0][:, 1].astype(float)

        return batch


class Jpmml(Engine):
    name, label, dist, module = (
        "jpmml", "jpmml_evaluator (JPype)", "jpmml_evaluator", "jpmml_evaluator"
    )

    def unavailable(self):
        import shutil

        if shutil.which("java") is None:
            return "no Java runtime on PATH"
        return super().unavailable()

    def load(self, files):
        from jpmml_evaluator import make_evaluator

        # defaults (lax=False); the first call in a process also starts the JVM, and with it
        # JPype's garbage-collector callbacks
        before = list(gc.callbacks)
        evaluator = make_evaluator(str(files.pmml), backend="jpype")
        _GC_HOOKS.setdefault(self.name, []).extend(h for h in gc.callbacks if h not in before)
        return evaluator

    def one(self, evaluator):
        evaluate = evaluator.evaluate
        return lambda record: evaluate(record)[P1]

    def batch(self, evaluator):
        evaluate_all = evaluator.evaluateAll
        parallelism = threads() or -1  # -1, the default: all cores
        return lambda frame: evaluate_all(frame, parallelism=parallelism)[P1].to_numpy(dtype=float)


class PyPmml(Engine):
    name, label, dist, module = "pypmml", "pypmml (py4j)", "pypmml", "pypmml"

    def unavailable(self):
        import shutil

        if shutil.which("java") is None:
            return "no Java runtime on PATH"
        return super().unavailable()

    def load(self, files):
        from pypmml import Model

        # the first call in a process also launches the py4j gateway JVM (a child process)
        return Model.load(str(files.pmml))

    def one(self, model):
        predict = model.predict
        return lambda record: predict(record)[P1]

    def batch(self, model):
        predict = model.predict
        return lambda frame: predict(frame)[P1].to_numpy(dtype=float)


ENGINES: list[Engine] = [PmmlServe(), Sklearn(), OnnxRuntime(), Jpmml(), PyPmml()]


def by_name(name: str) -> Engine:
    for engine in ENGINES:
        if engine.name == name:
            return engine
    raise KeyError(f"unknown engine {name!r}; known: {[e.name for e in ENGINES]}")
