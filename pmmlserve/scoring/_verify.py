"""ModelVerification: replay the document's own expected results through both scoring paths."""

from __future__ import annotations

import math
from typing import Any, Optional

import pandas as pd

from pmmlserve.exceptions import EvaluationError, VerificationError
from pmmlserve.pmml import _document as d

__all__ = ["verify_model"]


def _number(v: Any) -> Optional[float]:
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _agree(expected: Optional[str], actual: Any, vf: d.VerificationField) -> bool:
    if expected is None or expected == "":
        return actual is None or (isinstance(actual, float) and math.isnan(actual)) or \
            (actual is pd.NA)
    e = _number(expected)
    a = _number(actual)
    if e is not None and a is not None:
        if abs(e) < vf.zero_threshold:
            return abs(a) < vf.zero_threshold
        return abs(a - e) <= vf.precision * abs(e)
    if actual is None:
        return False
    return str(actual) == expected or (e is not None and a is not None and e == a)


def verify_model(model, verification: Optional[d.ModelVerification]) -> None:
    """Raise :class:`VerificationError` unless every verification row reproduces."""
    if verification is None or not verification.rows:
        return
    inputs = {f.name: f for f in model.input_fields}
    input_cols = {vf.column: vf.field for vf in verification.fields if vf.field in inputs}
    outputs = [vf for vf in verification.fields if vf.field not in inputs]
    targets = {f.name for f in model.target_fields}
    if any(vf.field not in targets for vf in outputs):
        # The spec: when output fields are verified, the target column holds the training
        # labels, not predictions, and is not compared (JPMML does the same).
        outputs = [vf for vf in outputs if vf.field not in targets]
    if not outputs:
        raise VerificationError("ModelVerification lists no target or output field to check")
    records = []
    for row in verification.rows:
        rec = {}
        for column, fname in input_cols.items():
            cell = row.get(column)
            rec[fname] = None if cell is None or cell == "" else _input_value(cell, inputs[fname])
        records.append(rec)
    mismatches = []
    try:
        batch = model.predict(pd.DataFrame.from_records(records, columns=list(inputs)))
    except EvaluationError as exc:
        raise VerificationError(f"verification row {exc.row} cannot be scored: {exc}") from exc
    for i, (rec, row) in enumerate(zip(records, verification.rows)):
        try:
            one = model.predict_one(rec)
        except EvaluationError as exc:
            raise VerificationError(f"verification row {i} cannot be scored: {exc}") from exc
        for vf in outputs:
            expected = row.get(vf.column)
            if vf.field not in batch.columns:
                raise VerificationError(f"verification field {vf.field!r} is not a target or "
                                        "output field of the model")
            bad = [path for path, actual in (("predict", batch[vf.field].iloc[i]),
                                             ("predict_one", one.get(vf.field)))
                   if not _agree(expected, actual, vf)]
            if bad:
                mismatches.append({"row": i, "field": vf.field, "expected": expected,
                                   "actual": one.get(vf.field), "path": " and ".join(bad)})
    if mismatches:
        first = mismatches[0]
        raise VerificationError(
            f"{len(mismatches)} verification value(s) differ; first: row {first['row']}, "
            f"field {first['field']!r}: expected {first['expected']!r}, got {first['actual']!r} "
            f"({first['path']})", mismatches)


def _input_value(cell: str, field) -> Any:
    if field.data_type in ("double", "float", "integer"):
        try:
            return float(cell)
        except ValueError:
            return cell
    return cell
