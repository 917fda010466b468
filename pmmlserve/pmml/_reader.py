"""Read an lxml element tree into the typed document (:mod:`pmmlserve.pmml._document`).

Elements are matched by local name so that every PMML version's namespace (3.0 to 4.4) reads
the same way.  ``Extension`` elements are skipped, as the specification allows.  Anything the
scorer cannot evaluate is refused here, at load time, with the element and its line.
"""

from __future__ import annotations

from typing import Callable, Optional

from lxml import etree

from pmmlserve.exceptions import InvalidMarkupError
from pmmlserve.pmml import _document as d
from pmmlserve.pmml._elements import (
    EXPRESSION_ELEMENTS,
    MODEL_ELEMENTS,
    PREDICATE_ELEMENTS,
    bool_attribute,
    child_named,
    children_named,
    local_name,
    number,
    require,
    unsupported,
)
from pmmlserve.pmml._nodes import node_columns, find_predicate, tree_node

__all__ = ["read_document"]

_ALL_MODELS = MODEL_ELEMENTS + (
    "AssociationModel", "AnomalyDetectionModel", "BayesianNetworkModel", "BaselineModel",
    "ClusteringModel", "GaussianProcessModel", "GeneralRegressionModel", "NaiveBayesModel",
    "NearestNeighborModel", "RuleSetModel", "Scorecard", "SequenceModel", "SupportVectorMachineModel",
    "TextModel", "TimeSeriesModel",
)


# --------------------------------------------------------------------------- dictionary


def _interval(e: etree._Element) -> d.Interval:
    return d.Interval(
        closure=require(e, "closure"),
        left=number(e, "leftMargin"),
        right=number(e, "rightMargin"),
    )


def _data_field(e: etree._Element) -> d.DataField:
    values, intervals = [], []  # one pass: a categorical field may list thousands of values
    for c in e:
        name = local_name(c)
        if name == "Value":
            values.append(d.Value(require(c, "value"), c.get("property", "valid"),
                                  c.get("displayValue")))
        elif name == "Interval":
            intervals.append(_interval(c))
    return d.DataField(
        name=require(e, "name"),
        optype=require(e, "optype"),
        data_type=require(e, "dataType"),
        values=tuple(values),
        intervals=tuple(intervals),
        display_name=e.get("displayName"),
        line=e.sourceline,
    )


def _header(e: Optional[etree._Element]) -> d.Header:
    if e is None:
        return d.Header()
    app = child_named(e, "Application")
    ts = child_named(e, "Timestamp")
    return d.Header(
        application_name=app.get("name") if app is not None else None,
        application_version=app.get("version") if app is not None else None,
        description=e.get("description"),
        copyright=e.get("copyright"),
        timestamp=(ts.text or "").strip() if ts is not None else None,
    )


# --------------------------------------------------------------------------- expressions


def _expression(e: etree._Element) -> d.Expression:
    name = local_name(e)
    reader = _EXPRESSIONS.get(name)
    if reader is None:
        raise unsupported(e, f"expression <{name}> is not supported")
    return reader(e)


def _only_expression(parent: etree._Element) -> d.Expression:
    found = [c for c in parent if local_name(c) not in ("Extension", "")]
    exprs = [c for c in found if local_name(c) in EXPRESSION_ELEMENTS]
    if len(found) != 1 or len(exprs) != 1:
        if found and not exprs:
            raise unsupported(found[0], f"expression <{local_name(found[0])}> is not supported")
        raise InvalidMarkupError("expected exactly one expression", element=local_name(parent),
                                 line=parent.sourceline)
    return _expression(exprs[0])


def _constant(e: etree._Element) -> d.Constant:
    missing = bool_attribute(e, "missing", False)
    text = e.text
    return d.Constant(
        value=None if missing else (text if text is not None else ""),  # " " is a string
        data_type=e.get("dataType"),
        missing=missing,
        line=e.sourceline,
    )


def _inline_table(e: etree._Element) -> d.InlineTable:
    rows = []
    for row in children_named(e, "row"):
        cells = {}
        for cell in row:
            if not isinstance(cell.tag, str):
                continue
            # <column> and <data:column> (sklearn2pmml's namespace): a column reference may
            # use either the local name or the prefixed one
            local = etree.QName(cell).localname
            cells[local] = cell.text or ""
            if cell.prefix:
                cells[f"{cell.prefix}:{local}"] = cell.text or ""
        rows.append(cells)
    return d.InlineTable(tuple(rows))


def _table(e: etree._Element) -> d.InlineTable:
    table = child_named(e, "InlineTable")
    if table is None:
        if child_named(e, "TableLocator") is not None:
            raise unsupported(child_named(e, "TableLocator"), "<TableLocator> (external tables) is not supported")
        raise InvalidMarkupError("an InlineTable is required", element=local_name(e), line=e.sourceline)
    return _inline_table(table)


_EXPRESSIONS: dict[str, Callable[[etree._Element], d.Expression]] = {
    "Constant": _constant,
    "FieldRef": lambda e: d.FieldRef(require(e, "field"), e.get("mapMissingTo"), e.sourceline),
    "NormContinuous": lambda e: d.NormContinuous(
        field=require(e, "field"),
        norms=tuple(
            d.LinearNorm(number(n, "orig", required=True), number(n, "norm", required=True))
            for n in children_named(e, "LinearNorm")
        ),
        outliers=e.get("outliers", "asIs"),
        map_missing_to=number(e, "mapMissingTo"),
        line=e.sourceline,
    ),
    "NormDiscrete": lambda e: d.NormDiscrete(
        field=require(e, "field"), value=require(e, "value"),
        map_missing_to=number(e, "mapMissingTo"), line=e.sourceline,
    ),
    "Discretize": lambda e: d.Discretize(
        field=require(e, "field"),
        bins=tuple(
            d.DiscretizeBin(require(b, "binValue"), _interval(child_named(b, "Interval")))
            for b in children_named(e, "DiscretizeBin")
        ),
        map_missing_to=e.get("mapMissingTo"),
        default_value=e.get("defaultValue"),
        data_type=e.get("dataType"),
        line=e.sourceline,
    ),
    "MapValues": lambda e: d.MapValues(
        field_columns=tuple(
            (require(p, "field"), require(p, "column")) for p in children_named(e, "FieldColumnPair")
        ),
        output_column=require(e, "outputColumn"),
        table=_table(e),
        map_missing_to=e.get("mapMissingTo"),
        default_value=e.get("defaultValue"),
        data_type=e.get("dataType"),
        line=e.sourceline,
    ),
    "Apply": lambda e: d.Apply(
        function=require(e, "function"),
        arguments=tuple(_expression(c) for c in e if local_name(c) not in ("Extension", "")),
        map_missing_to=e.get("mapMissingTo"),
        default_value=e.get("defaultValue"),
        invalid_value_treatment=e.get("invalidValueTreatment", "returnInvalid"),
        line=e.sourceline,
    ),
}


def _derived_field(e: etree._Element, *, named: bool = True) -> d.DerivedField:
    return d.DerivedField(
        name=require(e, "name") if named else (e.get("name") or ""),
        optype=e.get("optype"),
        data_type=e.get("dataType"),
        expression=_only_expression(e),
        line=e.sourceline,
    )


def _define_function(e: etree._Element) -> d.DefineFunction:
    return d.DefineFunction(
        name=require(e, "name"),
        optype=e.get("optype"),
        data_type=e.get("dataType"),
        parameters=tuple(
            d.ParameterField(require(p, "name"), p.get("optype"), p.get("dataType"))
            for p in children_named(e, "ParameterField")
        ),
        expression=_only_expression_skipping(e, "ParameterField"),
        line=e.sourceline,
    )


def _only_expression_skipping(e: etree._Element, skip: str) -> d.Expression:
    exprs = [c for c in e if local_name(c) not in (skip, "Extension", "")]
    if len(exprs) != 1:
        raise InvalidMarkupError("expected exactly one expression", element=local_name(e),
                                 line=e.sourceline)
    return _expression(exprs[0])


# --------------------------------------------------------------------------- model parts


def _mining_field(e: etree._Element) -> d.MiningField:
    attributes = e.items()
    if len(attributes) == 1 and attributes[0][0] == "name":
        # most are just a name (each segment of a forest lists its inputs)
        return d.MiningField(attributes[0][1], line=e.sourceline)
    usage = e.get("usageType", "active")
    if usage == "predicted":  # PMML 3.x spelling
        usage = "target"
    return d.MiningField(
        name=require(e, "name"),
        usage_type=usage,
        optype=e.get("optype"),
        missing_value_replacement=e.get("missingValueReplacement"),
        missing_value_treatment=e.get("missingValueTreatment"),
        invalid_value_treatment=e.get("invalidValueTreatment", "returnInvalid"),
        invalid_value_replacement=e.get("invalidValueReplacement"),
        outliers=e.get("outliers", "asIs"),
        low_value=number(e, "lowValue"),
        high_value=number(e, "highValue"),
        line=e.sourceline,
    )


def _target(e: etree._Element) -> d.Target:
    return d.Target(
        field=e.get("field"),
        optype=e.get("optype"),
        cast_integer=e.get("castInteger"),
        min=number(e, "min"),
        max=number(e, "max"),
        rescale_factor=number(e, "rescaleFactor", 1.0),
        rescale_constant=number(e, "rescaleConstant", 0.0),
        values=tuple(
            d.TargetValue(
                v.get("value"), v.get("displayValue"), number(v, "priorProbability"),
                number(v, "defaultValue"),
            )
            for v in children_named(e, "TargetValue")
        ),
        line=e.sourceline,
    )


def _output_field(e: etree._Element) -> d.OutputField:
    exprs = [c for c in e if local_name(c) in EXPRESSION_ELEMENTS]
    for c in e:
        if local_name(c) == "Decisions":
            raise unsupported(c)
    rank = e.get("rank", "1")
    return d.OutputField(
        name=require(e, "name"),
        feature=e.get("feature", "predictedValue"),
        data_type=e.get("dataType"),
        optype=e.get("optype"),
        target_field=e.get("targetField"),
        value=e.get("value"),
        is_final_result=bool_attribute(e, "isFinalResult", True),
        segment_id=e.get("segmentId"),
        rank=int(rank),
        expression=_expression(exprs[0]) if exprs else None,
        display_name=e.get("displayName"),
        line=e.sourceline,
    )


def _verification(e: etree._Element) -> d.ModelVerification:
    fields_el = child_named(e, "VerificationFields")
    fields = tuple(
        d.VerificationField(
            field=require(f, "field"),
            column=f.get("column") or require(f, "field"),
            precision=number(f, "precision", 1e-6),
            zero_threshold=number(f, "zeroThreshold", 1e-16),
        )
        for f in (children_named(fields_el, "VerificationField") if fields_el is not None else [])
    )
    table = _inline_table(child_named(e, "InlineTable")) if child_named(e, "InlineTable") is not None \
        else d.InlineTable(())
    return d.ModelVerification(fields, table.rows, e.sourceline)


_COMMON_PARTS = frozenset(("MiningSchema", "Output", "Targets", "LocalTransformations",
                           "ModelVerification"))


def _common(e: etree._Element) -> d.ModelCommon:
    parts: dict[str, etree._Element] = {}  # the first of each, in one pass over the children
    for c in e:
        name = local_name(c)
        if name in _COMMON_PARTS and name not in parts:
            parts[name] = c
    schema = parts.get("MiningSchema")
    if schema is None:
        raise InvalidMarkupError("a MiningSchema is required", element=local_name(e), line=e.sourceline)
    output = parts.get("Output")
    targets = parts.get("Targets")
    local = parts.get("LocalTransformations")
    verification = parts.get("ModelVerification")
    context = e.get("x-mathContext", e.get("mathContext", "double"))
    if context not in ("double", "float"):
        raise unsupported(e, f"x-mathContext={context!r} is not supported")
    function = require(e, "functionName")
    if function not in ("regression", "classification", "mixed"):
        raise unsupported(e, f"functionName={function!r} is not supported")
    return d.ModelCommon(
        tag=local_name(e),
        function_name=function,
        mining_fields=tuple([_mining_field(m) for m in children_named(schema, "MiningField")]),
        output_fields=tuple(_output_field(o) for o in children_named(output, "OutputField"))
        if output is not None else (),
        targets=tuple(_target(t) for t in children_named(targets, "Target")) if targets is not None else (),
        local_fields=tuple(_derived_field(f) for f in children_named(local, "DerivedField"))
        if local is not None else (),
        verification=_verification(verification) if verification is not None else None,
        model_name=e.get("modelName"),
        algorithm_name=e.get("algorithmName"),
        math_context=context,
        is_scorable=bool_attribute(e, "isScorable", True),
        line=e.sourceline,
    )


# --------------------------------------------------------------------------- models


def _regression_model(e: etree._Element) -> d.RegressionModel:
    tables = []
    for t in children_named(e, "RegressionTable"):
        tables.append(d.RegressionTable(
            intercept=number(t, "intercept", required=True),
            target_category=t.get("targetCategory"),
            numeric=tuple(
                d.NumericPredictor(require(p, "name"), number(p, "coefficient", required=True),
                                   number(p, "exponent", 1.0), p.sourceline)
                for p in children_named(t, "NumericPredictor")
            ),
            categorical=tuple(
                d.CategoricalPredictor(require(p, "name"), require(p, "value"),
                                       number(p, "coefficient", required=True), p.sourceline)
                for p in children_named(t, "CategoricalPredictor")
            ),
            terms=tuple(
                d.PredictorTerm(
                    tuple(require(f, "field") for f in children_named(p, "FieldRef")),
                    number(p, "coefficient", required=True),
                    p.sourceline,
                )
                for p in children_named(t, "PredictorTerm")
            ),
        ))
    if not tables:
        raise InvalidMarkupError("a RegressionTable is required", element="RegressionModel",
                                 line=e.sourceline)
    method = e.get("normalizationMethod", "none")
    return d.RegressionModel(_common(e), tuple(tables), method)


def _tree_model(e: etree._Element) -> d.TreeModel:
    root = child_named(e, "Node")
    if root is None:
        raise InvalidMarkupError("a root Node is required", element="TreeModel", line=e.sourceline)
    columns = node_columns(root)
    return d.TreeModel(
        common=_common(e),
        root=tree_node(root) if columns is None else None,
        columns=columns,
        missing_value_strategy=e.get("missingValueStrategy", "none"),
        missing_value_penalty=number(e, "missingValuePenalty", 1.0),
        no_true_child_strategy=e.get("noTrueChildStrategy", "returnNullPrediction"),
        split_characteristic=e.get("splitCharacteristic", "multiSplit"),
    )


def _mining_model(e: etree._Element) -> d.MiningModel:
    segmentation = child_named(e, "Segmentation")
    if segmentation is None:
        raise InvalidMarkupError("a Segmentation is required", element="MiningModel",
                                 line=e.sourceline)
    segments = []
    for s in children_named(segmentation, "Segment"):
        inner = [c for c in s if local_name(c) in _ALL_MODELS]
        if len(inner) != 1:
            raise InvalidMarkupError("a Segment holds exactly one model", element="Segment",
                                     line=s.sourceline)
        segments.append(d.Segment(
            predicate=find_predicate(s),
            model=_model(inner[0]),
            id=s.get("id"),
            weight=number(s, "weight", 1.0),
            line=s.sourceline,
        ))
    return d.MiningModel(
        common=_common(e),
        method=require(segmentation, "multipleModelMethod"),
        segments=tuple(segments),
        missing_prediction_treatment=segmentation.get("missingPredictionTreatment", "continue"),
        missing_threshold=number(segmentation, "missingThreshold", 1.0),
    )


def _neural_network(e: etree._Element) -> d.NeuralNetwork:
    inputs_el = child_named(e, "NeuralInputs")
    outputs_el = child_named(e, "NeuralOutputs")
    if inputs_el is None or outputs_el is None:
        raise InvalidMarkupError("NeuralInputs and NeuralOutputs are required",
                                 element="NeuralNetwork", line=e.sourceline)

    def io_field(parent: etree._Element) -> d.DerivedField:
        derived = child_named(parent, "DerivedField")
        if derived is None:
            raise InvalidMarkupError("a DerivedField is required", element=local_name(parent),
                                     line=parent.sourceline)
        return _derived_field(derived, named=False)

    layers = []
    for layer in children_named(e, "NeuralLayer"):
        layers.append(d.NeuralLayer(
            neurons=tuple(
                d.Neuron(
                    id=require(n, "id"),
                    bias=number(n, "bias", 0.0),
                    connections=tuple(
                        d.Connection(require(c, "from"), number(c, "weight", required=True))
                        for c in children_named(n, "Con")
                    ),
                    width=number(n, "width"),
                    altitude=number(n, "altitude"),
                )
                for n in children_named(layer, "Neuron")
            ),
            activation=layer.get("activationFunction"),
            normalization=layer.get("normalizationMethod"),
            threshold=number(layer, "threshold"),
            width=number(layer, "width"),
            altitude=number(layer, "altitude"),
        ))
    return d.NeuralNetwork(
        common=_common(e),
        inputs=tuple(d.NeuralInput(require(i, "id"), io_field(i))
                     for i in children_named(inputs_el, "NeuralInput")),
        layers=tuple(layers),
        outputs=tuple(d.NeuralOutput(require(o, "outputNeuron"), io_field(o))
                      for o in children_named(outputs_el, "NeuralOutput")),
        activation=require(e, "activationFunction"),
        normalization=e.get("normalizationMethod", "none"),
        threshold=number(e, "threshold", 0.0),
        width=number(e, "width"),
        altitude=number(e, "altitude", 1.0),
    )


_MODELS = {
    "RegressionModel": _regression_model,
    "TreeModel": _tree_model,
    "MiningModel": _mining_model,
    "NeuralNetwork": _neural_network,
}


def _model(e: etree._Element) -> d.Model:
    reader = _MODELS.get(local_name(e))
    if reader is None:
        raise unsupported(e, f"<{local_name(e)}> is not supported (supported models: "
                              f"{', '.join(MODEL_ELEMENTS)})")
    return reader(e)


def read_document(root: etree._Element) -> d.Document:
    """Build the typed document from a parsed ``<PMML>`` root element.

    Raises
    ------
    InvalidMarkupError, UnsupportedMarkupError
        Naming the element and its line.
    """
    dictionary = child_named(root, "DataDictionary")
    if dictionary is None:
        raise InvalidMarkupError("a DataDictionary is required", element="PMML", line=root.sourceline)
    transformations = child_named(root, "TransformationDictionary")
    models = [c for c in root if local_name(c) in _ALL_MODELS]
    if not models:
        raise InvalidMarkupError("the document holds no model", element="PMML", line=root.sourceline)
    scorable = [m for m in models if m.get("isScorable", "true") == "true"]
    model_el = (scorable or models)[0]
    return d.Document(
        version=root.get("version", ""),
        header=_header(child_named(root, "Header")),
        data_fields=tuple(_data_field(f) for f in children_named(dictionary, "DataField")),
        derived_fields=tuple(_derived_field(f) for f in children_named(transformations, "DerivedField"))
        if transformations is not None else (),
        functions=tuple(_define_function(f) for f in children_named(transformations, "DefineFunction"))
        if transformations is not None else (),
        model=_model(model_el),
        extra_models=len(models) - 1,
        namespace=etree.QName(root).namespace,
    )
