"""One published version of a model, as its ``manifest.json`` describes it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

from pmmlserve.exceptions import StoreError
from pmmlserve.scoring import Field, Interval

__all__ = ["Version", "MANIFEST_FORMAT", "fields_to_json"]

# Bumped only if the manifest changes incompatibly; readers refuse a newer format.
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class Version:
    """A published, immutable version of a model in a :class:`~pmmlserve.ModelStore`.

    Everything here is read from the version's ``manifest.json``, a file a person can read.

    Attributes
    ----------
    name : str
        The model name.
    id : int
        The version id: increasing integers, never reused.
    sha256 : str
        Hex digest of ``model.pmml``; checked on every load.
    size : int
        Size of ``model.pmml`` in bytes.
    created_at : datetime
        When it was published (UTC).
    pmmlserve_version : str
        The pmmlserve that published it.
    producer : mapping
        ``application`` and ``version`` from the PMML ``Header`` (empty when absent).
    model_type : str or None
        The PMML model element, e.g. ``"TreeModel"``.
    input_fields, target_fields, output_fields : tuple of Field
        The model's schema, as the published document declared it.
    metadata : mapping
        What the publisher attached: metrics, training data range...
    replaced : int or None
        The version the ``current`` alias pointed to when this one was activated by publish.
    location : str
        The version's directory (path or URL).

    Examples
    --------
    >>> v = store.publish("ctr", "model.pmml", metadata={"auc": 0.71})   # doctest: +SKIP
    >>> v.id, v.metadata["auc"], [f.name for f in v.input_fields]        # doctest: +SKIP
    (3, 0.71, ['age', 'city'])
    """

    name: str
    id: int
    sha256: str
    size: int
    created_at: datetime
    pmmlserve_version: str
    producer: Mapping[str, str] = field(default_factory=dict, compare=False)
    model_type: str | None = None
    input_fields: tuple[Field, ...] = ()
    target_fields: tuple[Field, ...] = ()
    output_fields: tuple[Field, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False)
    replaced: int | None = None
    location: str = field(default="", compare=False)

    def to_manifest(self) -> dict[str, Any]:
        """Return the JSON-ready manifest of this version.

        Examples
        --------
        >>> store.current("ctr").to_manifest()["sha256"]                    # doctest: +SKIP
        '9f86d08...'
        """
        return {
            "format": MANIFEST_FORMAT,
            "name": self.name,
            "version": self.id,
            "sha256": self.sha256,
            "size": self.size,
            "created_at": self.created_at.astimezone(timezone.utc)
            .isoformat()
            .replace("+00:00", "Z"),
            "pmmlserve_version": self.pmmlserve_version,
            "producer": dict(self.producer),
            "model_type": self.model_type,
            "schema": {
                "inputs": fields_to_json(self.input_fields),
                "targets": fields_to_json(self.target_fields),
                "outputs": fields_to_json(self.output_fields),
            },
            "metadata": dict(self.metadata),
            "replaced": self.replaced,
        }

    @classmethod
    def from_manifest(cls, raw: bytes, location: str) -> Version:
        """Parse a ``manifest.json``; a damaged one raises :class:`StoreError` naming it.

        Examples
        --------
        >>> raw = Path("/srv/models/ctr/versions/3/manifest.json").read_bytes()  # doctest: +SKIP
        >>> Version.from_manifest(raw, "/srv/models/ctr/versions/3").id          # doctest: +SKIP
        3
        """
        try:
            doc = json.loads(raw)
            if doc.get("format", 1) > MANIFEST_FORMAT:
                raise StoreError(
                    f"{location}: manifest format {doc['format']} is newer than this pmmlserve "
                    f"understands ({MANIFEST_FORMAT}); upgrade pmmlserve"
                )
            schema = doc.get("schema", {})
            return cls(
                name=doc["name"],
                id=int(doc["version"]),
                sha256=doc["sha256"],
                size=int(doc["size"]),
                created_at=datetime.fromisoformat(doc["created_at"].replace("Z", "+00:00")),
                pmmlserve_version=doc.get("pmmlserve_version", ""),
                producer=MappingProxyType(dict(doc.get("producer") or {})),
                model_type=doc.get("model_type"),
                input_fields=_fields_from_json(schema.get("inputs", [])),
                target_fields=_fields_from_json(schema.get("targets", [])),
                output_fields=_fields_from_json(schema.get("outputs", [])),
                metadata=MappingProxyType(dict(doc.get("metadata") or {})),
                replaced=doc.get("replaced"),
                location=location,
            )
        except StoreError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreError(f"{location}: damaged manifest.json ({exc})") from exc


def fields_to_json(fields: tuple[Field, ...]) -> list[dict[str, Any]]:
    """Describe fields in plain JSON (the manifest's ``schema`` entries)."""
    out = []
    for f in fields:
        entry: dict[str, Any] = {"name": f.name, "data_type": f.data_type, "op_type": f.op_type}
        if f.values:
            entry["values"] = [_plain(v) for v in f.values]
        if f.intervals:
            entry["intervals"] = [
                {"closure": i.closure, "left": i.left, "right": i.right} for i in f.intervals
            ]
        if f.feature is not None:
            entry["feature"] = f.feature
        out.append(entry)
    return out


def _fields_from_json(entries: list[dict[str, Any]]) -> tuple[Field, ...]:
    return tuple(
        Field(
            name=e["name"],
            data_type=e["data_type"],
            op_type=e["op_type"],
            values=tuple(e.get("values", ())),
            intervals=tuple(Interval(**i) for i in e.get("intervals", ())),
            feature=e.get("feature"),
        )
        for e in entries
    )


def _plain(value: Any) -> Any:
    """A JSON-ready Python scalar (numpy scalars carry ``item()``)."""
    return value.item() if hasattr(value, "item") else value
