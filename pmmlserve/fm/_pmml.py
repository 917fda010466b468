"""Factorization machines as standard PMML 4.4 (no vendor extensions).

PMML has no factorization-machine element, but the FM equation::

    y = w0 + sum_i w_i x_i + 1/2 sum_f [ (sum_i v_if x_i)**2 - sum_i v_if**2 x_i**2 ]

is a small polynomial that two standard models express exactly:

``encoding="neural"``, a ``NeuralNetwork``
    layer 1 (``square``): ``k`` neurons ``factor/f`` with weights ``v_if`` output
    ``(sum_i v_if x_i)**2``; layer 2 (``identity``): one neuron ``linear`` with bias ``w0``,
    weights ``w_i`` on ``x_i`` and ``-1/2 sum_f v_if**2`` on ``x_i**2``; layer 3: neuron
    ``score`` with weight 1/2 on each factor neuron and 1 on ``linear``, ``identity`` for
    regression and ``logistic`` for classification, where a last ``identity`` layer adds
    ``complement = 1 - score``.  ``x_i**2`` are NeuralInputs whose DerivedField multiplies the
    input by itself.  Connections skip layers, which PMML allows.
``encoding="regression"``, a ``RegressionModel``
    ``k`` DerivedFields ``fm_factor(f) = sum(v_if * x_i)`` enter as ``NumericPredictor``
    with ``exponent="2"`` and coefficient 1/2, next to the linear terms (``w_i`` on ``x_i``,
    ``-1/2 sum_f v_if**2`` on ``x_i`` with exponent 2); classification uses
    ``normalizationMethod="logit"`` with a second, empty ``RegressionTable``.

For a 0/1 indicator ``x_i**2 == x_i``, so when the caller knows an input is binary its squared
term folds into the linear weight (``binary_inputs``), which spares ``p`` squared inputs.
Both encodings evaluate, in double precision, to the estimators' ``decision_function``,
``predict_proba`` (``[1 - p, p]``) and ``predict`` up to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from lxml import etree

from pmmlserve._version import __version__
from pmmlserve.exceptions import ExportError

__all__ = ["PMML_NS", "FMModel", "build_fm_model", "build_fm_document"]

PMML_NS = "http://www.dmg.org/PMML-4_4"
_ENCODINGS = ("neural", "regression")
_FUNCTIONS = ("classification", "regression")


@dataclass(frozen=True)
class FMModel:
    """What :func:`build_fm_model` returns.

    Attributes
    ----------
    element : lxml.etree._Element
        The ``NeuralNetwork`` or ``RegressionModel`` element, in the PMML 4.4 namespace.
    output_fields : tuple of str
        Names of the ``OutputField`` elements it declares (``probability(<class>)`` for each
        class, in the order given; empty for regression).
    derived_fields : tuple of str
        Names of the DerivedFields the builder put in the model's ``LocalTransformations``
        (the factor sums of the regression encoding), so that the caller can avoid clashes.
    """

    element: etree._Element
    output_fields: tuple[str, ...]
    derived_fields: tuple[str, ...]


@dataclass(frozen=True)
class _Spec:
    """Validated arguments shared by both encodings."""

    w0: float
    w: np.ndarray
    V: np.ndarray
    features: tuple[str, ...]
    binary: np.ndarray
    function: str
    classes: tuple[str, ...]
    target: str

    @property
    def squared_weights(self) -> np.ndarray:
        """``-1/2 sum_f v_if**2``: the weight of ``x_i**2`` once the pairwise sum is expanded."""
        return -0.5 * (self.V * self.V).sum(axis=1)


def build_fm_model(
    w0: float,
    w,
    V,
    features: Sequence[str],
    *,
    function: str,
    classes: Sequence | None = None,
    target: str = "y",
    encoding: str = "neural",
    binary_inputs: bool | Sequence[bool] = False,
    active_fields: Sequence[str] | None = None,
    local_fields: Sequence[etree._Element] = (),
    model_name: str | None = None,
    field_prefix: str = "fm",
) -> FMModel:
    """Build the PMML model element of a fitted factorization machine.

    The contract with a caller that places the model after its own preprocessing:

    * the model reads ``features[i]`` as the ``i``-th numeric input ``x_i``; each name must be a
      continuous double field visible to the model: a DataField, a DerivedField of the
      TransformationDictionary, or one of ``local_fields``;
    * ``MiningSchema`` lists ``active_fields`` (by default ``features``; pass the raw
      DataFields when the features are derived from them) and ``target`` with
      ``usageType="target"``.  The caller declares ``target`` in the DataDictionary
      (categorical with the ``classes`` as Values for classification, continuous double for
      regression);
    * ``local_fields`` (e.g. one-hot indicator DerivedFields) are moved into the model's
      ``LocalTransformations`` ahead of any the builder adds, so they may feed ``features``;
    * for classification the model has an ``Output`` with one ``probability(<class>)`` field per
      class (continuous double, as sklearn2pmml names them); the predicted class is the
      target's value.  ``classes[1]`` is the positive class (the estimator's ``classes_``);
    * a missing input makes the whole prediction missing (PMML's default for both models):
      give the caller's fields ``missingValueReplacement`` if that is not wanted.

    Parameters
    ----------
    w0 : float
        Bias.
    w : array-like of shape (p,)
        Linear weights.
    V : array-like of shape (p, k)
        Factor vectors.
    features : sequence of str
        Names of the ``p`` numeric input fields, in the order of ``w`` and ``V``.
    function : {"classification", "regression"}
        The model's mining function.
    classes : sequence of length 2, optional
        Class labels for classification, negative first; written as text (``True`` as
        ``true``).
    target : str, default="y"
        Name of the target field.
    encoding : {"neural", "regression"}, default="neural"
        Which standard model expresses the FM (see the module documentation).
    binary_inputs : bool or sequence of bool, default=False
        Inputs known to be 0/1 indicators (all, or a mask over ``features``); their ``x**2``
        terms fold into the linear weights.  Only set it when the preprocessing guarantees it:
        a value other than 0 or 1 would then be scored wrongly.
    active_fields : sequence of str, optional
        Fields for the ``MiningSchema`` (default: ``features``).
    local_fields : sequence of lxml elements, default=()
        ``DerivedField`` elements to place in the model's ``LocalTransformations``.
    model_name : str, optional
        ``modelName`` attribute.
    field_prefix : str, default="fm"
        Prefix of the names of the DerivedFields the builder defines.

    Returns
    -------
    FMModel
        The element, the names of its output fields and of its own derived fields.

    Raises
    ------
    ExportError
        If the parameters are inconsistent (shapes, non-finite values, names, classes).

    Examples
    --------
    >>> from pmmlserve.fm._pmml import build_fm_model
    >>> fm = build_fm_model(0.5, [1.0, -1.0], [[0.1, 0.2], [0.3, 0.4]], ["a", "b"],
    ...                     function="classification", classes=[0, 1], encoding="regression")
    >>> fm.element.tag
    '{http://www.dmg.org/PMML-4_4}RegressionModel'
    >>> fm.output_fields
    ('probability(0)', 'probability(1)')
    """
    spec = _validate(w0, w, V, features, function, classes, target, binary_inputs)
    if encoding not in _ENCODINGS:
        raise ExportError(f"encoding must be one of {_ENCODINGS}, got {encoding!r}")
    active = list(features if active_fields is None else active_fields)
    if target in active:
        raise ExportError(f"the target {target!r} cannot also be an active field")
    tag = "NeuralNetwork" if encoding == "neural" else "RegressionModel"
    model = _element(tag, functionName=spec.function, modelName=model_name)
    _mining_schema(model, active, spec.target)
    outputs = _output(model, spec)
    local = list(local_fields)
    if encoding == "neural":
        model.set("activationFunction", "identity")
        helpers = ()
        _add_local_transformations(model, local)
        _neural_network(model, spec)
    else:
        helpers = tuple(f"{field_prefix}_factor({f})" for f in range(spec.V.shape[1]))
        taken = {*spec.features, spec.target, *(field.get("name") for field in local)}
        clash = taken.intersection(helpers)
        if clash:
            raise ExportError(f"derived field names {sorted(clash)} are taken; "
                              "pass another field_prefix")
        local += [_factor_field(name, spec, f) for f, name in enumerate(helpers)]
        _add_local_transformations(model, local)
        _regression_tables(model, spec, helpers)
    return FMModel(model, outputs, helpers)


def build_fm_document(
    w0: float,
    w,
    V,
    features: Sequence[str],
    *,
    function: str,
    classes: Sequence | None = None,
    target: str = "y",
    encoding: str = "neural",
    binary_inputs: bool | Sequence[bool] = False,
    model_name: str | None = None,
) -> bytes:
    """A complete PMML 4.4 document for an FM trained on already-numeric features.

    The DataDictionary declares every feature as a continuous double DataField and the target
    (categorical with the class labels, or continuous double); the model is
    :func:`build_fm_model`'s.

    Parameters
    ----------
    w0, w, V, features, function, classes, target, encoding, binary_inputs, model_name
        As for :func:`build_fm_model`.

    Returns
    -------
    bytes
        The UTF-8 encoded document, with an XML declaration.

    Raises
    ------
    ExportError
        If the parameters are inconsistent.

    Examples
    --------
    >>> from pmmlserve.fm import FMRegressor
    >>> from pmmlserve.fm._pmml import build_fm_document
    >>> reg = FMRegressor(n_factors=2, random_state=0).fit([[0.0, 1.0], [1.0, 0.5]], [1.0, 2.0])
    >>> doc = build_fm_document(reg.w0_, reg.w_, reg.V_, ["a", "b"], function="regression")
    >>> doc.startswith(b"<?xml")
    True
    """
    spec = _validate(w0, w, V, features, function, classes, target, binary_inputs)
    root = _element("PMML", version="4.4")
    header = _element("Header", root)
    _element("Application", header, name="pmmlserve", version=__version__)
    dictionary = _element("DataDictionary", root, numberOfFields=len(spec.features) + 1)
    for name in spec.features:
        _element("DataField", dictionary, name=name, optype="continuous", dataType="double")
    if spec.function == "classification":
        field = _element("DataField", dictionary, name=spec.target, optype="categorical",
                         dataType=_label_type(classes))
        for label in spec.classes:
            _element("Value", field, value=label)
    else:
        _element("DataField", dictionary, name=spec.target, optype="continuous",
                 dataType="double")
    model = build_fm_model(w0, w, V, features, function=function, classes=classes,
                           target=target, encoding=encoding, binary_inputs=binary_inputs,
                           model_name=model_name)
    root.append(model.element)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# -- validation ---------------------------------------------------------------------------------


def _validate(w0, w, V, features, function, classes, target, binary_inputs) -> _Spec:
    w = np.asarray(w, dtype=np.float64)
    V = np.asarray(V, dtype=np.float64)
    features = tuple(features)
    p = len(features)
    if w.shape != (p,) or V.ndim != 2 or V.shape[0] != p or V.shape[1] < 1:
        raise ExportError(f"expected w of shape ({p},) and V of shape ({p}, k >= 1) for "
                          f"{p} features, got {w.shape} and {V.shape}")
    if not (np.isfinite(w0) and np.isfinite(w).all() and np.isfinite(V).all()):
        raise ExportError("the FM parameters contain NaN or infinite values")
    if p == 0 or len(set(features)) != p or not all(isinstance(f, str) and f for f in features):
        raise ExportError("features must be distinct non-empty names, at least one")
    if target in features:
        raise ExportError(f"the target {target!r} is also a feature name")
    if function not in _FUNCTIONS:
        raise ExportError(f"function must be one of {_FUNCTIONS}, got {function!r}")
    labels: tuple[str, ...] = ()
    if function == "classification":
        if classes is None or len(classes) != 2:
            raise ExportError("classification needs exactly two classes, negative first")
        labels = tuple(_label_text(c) for c in classes)
        if labels[0] == labels[1]:
            raise ExportError(f"the two classes must differ, got {list(classes)!r}")
    if np.ndim(binary_inputs) and np.shape(binary_inputs) != (p,):
        raise ExportError(f"binary_inputs must be a bool or {p} bools")
    binary = np.broadcast_to(np.asarray(binary_inputs, dtype=bool), (p,))
    return _Spec(float(w0), w, V, features, binary, function, labels, target)


def _label_text(label) -> str:
    if isinstance(label, (bool, np.bool_)):
        return "true" if label else "false"
    if isinstance(label, (float, np.floating)):
        return repr(float(label))
    return str(label)


def _label_type(classes) -> str:
    if all(isinstance(c, (bool, np.bool_)) for c in classes):
        return "boolean"
    if all(isinstance(c, (int, np.integer)) for c in classes):
        return "integer"
    if all(isinstance(c, (int, float, np.number)) for c in classes):
        return "double"
    return "string"


# -- element helpers ----------------------------------------------------------------------------


def _tag(name: str) -> str:
    return f"{{{PMML_NS}}}{name}"


def _element(tag: str, parent: etree._Element | None = None, /, **attrs) -> etree._Element:
    """A PMML element; ``None`` attributes are left out, numbers written as shortest reprs."""
    text = {k: _text(v) for k, v in attrs.items() if v is not None}
    if parent is None:
        return etree.Element(_tag(tag), text, nsmap={None: PMML_NS})
    return etree.SubElement(parent, _tag(tag), text)


def _text(value) -> str:
    if isinstance(value, (float, np.floating)):
        # repr is the shortest string that parses back to the same double, in Java as here
        return repr(float(value))
    return str(value)


def _field_ref(parent: etree._Element, name: str) -> etree._Element:
    return _element("FieldRef", parent, field=name)


def _mining_schema(model: etree._Element, active: list[str], target: str) -> None:
    schema = _element("MiningSchema", model)
    _element("MiningField", schema, name=target, usageType="target")
    for name in dict.fromkeys(active):
        _element("MiningField", schema, name=name)


def _output(model: etree._Element, spec: _Spec) -> tuple[str, ...]:
    if spec.function != "classification":
        return ()
    output = _element("Output", model)
    names = tuple(f"probability({label})" for label in spec.classes)
    for name, label in zip(names, spec.classes):
        _element("OutputField", output, name=name, optype="continuous", dataType="double",
                 feature="probability", value=label)
    return names


def _add_local_transformations(model: etree._Element, fields: list[etree._Element]) -> None:
    if fields:
        local = _element("LocalTransformations", model)
        for field in fields:
            local.append(field)


# -- neural network encoding --------------------------------------------------------------------


def _neural_network(model: etree._Element, spec: _Spec) -> None:
    k = spec.V.shape[1]
    inputs = _element("NeuralInputs", model)
    squared = np.flatnonzero(~spec.binary)
    for i, name in enumerate(spec.features):
        _neural_input(inputs, f"x/{i}", name, squared=False)
    for i in squared:
        _neural_input(inputs, f"x2/{i}", spec.features[i], squared=True)
    inputs.set("numberOfInputs", str(len(inputs)))

    layer = _element("NeuralLayer", model, activationFunction="square", numberOfNeurons=k)
    for f in range(k):
        _neuron(layer, f"factor/{f}", [(f"x/{i}", v) for i, v in enumerate(spec.V[:, f])])

    # The linear weight of a binary input absorbs its squared term (x**2 == x).
    linear_w = spec.w + np.where(spec.binary, spec.squared_weights, 0.0)
    linear = [(f"x/{i}", wi) for i, wi in enumerate(linear_w)]
    linear += [(f"x2/{i}", spec.squared_weights[i]) for i in squared]
    layer = _element("NeuralLayer", model, activationFunction="identity", numberOfNeurons=1)
    _neuron(layer, "linear", linear, bias=spec.w0)

    classify = spec.function == "classification"
    layer = _element("NeuralLayer", model, numberOfNeurons=1,
                     activationFunction="logistic" if classify else "identity")
    _neuron(layer, "score", [(f"factor/{f}", 0.5) for f in range(k)] + [("linear", 1.0)])

    if classify:
        # 1 - p computed as in predict_proba, so both probabilities match to the last bit
        layer = _element("NeuralLayer", model, activationFunction="identity", numberOfNeurons=1)
        _neuron(layer, "complement", [("score", -1.0)], bias=1.0)
    outputs = _element("NeuralOutputs", model)
    if classify:
        negative, positive = spec.classes
        for neuron, label in (("complement", negative), ("score", positive)):
            _element("NormDiscrete", _neural_output(outputs, neuron), field=spec.target,
                     value=label)
    else:
        _field_ref(_neural_output(outputs, "score"), spec.target)
    outputs.set("numberOfOutputs", str(len(outputs)))
    model.set("numberOfLayers", str(len(model.findall(_tag("NeuralLayer")))))


def _neural_input(parent: etree._Element, neuron_id: str, field: str, *, squared: bool) -> None:
    neural_input = _element("NeuralInput", parent, id=neuron_id)
    derived = _element("DerivedField", neural_input, optype="continuous", dataType="double")
    if squared:
        # x * x rather than pow(x, 2): one correctly rounded product, like the trainer's
        product = _element("Apply", derived, function="*")
        _field_ref(product, field)
        _field_ref(product, field)
    else:
        _field_ref(derived, field)


def _neuron(layer: etree._Element, neuron_id: str, connections, bias: float = 0.0) -> None:
    neuron = _element("Neuron", layer, id=neuron_id, bias=float(bias))
    for source, weight in connections:
        _element("Con", neuron, **{"from": source, "weight": float(weight)})


def _neural_output(parent: etree._Element, neuron_id: str) -> etree._Element:
    output = _element("NeuralOutput", parent, outputNeuron=neuron_id)
    return _element("DerivedField", output, optype="continuous", dataType="double")


# -- regression model encoding ------------------------------------------------------------------


def _factor_field(name: str, spec: _Spec, f: int) -> etree._Element:
    """``sum_i v_if * x_i`` as a DerivedField."""
    derived = _element("DerivedField", None, name=name, optype="continuous", dataType="double")
    total = _element("Apply", derived, function="sum")
    for feature, v in zip(spec.features, spec.V[:, f]):
        product = _element("Apply", total, function="*")
        _element("Constant", product, dataType="double").text = _text(float(v))
        _field_ref(product, feature)
    return derived


def _regression_tables(model: etree._Element, spec: _Spec, factors: tuple[str, ...]) -> None:
    table = _element("RegressionTable", model, intercept=spec.w0)
    linear_w = spec.w + np.where(spec.binary, spec.squared_weights, 0.0)
    for name, coefficient in zip(spec.features, linear_w):
        _element("NumericPredictor", table, name=name, coefficient=float(coefficient))
    for i in np.flatnonzero(~spec.binary):
        _element("NumericPredictor", table, name=spec.features[i], exponent=2,
                 coefficient=float(spec.squared_weights[i]))
    for name in factors:
        _element("NumericPredictor", table, name=name, exponent=2, coefficient=0.5)
    if spec.function == "classification":
        model.set("normalizationMethod", "logit")
        negative, positive = spec.classes
        table.set("targetCategory", positive)
        _element("RegressionTable", model, intercept=0.0, targetCategory=negative)
