"""The public model object and :func:`load`: parse → typed document → compile → kernels."""

from __future__ import annotations

import gc
import math
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any, Callable, Optional, Sequence

import numpy as np
import pandas as pd

from pmmlserve.exceptions import EvaluationError, InvalidMarkupError, UnsupportedMarkupError
from pmmlserve.pmml import _document as d
from pmmlserve.pmml._reader import read_document
from pmmlserve.pmml._xml import Source, parse_xml, read_source
from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._expressions import compile_derived_field
from pmmlserve.scoring._fields import Field, Interval
from pmmlserve.scoring._mining import MiningKernel
from pmmlserve.scoring._neural import NeuralKernel
from pmmlserve.scoring._prepare import InputNode, field_rules
from pmmlserve.scoring._regression import RegressionKernel
from pmmlserve.scoring._scope import BatchContext, NamedField, Scope
from pmmlserve.scoring._tree import TreeKernel
from pmmlserve.scoring._treewalk import WALKING_STRATEGIES, WalkingTreeKernel
from pmmlserve.scoring._unit import Unit, compile_unit

__all__ = ["Model", "load"]


class _Compiler:
    """Compiles one document; keeps what nested models need (the DataDictionary)."""

    def __init__(self, document: d.Document):
        self.document = document
        self.data_fields = {f.name: f for f in document.data_fields}

    def kernel(self, model: d.Model, scope: Scope, labels, target: Optional[str] = None):
        if model.common.is_scorable is False:
            raise UnsupportedMarkupError("the model is marked isScorable=\"false\"",
                                         element=model.common.tag, line=model.common.line)
        if isinstance(model, d.RegressionModel):
            return RegressionKernel(model, scope, labels)
        if isinstance(model, d.TreeModel):
            if model.missing_value_strategy in WALKING_STRATEGIES:
                return WalkingTreeKernel(model, scope, labels)
            return TreeKernel(model, scope, labels)
        if isinstance(model, d.MiningModel):
            return MiningKernel(model, scope, labels,
                                lambda m, s: compile_unit(m, s, self.data_fields, True, self.kernel,
                                                          target))
        if isinstance(model, d.NeuralNetwork):
            return NeuralKernel(model, scope, labels)
        raise UnsupportedMarkupError(f"{type(model).__name__} is not supported")  # pragma: no cover

    def compile(self) -> tuple[Unit, list[InputNode]]:
        doc = self.document
        top = doc.model.common
        mining = {mf.name: mf for mf in top.mining_fields}
        functions = {f.name: f for f in doc.functions}
        root = Scope(None, functions=functions)
        inputs = []
        for mf in top.mining_fields:
            if mf.usage_type == "target" or mf.usage_type == "predicted":
                continue
            df = self.data_fields.get(mf.name)
            if df is None:
                if any(f.name == mf.name for f in doc.derived_fields):
                    continue  # a MiningField may name a global derived field
                raise InvalidMarkupError(f"MiningField {mf.name!r} is not in the DataDictionary",
                                         element="MiningField", line=mf.line)
            node = InputNode(field_rules(df, mining.get(mf.name)))
            root.define(NamedField(mf.name, node.info, node))
            if mf.usage_type in ("active", "supplementary"):
                inputs.append(node)
        for df in doc.derived_fields:
            root.define_lazy(df.name, lambda df=df: compile_derived_field(df, root))
        unit = compile_unit(doc.model, root, self.data_fields, False, self.kernel)
        return unit, inputs


def _field_of(df: Optional[d.DataField], name: str, data_type: str, op_type: str,
              feature: Optional[str] = None) -> Field:
    if df is None:
        return Field(name, data_type, op_type, feature=feature)
    return Field(
        name, df.data_type, df.optype,
        values=tuple(v.value for v in df.values if v.property == "valid"),
        intervals=tuple(Interval(i.closure, i.left, i.right) for i in df.intervals),
        feature=feature,
    )


def _exposed_outputs(unit: Unit) -> list:
    # The top model's own outputs, final or not (JPMML's evaluateAll returns them all), then
    # the final outputs of the segment whose result a modelChain/selectFirst returns.
    out = list(unit.outputs)
    kernel = unit.kernel
    names = {of.name for of, _ in out}
    for of, nf in getattr(kernel, "exposed", []):
        if of.name not in names:
            out.append((of, nf))
    return out


class Model:
    """A compiled, immutable PMML model; safe to share between threads and forked processes.

    Create one with :func:`pmmlserve.load`.  ``predict`` scores a batch with numpy kernels;
    ``predict_one`` scores one record through code generated at load time.

    Attributes
    ----------
    input_fields, target_fields, output_fields : tuple of Field
    header : dict
        ``application``, ``version``, ``description``, ``timestamp`` from the PMML Header.
    model_type : str
        The model element, e.g. ``"TreeModel"`` or ``"MiningModel"``.
    function_name : str
        ``"regression"`` or ``"classification"``.
    """

    __slots__ = ("_verification", "_unit", "_inputs", "_columns", "_score_one", "_finalizers",
                 "input_fields", "target_fields", "output_fields", "header", "model_type",
                 "function_name", "_frozen")

    def __init__(self, document: d.Document):
        compiler = _Compiler(document)
        unit, inputs = compiler.compile()
        # only what verify() needs: the document's trees are released once compiled
        self._verification = document.model.common.verification
        self._unit = unit
        self._inputs = tuple(inputs)
        fields = compiler.data_fields
        self.input_fields = tuple(_field_of(fields.get(n.rules.name), n.rules.name,
                                            n.rules.data_type, n.rules.optype) for n in inputs)
        target = unit.target
        self.target_fields = (
            (_field_of(fields.get(target), target, "double", "continuous"),) if target else ())
        exposed = _exposed_outputs(unit)
        self.output_fields = tuple(
            Field(of.name, nf.info.data_type, nf.info.optype, feature=of.feature)
            for of, nf in exposed)
        self._columns = ([target] if target else []) + [of.name for of, _ in exposed]
        self._finalizers = self._make_finalizers(exposed)
        self.header = {
            "application": document.header.application_name,
            "version": document.header.application_version,
            "description": document.header.description,
            "timestamp": document.header.timestamp,
        }
        self.model_type = document.model.common.tag
        self.function_name = document.model.common.function_name
        self._score_one = self._generate(exposed)
        self._frozen = True

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_frozen", False):
            raise AttributeError("a loaded Model is immutable")
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return (f"<pmmlserve.Model {self.model_type} {self.function_name}: "
                f"{len(self.input_fields)} inputs -> {', '.join(self._columns)}>")

    # ------------------------------------------------------------------ code generation
    def _target_converter(self) -> Callable[[Any], Any]:
        t = self.target_fields[0].data_type if self.target_fields else None
        if t == "integer":
            if self.function_name == "classification":  # a category the document declares
                return lambda v: None if v is None else int(v)
            target = self._unit.target
            return lambda v: None if v is None else _integer(v, target)
        if t == "boolean":
            return lambda v: None if v is None else bool(v)
        return lambda v: v

    def _make_finalizers(self, exposed) -> list:
        return [(of.name, nf.info.data_type) for of, nf in exposed]

    def _generate(self, exposed) -> Callable[[Mapping], dict]:
        gen = Codegen()
        result, outputs = self._unit.emit(gen)
        items = []
        if self._unit.target:
            conv = gen.const(self._target_converter(), "tconv")
            items.append(f"{gen.const(self._unit.target)}: {conv}({result.value})")
        for of, nf in exposed:
            var = outputs.get(of.name) or gen.lookup(nf)
            if var is None:
                var = nf.emit(gen)
            if nf.info.data_type == "integer":
                var = f"(None if {var} is None else " \
                      f"{gen.const(_integer, 'int')}({var}, {gen.const(of.name)}))"
            elif nf.info.data_type == "boolean":
                var = f"(None if {var} is None else bool({var}))"
            items.append(f"{gen.const(of.name)}: {var}")
        gen.line("return {" + ", ".join(items) + "}")
        return gen.compile("score_one", "rec")

    # ------------------------------------------------------------------ scoring
    def predict_one(self, record: Mapping[str, Any]) -> dict:
        """Score one record (the fast path).

        Parameters
        ----------
        record : mapping
            Field name -> value; ``None`` or NaN means missing.

        Returns
        -------
        dict
            The same keys as :meth:`predict`'s columns.

        Raises
        ------
        EvaluationError
            When the record cannot be scored (names the field and the value).

        Examples
        --------
        >>> model.predict_one({"age": 31, "city": "Lyon"})  # doctest: +SKIP
        {'y': 1, 'probability(0)': 0.27, 'probability(1)': 0.73}
        """
        if not isinstance(record, Mapping):
            raise TypeError(f"predict_one takes a mapping, not {type(record).__name__}")
        try:
            return self._score_one(record)
        except EvaluationError:
            raise
        except (TypeError, ValueError, ArithmeticError) as exc:  # a value of a wrong kind
            raise EvaluationError(f"cannot score the record: {exc}") from exc

    def predict(self, data: Any) -> pd.DataFrame:
        """Score a batch of records.

        Parameters
        ----------
        data : DataFrame, mapping of column -> array-like, or list of dicts
            ``None``/NaN means missing.

        Returns
        -------
        DataFrame
            One row per input record, in input order; columns are the target field(s) and the
            output fields, named as JPMML's ``evaluateAll`` names them.

        Raises
        ------
        EvaluationError
            For the first record that cannot be scored (``row`` says which).

        Examples
        --------
        >>> model.predict(df).head()  # doctest: +SKIP
        """
        frame, n, index = _columns_of(data)
        ctx = BatchContext(n, frame)
        result, outputs = self._unit.batch(ctx)
        columns: dict[str, Any] = {}
        if self._unit.target:
            columns[self._unit.target] = self._target_column(result.value)
        for of, nf in _exposed_outputs(self._unit):
            col = outputs.get(of.name)
            if col is None:
                col = nf.batch(ctx)
            columns[of.name] = _finish_column(col, nf.info.data_type, of.name)
        return pd.DataFrame(columns, index=index)

    def _target_column(self, value: np.ndarray) -> Any:
        t = self.target_fields[0].data_type if self.target_fields else None
        if self.function_name == "regression" or value.dtype != object:
            return _finish_column(np.asarray(value, dtype=np.float64) if value.dtype != object
                                  else value, t or "double", self._unit.target)
        if t == "integer":  # declared categories: no value beyond the integers
            if all(v is not None for v in value.tolist()):
                return value.astype(np.float64).astype(np.int64)
            return pd.array([None if v is None else int(v) for v in value.tolist()],
                            dtype="Int64")
        return value

    def verify(self) -> None:
        """Replay the document's ModelVerification rows through both scoring paths.

        Raises
        ------
        VerificationError
            Listing each mismatching row and field.

        Examples
        --------
        >>> model.verify()  # doctest: +SKIP
        """
        from pmmlserve.scoring._verify import verify_model

        verify_model(self, self._verification)

    @property
    def has_verification(self) -> bool:
        """Whether the document carries ModelVerification rows."""
        v = self._verification
        return v is not None and bool(v.rows)


_INT64_LIMIT = 2.0 ** 63


def _integer(value: float, field: str) -> int:
    """An integer field's value (one record): an infinite value, or one beyond 64 bits (which
    a batch column cannot hold either), is no integer."""
    if not -_INT64_LIMIT <= value < _INT64_LIMIT:
        raise EvaluationError(f"{value!r} is not an integer value", field=field, value=value)
    return int(value)


def _finish_column(col: np.ndarray, data_type: str, field: str) -> Any:
    if data_type == "boolean" and col.dtype != object:
        if not np.isnan(col).any():
            return col != 0
        return np.array([None if math.isnan(v) else v != 0 for v in col.tolist()], dtype=object)
    if data_type == "integer" and col.dtype != object:
        missing = np.isnan(col)
        beyond = ~missing & ~((col >= -_INT64_LIMIT) & (col < _INT64_LIMIT))
        if beyond.any():  # NumPy would turn it into -2**63 without a word
            row = int(np.flatnonzero(beyond)[0])
            value = float(col[row])
            raise EvaluationError(f"{value!r} is not an integer value", field=field,
                                  value=value, row=row)
        if not missing.any():
            return col.astype(np.int64)
        return pd.array([None if m else int(v) for v, m in zip(col.tolist(), missing.tolist())],
                        dtype="Int64")
    return col


def _columns_of(data: Any) -> tuple[Any, int, Optional[pd.Index]]:
    if isinstance(data, pd.DataFrame):
        return data, len(data), data.index
    if isinstance(data, Mapping):
        n = None
        for v in data.values():
            arr = np.asarray(v) if not isinstance(v, pd.Series) else v
            n = len(arr)
            break
        if n is None:
            raise ValueError("cannot score an empty mapping of columns")
        return data, n, None
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        if not all(isinstance(r, Mapping) for r in data):
            raise TypeError("predict takes a DataFrame, a mapping of columns or a list of dicts")
        return pd.DataFrame.from_records(list(data)), len(data), None
    raise TypeError(f"predict takes a DataFrame, a mapping of columns or a list of dicts, "
                    f"not {type(data).__name__}")


@contextmanager
def _collector_paused():
    """Hold CPython's cyclic garbage collector while a document compiles.

    Compiling allocates hundreds of thousands of small objects that nearly all survive, so the
    collector's young generations keep filling and each full pass traces the whole heap: in a
    service holding pandas, scikit-learn and a few models, that was a quarter of a large
    forest's load time.  Reference counting still frees everything short-lived; the collector
    resumes (if it was running) when the model is built, even on error.  The switch is
    process-wide: loads in other threads at the same time leave it as the first one found it,
    but a ``gc.disable()`` made elsewhere while a load runs is undone when that load ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load(source: Source, *, verify: bool = True) -> Model:
    """Load and compile a PMML document.

    Parameters
    ----------
    source : path, bytes, str or binary file object
        A path to a document, its bytes, its XML text, or an open binary file.
    verify : bool, default True
        Replay the document's ModelVerification rows, if it has any.

    Returns
    -------
    Model
        An immutable, thread-safe compiled model.

    Raises
    ------
    MarkupError
        For a malformed, hostile, invalid or unsupported document (names the element and line);
        :class:`~pmmlserve.VerificationError` when verification rows do not reproduce.

    Examples
    --------
    >>> import pmmlserve
    >>> model = pmmlserve.load("model.pmml")  # doctest: +SKIP
    >>> model.predict_one({"x": 1.0})  # doctest: +SKIP
    """
    data = read_source(source)
    with _collector_paused():
        # The XML tree stays alive until the model is built: freeing its ~10^5 small blocks in
        # the middle made glibc's malloc consolidate them all at the compiler's next large
        # allocation (about 10 ms for a 1 MB forest); freed at the end, the next parse reuses
        # them.  The typed document is freed here, before the collector resumes, not traced.
        root = parse_xml(data)
        model = Model(read_document(root))
    if verify and model.has_verification:
        model.verify()
    return model
