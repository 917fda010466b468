"""Inventory of the PMML markup the conformance documents use: what the scorer must support.

Run as ``python -m tests.scoring.conformance.inventory DOC.pmml... > inventory.md``.  For every
document it lists the elements, their attributes and, for attributes whose values form an
enumeration (strategies, operators, function names, types), the values seen.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from lxml import etree

PMML_NS = "http://www.dmg.org/PMML-4_4"

# attributes whose values are reported (enumerations, names of functions, type combinations)
ENUMERATED = {
    "functionName", "normalizationMethod", "multipleModelMethod", "missingValueStrategy",
    "noTrueChildStrategy", "splitCharacteristic", "activationFunction", "x-mathContext",
    "mathContext", "operator", "booleanOperator", "function", "invalidValueTreatment",
    "missingValueTreatment", "outliers", "dataType", "optype", "feature", "usageType",
    "closure", "property", "isFinalResult", "method", "modelChain", "compareFunction",
    "isScorable", "algorithmName", "threshold", "altitude", "rescaleFactor", "rescaleConstant",
    "castInteger", "normalizationMethod", "x-missingPrediction", "defaultValue", "mapMissingTo",
    "invalidValueReplacement", "missingPredictionTreatment", "x-invalidValueReplacement",
    "targetCategory", "version", "hasMissingValues", "type", "outputColumn", "isMissing",
}
# enumerated attributes whose values are numbers or labels: list a few only
NUMERIC_ENUMS = {"rescaleConstant", "rescaleFactor", "threshold", "mapMissingTo", "defaultValue",
                 "invalidValueReplacement", "targetCategory", "algorithmName"}
MODELS = {"TreeModel", "RegressionModel", "MiningModel", "NeuralNetwork", "GeneralRegressionModel",
          "NaiveBayesModel", "SupportVectorMachineModel", "Scorecard", "RuleSetModel"}
MODEL_ATTRS = ("functionName", "normalizationMethod", "multipleModelMethod", "missingValueStrategy",
               "noTrueChildStrategy", "splitCharacteristic", "activationFunction",
               "x-mathContext", "missingPredictionTreatment")
# attributes whose values are counted but not listed (numbers, names)
SUMMARISED = {"value", "name", "field", "score", "recordCount", "id", "defaultChild",
              "coefficient", "intercept", "missingValueReplacement", "weight", "from", "to",
              "leftMargin", "rightMargin", "binValue", "targetField", "mean", "standardDeviation",
              "count", "displayName", "bias", "numberOfLayers", "numberOfNeurons",
              "exponent", "targetCategory", "probability", "segmentId", "min", "max"}


def _local(tag) -> str:
    qname = etree.QName(tag)
    if qname.namespace and qname.namespace != PMML_NS:
        return f"{{{qname.namespace}}}{qname.localname}"
    return qname.localname


def scan(document: bytes) -> dict:
    """Return {element: {"count": n, "attrs": {attr: set of values or None}}} plus combos."""
    root = etree.fromstring(document)
    found: dict = defaultdict(lambda: {"count": 0, "attrs": defaultdict(set)})
    combos: set = set()
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        name = _local(el.tag)
        entry = found[name]
        entry["count"] += 1
        for attr, value in el.attrib.items():
            attr = _local(attr)
            if attr in ENUMERATED:
                entry["attrs"][attr].add(value)
            else:
                entry["attrs"][attr].add("…")
        if "dataType" in el.attrib and "optype" in el.attrib:
            combos.add((name, el.get("optype"), el.get("dataType")))
    return {"elements": found, "combos": combos}


def _model_line(el) -> str:
    attrs = [f"{a}={el.get(a)}" for a in MODEL_ATTRS if el.get(a) is not None]
    extras = []
    if el.find(f"{{{PMML_NS}}}Targets") is not None:
        extras.append("Targets")
    if el.find(f"{{{PMML_NS}}}LocalTransformations") is not None:
        extras.append("LocalTransformations")
    output = el.find(f"{{{PMML_NS}}}Output")
    if output is not None:
        features = sorted({o.get("feature", "predictedValue") for o in output})
        extras.append(f"Output[{', '.join(features)}]")
    return f"{_local(el.tag)}({', '.join(attrs)}) {' '.join(extras)}".rstrip()


def structure(document: bytes) -> list[str]:
    """Indented model tree; runs of identical segment sub-trees are collapsed to one line."""
    root = etree.fromstring(document)

    def walk(el, depth) -> list[str]:
        lines = ["  " * depth + "- " + _model_line(el)]
        segmentation = el.find(f"{{{PMML_NS}}}Segmentation")
        if segmentation is None:
            return lines
        previous, repeat = None, 0
        chunks = []
        for segment in segmentation.findall(f"{{{PMML_NS}}}Segment"):
            predicate = _local(next(iter(segment)).tag)
            model = next(c for c in segment if _local(c.tag) in MODELS)
            sub = walk(model, depth + 2)
            key = (predicate, tuple(sub))
            if key == previous:
                repeat += 1
                chunks[-1] = (key, repeat)
            else:
                previous, repeat = key, 1
                chunks.append((key, 1))
        for (predicate, sub), n in chunks:
            lines.append("  " * (depth + 1) + f"- Segment[{predicate}] x{n}")
            lines.extend(sub)
        return lines

    models = [c for c in root if _local(c.tag) in MODELS]
    return [line for m in models for line in walk(m, 0)]


def _fmt_attrs(attrs) -> str:
    parts = []
    for attr in sorted(attrs):
        values = attrs[attr]
        if values == {"…"}:
            parts.append(attr)
        else:
            vals = sorted(v for v in values if v != "…")
            if attr in NUMERIC_ENUMS and len(vals) > 8:
                vals = vals[:8] + [f"… ({len(values)} values)"]
            parts.append(f"{attr}={{{', '.join(vals)}}}")
    return "; ".join(parts)


def render(paths: list[Path]) -> str:
    scans = {Path(p).stem: scan(Path(p).read_bytes()) for p in paths}
    paths_by_doc = {Path(p).stem: p for p in paths}
    out = ["# PMML inventory of the sklearn2pmml conformance documents", ""]
    out.append("Generated by `python -m tests.scoring.conformance.inventory`. Element counts are "
               "per document; `attr={a, b}` lists the values seen, a bare `attr` means the "
               "attribute occurs (free-form values).")
    out.append("")
    # union table
    union: dict = defaultdict(lambda: {"docs": set(), "attrs": defaultdict(set)})
    combos = defaultdict(set)
    for doc, s in scans.items():
        for el, entry in s["elements"].items():
            union[el]["docs"].add(doc)
            for attr, values in entry["attrs"].items():
                union[el]["attrs"][attr] |= values
        for combo in s["combos"]:
            combos[combo].add(doc)
    out += ["## Union over all documents", "",
            "| element | docs | attributes (enumerated values) |", "|---|---|---|"]
    for el in sorted(union):
        docs = union[el]["docs"]
        shown = "all" if len(docs) == len(scans) else ", ".join(sorted(docs))
        out.append(f"| `{el}` | {shown} | {_fmt_attrs(union[el]['attrs'])} |")
    out += ["", "## optype / dataType combinations", "", "| element | optype | dataType | docs |",
            "|---|---|---|---|"]
    for (el, optype, dtype), docs in sorted(combos.items()):
        shown = "all" if len(docs) == len(scans) else ", ".join(sorted(docs))
        out.append(f"| {el} | {optype} | {dtype} | {shown} |")
    out += ["", "## Per document", ""]
    for doc, s in scans.items():
        out.append(f"### {doc}")
        out.append("")
        out.extend(structure(Path(paths_by_doc[doc]).read_bytes()))
        out.append("")
        out.append("| element | n | attributes |")
        out.append("|---|---|---|")
        for el in sorted(s["elements"]):
            entry = s["elements"][el]
            out.append(f"| `{el}` | {entry['count']} | {_fmt_attrs(entry['attrs'])} |")
        out.append("")
    return "\n".join(out)


def main(argv=None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])]
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    print(render(paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
