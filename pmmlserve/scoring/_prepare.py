"""Input preparation: raw record values -> field values, as the DataDictionary and the
MiningSchema say (type conversion, validity, outliers, invalid and missing value treatment)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from pmmlserve.exceptions import EvaluationError, InvalidMarkupError, UnsupportedMarkupError
from pmmlserve.pmml import _document as d
from pmmlserve.scoring._codegen import Codegen
from pmmlserve.scoring._transforms import interval_test
from pmmlserve.scoring._scope import BatchContext, FieldInfo, Node
from pmmlserve.scoring._values import (
    check_supported,
    is_missing_scalar,
    isin,
    is_numeric,
    missing_mask,
    parse_constant,
    refuse_nan,
    scalar_converter,
    to_column,
)

__all__ = ["FieldRules", "field_rules", "InputNode", "TreatedNode", "INVALID_TREATMENTS",
           "OUTLIER_TREATMENTS"]

INVALID_TREATMENTS = ("returnInvalid", "asIs", "asMissing", "asValue")
OUTLIER_TREATMENTS = ("asIs", "asMissingValues", "asExtremeValues")


@dataclass(frozen=True)
class FieldRules:
    """Everything that decides how one raw value becomes a field value."""

    name: str
    data_type: str
    optype: str
    valid: Optional[frozenset]          # declared valid values (None: any value is valid)
    order: tuple                        # the valid values in document order
    invalid: frozenset                  # declared invalid values
    missing: frozenset                  # declared missing values
    intervals: tuple                    # interval tests (batch, scalar) for continuous fields
    invalid_treatment: str = "returnInvalid"
    invalid_replacement: Any = None
    missing_replacement: Any = None
    outliers: str = "asIs"
    low: Optional[float] = None
    high: Optional[float] = None
    missing_is_error: bool = False      # missingValueTreatment="returnInvalid"

    @property
    def trivial(self) -> bool:
        """No rule can change a value of the right type (the common case for plain columns)."""
        return (self.valid is None and not self.invalid and not self.missing
                and not self.intervals and self.missing_replacement is None
                and self.outliers == "asIs" and not self.missing_is_error)


def _replacement(text: Optional[str], data_type: str, m: d.MiningField, what: str) -> Any:
    if text is None:
        return None
    try:
        value = parse_constant(text, data_type)
    except ValueError:
        raise InvalidMarkupError(f"{what}={text!r} is not a {data_type} value",
                                 element="MiningField", line=m.line) from None
    return refuse_nan(value, element="MiningField", line=m.line, what=what)


def field_rules(data_field: d.DataField, mining: Optional[d.MiningField]) -> FieldRules:
    """Combine a DataField and its MiningField into the rules applied to raw values."""
    check_supported(data_field.data_type, element="DataField", line=data_field.line)
    dt = data_field.data_type
    groups: dict[str, set] = {"valid": set(), "invalid": set(), "missing": set()}
    for v in data_field.values:
        if v.property not in groups:
            raise InvalidMarkupError(f"Value property {v.property!r} is unknown",
                                     element="DataField", line=data_field.line)
        try:
            groups[v.property].add(parse_constant(v.value, dt))
        except ValueError:
            if v.property == "valid":
                raise InvalidMarkupError(f"Value {v.value!r} is not a {dt}", element="DataField",
                                         line=data_field.line) from None
            groups[v.property].add(v.value)
    optype = (mining.optype if mining and mining.optype else data_field.optype)
    valid = frozenset(groups["valid"]) if groups["valid"] and optype != "continuous" else None
    if groups["valid"] and optype == "continuous":
        valid = frozenset(groups["valid"])
    m = mining or d.MiningField(data_field.name)
    treatment = m.invalid_value_treatment
    if treatment not in INVALID_TREATMENTS:
        raise UnsupportedMarkupError(f"invalidValueTreatment={treatment!r} is not supported",
                                     element="MiningField", line=m.line)
    if m.outliers not in OUTLIER_TREATMENTS:
        raise UnsupportedMarkupError(f"outliers={m.outliers!r} is not supported",
                                     element="MiningField", line=m.line)
    if treatment == "asValue" and m.invalid_value_replacement is None:
        raise InvalidMarkupError("invalidValueTreatment='asValue' needs invalidValueReplacement",
                                 element="MiningField", line=m.line)
    return FieldRules(
        name=data_field.name,
        data_type=dt,
        optype=optype,
        valid=valid,
        order=tuple(dict.fromkeys(parse_constant(v.value, dt) for v in data_field.values
                                  if v.property == "valid")),
        invalid=frozenset(groups["invalid"]),
        missing=frozenset(groups["missing"]),
        intervals=tuple(interval_test(i) for i in data_field.intervals) if is_numeric(dt) else (),
        invalid_treatment=treatment,
        invalid_replacement=_replacement(m.invalid_value_replacement, dt, m,
                                         "invalidValueReplacement"),
        missing_replacement=_replacement(m.missing_value_replacement, dt, m,
                                         "missingValueReplacement"),
        outliers=m.outliers if is_numeric(dt) and optype == "continuous" else "asIs",
        low=m.low_value,
        high=m.high_value,
        missing_is_error=m.missing_value_treatment == "returnInvalid",
    )


def _info(rules: FieldRules) -> FieldInfo:
    nullable = rules.missing_replacement is None
    # The domain is closed (every value is a declared valid one) unless invalid values pass as-is.
    closed = rules.valid is not None and rules.invalid_treatment != "asIs"
    # A NaN read is a missing value and a NaN replacement is refused at load, so a number
    # could come out NaN only from an outlier bound written as NaN; a string is a str or
    # missing.
    never_nan = rules.data_type == "string" or is_numeric(rules.data_type) and not any(
        type(x) is float and x != x for x in (rules.low, rules.high))
    return FieldInfo(rules.data_type, rules.optype, nullable,
                     tuple(sorted(rules.valid, key=str)) if closed else None,
                     rules.order if rules.optype == "ordinal" and rules.order else None,
                     never_nan)


# --------------------------------------------------------------------------- batch


def _treat_batch(col: np.ndarray, bad: np.ndarray, rules: FieldRules) -> np.ndarray:
    """Apply validity, outlier, invalid and missing value rules to a converted column."""
    missing = missing_mask(col) & ~bad  # an unconvertible value is invalid, not missing
    if rules.missing:
        missing = missing | isin(col, rules.missing)
    invalid = bad.copy()
    present = ~missing
    if rules.invalid:
        invalid |= present & isin(col, rules.invalid)
    if rules.valid is not None:
        invalid |= present & ~isin(col, rules.valid)
    if rules.intervals:
        inside = np.zeros(len(col), dtype=bool)
        with np.errstate(invalid="ignore"):
            for test, _ in rules.intervals:
                inside |= test(col)
        invalid |= present & ~inside
    col = col.copy() if (invalid.any() or missing.any() or rules.outliers != "asIs") else col
    if invalid.any():
        t = rules.invalid_treatment
        if t == "returnInvalid":
            row = int(np.flatnonzero(invalid)[0])
            raise EvaluationError("invalid value", field=rules.name,
                                  value=_show(col[row]) if not bad[row] else "unconvertible",
                                  row=row)
        if t == "asMissing":
            missing = missing | invalid
        elif t == "asValue":
            col[invalid] = rules.invalid_replacement
    if rules.outliers != "asIs":
        with np.errstate(invalid="ignore"):
            low = ~missing & ~invalid & (col < rules.low) if rules.low is not None else None
            high = ~missing & ~invalid & (col > rules.high) if rules.high is not None else None
        if rules.outliers == "asMissingValues":
            for m in (low, high):
                if m is not None:
                    missing = missing | m
        else:
            if low is not None:
                col[low] = rules.low
            if high is not None:
                col[high] = rules.high
    if missing.any() and rules.missing_is_error:
        row = int(np.flatnonzero(missing)[0])
        raise EvaluationError("missing value (missingValueTreatment is returnInvalid)",
                              field=rules.name, row=row)
    if missing.any():
        col[missing] = rules.missing_replacement if rules.missing_replacement is not None else (
            np.nan if col.dtype != object else None)
    return col


def _show(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


class InputNode(Node):
    """A DataField's value taken from the caller's data, converted and treated."""

    def __init__(self, rules: FieldRules):
        self.rules = rules
        self.info = _info(rules)
        self._convert = scalar_converter(rules.data_type)

    def batch(self, ctx: BatchContext) -> np.ndarray:
        raw = ctx.raw(self.rules.name)
        if raw is None:
            raw = np.full(ctx.n, None, dtype=object)
        col, bad = to_column(raw, ctx.n, self.rules.data_type)
        return _treat_batch(col, bad, self.rules)

    # ---------------------------------------------------------------- single record
    def prepare(self, raw: Any) -> Any:
        """Scalar preparation (the general, slower route used by generated code when needed)."""
        r = self.rules
        if is_missing_scalar(raw):
            return self._missing()
        try:
            x = self._convert(raw)
        except (TypeError, ValueError):
            return self._invalid(raw, unconvertible=True)
        if x is None or (type(x) is float and x != x) or x in r.missing:
            return self._missing()
        if (r.invalid and x in r.invalid) or (r.valid is not None and x not in r.valid) or \
                (r.intervals and not any(test(x) for _, test in r.intervals)):
            return self._invalid(x)
        if r.outliers != "asIs":
            if r.low is not None and x < r.low:
                return self._missing() if r.outliers == "asMissingValues" else r.low
            if r.high is not None and x > r.high:
                return self._missing() if r.outliers == "asMissingValues" else r.high
        return x

    def _missing(self) -> Any:
        if self.rules.missing_is_error:
            raise EvaluationError("missing value (missingValueTreatment is returnInvalid)",
                                  field=self.rules.name)
        return self.rules.missing_replacement

    def _invalid(self, x: Any, unconvertible: bool = False) -> Any:
        r = self.rules
        t = r.invalid_treatment
        if t == "returnInvalid":
            raise EvaluationError("invalid value" + (" (not a " + r.data_type + ")" if unconvertible else ""),
                                  field=r.name, value=x)
        if t == "asMissing":
            return self._missing()
        if t == "asValue":
            return r.invalid_replacement
        if unconvertible:  # asIs, but the value is not even of the field's type
            return None
        return x

    def emit(self, gen: Codegen) -> str:
        r = self.rules
        raw = gen.var("raw")
        gen.line(f"{raw} = rec.get({gen.const(r.name)})")
        plain_number = (r.data_type == "double" and r.valid is None and not r.invalid
                        and not r.missing and not r.intervals and r.outliers == "asIs"
                        and not r.missing_is_error)
        if plain_number:
            # the hot case: a numeric column, at most with a missing value replacement
            v = gen.var("x")
            replacement = "None" if r.missing_replacement is None \
                else gen.const(r.missing_replacement)
            with gen.block(f"if {raw} is None or {raw} != {raw}"):
                gen.line(f"{v} = {replacement}")
            with gen.block(f"elif type({raw}) is float"):
                gen.line(f"{v} = {raw}")
            with gen.block("else"):
                gen.line(f"{v} = {gen.const(self.prepare, 'prep')}({raw})")
            return v
        if r.trivial and r.data_type == "string":
            v = gen.var("x")
            with gen.block(f"if type({raw}) is str"):
                gen.line(f"{v} = {raw}")
            with gen.block("else"):
                gen.line(f"{v} = {gen.const(self.prepare, 'prep')}({raw})")
            return v
        if r.data_type == "string" and r.valid is not None and not r.missing and not r.invalid:
            v = gen.var("x")
            with gen.block(f"if type({raw}) is str and {raw} in {gen.const(r.valid, 'valid')}"):
                gen.line(f"{v} = {raw}")
            with gen.block("else"):
                gen.line(f"{v} = {gen.const(self.prepare, 'prep')}({raw})")
            return v
        return f"{gen.const(self.prepare, 'prep')}({raw})"


class TreatedNode(Node):
    """A nested model's own MiningSchema treatment of a field it receives from its parent."""

    def __init__(self, inner: Node, rules: FieldRules):
        self.inner = inner
        self.rules = rules
        self.info = _info(rules)
        self._input = InputNode(rules)

    def batch(self, ctx: BatchContext) -> np.ndarray:
        col = self.inner.batch(ctx)
        return _treat_batch(col, np.zeros(len(col), dtype=bool), self.rules)

    def emit(self, gen: Codegen) -> str:
        v = gen.assign(self.inner.emit(gen))
        return f"{gen.const(self._input.prepare, 'prep')}({v})"
