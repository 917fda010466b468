"""Read an lxml element tree into the typed document (:mod:`pmmlserve.pmml._document`).

Elements are matched by local name so that every PMML version's namespace (3.0 to 4.4) reads
the same way.  ``Extension`` elements are skipped, as the specification allows.  Anything the
scorer cannot evaluate is refused here, at load time, with the element and its line.
"""

from __future__ import annotations

from typing import Callable, Optional

from lxml import etree

from pmmlserve.exceptions import InvalidMarkupError, UnsupportedMarkupError
from pmmlserve.pmml import _document as d

__all__ = ["read_document", "MODEL_ELEMENTS", "EXPRESSION_ELEMENTS", "PREDICATE_ELEMENTS"]

MODEL_ELEMENTS = ("RegressionModel", "TreeModel", "MiningModel", "NeuralNetwork")
EXPRESSION_ELEMENTS = (
    "Constant", "FieldRef", "NormContinuous", "NormDiscrete", "Discretize", "MapValues", "Apply"
)
PREDICATE_ELEMENTS = ("SimplePredicate", "SimpleSetPredicate", "CompoundPredicate", "True", "False")
_ALL_MODELS = MODEL_ELEMENTS + (
    "AssociationModel", "AnomalyDetectionModel", "BayesianNetworkModel", "BaselineModel",
    "ClusteringModel", "GaussianProcessModel", "GeneralRegressionModel", "NaiveBayesModel",
    "NearestNeighborModel", "RuleSetModel", "Scorecard", "SequenceModel", "SupportVectorMachineModel",
    "TextModel", "TimeSeriesModel",
)


_LOCAL_NAMES: dict[str, str] = {}


def _local(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):  # comments and processing instructions are removed already
        return ""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = _LOCAL_NAMES.setdefault(tag, tag.rsplit("}", 1)[-1])
    return name


def _children(element: etree._Element, *names: str) -> list[etree._Element]:
    return [c for c in element if _local(c) in names]


def _child(element: etree._Element, name: str) -> Optional[etree._Element]:
    for c in element:
        if _local(c) == name:
            return c
    return None


def _require(element: etree._Element, attribute: str) -> str:
    value = element.get(attribute)
    if value is None:
        raise InvalidMarkupError(
            f"required attribute {attribute!r} is missing", element=_local(element),
            line=element.sourceline,
        )
    return value


def _number(element: etree._Element, attribute: str, default=None, *, required=False):
    text = _require(element, attribute) if required else element.get(attribute)
    if text is None:
        return default
    try:
        return float(text)
    except ValueError:
        raise InvalidMarkupError(
            f"attribute {attribute}={text!r} is not a number", element=_local(element),
            line=element.sourceline,
        ) from None


def _unsupported(element: etree._Element, what: str | None = None) -> UnsupportedMarkupError:
    name = _local(element)
    return UnsupportedMarkupError(what or f"<{name}> is not supported", element=name,
                                  line=element.sourceline)


def _bool(element: etree._Element, attribute: str, default: bool) -> bool:
    text = element.get(attribute)
    if text is None:
        return default
    if text not in ("true", "false", "1", "0"):
        raise InvalidMarkupError(f"attribute {attribute}={text!r} is not a boolean",
                                 element=_local(element), line=element.sourceline)
    return text in ("true", "1")


# --------------------------------------------------------------------------- dictionary


def _interval(e: etree._Element) -> d.Interval:
    return d.Interval(
        closure=_require(e, "closure"),
        left=_number(e, "leftMargin"),
        right=_number(e, "rightMargin"),
    )


def _data_field(e: etree._Element) -> d.DataField:
    return d.DataField(
        name=_require(e, "name"),
        optype=_require(e, "optype"),
        data_type=_require(e, "dataType"),
        values=tuple(
            d.Value(_require(v, "value"), v.get("property", "valid"), v.get("displayValue"))
            for v in _children(e, "Value")
        ),
        intervals=tuple(_interval(i) for i in _children(e, "Interval")),
        display_name=e.get("displayName"),
        line=e.sourceline,
    )


def _header(e: Optional[etree._Element]) -> d.Header:
    if e is None:
        return d.Header()
    app = _child(e, "Application")
    ts = _child(e, "Timestamp")
    return d.Header(
        application_name=app.get("name") if app is not None else None,
        application_version=app.get("version") if app is not None else None,
        description=e.get("description"),
        copyright=e.get("copyright"),
        timestamp=(ts.text or "").strip() if ts is not None else None,
    )


# --------------------------------------------------------------------------- expressions


def _expression(e: etree._Element) -> d.Expression:
    name = _local(e)
    reader = _EXPRESSIONS.get(name)
    if reader is None:
        raise _unsupported(e, f"expression <{name}> is not supported")
    return reader(e)


def _only_expression(parent: etree._Element) -> d.Expression:
    found = [c for c in parent if _local(c) not in ("Extension", "")]
    exprs = [c for c in found if _local(c) in EXPRESSION_ELEMENTS]
    if len(found) != 1 or len(exprs) != 1:
        if found and not exprs:
            raise _unsupported(found[0], f"expression <{_local(found[0])}> is not supported")
        raise InvalidMarkupError("expected exactly one expression", element=_local(parent),
                                 line=parent.sourceline)
    return _expression(exprs[0])


def _constant(e: etree._Element) -> d.Constant:
    missing = _bool(e, "missing", False)
    text = e.text
    return d.Constant(
        value=None if missing else (text.strip() if text is not None else ""),
        data_type=e.get("dataType"),
        missing=missing,
        line=e.sourceline,
    )


def _inline_table(e: etree._Element) -> d.InlineTable:
    rows = []
    for row in _children(e, "row"):
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
    table = _child(e, "InlineTable")
    if table is None:
        if _child(e, "TableLocator") is not None:
            raise _unsupported(_child(e, "TableLocator"), "<TableLocator> (external tables) is not supported")
        raise InvalidMarkupError("an InlineTable is required", element=_local(e), line=e.sourceline)
    return _inline_table(table)


_EXPRESSIONS: dict[str, Callable[[etree._Element], d.Expression]] = {
    "Constant": _constant,
    "FieldRef": lambda e: d.FieldRef(_require(e, "field"), e.get("mapMissingTo"), e.sourceline),
    "NormContinuous": lambda e: d.NormContinuous(
        field=_require(e, "field"),
        norms=tuple(
            d.LinearNorm(_number(n, "orig", required=True), _number(n, "norm", required=True))
            for n in _children(e, "LinearNorm")
        ),
        outliers=e.get("outliers", "asIs"),
        map_missing_to=_number(e, "mapMissingTo"),
        line=e.sourceline,
    ),
    "NormDiscrete": lambda e: d.NormDiscrete(
        field=_require(e, "field"), value=_require(e, "value"),
        map_missing_to=_number(e, "mapMissingTo"), line=e.sourceline,
    ),
    "Discretize": lambda e: d.Discretize(
        field=_require(e, "field"),
        bins=tuple(
            d.DiscretizeBin(_require(b, "binValue"), _interval(_child(b, "Interval")))
            for b in _children(e, "DiscretizeBin")
        ),
        map_missing_to=e.get("mapMissingTo"),
        default_value=e.get("defaultValue"),
        data_type=e.get("dataType"),
        line=e.sourceline,
    ),
    "MapValues": lambda e: d.MapValues(
        field_columns=tuple(
            (_require(p, "field"), _require(p, "column")) for p in _children(e, "FieldColumnPair")
        ),
        output_column=_require(e, "outputColumn"),
        table=_table(e),
        map_missing_to=e.get("mapMissingTo"),
        default_value=e.get("defaultValue"),
        data_type=e.get("dataType"),
        line=e.sourceline,
    ),
    "Apply": lambda e: d.Apply(
        function=_require(e, "function"),
        arguments=tuple(_expression(c) for c in e if _local(c) not in ("Extension", "")),
        map_missing_to=e.get("mapMissingTo"),
        default_value=e.get("defaultValue"),
        invalid_value_treatment=e.get("invalidValueTreatment", "returnInvalid"),
        line=e.sourceline,
    ),
}


def _derived_field(e: etree._Element, *, named: bool = True) -> d.DerivedField:
    return d.DerivedField(
        name=_require(e, "name") if named else (e.get("name") or ""),
        optype=e.get("optype"),
        data_type=e.get("dataType"),
        expression=_only_expression(e),
        line=e.sourceline,
    )


def _define_function(e: etree._Element) -> d.DefineFunction:
    return d.DefineFunction(
        name=_require(e, "name"),
        optype=e.get("optype"),
        data_type=e.get("dataType"),
        parameters=tuple(
            d.ParameterField(_require(p, "name"), p.get("optype"), p.get("dataType"))
            for p in _children(e, "ParameterField")
        ),
        expression=_only_expression_skipping(e, "ParameterField"),
        line=e.sourceline,
    )


def _only_expression_skipping(e: etree._Element, skip: str) -> d.Expression:
    exprs = [c for c in e if _local(c) not in (skip, "Extension", "")]
    if len(exprs) != 1:
        raise InvalidMarkupError("expected exactly one expression", element=_local(e),
                                 line=e.sourceline)
    return _expression(exprs[0])


# --------------------------------------------------------------------------- predicates


def _predicate(e: etree._Element) -> d.Predicate:
    name = _local(e)
    if name == "SimplePredicate":
        return d.SimplePredicate(_require(e, "field"), _require(e, "operator"), e.get("value"),
                                 e.sourceline)
    if name == "SimpleSetPredicate":
        array = _child(e, "Array")
        if array is None:
            raise InvalidMarkupError("an Array is required", element=name, line=e.sourceline)
        return d.SimpleSetPredicate(_require(e, "field"), _require(e, "booleanOperator"),
                                    tuple(_array_values(array)), e.sourceline)
    if name == "CompoundPredicate":
        parts = tuple(_predicate(c) for c in e if _local(c) in PREDICATE_ELEMENTS)
        return d.CompoundPredicate(_require(e, "booleanOperator"), parts, e.sourceline)
    if name == "True":
        return d.TruePredicate(e.sourceline)
    if name == "False":
        return d.FalsePredicate(e.sourceline)
    raise _unsupported(e, f"predicate <{name}> is not supported")


def _find_predicate(e: etree._Element) -> d.Predicate:
    for c in e:
        if _local(c) in PREDICATE_ELEMENTS:
            return _predicate(c)
    raise InvalidMarkupError("a predicate is required", element=_local(e), line=e.sourceline)


def _array_values(array: etree._Element) -> list[str]:
    """Split an Array's content: whitespace-separated, with double-quoted entries allowed."""
    text = array.text or ""
    values, i, n = [], 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text[i] == '"':
            j, buf = i + 1, []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            values.append("".join(buf))
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace():
                j += 1
            values.append(text[i:j])
            i = j
    return values


# --------------------------------------------------------------------------- model parts


def _mining_field(e: etree._Element) -> d.MiningField:
    usage = e.get("usageType", "active")
    if usage == "predicted":  # PMML 3.x spelling
        usage = "target"
    return d.MiningField(
        name=_require(e, "name"),
        usage_type=usage,
        optype=e.get("optype"),
        missing_value_replacement=e.get("missingValueReplacement"),
        missing_value_treatment=e.get("missingValueTreatment"),
        invalid_value_treatment=e.get("invalidValueTreatment", "returnInvalid"),
        invalid_value_replacement=e.get("invalidValueReplacement"),
        outliers=e.get("outliers", "asIs"),
        low_value=_number(e, "lowValue"),
        high_value=_number(e, "highValue"),
        line=e.sourceline,
    )


def _target(e: etree._Element) -> d.Target:
    return d.Target(
        field=e.get("field"),
        optype=e.get("optype"),
        cast_integer=e.get("castInteger"),
        min=_number(e, "min"),
        max=_number(e, "max"),
        rescale_factor=_number(e, "rescaleFactor", 1.0),
        rescale_constant=_number(e, "rescaleConstant", 0.0),
        values=tuple(
            d.TargetValue(
                v.get("value"), v.get("displayValue"), _number(v, "priorProbability"),
                _number(v, "defaultValue"),
            )
            for v in _children(e, "TargetValue")
        ),
        line=e.sourceline,
    )


def _output_field(e: etree._Element) -> d.OutputField:
    exprs = [c for c in e if _local(c) in EXPRESSION_ELEMENTS]
    for c in e:
        if _local(c) == "Decisions":
            raise _unsupported(c)
    rank = e.get("rank", "1")
    return d.OutputField(
        name=_require(e, "name"),
        feature=e.get("feature", "predictedValue"),
        data_type=e.get("dataType"),
        optype=e.get("optype"),
        target_field=e.get("targetField"),
        value=e.get("value"),
        is_final_result=_bool(e, "isFinalResult", True),
        segment_id=e.get("segmentId"),
        rank=int(rank),
        expression=_expression(exprs[0]) if exprs else None,
        display_name=e.get("displayName"),
        line=e.sourceline,
    )


def _verification(e: etree._Element) -> d.ModelVerification:
    fields_el = _child(e, "VerificationFields")
    fields = tuple(
        d.VerificationField(
            field=_require(f, "field"),
            column=f.get("column") or _require(f, "field"),
            precision=_number(f, "precision", 1e-6),
            zero_threshold=_number(f, "zeroThreshold", 1e-16),
        )
        for f in (_children(fields_el, "VerificationField") if fields_el is not None else [])
    )
    table = _inline_table(_child(e, "InlineTable")) if _child(e, "InlineTable") is not None \
        else d.InlineTable(())
    return d.ModelVerification(fields, table.rows, e.sourceline)


def _common(e: etree._Element) -> d.ModelCommon:
    schema = _child(e, "MiningSchema")
    if schema is None:
        raise InvalidMarkupError("a MiningSchema is required", element=_local(e), line=e.sourceline)
    output = _child(e, "Output")
    targets = _child(e, "Targets")
    local = _child(e, "LocalTransformations")
    verification = _child(e, "ModelVerification")
    context = e.get("x-mathContext", e.get("mathContext", "double"))
    if context not in ("double", "float"):
        raise _unsupported(e, f"x-mathContext={context!r} is not supported")
    function = _require(e, "functionName")
    if function not in ("regression", "classification", "mixed"):
        raise _unsupported(e, f"functionName={function!r} is not supported")
    return d.ModelCommon(
        tag=_local(e),
        function_name=function,
        mining_fields=tuple(_mining_field(m) for m in _children(schema, "MiningField")),
        output_fields=tuple(_output_field(o) for o in _children(output, "OutputField"))
        if output is not None else (),
        targets=tuple(_target(t) for t in _children(targets, "Target")) if targets is not None else (),
        local_fields=tuple(_derived_field(f) for f in _children(local, "DerivedField"))
        if local is not None else (),
        verification=_verification(verification) if verification is not None else None,
        model_name=e.get("modelName"),
        algorithm_name=e.get("algorithmName"),
        math_context=context,
        is_scorable=_bool(e, "isScorable", True),
        line=e.sourceline,
    )


# --------------------------------------------------------------------------- models


def _regression_model(e: etree._Element) -> d.RegressionModel:
    tables = []
    for t in _children(e, "RegressionTable"):
        tables.append(d.RegressionTable(
            intercept=_number(t, "intercept", required=True),
            target_category=t.get("targetCategory"),
            numeric=tuple(
                d.NumericPredictor(_require(p, "name"), _number(p, "coefficient", required=True),
                                   _number(p, "exponent", 1.0), p.sourceline)
                for p in _children(t, "NumericPredictor")
            ),
            categorical=tuple(
                d.CategoricalPredictor(_require(p, "name"), _require(p, "value"),
                                       _number(p, "coefficient", required=True), p.sourceline)
                for p in _children(t, "CategoricalPredictor")
            ),
            terms=tuple(
                d.PredictorTerm(
                    tuple(_require(f, "field") for f in _children(p, "FieldRef")),
                    _number(p, "coefficient", required=True),
                    p.sourceline,
                )
                for p in _children(t, "PredictorTerm")
            ),
        ))
    if not tables:
        raise InvalidMarkupError("a RegressionTable is required", element="RegressionModel",
                                 line=e.sourceline)
    method = e.get("normalizationMethod", "none")
    return d.RegressionModel(_common(e), tuple(tables), method)


_NODE_UNSUPPORTED = frozenset(MODEL_ELEMENTS + ("Partition", "Regression", "DecisionTree"))
_PREDICATES = frozenset(PREDICATE_ELEMENTS)


def _tree_node(e: etree._Element) -> d.TreeNode:
    # one pass over the children, names looked up inline: trees are most of a large document
    predicate = None
    children = []
    distributions = []
    for c in e:
        name = _LOCAL_NAMES.get(c.tag) or _local(c)
        if name == "Node":
            children.append(_tree_node(c))
        elif name == "SimplePredicate" and predicate is None:
            field, op = c.get("field"), c.get("operator")
            if field is None or op is None:
                _require(c, "operator" if field is not None else "field")
            predicate = d.SimplePredicate(field, op, c.get("value"), c.sourceline)
        elif name == "ScoreDistribution":
            distributions.append(d.ScoreDistribution(
                _require(c, "value"), _number(c, "recordCount", required=True),
                _number(c, "probability"), _number(c, "confidence")))
        elif name in _PREDICATES:
            if predicate is None:
                predicate = _predicate(c)
        elif name in _NODE_UNSUPPORTED:
            raise _unsupported(c, f"<{name}> inside a tree Node is not supported")
    if predicate is None:
        raise InvalidMarkupError("a predicate is required", element="Node", line=e.sourceline)
    get = e.get
    return d.TreeNode(
        predicate,
        tuple(children),
        get("score"),
        get("id"),
        None if get("recordCount") is None else _number(e, "recordCount"),
        get("defaultChild"),
        tuple(distributions),
        e.sourceline,
    )


def _tree_model(e: etree._Element) -> d.TreeModel:
    root = _child(e, "Node")
    if root is None:
        raise InvalidMarkupError("a root Node is required", element="TreeModel", line=e.sourceline)
    return d.TreeModel(
        common=_common(e),
        root=_tree_node(root),
        missing_value_strategy=e.get("missingValueStrategy", "none"),
        missing_value_penalty=_number(e, "missingValuePenalty", 1.0),
        no_true_child_strategy=e.get("noTrueChildStrategy", "returnNullPrediction"),
        split_characteristic=e.get("splitCharacteristic", "multiSplit"),
    )


def _mining_model(e: etree._Element) -> d.MiningModel:
    segmentation = _child(e, "Segmentation")
    if segmentation is None:
        raise InvalidMarkupError("a Segmentation is required", element="MiningModel",
                                 line=e.sourceline)
    segments = []
    for s in _children(segmentation, "Segment"):
        inner = [c for c in s if _local(c) in _ALL_MODELS]
        if len(inner) != 1:
            raise InvalidMarkupError("a Segment holds exactly one model", element="Segment",
                                     line=s.sourceline)
        segments.append(d.Segment(
            predicate=_find_predicate(s),
            model=_model(inner[0]),
            id=s.get("id"),
            weight=_number(s, "weight", 1.0),
            line=s.sourceline,
        ))
    return d.MiningModel(
        common=_common(e),
        method=_require(segmentation, "multipleModelMethod"),
        segments=tuple(segments),
        missing_prediction_treatment=segmentation.get("missingPredictionTreatment", "continue"),
        missing_threshold=_number(segmentation, "missingThreshold", 1.0),
    )


def _neural_network(e: etree._Element) -> d.NeuralNetwork:
    inputs_el = _child(e, "NeuralInputs")
    outputs_el = _child(e, "NeuralOutputs")
    if inputs_el is None or outputs_el is None:
        raise InvalidMarkupError("NeuralInputs and NeuralOutputs are required",
                                 element="NeuralNetwork", line=e.sourceline)

    def io_field(parent: etree._Element) -> d.DerivedField:
        derived = _child(parent, "DerivedField")
        if derived is None:
            raise InvalidMarkupError("a DerivedField is required", element=_local(parent),
                                     line=parent.sourceline)
        return _derived_field(derived, named=False)

    layers = []
    for layer in _children(e, "NeuralLayer"):
        layers.append(d.NeuralLayer(
            neurons=tuple(
                d.Neuron(
                    id=_require(n, "id"),
                    bias=_number(n, "bias", 0.0),
                    connections=tuple(
                        d.Connection(_require(c, "from"), _number(c, "weight", required=True))
                        for c in _children(n, "Con")
                    ),
                    width=_number(n, "width"),
                    altitude=_number(n, "altitude"),
                )
                for n in _children(layer, "Neuron")
            ),
            activation=layer.get("activationFunction"),
            normalization=layer.get("normalizationMethod"),
            threshold=_number(layer, "threshold"),
            width=_number(layer, "width"),
            altitude=_number(layer, "altitude"),
        ))
    return d.NeuralNetwork(
        common=_common(e),
        inputs=tuple(d.NeuralInput(_require(i, "id"), io_field(i))
                     for i in _children(inputs_el, "NeuralInput")),
        layers=tuple(layers),
        outputs=tuple(d.NeuralOutput(_require(o, "outputNeuron"), io_field(o))
                      for o in _children(outputs_el, "NeuralOutput")),
        activation=_require(e, "activationFunction"),
        normalization=e.get("normalizationMethod", "none"),
        threshold=_number(e, "threshold", 0.0),
        width=_number(e, "width"),
        altitude=_number(e, "altitude", 1.0),
    )


_MODELS = {
    "RegressionModel": _regression_model,
    "TreeModel": _tree_model,
    "MiningModel": _mining_model,
    "NeuralNetwork": _neural_network,
}


def _model(e: etree._Element) -> d.Model:
    reader = _MODELS.get(_local(e))
    if reader is None:
        raise _unsupported(e, f"<{_local(e)}> is not supported (supported models: "
                              f"{', '.join(MODEL_ELEMENTS)})")
    return reader(e)


def read_document(root: etree._Element) -> d.Document:
    """Build the typed document from a parsed ``<PMML>`` root element.

    Raises
    ------
    InvalidMarkupError, UnsupportedMarkupError
        Naming the element and its line.
    """
    dictionary = _child(root, "DataDictionary")
    if dictionary is None:
        raise InvalidMarkupError("a DataDictionary is required", element="PMML", line=root.sourceline)
    transformations = _child(root, "TransformationDictionary")
    models = [c for c in root if _local(c) in _ALL_MODELS]
    if not models:
        raise InvalidMarkupError("the document holds no model", element="PMML", line=root.sourceline)
    scorable = [m for m in models if m.get("isScorable", "true") == "true"]
    model_el = (scorable or models)[0]
    return d.Document(
        version=root.get("version", ""),
        header=_header(_child(root, "Header")),
        data_fields=tuple(_data_field(f) for f in _children(dictionary, "DataField")),
        derived_fields=tuple(_derived_field(f) for f in _children(transformations, "DerivedField"))
        if transformations is not None else (),
        functions=tuple(_define_function(f) for f in _children(transformations, "DefineFunction"))
        if transformations is not None else (),
        model=_model(model_el),
        extra_models=len(models) - 1,
        namespace=etree.QName(root).namespace,
    )
