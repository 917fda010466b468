"""Offline/online parity: does a PMML document score like the estimator it was exported from?

:func:`assert_parity` scores the same rows three ways and compares them column by column:

* the fitted estimator (``predict_proba`` for a classifier, ``predict`` for a regressor): the
  expected values;
* pmmlserve's batch path (``Model.predict``) on every row, and its single-record path
  (``Model.predict_one``, what a server calls per request) on the first ``records`` rows;
* optionally JPMML, the reference PMML evaluator (``reference="jpmml"``), on every row.

A failure raises :class:`ParityError`, whose message is written for the person reading a failed
CI log: how many rows differ, the worst ones with their inputs and every engine's values, and the
largest difference per column.  Nothing here imports scikit-learn or JPype unless asked to.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["assert_parity", "ParityReport", "ParityError"]

_WORST = 5  # rows shown in a failure message
_MAX_INPUTS = 24  # input columns shown per row before eliding


class ParityError(AssertionError):
    """pmmlserve's scores differ from the estimator's (or JPMML's) beyond the tolerance.

    An ``AssertionError``, so a test that calls :func:`assert_parity` fails (rather than errors)
    and pytest shows the message as the reason.

    Attributes
    ----------
    report : ParityReport or None
        The full comparison (None when the scores could not be compared at all, e.g. the
        document has no probability column for one of the estimator's classes).
    """

    __module__ = "pmmlserve.testing"  # where users import it from (tracebacks show this)

    def __init__(self, message: str, report: ParityReport | None = None):
        super().__init__(message)
        self.report = report


@dataclass(frozen=True, eq=False)  # holds DataFrames, which do not compare to a bool
class ParityReport:
    """What :func:`assert_parity` compared and how far apart the scores were.

    Attributes
    ----------
    rows : int
        Number of rows scored.
    columns : tuple of str
        The pmmlserve result columns compared, e.g. ``("probability(0)", "probability(1)")``.
    comparisons : tuple of str
        Each comparison made, as ``"<pmmlserve path> vs <reference>"``: ``"predict vs
        estimator"``, ``"predict_one vs estimator"``, ``"predict vs jpmml"``.
    summary : DataFrame
        One row per (comparison, column): ``rows`` compared, ``max_abs_diff``,
        ``max_rel_diff``, ``max_ulps`` (float32 units in the last place) and ``over_tolerance``
        (rows outside the tolerance).  A value missing on one side only counts as an infinite
        difference.
    differing_rows : tuple of int
        Positions (0-based, in the input) of the rows outside the tolerance in any comparison.
    worst : DataFrame
        The worst rows (at most five, worst first): their inputs, then every engine's value of
        each compared column.  Empty when every row is within the tolerance.
    rtol, atol : float
        The tolerance: ``|actual - expected| <= atol + rtol * |expected|``.
    ulps : int or None
        When set, the tolerance is instead this many float32 ULPs, or ``atol``.
    skipped : tuple of str
        Comparisons that were asked for but could not run, and why (e.g. JPMML without Java).

    Examples
    --------
    >>> report = assert_parity(pipeline, "ctr.pmml", X_valid)             # doctest: +SKIP
    >>> report.passed, report.max_abs_diff                                 # doctest: +SKIP
    (True, 4.440892098500626e-16)
    >>> print(report)                                                      # doctest: +SKIP
    """

    __module__ = "pmmlserve.testing"

    rows: int
    columns: tuple[str, ...]
    comparisons: tuple[str, ...]
    summary: pd.DataFrame = field(repr=False)
    differing_rows: tuple[int, ...]
    worst: pd.DataFrame = field(repr=False)
    rtol: float
    atol: float
    ulps: int | None = None
    skipped: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """Whether every compared value is within the tolerance."""
        return not self.differing_rows

    @property
    def max_abs_diff(self) -> float:
        """The largest absolute difference over every comparison and column."""
        return float(self.summary["max_abs_diff"].max()) if len(self.summary) else 0.0

    def __str__(self) -> str:
        n = len(self.differing_rows)
        head = (
            f"pmmlserve differs on {n:,} of {self.rows:,} rows ({self._tolerance()})"
            if n
            else f"pmmlserve matches on all {self.rows:,} rows ({self._tolerance()})"
        )
        # ULPs only mean something for a float32 model; for a double model they are noise
        summary = self.summary if self.ulps is not None else self.summary.drop(columns="max_ulps")
        parts = [head, "", "Per column:", _indent(summary.to_string(float_format=_short))]
        if n:
            shown = min(n, len(self.worst))
            parts += ["", f"Worst {shown} row(s), by distance to the tolerance:",
                      _indent(_render_rows(self.worst))]
        if self.skipped:
            parts += ["", "Not compared: " + "; ".join(self.skipped)]
        return "\n".join(parts)

    def _tolerance(self) -> str:
        if self.ulps is not None:
            return f"tolerance: {self.ulps} float32 ULPs or |Δ| <= {self.atol:g}"
        return f"tolerance: |Δ| <= {self.atol:g} + {self.rtol:g}·|expected|"


def assert_parity(
    estimator: Any,
    pmml: Any,
    X: Any,
    *,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    ulps: int | None = None,
    reference: str | None = None,
    records: int = 100,
) -> ParityReport:
    """Check that a PMML document scores ``X`` as the fitted estimator does.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        Scored with ``predict_proba`` when it has ``classes_`` and ``predict_proba`` (each class
        is matched to the document's ``probability(<class>)`` column), else with ``predict``
        (matched to the document's target column).
    pmml : path, bytes, str of XML, binary file, Model or LiveModel
        The document, or a model pmmlserve already loaded (then ``reference="jpmml"`` is not
        available: JPMML needs the document itself).
    X : DataFrame or array-like
        The rows to score; an array gets the estimator's ``feature_names_in_`` as columns, or
        ``x1, x2, ...`` as the exporter names them.
    rtol, atol : float
        A value passes when ``|actual - expected| <= atol + rtol * |expected|``.  Missing on
        both sides is equal; missing on one side only is a difference.
    ulps : int, optional
        Compare in float32 units in the last place instead of ``rtol``: a value passes when it is
        within ``ulps`` float32 ULPs or within ``atol``.  For models that compute in float32
        (XGBoost, ``x-mathContext="float"``), whose scores agree to float32 precision only; a
        complement column such as XGBoost's ``probability(0) = 1 - p`` near ``p = 1`` is a few
        ULPs of ``p`` but many ULPs of itself, which ``atol`` (e.g. ``1e-6``) absorbs.
    reference : {None, "jpmml"}
        ``"jpmml"`` also scores ``X`` with JPMML (needs ``jpmml_evaluator`` and Java; when they
        are missing a warning says so and ``report.skipped`` records it) and requires
        pmmlserve's batch scores to match JPMML's within the same tolerance.
    records : int, default 100
        How many rows (the first ones) to also score one at a time with ``predict_one``,
        pmmlserve's single-record path; 0 skips it.

    Returns
    -------
    ParityReport
        The comparison, also when it passed (``report.max_abs_diff``, ``print(report)``).

    Raises
    ------
    ParityError
        Some row differs beyond the tolerance, or the document lacks a column the estimator
        predicts.  ``error.report`` holds the full :class:`ParityReport`.
        Also raised when the scores match but the document's own ModelVerification rows do
        not reproduce (``pmmlserve.load`` and ``ModelStore.publish`` would refuse it).
    MarkupError
        The document does not load.

    Examples
    --------
    >>> from pmmlserve.testing import assert_parity
    >>> document = pmmlserve.export(pipeline, sample=X_train.head(20))      # doctest: +SKIP
    >>> assert_parity(pipeline, document, X_valid).max_abs_diff             # doctest: +SKIP
    2.220446049250313e-16
    >>> assert_parity(xgb_pipeline, xgb_document, X_valid, ulps=4, atol=1e-6)  # doctest: +SKIP
    >>> assert_parity(pipeline, "ctr.pmml", X_valid, reference="jpmml")     # doctest: +SKIP
    """
    __tracebackhide__ = True  # pytest: the failure points at the caller's line
    if reference not in (None, "jpmml"):
        raise ValueError(f"reference must be None or 'jpmml', not {reference!r}")
    if ulps is not None and (not isinstance(ulps, int) or ulps < 0):
        raise ValueError(f"ulps must be a non-negative integer, got {ulps!r}")
    if records < 0:
        raise ValueError(f"records must be >= 0, got {records}")
    model, document = _open(pmml)
    frame = _as_frame(estimator, X)
    expected = _expected(estimator, frame)
    columns = _match_columns(model, expected)
    sources = {"estimator": _by_column(expected, columns)}
    comparisons, skipped = _score(model, document, frame, columns, sources, records, reference)
    tol = _Tolerance(rtol, atol, ulps)
    report = _report(frame, model, columns, sources, comparisons, tol, skipped)
    if not report.passed:
        raise ParityError(str(report), report)
    _replay_verification(model, report)
    return report


# ---------------------------------------------------------------------- inputs and scores


def _score(model, document, frame, columns, sources, records, reference):
    """Add pmmlserve's (and JPMML's) scores to ``sources``; return what to compare, and skips."""
    __tracebackhide__ = True
    everything = np.arange(len(frame))
    sources["predict"] = _batch_scores(model, frame, columns)
    comparisons = [("predict", "estimator", everything)]
    if records:
        head = frame.iloc[:records]
        sources["predict_one"] = _record_scores(model, head, columns, len(frame))
        comparisons.append(("predict_one", "estimator", np.arange(len(head))))
    skipped = ()
    if reference == "jpmml":
        scores, why = _jpmml_scores(document, frame, columns)
        if scores is None:
            skipped = (f"jpmml ({why})",)
            warnings.warn(f"assert_parity: JPMML comparison skipped: {why}", stacklevel=3)
        else:
            sources["jpmml"] = scores
            comparisons.append(("predict", "jpmml", everything))
    return comparisons, skipped


def _open(pmml: Any) -> tuple[Any, bytes | None]:
    """Return (model, document bytes or None for an already loaded model)."""
    import pmmlserve
    from pmmlserve.pmml._xml import read_source

    if isinstance(pmml, pmmlserve.Model):
        return pmml, None
    inner = getattr(pmml, "model", None)  # a LiveModel serves one loaded Model at a time
    if isinstance(inner, pmmlserve.Model):
        return inner, None
    data = read_source(pmml)
    # ModelVerification is replayed after the comparison, whose report says more
    return pmmlserve.load(data, verify=False), data


def _replay_verification(model: Any, report: ParityReport) -> None:
    """Fail a document whose own ModelVerification rows do not reproduce (publish would)."""
    __tracebackhide__ = True
    from pmmlserve.exceptions import VerificationError

    if not model.has_verification:
        return
    try:
        model.verify()
    except VerificationError as exc:
        raise ParityError(
            f"the scores match on X, but the document's own ModelVerification rows do not "
            f"reproduce (pmmlserve.load and ModelStore.publish will refuse it): {exc}", report
        ) from exc


def _as_frame(estimator: Any, X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValueError(f"X must be 2-dimensional, got shape {array.shape}")
    names = getattr(estimator, "feature_names_in_", None)
    columns = (
        [str(n) for n in names] if names is not None
        else [f"x{i + 1}" for i in range(array.shape[1])]
    )
    return pd.DataFrame(array, columns=columns)


def _expected(estimator: Any, frame: pd.DataFrame) -> dict[Any, np.ndarray]:
    """The estimator's scores: {class label: probabilities} or {None: predictions}."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:  # fitted on an array: scored on an array (it would warn about a frame)
        data = frame.to_numpy()
    elif set(names) <= set(frame.columns):  # exactly its columns, whatever else X holds
        data = frame[list(names)]
    else:
        data = frame  # the estimator's own error names the missing columns
    classes = getattr(estimator, "classes_", None)
    if classes is not None and hasattr(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(data), dtype=np.float64)
        return {label: proba[:, i] for i, label in enumerate(classes)}
    predicted = np.asarray(estimator.predict(data), dtype=np.float64)
    if predicted.ndim == 2 and predicted.shape[1] == 1:
        predicted = predicted[:, 0]
    if predicted.ndim != 1:
        raise ValueError(f"cannot compare a multi-output prediction of shape {predicted.shape}")
    return {None: predicted}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _label_names(label: Any) -> list[str]:
    """How a PMML writer may have spelled a class label in ``probability(<label>)``."""
    value = _plain(label)
    names = [str(value)]
    if isinstance(value, bool):
        names += [str(value).lower()]
    elif isinstance(value, float) and value.is_integer():
        names += [str(int(value))]
    return names


def _match_columns(model: Any, expected: dict[Any, np.ndarray]) -> dict[Any, str]:
    """Map each expected key to the pmmlserve result column holding the same quantity."""
    available = [f.name for f in model.target_fields[:1]] + [f.name for f in model.output_fields]
    if list(expected) == [None]:
        if model.function_name != "regression" or not model.target_fields:
            raise ParityError(
                f"the estimator is a regressor but the document is a {model.function_name} "
                f"model with columns {available}"
            )
        return {None: model.target_fields[0].name}
    matched = {}
    for label in expected:
        names = [f"probability({n})" for n in _label_names(label)]
        found = next((n for n in names if n in available), None)
        if found is None:
            raise ParityError(
                f"the document has no probability column for the estimator's class "
                f"{_plain(label)!r} "
                f"(looked for {names}); its columns are {available}"
            )
        matched[label] = found
    return matched


def _by_column(expected: dict[Any, np.ndarray], columns: dict[Any, str]) -> dict[str, np.ndarray]:
    return {columns[key]: values for key, values in expected.items()}


def _numbers(column: pd.Series) -> np.ndarray:
    """Float64 array with NaN for missing (None, NaN, pd.NA)."""
    if column.dtype.kind in "fiu":
        return column.to_numpy(dtype=np.float64)
    values = pd.to_numeric(pd.Series(column.tolist(), dtype=object), errors="coerce")
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def _batch_scores(model: Any, frame: pd.DataFrame, columns: dict[Any, str]):
    result = model.predict(frame)
    return {c: _numbers(result[c]) for c in columns.values()}


def _record_scores(model: Any, head: pd.DataFrame, columns: dict[Any, str], n: int):
    """predict_one on each row of ``head``; NaN pads the rows it does not score."""
    out = {c: np.full(n, np.nan) for c in columns.values()}
    for i, record in enumerate(head.to_dict("records")):
        scored = model.predict_one(record)
        for c in out:
            value = scored.get(c)
            out[c][i] = np.nan if value is None else float(value)
    return out


def _jpmml_scores(document: bytes | None, frame: pd.DataFrame, columns: dict[Any, str]):
    """JPMML's ``evaluateAll`` scores, or (None, why) when JPMML cannot run here."""
    __tracebackhide__ = True
    if document is None:
        raise ValueError(
            "reference='jpmml' needs the document itself (a path or bytes), not a loaded model"
        )
    import importlib.util

    if importlib.util.find_spec("jpmml_evaluator") is None:
        return None, "jpmml_evaluator is not installed (pip install jpmml_evaluator)"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return None, "no Java runtime (java is not on PATH and JAVA_HOME is not set)"
    from jpmml_evaluator import make_evaluator

    with tempfile.TemporaryDirectory(prefix="pmmlserve-parity-") as tmp:
        path = Path(tmp) / "model.pmml"
        path.write_bytes(document)
        try:
            evaluator = make_evaluator(str(path), backend="jpype", lax=True)
            result = evaluator.evaluateAll(frame.reset_index(drop=True))
        except Exception as exc:  # JPMML's own exception types come through JPype
            raise ParityError(f"JPMML cannot score the document: {exc}") from exc
    if "errors" in result.columns:  # a per-row JPMML error: no value for that row
        failed = result["errors"].notna().to_numpy() & (result["errors"] != "None").to_numpy()
        result.loc[failed, [c for c in columns.values() if c in result.columns]] = np.nan
    missing = [c for c in columns.values() if c not in result.columns]
    if missing:
        raise ParityError(f"JPMML's results lack the columns {missing}: {list(result.columns)}")
    return {c: _numbers(result[c]) for c in columns.values()}, None


# ---------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class _Tolerance:
    rtol: float
    atol: float
    ulps: int | None

    def excess(self, actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
        """How many tolerances apart each pair is (<= 1 passes; inf for one-sided missing)."""
        both = np.isnan(actual) & np.isnan(expected)
        one = np.isnan(actual) ^ np.isnan(expected)
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.ulps is not None:  # within ulps, or within atol (a complement such as
                # 1 - p near p = 1 loses relative precision: few ULPs of p, many of 1 - p)
                out = np.minimum(_float32_ulps(actual, expected) / max(self.ulps, 0.5),
                                 np.abs(actual - expected) / self.atol if self.atol else np.inf)
            else:
                out = np.abs(actual - expected) / (self.atol + self.rtol * np.abs(expected))
        out = np.where(both, 0.0, np.where(one, np.inf, out))
        return np.nan_to_num(out, nan=np.inf, posinf=np.inf)


def _float32_ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in float32 units in the last place (on a line where +0 and -0 meet)."""
    with np.errstate(over="ignore", invalid="ignore"):
        ia = np.asarray(a, dtype=np.float32).view(np.int32).astype(np.int64)
        ib = np.asarray(b, dtype=np.float32).view(np.int32).astype(np.int64)
    ia = np.where(ia < 0, -(2**31) - ia, ia)
    ib = np.where(ib < 0, -(2**31) - ib, ib)
    return np.abs(ia - ib).astype(np.float64)


def _differences(actual: np.ndarray, expected: np.ndarray) -> dict[str, np.ndarray]:
    one_sided = np.isnan(actual) ^ np.isnan(expected)
    with np.errstate(invalid="ignore", divide="ignore"):
        absolute = np.abs(actual - expected)
        relative = np.where(absolute == 0, 0.0, absolute / np.abs(expected))
        ulps = _float32_ulps(actual, expected)
    pick = lambda v: np.where(one_sided, np.inf, np.nan_to_num(v, nan=0.0))  # noqa: E731
    return {"abs": pick(absolute), "rel": pick(relative), "ulps": pick(ulps)}


def _report(frame, model, columns, sources, comparisons, tol, skipped) -> ParityReport:
    n = len(frame)
    excess = np.zeros(n)
    summary = []
    for actual_name, expected_name, rows in comparisons:
        for column in columns.values():
            actual = sources[actual_name][column][rows]
            expected = sources[expected_name][column][rows]
            over = tol.excess(actual, expected)
            diff = _differences(actual, expected)
            excess[rows] = np.maximum(excess[rows], over)
            summary.append({
                "comparison": f"{actual_name} vs {expected_name}",
                "column": column,
                "rows": len(rows),
                "max_abs_diff": _max(diff["abs"]),
                "max_rel_diff": _max(diff["rel"]),
                "max_ulps": _max(diff["ulps"]),
                "over_tolerance": int(np.count_nonzero(over > 1)),
            })
    table = pd.DataFrame(summary).set_index(["comparison", "column"])
    differing = np.flatnonzero(excess > 1)
    worst = differing[np.argsort(-excess[differing], kind="stable")][:_WORST]
    return ParityReport(
        rows=n,
        columns=tuple(columns.values()),
        comparisons=tuple(f"{a} vs {e}" for a, e, _ in comparisons),
        summary=table,
        differing_rows=tuple(int(i) for i in differing),
        worst=_worst_rows(frame, model, columns, sources, worst),
        rtol=tol.rtol,
        atol=tol.atol,
        ulps=tol.ulps,
        skipped=skipped,
    )


def _max(values: np.ndarray) -> float:
    return float(values.max()) if values.size else 0.0


def _worst_rows(frame, model, columns, sources, positions) -> pd.DataFrame:
    """Inputs, then each engine's value per column, for the rows at ``positions``."""
    inputs = [f.name for f in model.input_fields if f.name in frame.columns]
    rows = frame.iloc[positions]
    data = rows[inputs or list(frame.columns)].reset_index(drop=True)
    data.index = pd.Index(positions, name="row")
    if "predict_one" in sources:  # rescored: a worst row may lie past the first ``records``
        sources = dict(sources, predict_one=_record_scores(model, rows, columns, len(rows)))
    for column in columns.values():
        for source in ("estimator", "predict", "predict_one", "jpmml"):
            if source in sources:
                values = sources[source][column]
                data[f"{column} [{source}]"] = values if source == "predict_one" else values[
                    positions]
    return data


def _render_rows(worst: pd.DataFrame) -> str:
    """Inputs and scores as two blocks, so neither wraps into the other."""
    scores = [c for c in worst.columns if isinstance(c, str) and c.endswith("]")]
    inputs = [c for c in worst.columns if c not in scores]
    shown = inputs[:_MAX_INPUTS]
    with pd.option_context("display.width", 250, "display.max_columns", None,
                           "display.max_colwidth", 40):
        text = "inputs:\n" + _indent(worst[shown].to_string())
        if len(inputs) > len(shown):
            text += f"\n  ... and {len(inputs) - len(shown)} more input columns"
        values = pd.DataFrame(
            [["missing" if v != v else _fmt(float(v)) for v in worst[c]] for c in scores],
            index=scores, columns=[f"row {r}" for r in worst.index])
        text += "\nscores:\n" + _indent(values.to_string())
    return text


def _fmt(value: float) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value:.17g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"


def _short(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.3g}"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())

