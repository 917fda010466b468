"""NeuralNetwork: layers of neurons as dense weight matrices."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from pmmlserve.exceptions import InvalidMarkupError, UnsupportedMarkupError
from pmmlserve.pmml import _document as d
from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._expressions import compile_expression
from pmmlserve.scoring._results import BatchResult, CompiledModel, ScalarResult, predicted_label
from pmmlserve.scoring._scope import BatchContext, Scope
from pmmlserve.scoring._tree import LabelSpec
from pmmlserve.scoring._values import missing_mask

__all__ = ["NeuralKernel", "ACTIVATIONS"]


def _threshold(x, t):
    return np.where(x > t, 1.0, 0.0)


ACTIVATIONS = {
    "identity": lambda x, t: x,
    "logistic": lambda x, t: 1.0 / (1.0 + np.exp(-x)),
    "tanh": lambda x, t: np.tanh(x),
    "exponential": lambda x, t: np.exp(x),
    "reciprocal": lambda x, t: 1.0 / x,
    "square": lambda x, t: x * x,
    "Gauss": lambda x, t: np.exp(-(x * x)),
    "sine": lambda x, t: np.sin(x),
    "cosine": lambda x, t: np.cos(x),
    "Elliott": lambda x, t: x / (1.0 + np.abs(x)),
    "arctan": lambda x, t: 2.0 * np.arctan(x) / math.pi,
    "rectifier": lambda x, t: np.maximum(x, 0.0),
    "threshold": _threshold,
}


class _Layer:
    def __init__(self, layer: d.NeuralLayer, net: d.NeuralNetwork, index: dict, line):
        self.activation = layer.activation or net.activation
        if self.activation not in ACTIVATIONS and self.activation != "radialBasis":
            raise UnsupportedMarkupError(f"activationFunction={self.activation!r} is not supported",
                                         element="NeuralLayer", line=line)
        self.threshold = layer.threshold if layer.threshold is not None else net.threshold
        self.normalization = layer.normalization or net.normalization
        if self.normalization not in ("none", "softmax", "simplemax"):
            raise UnsupportedMarkupError(
                f"normalizationMethod={self.normalization!r} is not supported",
                element="NeuralLayer", line=line)
        self.inputs = sorted({c.source for n in layer.neurons for c in n.connections},
                             key=lambda s: index[s] if s in index else -1)
        for s in self.inputs:
            if s not in index:
                raise InvalidMarkupError(f"connection from unknown neuron {s!r}", element="Con",
                                         line=line)
        self.sources = np.array([index[s] for s in self.inputs], dtype=np.intp)
        pos = {s: i for i, s in enumerate(self.inputs)}
        self.W = np.zeros((len(self.inputs), len(layer.neurons)))
        for j, n in enumerate(layer.neurons):
            for c in n.connections:
                self.W[pos[c.source], j] += c.weight
        self.bias = np.array([n.bias for n in layer.neurons])
        self.ids = [n.id for n in layer.neurons]
        if self.activation == "radialBasis":
            # the weights are the centre; Z = |x - w|^2 / (2 width^2) and the output is
            # exp(fanIn * ln(altitude) - Z), with width and altitude from the neuron, the layer
            # or the network (the bias is not used)
            widths = [n.width if n.width is not None else layer.width if layer.width is not None
                      else net.width for n in layer.neurons]
            if any(w is None for w in widths):
                raise InvalidMarkupError("radialBasis needs a width", element="NeuralLayer",
                                         line=line)
            self.width = np.array(widths, dtype=np.float64)
            self.altitude = np.array([
                n.altitude if n.altitude is not None else layer.altitude
                if layer.altitude is not None else net.altitude for n in layer.neurons])
            self.connected = np.zeros_like(self.W, dtype=bool)
            for j, n in enumerate(layer.neurons):
                for c in n.connections:
                    self.connected[pos[c.source], j] = True
            self.fan_in = self.connected.sum(axis=0)

    def forward(self, A: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            if self.activation == "radialBasis":
                X = A[:, self.sources]
                sq = (X[:, :, None] - self.W[None, :, :]) ** 2 * self.connected[None, :, :]
                Z = sq.sum(axis=1) / (2.0 * self.width ** 2)
                out = np.exp(self.fan_in * np.log(self.altitude) - Z)
            else:
                Z = A[:, self.sources] @ self.W + self.bias
                out = ACTIVATIONS[self.activation](Z, self.threshold)
            if self.normalization == "softmax":
                e = np.exp(out - out.max(axis=1, keepdims=True))
                out = e / e.sum(axis=1, keepdims=True)
            elif self.normalization == "simplemax":
                out = out / out.sum(axis=1, keepdims=True)
        return out


class NeuralKernel(CompiledModel):
    def __init__(self, model: d.NeuralNetwork, scope: Scope, labels: LabelSpec):
        common = model.common
        self.function = common.function_name
        self.math_context = common.math_context
        self.inputs = [compile_expression(i.field.expression, scope) for i in model.inputs]
        index = {i.id: k for k, i in enumerate(model.inputs)}
        self.layers = []
        width = len(model.inputs)
        for layer in model.layers:
            compiled = _Layer(layer, model, index, common.line)
            self.layers.append(compiled)
            for j, nid in enumerate(compiled.ids):
                index[nid] = width + j
            width += len(compiled.ids)
        self.width = width
        self.index = index
        self.outputs = []  # (neuron column, kind, payload)
        target_labels = []
        for out in model.outputs:
            if out.neuron not in index:
                raise InvalidMarkupError(f"outputNeuron {out.neuron!r} does not exist",
                                         element="NeuralOutput", line=common.line)
            expr = out.field.expression
            if self.function == "classification":
                if not isinstance(expr, d.NormDiscrete):
                    raise UnsupportedMarkupError("classification NeuralOutputs must use NormDiscrete",
                                                 element="NeuralOutput", line=common.line)
                label = labels.parse(expr.value)
                target_labels.append(label)
                self.outputs.append((index[out.neuron], "class", label))
            elif isinstance(expr, d.FieldRef):
                self.outputs.append((index[out.neuron], "value", None))
            elif isinstance(expr, d.NormContinuous):
                orig = np.array([n.orig for n in expr.norms])
                norm = np.array([n.norm for n in expr.norms])
                self.outputs.append((index[out.neuron], "denorm", (orig, norm)))
            else:
                raise UnsupportedMarkupError("NeuralOutput must use FieldRef or NormContinuous",
                                             element="NeuralOutput", line=common.line)
        self.labels = tuple(target_labels) if self.function == "classification" else None

    def _forward(self, X: np.ndarray) -> np.ndarray:
        A = np.empty((X.shape[0], self.width))
        A[:, :X.shape[1]] = X
        col = X.shape[1]
        for layer in self.layers:
            out = layer.forward(A)
            A[:, col:col + out.shape[1]] = out
            col += out.shape[1]
        return A

    def _result(self, A: np.ndarray, missing: np.ndarray, n: int) -> BatchResult:
        if self.function == "classification":
            probs = {}
            for column, _, label in self.outputs:
                p = A[:, column].copy()
                p[missing] = np.nan
                probs[label] = p
            return BatchResult(predicted_label(probs, self.labels, n), probs)
        column, kind, payload = self.outputs[0]
        y = A[:, column].copy()
        if kind == "denorm":
            orig, norm = payload
            i = np.clip(np.searchsorted(norm, y, side="right") - 1, 0, len(norm) - 2)
            y = orig[i] + (y - norm[i]) * (orig[i + 1] - orig[i]) / (norm[i + 1] - norm[i])
        y[missing] = np.nan
        return BatchResult(y)

    def batch(self, ctx: BatchContext) -> BatchResult:
        cols = [node.batch(ctx) for node in self.inputs]
        X = np.column_stack([c.astype(np.float64) for c in cols]) if cols else np.empty((ctx.n, 0))
        missing = np.zeros(ctx.n, dtype=bool)
        for c in cols:
            missing |= missing_mask(c)
        A = self._forward(np.where(np.isnan(X), 0.0, X))
        return self._result(A, missing, ctx.n)

    def _scalar(self, *xs) -> tuple:
        if any(x is None for x in xs):
            missing = np.ones(1, dtype=bool)
            xs = tuple(0.0 for _ in xs)
        else:
            missing = np.zeros(1, dtype=bool)
        A = self._forward(np.array([xs], dtype=np.float64))
        r = self._result(A, missing, 1)
        v = r.value[0]
        value = None if v is None or (isinstance(v, float) and v != v) else \
            (float(v) if self.function == "regression" else v)
        probs = {k: (None if np.isnan(c[0]) else float(c[0]))
                 for k, c in (r.probabilities or {}).items()}
        return value, probs

    def emit(self, gen: Codegen) -> ScalarResult:
        xs = [gen.assign(node.emit(gen), "nx") for node in self.inputs]
        out = gen.assign(f"{gen.const(self._scalar, 'nn')}({', '.join(xs)})", "nn")
        value = gen.assign(f"{out}[0]", "y")
        probs: Optional[dict] = None
        if self.function == "classification":
            probs = {label: gen.assign(f"{out}[1][{gen.const(label)}]", "p")
                     for label in self.labels}
        return ScalarResult(value, probs)
