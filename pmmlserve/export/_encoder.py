"""The state of one export: input fields, derived fields, and the document they end up in."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from pmmlserve._version import __version__
from pmmlserve.exceptions import ExportError
from pmmlserve.export._features import Categorical, Continuous, Feature
from pmmlserve.export._writer import (
    PMML_NS,
    data_cell,
    element,
    fmt_double,
    fmt_value,
    local_name,
    value_type,
)

__all__ = ["InputField", "Encoder", "MODEL_TAGS"]

MODEL_TAGS = frozenset({"RegressionModel", "TreeModel", "MiningModel", "NeuralNetwork"})

# (element, attribute) pairs through which markup refers to a field by name.
_REFERENCES = {
    "FieldRef": "field",
    "SimplePredicate": "field",
    "SimpleSetPredicate": "field",
    "NumericPredictor": "name",
    "CategoricalPredictor": "name",
    "NormDiscrete": "field",
    "NormContinuous": "field",
    "FieldColumnPair": "field",
    "Discretize": "field",
}


@dataclass(frozen=True)
class InputField:
    """One column of the input DataFrame, as it will be declared in the DataDictionary.

    ``categories`` is empty for a continuous field.  ``accept_unknown`` lets a value outside
    ``categories`` reach the model (``invalidValueTreatment="asIs"``), for encoders that map
    unknown categories to something instead of raising.
    """

    name: str
    categorical: bool = False
    categories: tuple[Any, ...] = ()
    accept_unknown: bool = False


@dataclass
class Encoder:
    """Collects fields while converters run, then assembles the PMML document.

    Parameters
    ----------
    columns : list of str
        The input DataFrame's column names, in order.
    """

    columns: list[str]
    inputs: dict[str, InputField] = field(default_factory=dict)
    derived: dict[str, Any] = field(default_factory=dict)
    _memo: dict[Any, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    # -- input fields -----------------------------------------------------------------------
    def raw_features(self) -> list[Continuous]:
        """The features of the input DataFrame: one numeric column per input column."""
        return [Continuous(name) for name in self.columns]

    def alias(self, derived: str, source: str) -> None:
        """Record that derived field ``derived`` is input column ``source`` with missing values
        filled, so that an encoder reading it declares ``source`` categorical."""
        source = self.aliases.get(source, source)
        if source in self.columns:
            self.aliases[derived] = source

    def categorical_field(self, feature: Feature, reader: str) -> str:
        """The field a categorical encoder reads; it must be an input column (maybe imputed)."""
        if not isinstance(feature, Continuous) or (
            feature.field not in self.columns and feature.field not in self.aliases
        ):
            raise ExportError(
                f"{reader} must read input columns (optionally through a SimpleImputer); "
                f"it reads {feature!r}"
            )
        return feature.field

    def declare_categorical(self, name: str, categories, *, accept_unknown: bool) -> None:
        """Declare field ``name`` (an input column or an alias of one) categorical, with
        ``categories`` (labels standing for a missing value are left out)."""
        source = self.aliases.get(name, name)
        kept = tuple(c for c in categories if not is_missing_label(c))
        previous = self.inputs.get(source)
        if previous is not None and previous.categorical:
            merged = previous.categories + tuple(c for c in kept if c not in previous.categories)
            self.inputs[source] = replace(
                previous,
                categories=merged,
                accept_unknown=previous.accept_unknown or accept_unknown,
            )
        else:
            self.inputs[source] = InputField(source, True, kept, accept_unknown)
        if name in self.derived:
            self.derived[name].set("optype", "categorical")
            self.derived[name].set("dataType", value_type(self.inputs[source].categories))

    # -- derived fields ---------------------------------------------------------------------
    def derive(self, hint: str, expression, *, data_type: str = "double",
               optype: str = "continuous", key: Any = None) -> str:
        """Add a DerivedField computing ``expression``; return its (unique) name.

        Derived fields with equal ``key`` are created once.
        """
        if key is not None and key in self._memo:
            return self._memo[key]
        name = self._unique(hint)
        self.derived[name] = element(
            "DerivedField",
            {"name": name, "optype": optype, "dataType": data_type},
            expression,
        )
        if key is not None:
            self._memo[key] = name
        return name

    def _unique(self, hint: str) -> str:
        name, n = hint, 1
        while name in self.derived or name in self.columns:
            n += 1
            name = f"{hint}[{n}]"
        return name

    def numeric_field(self, feature: Feature) -> str:
        """The name of a field holding ``feature``'s number (deriving one if needed)."""
        if isinstance(feature, Continuous):
            return feature.field
        hot = feature.indicator_of()
        if hot is not None:
            return self.derive(
                f"{feature.field}={fmt_value(hot)}",
                element("NormDiscrete", {"field": feature.field, "value": fmt_value(hot),
                                         "mapMissingTo": "0"}),
                key=("indicator", feature.field, hot),
            )
        return self.derive(f"lookup({feature.field})", self._map_values(feature), key=feature)

    def _map_values(self, feature: Categorical):
        rows = [
            element("row", None,
                    data_cell("input", fmt_value(c)),
                    data_cell("output", fmt_double(v)))
            for c, v in feature.mapping
        ]
        def number(v):  # an absent attribute yields a missing value: PMML's NaN
            return None if v is None or math.isnan(v) else fmt_double(v)

        return element(
            "MapValues",
            {
                "outputColumn": "data:output",
                "dataType": "double",
                "mapMissingTo": number(feature.missing),
                "defaultValue": number(feature.unknown),
            },
            element("FieldColumnPair", {"field": feature.field, "column": "data:input"}),
            element("InlineTable", None, *rows),
        )

    def float_field(self, feature: Continuous) -> str:
        """The name of a ``dataType="float"`` field holding ``feature`` rounded to float32."""
        if feature.float32:
            return feature.field
        return self.derive(
            f"float({feature.field})",
            element("FieldRef", {"field": feature.field}),
            data_type="float",
            key=("float", feature.field),
        )

    # -- assembly ---------------------------------------------------------------------------
    def document(self, model, *, target=None):
        """The PMML root element around ``model``, with MiningSchemas filled in.

        ``target`` is the target DataField element (None for none).
        """
        used = self._fill_mining_schemas(model, target)
        data_fields = [target] if target is not None else []
        data_fields += [self._data_field(name) for name in self.columns if name in used]
        derived = [el for name, el in self.derived.items() if name in used]
        header = element(
            "Header", None, element("Application", {"name": "pmmlserve", "version": __version__})
        )
        return element(
            "PMML",
            {"version": "4.4"},
            header,
            element("DataDictionary", {"numberOfFields": str(len(data_fields))}, *data_fields),
            element("TransformationDictionary", None, *derived) if derived else None,
            model,
        )

    def _data_field(self, name: str):
        spec = self.inputs.get(name, InputField(name))
        if not spec.categorical:
            return element("DataField", {"name": name, "optype": "continuous",
                                         "dataType": "double"})
        return element(
            "DataField",
            {"name": name, "optype": "categorical", "dataType": value_type(spec.categories)},
            *(element("Value", {"value": fmt_value(c)}) for c in spec.categories),
        )

    def _references(self, root) -> set[str]:
        names = set()
        for el in root.iter():
            tag = local_name(el)
            attr = _REFERENCES.get(tag)
            if attr is not None:
                names.add(el.get(attr))
        return names

    def _closure(self, names: set[str], cache: dict[str, set[str]]) -> set[str]:
        """``names`` plus every field the derived ones among them read, transitively."""
        out = set()
        for name in names:
            if name in cache:
                out |= cache[name]
                continue
            found = {name}
            if name in self.derived:
                found |= self._closure(self._references(self.derived[name]), cache)
            cache[name] = found
            out |= found
        return out

    def _fill_mining_schemas(self, top, target) -> set[str]:
        """Write the MiningSchema of every model element; return all field names used."""
        target_name = target.get("name") if target is not None else None
        cache: dict[str, set[str]] = {}
        used_everywhere: set[str] = set()
        columns = set(self.columns)
        # the model that predicts the target: the top one and the last link of a chain
        predicting = {top}
        for seg in top.iter(f"{{{PMML_NS}}}Segmentation"):
            if seg.get("multipleModelMethod") == "modelChain":
                predicting.add(seg[-1][-1])
        for model in top.iter(*(f"{{{PMML_NS}}}{t}" for t in MODEL_TAGS)):
            used = self._closure(self._references(model), cache)
            used_everywhere |= used
            schema = model.find(f"{{{PMML_NS}}}MiningSchema")
            fields = []
            if target_name is not None and (
                model in predicting or model.get("functionName") == "classification"
            ):
                fields.append(element("MiningField", {"name": target_name, "usageType": "target"}))
            for name in self.columns:
                if name in used:
                    spec = self.inputs.get(name)
                    as_is = model is top and spec is not None and spec.accept_unknown
                    fields.append(element(
                        "MiningField",
                        {"name": name, "invalidValueTreatment": "asIs" if as_is else None},
                    ))
            # a name that is neither an input nor derived, nor an output computed inside this
            # model, is an earlier segment's output
            inner = {o.get("name") for o in model.iter(f"{{{PMML_NS}}}OutputField",
                                                       f"{{{PMML_NS}}}DerivedField")}
            chained = sorted(
                n for n in used if n not in columns and n not in self.derived and n not in inner
            )
            fields += [element("MiningField", {"name": n}) for n in chained]
            schema.extend(fields)
        return used_everywhere


def is_missing_label(value) -> bool:
    """Whether a category label stands for a missing value (None, NaN, pandas.NA)."""
    if value is None:
        return True
    try:
        return bool(value != value)  # only NaN-like values differ from themselves
    except (TypeError, ValueError):  # pandas.NA refuses to be a bool
        return True
