"""The shape of one hand-worked PMML specification case, and a helper to write its document.

A case is a tiny PMML document, a few input records, and for each record the output columns the
PMML specification says a conforming evaluator produces (worked out by hand, with the arithmetic
written out in the case module), or the exception class a bad record must raise.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SpecCase", "document", "NAMESPACES"]

NAMESPACES = {
    "3.2": "http://www.dmg.org/PMML-3_2",
    "4.1": "http://www.dmg.org/PMML-4_1",
    "4.3": "http://www.dmg.org/PMML-4_3",
    "4.4": "http://www.dmg.org/PMML-4_4",
}


@dataclass(frozen=True)
class SpecCase:
    """One specification case.

    Attributes
    ----------
    id : str
        A short unique name (the pytest id).
    pmml : str
        The whole document.
    records : list of dict
        The input records; a key that is absent or ``None`` is a missing value.
    expected : list of dict or type
        Per record, every output column (named as JPMML's ``evaluate`` names them) with its
        expected value (``None`` for a missing result), or an exception class the record must
        raise (``pmmlserve.EvaluationError``).
    rtol : float
        Relative tolerance for numbers.
    note : str
        How the expected values follow from the specification; where JPMML differs, why.
    jpmml_differs : bool
        True when JPMML legitimately disagrees with the specification here (see ``note``).
    error_field : str or None
        For records expecting an exception: the field the error must name.
    """

    id: str
    pmml: str
    records: list[dict]
    expected: list[dict | type]
    rtol: float = 1e-12
    note: str = ""
    jpmml_differs: bool = False
    error_field: str | None = None

    def __post_init__(self):
        if len(self.records) != len(self.expected):
            raise ValueError(f"{self.id}: {len(self.records)} records, {len(self.expected)} expectations")


def document(data_dictionary: str, *body: str, version: str = "4.4", transformations: str = "",
             root_attributes: str = "") -> str:
    """Return a whole PMML document: header, the DataDictionary fields, optional
    TransformationDictionary content, and the model element(s) in ``body``."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<PMML xmlns="{NAMESPACES[version]}" version="{version}"{root_attributes}>',
        '  <Header copyright="pmmlserve tests" description="hand-written specification case"/>',
        "  <DataDictionary>",
        data_dictionary.strip("\n"),
        "  </DataDictionary>",
    ]
    if transformations:
        parts += ["  <TransformationDictionary>", transformations.strip("\n"),
                  "  </TransformationDictionary>"]
    parts += [b.strip("\n") for b in body]
    parts.append("</PMML>")
    return "\n".join(parts) + "\n"
