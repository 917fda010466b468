"""What the scorer supports, read from the compiler's own tables (so the docs cannot drift).

``python -m pmmlserve.scoring._support`` prints the Markdown of ``docs/supported-pmml.md``;
a test checks that the committed file is current.
"""

from __future__ import annotations

__all__ = ["support_table", "render_markdown"]


def support_table() -> list[tuple[str, str, list[str]]]:
    """(area, what, supported values) rows, each list taken from the code that implements it."""
    from pmmlserve.pmml._elements import EXPRESSION_ELEMENTS, MODEL_ELEMENTS, PREDICATE_ELEMENTS
    from pmmlserve.pmml._xml import PMML_NAMESPACES
    from pmmlserve.scoring import _functions, _mining, _predicates, _prepare, _regression
    from pmmlserve.scoring._neural import ACTIVATIONS
    from pmmlserve.scoring._treeir import _STRATEGIES
    from pmmlserve.scoring._treewalk import WALKING_STRATEGIES
    from pmmlserve.scoring._unit import OUTPUT_FEATURES
    from pmmlserve.scoring._values import NUMERIC_TYPES, STRING_TYPES

    versions = sorted(ns.rsplit("-", 1)[-1].replace("_", ".") for ns in PMML_NAMESPACES)
    return [
        ("Document", "PMML versions (namespaces)", versions),
        ("Document", "model elements", list(MODEL_ELEMENTS)),
        ("DataDictionary", "dataType", sorted(NUMERIC_TYPES | STRING_TYPES)),
        ("DataDictionary", "optype", ["categorical", "ordinal", "continuous"]),
        ("DataDictionary", "Value/@property", ["valid", "invalid", "missing"]),
        ("DataDictionary", "Interval/@closure",
         ["openClosed", "openOpen", "closedOpen", "closedClosed"]),
        ("MiningSchema", "usageType", ["active", "target", "predicted", "supplementary"]),
        ("MiningSchema", "invalidValueTreatment", list(_prepare.INVALID_TREATMENTS)),
        ("MiningSchema", "missingValueTreatment",
         ["asIs", "asMean", "asMode", "asMedian", "asValue", "returnInvalid"]),
        ("MiningSchema", "outliers", list(_prepare.OUTLIER_TREATMENTS)),
        ("Transformations", "expressions", list(EXPRESSION_ELEMENTS) + ["DefineFunction"]),
        ("Transformations", "Apply/@invalidValueTreatment", ["returnInvalid", "asIs", "asMissing"]),
        ("Functions", "built-in functions", sorted(_functions.BUILTINS)),
        ("RegressionModel", "normalizationMethod", sorted(_regression.LINKS) + ["simplemax"]),
        ("RegressionModel", "predictors",
         ["NumericPredictor (with exponent)", "CategoricalPredictor", "PredictorTerm"]),
        ("TreeModel", "predicates", list(PREDICATE_ELEMENTS)),
        ("TreeModel", "SimplePredicate/@operator",
         sorted(_predicates._COMPARE) + ["isMissing", "isNotMissing"]),
        ("TreeModel", "CompoundPredicate/@booleanOperator", sorted(_predicates._SCALAR_COMPOUND)),
        ("TreeModel", "missingValueStrategy", list(_STRATEGIES) + list(WALKING_STRATEGIES)),
        ("TreeModel", "noTrueChildStrategy", ["returnNullPrediction", "returnLastPrediction"]),
        ("MiningModel", "multipleModelMethod (regression)", list(_mining._REGRESSION)),
        ("MiningModel", "multipleModelMethod (classification)", list(_mining._CLASSIFICATION)),
        ("NeuralNetwork", "activationFunction", sorted(ACTIVATIONS) + ["radialBasis"]),
        ("NeuralNetwork", "normalizationMethod", ["none", "softmax", "simplemax"]),
        ("Output", "OutputField/@feature", list(OUTPUT_FEATURES)),
        ("Targets", "Target", ["rescaleFactor", "rescaleConstant", "min", "max", "castInteger",
                               "TargetValue/@defaultValue", "TargetValue/@priorProbability",
                               "TargetValue/@displayValue"]),
        ("Vendor", "x-mathContext", ["double", "float (JPMML's float32 arithmetic)"]),
    ]


def render_markdown() -> str:
    """The supported-PMML page, as Markdown."""
    lines = [
        "# Supported PMML",
        "",
        "Generated from pmmlserve's own tables by `python -m pmmlserve.scoring._support`; do not "
        "edit by hand. Anything not listed is refused when the document is loaded, with an "
        "`UnsupportedMarkupError` naming the element and its line, never scored wrongly.",
        "",
        "| Area | What | Supported |",
        "| --- | --- | --- |",
    ]
    for area, what, values in support_table():
        lines.append(f"| {area} | {what} | {', '.join(f'`{v}`' for v in values)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(render_markdown(), end="")
