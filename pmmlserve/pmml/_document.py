"""The typed PMML document: frozen dataclasses that mirror the elements pmmlserve evaluates.

The reader (:mod:`pmmlserve.pmml._reader`) builds these from XML and checks required structure;
the scoring compiler turns them into kernels.  Every element keeps its source ``line`` so that
errors found later can still point into the document.  Values whose type depends on a field
(``SimplePredicate/@value``, ``Value/@value``...) are kept as the document's strings and parsed
by the compiler, which knows the field's data type.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Optional, Union


def _direct_init(cls):
    """Give a frozen dataclass an ``__init__`` that fills the instance ``__dict__`` in one call.

    The generated one sets each field through ``object.__setattr__`` (frozen classes forbid
    plain assignment), three times slower; a large forest has tens of thousands of nodes and
    predicates.  Same signature, same result: the instance is still frozen afterwards.
    """
    params, names, defaults = [], [], {}
    for f in fields(cls):
        assert f.default_factory is MISSING, f"{cls.__name__}.{f.name}: no factories here"
        names.append(f.name)
        if f.default is MISSING:
            params.append(f.name)
        else:
            defaults[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
    source = (f"def __init__(self, {', '.join(params)}):\n"
              f"    self.__dict__.update({', '.join(f'{n}={n}' for n in names)})\n")
    namespace = dict(defaults)
    exec(source, namespace)  # noqa: S102 - built from the class's own field names
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init
    return cls

# --------------------------------------------------------------------------- dictionary


@_direct_init
@dataclass(frozen=True)
class Value:
    value: str
    property: str = "valid"  # valid | invalid | missing
    display_value: Optional[str] = None


@dataclass(frozen=True)
class Interval:
    closure: str
    left: Optional[float] = None
    right: Optional[float] = None


@dataclass(frozen=True)
class DataField:
    name: str
    optype: str
    data_type: str
    values: tuple[Value, ...] = ()
    intervals: tuple[Interval, ...] = ()
    display_name: Optional[str] = None
    line: Optional[int] = None


@dataclass(frozen=True)
class Header:
    application_name: Optional[str] = None
    application_version: Optional[str] = None
    description: Optional[str] = None
    copyright: Optional[str] = None
    timestamp: Optional[str] = None


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Constant:
    value: Optional[str]
    data_type: Optional[str] = None
    missing: bool = False
    line: Optional[int] = None


@dataclass(frozen=True)
class FieldRef:
    field: str
    map_missing_to: Optional[str] = None
    line: Optional[int] = None


@dataclass(frozen=True)
class LinearNorm:
    orig: float
    norm: float


@dataclass(frozen=True)
class NormContinuous:
    field: str
    norms: tuple[LinearNorm, ...]
    outliers: str = "asIs"
    map_missing_to: Optional[float] = None
    line: Optional[int] = None


@dataclass(frozen=True)
class NormDiscrete:
    field: str
    value: str
    map_missing_to: Optional[float] = None
    line: Optional[int] = None


@dataclass(frozen=True)
class DiscretizeBin:
    bin_value: str
    interval: Interval


@dataclass(frozen=True)
class Discretize:
    field: str
    bins: tuple[DiscretizeBin, ...]
    map_missing_to: Optional[str] = None
    default_value: Optional[str] = None
    data_type: Optional[str] = None
    line: Optional[int] = None


@dataclass(frozen=True)
class InlineTable:
    rows: tuple[dict, ...]  # column name -> cell text


@dataclass(frozen=True)
class MapValues:
    field_columns: tuple[tuple[str, str], ...]  # (field, column)
    output_column: str
    table: InlineTable
    map_missing_to: Optional[str] = None
    default_value: Optional[str] = None
    data_type: Optional[str] = None
    line: Optional[int] = None


@dataclass(frozen=True)
class Apply:
    function: str
    arguments: tuple["Expression", ...]
    map_missing_to: Optional[str] = None
    default_value: Optional[str] = None
    invalid_value_treatment: str = "returnInvalid"
    line: Optional[int] = None


Expression = Union[Constant, FieldRef, NormContinuous, NormDiscrete, Discretize, MapValues, Apply]


@dataclass(frozen=True)
class DerivedField:
    name: str
    optype: Optional[str]
    data_type: Optional[str]
    expression: Expression
    line: Optional[int] = None


@dataclass(frozen=True)
class ParameterField:
    name: str
    optype: Optional[str] = None
    data_type: Optional[str] = None


@dataclass(frozen=True)
class DefineFunction:
    name: str
    optype: Optional[str]
    data_type: Optional[str]
    parameters: tuple[ParameterField, ...]
    expression: Expression
    line: Optional[int] = None


# --------------------------------------------------------------------------- predicates


@_direct_init
@dataclass(frozen=True)
class SimplePredicate:
    field: str
    operator: str
    value: Optional[str] = None
    line: Optional[int] = None


@_direct_init
@dataclass(frozen=True)
class SimpleSetPredicate:
    field: str
    operator: str  # isIn | isNotIn
    values: tuple[str, ...]
    line: Optional[int] = None


@dataclass(frozen=True)
class CompoundPredicate:
    operator: str  # and | or | xor | surrogate
    predicates: tuple["Predicate", ...]
    line: Optional[int] = None


@dataclass(frozen=True)
class TruePredicate:
    line: Optional[int] = None


@dataclass(frozen=True)
class FalsePredicate:
    line: Optional[int] = None


Predicate = Union[SimplePredicate, SimpleSetPredicate, CompoundPredicate, TruePredicate, FalsePredicate]

# --------------------------------------------------------------------------- model parts


@_direct_init
@dataclass(frozen=True)
class MiningField:
    name: str
    usage_type: str = "active"
    optype: Optional[str] = None
    missing_value_replacement: Optional[str] = None
    missing_value_treatment: Optional[str] = None
    invalid_value_treatment: str = "returnInvalid"
    invalid_value_replacement: Optional[str] = None
    outliers: str = "asIs"
    low_value: Optional[float] = None
    high_value: Optional[float] = None
    line: Optional[int] = None


@dataclass(frozen=True)
class TargetValue:
    value: Optional[str] = None
    display_value: Optional[str] = None
    prior_probability: Optional[float] = None
    default_value: Optional[float] = None


@dataclass(frozen=True)
class Target:
    field: Optional[str]
    optype: Optional[str] = None
    cast_integer: Optional[str] = None
    min: Optional[float] = None
    max: Optional[float] = None
    rescale_factor: float = 1.0
    rescale_constant: float = 0.0
    values: tuple[TargetValue, ...] = ()
    line: Optional[int] = None


@dataclass(frozen=True)
class OutputField:
    name: str
    feature: str = "predictedValue"
    data_type: Optional[str] = None
    optype: Optional[str] = None
    target_field: Optional[str] = None
    value: Optional[str] = None
    is_final_result: bool = True
    segment_id: Optional[str] = None
    rank: int = 1
    expression: Optional[Expression] = None
    display_name: Optional[str] = None
    line: Optional[int] = None


@dataclass(frozen=True)
class VerificationField:
    field: str
    column: str
    precision: float = 1e-6
    zero_threshold: float = 1e-16


@dataclass(frozen=True)
class ModelVerification:
    fields: tuple[VerificationField, ...]
    rows: tuple[dict, ...]  # column -> cell text (None when the cell is absent)
    line: Optional[int] = None


@_direct_init
@dataclass(frozen=True)
class ModelCommon:
    """What every model element has, besides its own content."""

    tag: str
    function_name: str
    mining_fields: tuple[MiningField, ...]
    output_fields: tuple[OutputField, ...] = ()
    targets: tuple[Target, ...] = ()
    local_fields: tuple[DerivedField, ...] = ()
    verification: Optional[ModelVerification] = None
    model_name: Optional[str] = None
    algorithm_name: Optional[str] = None
    math_context: str = "double"
    is_scorable: bool = True
    line: Optional[int] = None


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class NumericPredictor:
    field: str
    coefficient: float
    exponent: float = 1.0
    line: Optional[int] = None


@dataclass(frozen=True)
class CategoricalPredictor:
    field: str
    value: str
    coefficient: float
    line: Optional[int] = None


@dataclass(frozen=True)
class PredictorTerm:
    fields: tuple[str, ...]
    coefficient: float
    line: Optional[int] = None


@dataclass(frozen=True)
class RegressionTable:
    intercept: float
    target_category: Optional[str] = None
    numeric: tuple[NumericPredictor, ...] = ()
    categorical: tuple[CategoricalPredictor, ...] = ()
    terms: tuple[PredictorTerm, ...] = ()


@dataclass(frozen=True)
class RegressionModel:
    common: ModelCommon
    tables: tuple[RegressionTable, ...]
    normalization: str = "none"


@_direct_init
@dataclass(frozen=True)
class ScoreDistribution:
    value: str
    record_count: float
    probability: Optional[float] = None
    confidence: Optional[float] = None


@_direct_init
@dataclass(frozen=True)
class TreeNode:
    predicate: Predicate
    children: tuple["TreeNode", ...] = ()
    score: Optional[str] = None
    id: Optional[str] = None
    record_count: Optional[float] = None
    default_child: Optional[str] = None
    distributions: tuple[ScoreDistribution, ...] = ()
    line: Optional[int] = None


_SET_OPERATORS = ("isIn", "isNotIn")


@dataclass(frozen=True)
class NodeColumns:
    """A tree whose every Node holds only a predicate (``True`` at the root, a SimplePredicate
    or SimpleSetPredicate below) and Nodes, with no attributes but ``id``, ``score`` and
    ``defaultChild`` (gradient-boosted forests as converters write them), kept as columns in
    document order (depth first, parents before children) rather than a :class:`TreeNode` per
    node: a large forest reads in two thirds of the time.  :meth:`root` builds the nodes when
    needed.
    """

    ids: tuple[Optional[str], ...]
    scores: tuple[Optional[str], ...]
    default_children: tuple[Optional[str], ...]
    fields: tuple[Optional[str], ...]  # None: the root's True
    operators: tuple[Optional[str], ...]  # isIn / isNotIn: a SimpleSetPredicate
    values: tuple[Union[None, str, tuple[str, ...]], ...]  # a set's values: a tuple
    children: tuple[int, ...]  # how many: the next node, the one after its subtree...
    lines: tuple[Optional[int], ...]
    predicate_lines: tuple[Optional[int], ...]

    def root(self) -> TreeNode:
        stack: list[TreeNode] = []
        for i in range(len(self.ids) - 1, -1, -1):  # children before parents
            field = self.fields[i]
            op, line = self.operators[i], self.predicate_lines[i]
            predicate = TruePredicate(line) if field is None else \
                SimpleSetPredicate(field, op, self.values[i], line) if op in _SET_OPERATORS \
                else SimplePredicate(field, op, self.values[i], line)
            children = tuple(stack.pop() for _ in range(self.children[i]))
            stack.append(TreeNode(predicate, children, self.scores[i], self.ids[i], None,
                                  self.default_children[i], (), self.lines[i]))
        return stack[0]


@_direct_init
@dataclass(frozen=True)
class TreeModel:
    common: ModelCommon
    #: the root Node, or None when the reader kept the nodes as :attr:`columns`
    root: Optional[TreeNode]
    missing_value_strategy: str = "none"
    missing_value_penalty: float = 1.0
    no_true_child_strategy: str = "returnNullPrediction"
    split_characteristic: str = "multiSplit"
    columns: Optional[NodeColumns] = None

    def nodes(self) -> TreeNode:
        """The root Node (built from :attr:`columns` if that is how the tree was read)."""
        return self.root if self.root is not None else self.columns.root()


@_direct_init
@dataclass(frozen=True)
class Segment:
    predicate: Predicate
    model: "Model"
    id: Optional[str] = None
    weight: float = 1.0
    line: Optional[int] = None


@dataclass(frozen=True)
class MiningModel:
    common: ModelCommon
    method: str
    segments: tuple[Segment, ...]
    missing_prediction_treatment: str = "continue"
    missing_threshold: float = 1.0


@dataclass(frozen=True)
class Connection:
    source: str
    weight: float


@dataclass(frozen=True)
class Neuron:
    id: str
    bias: float
    connections: tuple[Connection, ...]
    width: Optional[float] = None
    altitude: Optional[float] = None


@dataclass(frozen=True)
class NeuralLayer:
    neurons: tuple[Neuron, ...]
    activation: Optional[str] = None
    normalization: Optional[str] = None
    threshold: Optional[float] = None
    width: Optional[float] = None
    altitude: Optional[float] = None


@dataclass(frozen=True)
class NeuralInput:
    id: str
    field: DerivedField


@dataclass(frozen=True)
class NeuralOutput:
    neuron: str
    field: DerivedField


@dataclass(frozen=True)
class NeuralNetwork:
    common: ModelCommon
    inputs: tuple[NeuralInput, ...]
    layers: tuple[NeuralLayer, ...]
    outputs: tuple[NeuralOutput, ...]
    activation: str = "logistic"
    normalization: str = "none"
    threshold: float = 0.0
    width: Optional[float] = None
    altitude: float = 1.0


Model = Union[RegressionModel, TreeModel, MiningModel, NeuralNetwork]


@dataclass(frozen=True)
class Document:
    version: str
    header: Header
    data_fields: tuple[DataField, ...]
    derived_fields: tuple[DerivedField, ...]
    functions: tuple[DefineFunction, ...]
    model: Model
    extra_models: int = 0
    namespace: Optional[str] = field(default=None)
