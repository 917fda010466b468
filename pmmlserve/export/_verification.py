"""ModelVerification: sample rows and what the estimator itself predicts for them.

Cells use JPMML's ``data:`` inline-table namespace, as sklearn2pmml does.  A missing input is
an absent cell.  Expected values come from the estimator (``predict_proba`` or ``predict``), so
a scorer that passes verification reproduces scikit-learn, not merely our own conversion.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pmmlserve.exceptions import ExportError
from pmmlserve.export._model import Exported
from pmmlserve.export._writer import PMML_NS, cell_name, data_cell, element, fmt_double, fmt_value

__all__ = ["expected_outputs", "model_verification"]


def expected_outputs(estimator, exported: Exported, sample) -> np.ndarray:
    """The estimator's own predictions for ``sample``: one column per verified output."""
    try:
        if exported.classes is not None:
            out = np.asarray(estimator.predict_proba(sample), dtype=np.float64)
        else:
            out = np.asarray(estimator.predict(sample), dtype=np.float64).reshape(-1, 1)
    except Exception as exc:  # the estimator's own error says what is wrong with the sample
        raise ExportError(f"the estimator cannot score the sample rows: {exc}") from exc
    if out.shape[1] != len(exported.output_names):
        raise ExportError(
            f"the estimator predicts {out.shape[1]} columns, the document "
            f"{len(exported.output_names)}"
        )
    return out


def _cell_text(value, data_type: str) -> str | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return None
    if data_type in ("double", "float") and not isinstance(value, str):
        return fmt_double(value)
    return fmt_value(value)


def model_verification(root, estimator, exported: Exported, sample: pd.DataFrame, scored):
    """Append a ModelVerification of ``sample`` to the document's model element.

    ``scored`` is ``sample`` in the form the estimator was fitted on (a frame or an array).
    """
    inputs = [
        (f.get("name"), f.get("dataType"))
        for f in root.find(f"{{{PMML_NS}}}DataDictionary")
        if f.get("name") != exported.target.get("name")
    ]
    missing = [name for name, _ in inputs if name not in sample.columns]
    if missing:
        raise ExportError(f"the sample lacks input columns {missing}")
    expected = expected_outputs(estimator, exported, scored)[:, exported.verified]
    outputs = [exported.output_names[i] for i in exported.verified]

    taken: set[str] = set()
    columns = [cell_name(name, taken) for name, _ in inputs]
    out_columns = [cell_name(name, taken) for name in outputs]
    rows = []
    for r in range(len(sample)):
        cells = []
        for (name, data_type), column in zip(inputs, columns):
            text = _cell_text(sample[name].iloc[r], data_type)
            if text is not None:
                cells.append(data_cell(column, text))
        cells += [data_cell(c, fmt_double(v)) for c, v in zip(out_columns, expected[r])]
        if len(cells) >= 2:  # the schema wants at least two cells per row
            rows.append(element("row", None, *cells))
    if not rows:
        return
    precision = fmt_double(exported.precision)
    fields = [element("VerificationField", {"field": name, "column": f"data:{c}"})
              for (name, _), c in zip(inputs, columns)]
    fields += [element("VerificationField", {"field": name, "column": f"data:{c}",
                                             "precision": precision, "zeroThreshold": precision})
               for name, c in zip(outputs, out_columns)]
    model = root[-1]
    model.append(element(
        "ModelVerification",
        {"recordCount": str(len(rows)), "fieldCount": str(len(fields))},
        element("VerificationFields", None, *fields),
        element("InlineTable", None, *rows),
    ))
