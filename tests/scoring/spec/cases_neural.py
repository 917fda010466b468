"""NeuralNetwork (PMML 4.4 "Neural Network").

Each neuron computes Z = bias + sum_i w_i * input_i and outputs f(Z), with f the layer's
activationFunction (or the network's, when the layer does not override it):

  threshold 1 if Z > threshold else 0;  logistic 1 / (1 + e^-Z);  tanh;  identity Z;
  exponential e^Z;  reciprocal 1 / Z;  square Z^2;  Gauss e^(-Z^2);  sine;  cosine;
  Elliott Z / (1 + |Z|);  arctan 2 atan(Z) / pi;  rectifier max(0, Z);
  radialBasis: Z = sum_i (input_i - w_i)^2 / (2 width^2), f = e^(fanIn * ln(altitude) - Z).

A layer's normalizationMethod (softmax, simplemax) normalizes its outputs. NeuralOutputs map
output neurons to the target: NormDiscrete for a category's probability, FieldRef or
NormContinuous (inverted) for a regression value. A missing input makes the result missing.
"""

from __future__ import annotations

import math

from tests.scoring.spec._case import SpecCase, document

CASES: list[SpecCase] = []

_DD = """
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>"""

_ACTIVATIONS = {
    "threshold": lambda z: 1.0 if z > 0.5 else 0.0,   # layer threshold="0.5"
    "logistic": lambda z: 1 / (1 + math.exp(-z)),
    "tanh": math.tanh,
    "identity": lambda z: z,
    "exponential": math.exp,
    "reciprocal": lambda z: 1 / z,
    "square": lambda z: z * z,
    "Gauss": lambda z: math.exp(-(z * z)),
    "sine": math.sin,
    "cosine": math.cos,
    "Elliott": lambda z: z / (1 + abs(z)),
    "arctan": lambda z: 2 * math.atan(z) / math.pi,
    "rectifier": lambda z: max(0.0, z),
}


def _network(hidden_layer_attributes: str, *, network_attributes: str = 'activationFunction="identity"') -> str:
    # y = 0.2 + 2 * f(0.1 + 0.5 x): hidden neuron 1 with the activation under test, identity output
    return document(_DD, f"""
  <NeuralNetwork functionName="regression" {network_attributes}>
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <NeuralInputs numberOfInputs="1">
      <NeuralInput id="0">
        <DerivedField optype="continuous" dataType="double"><FieldRef field="x"/></DerivedField>
      </NeuralInput>
    </NeuralInputs>
    <NeuralLayer numberOfNeurons="1"{hidden_layer_attributes}>
      <Neuron id="1" bias="0.1"><Con from="0" weight="0.5"/></Neuron>
    </NeuralLayer>
    <NeuralLayer numberOfNeurons="1">
      <Neuron id="2" bias="0.2"><Con from="1" weight="2"/></Neuron>
    </NeuralLayer>
    <NeuralOutputs numberOfOutputs="1">
      <NeuralOutput outputNeuron="2">
        <DerivedField optype="continuous" dataType="double"><FieldRef field="y"/></DerivedField>
      </NeuralOutput>
    </NeuralOutputs>
  </NeuralNetwork>""")


for _name, _f in _ACTIVATIONS.items():
    _xs = [1.0, -3.0, 2.0] + ([0.8] if _name == "threshold" else [])
    _extra = ' threshold="0.5"' if _name == "threshold" else ""
    CASES.append(SpecCase(
        id=f"neural/activation-{_name}",
        pmml=_network(f' activationFunction="{_name}"{_extra}'),
        records=[{"x": x} for x in _xs] + [{"x": None}],
        # Z = 0.1 + 0.5 x: 0.6, -1.4, 1.1 (and 0.5, the threshold itself: not greater)
        expected=[{"y": 0.2 + 2 * _f(0.1 + 0.5 * x)} for x in _xs] + [{"y": None}],
        rtol=1e-12,
        note=f"The hidden layer overrides the network's identity activation with {_name}; "
             "y = 0.2 + 2 f(0.1 + 0.5 x).",
    ))

CASES.append(SpecCase(
    id="neural/activation-from-network",
    pmml=_network("", network_attributes='activationFunction="tanh"'),
    records=[{"x": 1.0}],
    # both layers use the network's tanh: y = tanh(0.2 + 2 tanh(0.6))
    expected=[{"y": math.tanh(0.2 + 2 * math.tanh(0.1 + 0.5 * 1.0))}],
    note="Layers without an activationFunction use the network's (here tanh for both layers).",
))

CASES.append(SpecCase(
    id="neural/activation-radial-basis",
    pmml=_network(' activationFunction="radialBasis" width="2" altitude="1.5"'),
    records=[{"x": 1.0}, {"x": -3.0}],
    # Z = (x - 0.5)^2 / (2 * 2^2); f = exp(1 * ln(1.5) - Z); the bias is not used
    expected=[{"y": 0.2 + 2 * math.exp(math.log(1.5) - (1.0 - 0.5) ** 2 / (2 * 2.0**2))},
              {"y": 0.2 + 2 * math.exp(math.log(1.5) - (-3.0 - 0.5) ** 2 / (2 * 2.0**2))}],
    note="radialBasis: the connection weight is the centre; Z is the squared distance over "
         "2 width^2; fanIn is 1.",
))

CASES.append(SpecCase(
    id="neural/regression-normalized-target",
    pmml=document(_DD, """
  <NeuralNetwork functionName="regression" activationFunction="logistic">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <NeuralInputs numberOfInputs="1">
      <NeuralInput id="in">
        <DerivedField optype="continuous" dataType="double">
          <NormContinuous field="x"><LinearNorm orig="0" norm="-1"/><LinearNorm orig="10" norm="1"/></NormContinuous>
        </DerivedField>
      </NeuralInput>
    </NeuralInputs>
    <NeuralLayer numberOfNeurons="1">
      <Neuron id="out" bias="-0.25"><Con from="in" weight="1.5"/></Neuron>
    </NeuralLayer>
    <NeuralOutputs numberOfOutputs="1">
      <NeuralOutput outputNeuron="out">
        <DerivedField optype="continuous" dataType="double">
          <NormContinuous field="y"><LinearNorm orig="100" norm="0"/><LinearNorm orig="300" norm="1"/></NormContinuous>
        </DerivedField>
      </NeuralOutput>
    </NeuralOutputs>
  </NeuralNetwork>"""),
    records=[{"x": 2.5}, {"x": 10.0}],
    # input: -1 + 2 * x / 10;  neuron: logistic(-0.25 + 1.5 input);  y: 100 + 200 * neuron
    expected=[{"y": 100 + 200 / (1 + math.exp(-(-0.25 + 1.5 * (-1 + 2 * 2.5 / 10))))},
              {"y": 100 + 200 / (1 + math.exp(-(-0.25 + 1.5 * (-1 + 2 * 10.0 / 10))))}],
    note="A NormContinuous NeuralInput normalizes x; a NormContinuous NeuralOutput on the target "
         "is inverted to give y (norm 0 -> 100, norm 1 -> 300).",
))

_DD_CLASS = """
    <DataField name="x1" optype="continuous" dataType="double"/>
    <DataField name="x2" optype="continuous" dataType="double"/>
    <DataField name="y" optype="categorical" dataType="string">
      <Value value="a"/><Value value="b"/><Value value="c"/>
    </DataField>"""


def _classifier(output_layer_attributes: str, output_activation: str) -> str:
    outputs = "".join(f"""
      <NeuralOutput outputNeuron="o{k}">
        <DerivedField optype="categorical" dataType="string"><NormDiscrete field="y" value="{k}"/></DerivedField>
      </NeuralOutput>""" for k in "abc")
    return document(_DD_CLASS, f"""
  <NeuralNetwork functionName="classification" activationFunction="logistic">
    <MiningSchema><MiningField name="x1"/><MiningField name="x2"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Output>
      <OutputField name="probability(a)" optype="continuous" dataType="double" feature="probability" value="a"/>
      <OutputField name="probability(b)" optype="continuous" dataType="double" feature="probability" value="b"/>
      <OutputField name="probability(c)" optype="continuous" dataType="double" feature="probability" value="c"/>
    </Output>
    <NeuralInputs numberOfInputs="2">
      <NeuralInput id="i1"><DerivedField optype="continuous" dataType="double"><FieldRef field="x1"/></DerivedField></NeuralInput>
      <NeuralInput id="i2"><DerivedField optype="continuous" dataType="double"><FieldRef field="x2"/></DerivedField></NeuralInput>
    </NeuralInputs>
    <NeuralLayer numberOfNeurons="2">
      <Neuron id="h1" bias="0.5"><Con from="i1" weight="1"/><Con from="i2" weight="-1"/></Neuron>
      <Neuron id="h2" bias="-0.5"><Con from="i1" weight="-2"/><Con from="i2" weight="0.5"/></Neuron>
    </NeuralLayer>
    <NeuralLayer numberOfNeurons="3" activationFunction="{output_activation}"{output_layer_attributes}>
      <Neuron id="oa" bias="0"><Con from="h1" weight="2"/><Con from="h2" weight="-1"/></Neuron>
      <Neuron id="ob" bias="0.3"><Con from="h1" weight="-1"/><Con from="h2" weight="1"/></Neuron>
      <Neuron id="oc" bias="0.1"><Con from="h1" weight="0.5"/><Con from="h2" weight="0.5"/></Neuron>
    </NeuralLayer>
    <NeuralOutputs numberOfOutputs="3">{outputs}
    </NeuralOutputs>
  </NeuralNetwork>""")


def _hidden(x1, x2):
    def logistic(z):
        return 1 / (1 + math.exp(-z))
    h1 = logistic(0.5 + 1 * x1 - 1 * x2)
    h2 = logistic(-0.5 - 2 * x1 + 0.5 * x2)
    return h1, h2


def _output_sums(x1, x2):
    h1, h2 = _hidden(x1, x2)
    return {"a": 0 + 2 * h1 - 1 * h2, "b": 0.3 - 1 * h1 + 1 * h2, "c": 0.1 + 0.5 * h1 + 0.5 * h2}


def _row(p):
    best = max(p, key=lambda k: p[k])
    return {"y": best, **{f"probability({k})": v for k, v in p.items()}}


def _softmax(z):
    total = sum(math.exp(v) for v in z.values())
    return {k: math.exp(v) / total for k, v in z.items()}


def _simplemax_logistic(z):
    out = {k: 1 / (1 + math.exp(-v)) for k, v in z.items()}
    total = sum(out.values())
    return {k: v / total for k, v in out.items()}


_POINTS = [(1.0, 0.0), (-1.0, 2.0), (0.0, -1.0)]

CASES.append(SpecCase(
    id="neural/classification-softmax",
    pmml=_classifier(' normalizationMethod="softmax"', "identity"),
    records=[{"x1": a, "x2": b} for a, b in _POINTS] + [{"x1": 1.0, "x2": None}],
    expected=[_row(_softmax(_output_sums(a, b))) for a, b in _POINTS]
             + [{"y": None, "probability(a)": None, "probability(b)": None, "probability(c)": None}],
    note="Two logistic hidden neurons, an identity output layer normalized with softmax; the "
         "NormDiscrete NeuralOutputs name the category of each output neuron. A missing input "
         "makes the prediction missing.",
))

CASES.append(SpecCase(
    id="neural/classification-simplemax",
    pmml=_classifier(' normalizationMethod="simplemax"', "logistic"),
    records=[{"x1": a, "x2": b} for a, b in _POINTS],
    expected=[_row(_simplemax_logistic(_output_sums(a, b))) for a, b in _POINTS],
    note="Logistic output neurons normalized with simplemax: p_k = f_k / sum f.",
))

def _output_sums_normalized_hidden(x1, x2):
    h1, h2 = _hidden(x1, x2)
    total = math.exp(h1) + math.exp(h2)   # the hidden layer is softmax-normalized too
    h1, h2 = math.exp(h1) / total, math.exp(h2) / total
    return {"a": 0 + 2 * h1 - 1 * h2, "b": 0.3 - 1 * h1 + 1 * h2, "c": 0.1 + 0.5 * h1 + 0.5 * h2}


CASES.append(SpecCase(
    id="neural/classification-network-level-normalization",
    pmml=_classifier("", "identity").replace(
        'activationFunction="logistic">', 'activationFunction="logistic" normalizationMethod="softmax">', 1),
    records=[{"x1": a, "x2": b} for a, b in _POINTS],
    expected=[_row(_softmax(_output_sums_normalized_hidden(a, b))) for a, b in _POINTS],
    note="NeuralNetwork@normalizationMethod, like activationFunction, is the default of every "
         "NeuralLayer that does not set its own: here both the hidden and the output layer are "
         "softmax-normalized.",
))
