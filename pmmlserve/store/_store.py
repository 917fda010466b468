"""A versioned model store: training jobs publish, serving processes load.

Layout, plain files a person can read (``<root>`` is a path or an fsspec URL)::

    <root>/<name>/versions/<id>/model.pmml      the document, byte for byte as published
    <root>/<name>/versions/<id>/manifest.json   sha256, size, schema, metadata... (see Version)
    <root>/<name>/aliases/<alias>               {"version": 7, "history": [6, 5], ...}
    <root>/<name>/ids/<id>                      one per id ever claimed: who claimed it, when
    <root>/<name>/.tmp/                         staging and trash; ignored, emptied by gc

A version exists when its ``manifest.json`` does; see ``_backends`` for what is atomic where.

Publishing, in order (a publisher killed between any two steps leaves a consistent store):

1. load the document with pmmlserve and replay its ModelVerification: a bad document never
   enters the store;
2. claim the next id by creating ``ids/<id>`` exclusively (``O_EXCL``; retry with the next id
   when another publisher won), so ids are never duplicated, reused or lost;
3. write ``model.pmml`` and ``manifest.json`` (staged and renamed into place where the backend
   can rename, manifest last where it cannot), fsyncing files and directories;
4. when activating, switch ``aliases/current`` with one atomic replace.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pmmlserve._version import __version__
from pmmlserve.exceptions import MarkupError, StoreError, VersionNotFoundError
from pmmlserve.pmml._xml import Source as PMMLSource
from pmmlserve.pmml._xml import read_source
from pmmlserve.store import _backends
from pmmlserve.store._backends import DOCUMENT, MANIFEST, abandoned, open_backend, temp_tag
from pmmlserve.store._version import Version

if TYPE_CHECKING:  # pragma: no cover
    from pmmlserve.scoring import Model

__all__ = ["ModelStore"]

logger = logging.getLogger("pmmlserve.store")

VersionRef = int | str | Version

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
_HISTORY = 20  # alias history kept for rollback


def _load_model(data: bytes, verify: bool = True) -> Model:
    """Compile a document: the single place the store calls the scorer."""
    import pmmlserve

    return pmmlserve.load(data, verify=verify)


class ModelStore:
    """Versioned, verified PMML models in a directory or an object store.

    Parameters
    ----------
    root : str or path-like
        A local or NFS directory, or an fsspec URL (``memory://models``, ``s3://bucket/models``;
        needs ``pip install 'pmmlserve[fsspec]'`` and the protocol's own package).
    storage_options : dict, optional
        Passed to fsspec for URLs (credentials, endpoint...).

    Notes
    -----
    Every method may be called from several threads, processes and hosts at once.  On a
    directory, alias changes are serialised with a ``lockf`` lock (NFS forwards it); on an
    object store they are not, and the last writer wins (each write is still whole).

    Examples
    --------
    >>> store = pmmlserve.ModelStore("/srv/models")                          # doctest: +SKIP
    >>> v = store.publish("ctr", "model.pmml", metadata={"auc": 0.71})        # doctest: +SKIP
    >>> store.load("ctr").predict_one({"age": 31, "city": "Lyon"})          # doctest: +SKIP
    {'probability(1)': 0.27, ...}
    >>> store.rollback("ctr")                                                # doctest: +SKIP
    Version(name='ctr', id=2, ...)
    """

    def __init__(
        self, root: str | os.PathLike[str], *, storage_options: dict[str, Any] | None = None
    ):
        self._backend = open_backend(root, storage_options)

    @property
    def root(self) -> str:
        """The store's location, as a path or URL.

        Examples
        --------
        >>> ModelStore("memory://models").root                                   # doctest: +SKIP
        'memory:///models'
        """
        return self._backend.url()

    def __repr__(self) -> str:
        return f"ModelStore({self.root!r})"

    # ------------------------------------------------------------------ reading

    def names(self) -> list[str]:
        """Return the names of the models in the store, sorted.

        Examples
        --------
        >>> store.names()                                                    # doctest: +SKIP
        ['ctr', 'ranker']
        """
        return sorted(n for n in self._backend.list("") if _NAME.match(n))

    def versions(self, name: str) -> list[Version]:
        """Return every complete version of ``name``, oldest first (empty if there is none).

        Examples
        --------
        >>> [v.id for v in store.versions("ctr")]                            # doctest: +SKIP
        [1, 2, 3]
        """
        _check_name(name, "model name")
        found = []
        for vid in self._version_dirs(name):
            try:
                found.append(self._read_manifest(name, vid))
            except VersionNotFoundError:
                continue  # removed by gc, or not yet committed, while we listed
        return found

    def version(
        self, name: str, version: VersionRef | None = None, *, alias: str = "current"
    ) -> Version:
        """Return a version's description: ``version`` if given, else the one ``alias`` names.

        Raises
        ------
        VersionNotFoundError
            No such model, version or alias.

        Examples
        --------
        >>> store.version("ctr", 2).metadata                                 # doctest: +SKIP
        mappingproxy({'auc': 0.71})
        """
        return self._read_manifest(name, self._resolve(name, version, alias))

    def current(self, name: str, *, alias: str = "current") -> Version:
        """Return the version ``alias`` (by default ``current``) points to.

        Examples
        --------
        >>> store.current("ctr").id                                          # doctest: +SKIP
        3
        """
        return self.version(name, alias=alias)

    def aliases(self, name: str) -> dict[str, int]:
        """Return every alias of ``name`` and the version it points to.

        Examples
        --------
        >>> store.aliases("ctr")                                             # doctest: +SKIP
        {'canary': 4, 'current': 3}
        """
        _check_name(name, "model name")
        out = {}
        for alias in sorted(self._backend.list(f"{name}/aliases")):
            if _NAME.match(alias):
                state = self._read_alias(name, alias)
                if state is not None:
                    out[alias] = state["version"]
        return out

    def get(self, name: str, version: VersionRef | None = None, *, alias: str = "current") -> bytes:
        """Return a version's document, after checking it against its manifest.

        Raises
        ------
        StoreError
            The stored document is corrupted or truncated (the message names the version).

        Examples
        --------
        >>> store.get("ctr", 3)[:38]                                         # doctest: +SKIP
        b'<?xml version="1.0" encoding="UTF-8"?>'
        """
        return self._fetch(name, version, alias)[1]

    def load(
        self,
        name: str,
        version: VersionRef | None = None,
        *,
        alias: str = "current",
        verify: bool = True,
    ) -> Model:
        """Load a version as a scoring model (checksum checked, ModelVerification replayed).

        Examples
        --------
        >>> model = store.load("ctr", alias="canary")                        # doctest: +SKIP
        >>> model.predict(frame)                                             # doctest: +SKIP
        """
        return self._open(name, version, alias, verify)[1]

    # ------------------------------------------------------------------ writing

    def publish(
        self,
        name: str,
        pmml: PMMLSource,
        *,
        metadata: Mapping[str, Any] | None = None,
        activate: bool = True,
    ) -> Version:
        """Verify a document and add it as the next version of ``name``.

        Parameters
        ----------
        name : str
            The model name (letters, digits, ``.``, ``_``, ``-``).
        pmml : path, bytes or binary file object
            The PMML document (a ``str`` starting with ``<`` is taken as the XML itself).
        metadata : mapping, optional
            JSON-serialisable facts to keep with the version (metrics, data range...).
        activate : bool, default True
            Point the ``current`` alias at the new version.  A publish never moves ``current``
            back: if a concurrent publisher already activated a newer version, it stays.

        Returns
        -------
        Version

        Raises
        ------
        MarkupError
            The document does not load or its ModelVerification fails; nothing is stored.

        Examples
        --------
        >>> v = store.publish("ctr", "model.pmml", metadata={"auc": 0.71})    # doctest: +SKIP
        >>> v.id                                                             # doctest: +SKIP
        4
        """
        _check_name(name, "model name")
        data = read_source(pmml)
        meta = _json_metadata(metadata)
        model = _load_model(data, verify=True)
        replaced = self._target(name, "current") if activate else None
        vid = self._claim(name)
        version = Version(
            name=name,
            id=vid,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            created_at=_dt.datetime.now(_dt.timezone.utc),
            pmmlserve_version=__version__,
            producer=MappingProxyType(_producer(model.header)),
            model_type=model.model_type,
            input_fields=tuple(model.input_fields),
            target_fields=tuple(model.target_fields),
            output_fields=tuple(model.output_fields),
            metadata=MappingProxyType(meta),
            replaced=replaced,
            location=self._backend.url(f"{name}/versions/{vid}"),
        )
        manifest = json.dumps(version.to_manifest(), indent=2).encode() + b"\n"
        self._backend.commit_version(
            f"{name}/versions/{vid}", f"{name}/.tmp/{vid}", {DOCUMENT: data, MANIFEST: manifest}
        )
        _backends.step("committed")
        logger.info(
            "published %s version %d (%d bytes, sha256 %s)",
            name,
            vid,
            len(data),
            version.sha256[:12],
        )
        if activate:
            self._switch(name, "current", vid, forward_only=True)
        return version

    def set_alias(self, name: str, alias: str, version: VersionRef) -> Version:
        """Point ``alias`` (``"stable"``, ``"canary"``...) at an existing, intact version.

        The previous target is remembered, so :meth:`rollback` can return to it.

        Examples
        --------
        >>> store.set_alias("ctr", "canary", 5)                              # doctest: +SKIP
        Version(name='ctr', id=5, ...)
        """
        _check_name(alias, "alias")
        return self._switch(name, alias, _version_id(version))

    def promote(self, name: str, version: VersionRef, *, alias: str = "current") -> Version:
        """Make ``version`` the one ``alias`` (by default ``current``) serves.

        Examples
        --------
        >>> store.promote("ctr", 3)                                          # doctest: +SKIP
        Version(name='ctr', id=3, ...)
        """
        return self.set_alias(name, alias, version)

    def rollback(self, name: str, *, alias: str = "current") -> Version:
        """Point ``alias`` back at the version it pointed to before its last change.

        Repeated rollbacks walk further back; versions removed by :meth:`gc` are skipped.

        Raises
        ------
        StoreError
            There is no earlier version to return to.

        Examples
        --------
        >>> store.rollback("ctr").id                                         # doctest: +SKIP
        2
        """
        _check_name(alias, "alias")
        with self._backend.lock(f"{name}/aliases/.lock"):
            state = self._read_alias(name, alias)
            if state is None:
                raise VersionNotFoundError(f"model {name!r} has no alias {alias!r}")
            history = list(state["history"])
            while history:
                previous = history.pop(0)
                try:
                    target = self._fetch(name, previous, alias)[0]
                except VersionNotFoundError:
                    continue
                self._write_alias(name, alias, previous, history)
                logger.info(
                    "%s: alias %s rolled back %d -> %d", name, alias, state["version"], previous
                )
                return target
        raise StoreError(f"model {name!r}: alias {alias!r} has no earlier version to roll back to")

    def gc(self, name: str, keep: int = 5) -> list[int]:
        """Remove old versions and the leftovers of interrupted publishes.

        Keeps the ``keep`` newest versions and every version an alias points to.  A leftover
        (staging directory, half-written version, temporary file) is removed once its writer
        is gone: a dead process on this host, or an hour old on another.

        Returns
        -------
        list of int
            The ids of the removed versions.

        Examples
        --------
        >>> store.gc("ctr", keep=2)                                          # doctest: +SKIP
        [1, 2]
        """
        _check_name(name, "model name")
        if keep < 0:
            raise ValueError(f"keep must be >= 0, got {keep}")
        complete, partial = [], []
        for vid in self._version_dirs(name):
            files = self._backend.list(f"{name}/versions/{vid}")
            (complete if MANIFEST in files else partial).append(vid)
        newest = set(complete[len(complete) - keep :]) if keep else set()
        # Under the alias lock: an alias cannot move onto a version while it is being removed.
        with self._backend.lock(f"{name}/aliases/.lock"):
            protected = newest | set(self.aliases(name).values())
            removed = [vid for vid in complete if vid not in protected]
            for vid in removed:
                trash = f"{name}/.tmp/removed-{vid}.{temp_tag()}"
                self._backend.remove_version(f"{name}/versions/{vid}", trash)
                logger.info("gc removed %s version %d", name, vid)
        claims = self._claims(name)
        newest_claim = max(claims, default=0)
        orphaned = {vid for vid in claims if self._claim_abandoned(name, vid)}
        for vid in partial:
            if vid in orphaned or vid not in claims:
                self._backend.remove_tree(f"{name}/versions/{vid}")
        self._remove_temporaries(name, orphaned)
        finished = set(removed) | set(complete) | orphaned
        for vid in claims:
            # The newest claim stays: it is what keeps ids increasing once its version is gone.
            if vid != newest_claim and vid in finished:
                self._backend.remove_tree(f"{name}/ids/{vid}")
        return removed

    # ------------------------------------------------------------------ internals

    def _version_dirs(self, name: str) -> list[int]:
        return sorted(int(n) for n in self._backend.list(f"{name}/versions") if n.isdigit())

    def _claims(self, name: str) -> list[int]:
        return sorted(int(n) for n in self._backend.list(f"{name}/ids") if n.isdigit())

    def _claim(self, name: str) -> int:
        """Reserve the next id: exclusive creation decides between concurrent publishers."""
        owner = temp_tag().encode()
        for _ in range(1000):
            vid = max(self._claims(name) + self._version_dirs(name), default=0) + 1
            if self._backend.create_exclusive(f"{name}/ids/{vid}", owner):
                _backends.step("claimed")
                return vid
        raise StoreError(f"could not claim a version id for {name!r} after 1000 attempts")

    def _claim_abandoned(self, name: str, vid: int) -> bool:
        key = f"{name}/ids/{vid}"
        try:
            tag = self._backend.read(key).decode("utf-8", "replace")
        except FileNotFoundError:
            return True
        return abandoned(tag, self._backend.mtime(key))

    def _remove_temporaries(self, name: str, orphaned: set[int]) -> None:
        for entry in self._backend.list(f"{name}/.tmp"):
            stem, _, tag = entry.partition(".")
            if (stem.isdigit() and int(stem) in orphaned) or (
                stem.startswith("removed-") and abandoned(tag)
            ):
                self._backend.remove_tree(f"{name}/.tmp/{entry}")
        folders = [f"{name}/aliases"] + [f"{name}/versions/{v}" for v in self._version_dirs(name)]
        for folder in folders:
            for entry in self._backend.list(folder):
                if entry.startswith(".") and entry.endswith(".tmp"):
                    if abandoned(entry[: -len(".tmp")].rsplit(".", 1)[-1]):
                        self._backend.remove_tree(f"{folder}/{entry}")

    def _resolve(self, name: str, version: VersionRef | None, alias: str) -> int:
        _check_name(name, "model name")
        if version is not None:
            return _version_id(version)
        _check_name(alias, "alias")
        vid = self._target(name, alias)
        if vid is None:
            raise VersionNotFoundError(f"model {name!r} has no alias {alias!r} in {self.root}")
        return vid

    def _read_manifest(self, name: str, vid: int) -> Version:
        location = self._backend.url(f"{name}/versions/{vid}")
        try:
            raw = self._backend.read(f"{name}/versions/{vid}/{MANIFEST}")
        except (FileNotFoundError, NotADirectoryError):
            raise VersionNotFoundError(
                f"model {name!r} has no version {vid} in {self.root}"
            ) from None
        version = Version.from_manifest(raw, location)
        if (version.name, version.id) != (name, vid):
            raise StoreError(
                f"{location}: manifest describes {version.name!r} version {version.id}"
            )
        return version

    def _fetch(self, name: str, version: VersionRef | None, alias: str) -> tuple[Version, bytes]:
        """Return a version and its document, refusing a document that is not the published one."""
        meta = self.version(name, version, alias=alias)
        what = f"version {meta.id} of model {name!r}"
        try:
            data = self._backend.read(f"{name}/versions/{meta.id}/{DOCUMENT}")
        except FileNotFoundError:
            raise StoreError(
                f"{what} is corrupted: {DOCUMENT} is missing from {meta.location}"
            ) from None
        if len(data) != meta.size:
            raise StoreError(
                f"{what} is corrupted: {DOCUMENT} has {len(data)} bytes, manifest says {meta.size}"
            )
        if hashlib.sha256(data).hexdigest() != meta.sha256:
            raise StoreError(
                f"{what} is corrupted: sha256 of {DOCUMENT} does not match its manifest"
            )
        return meta, data

    def _open(
        self, name: str, version: VersionRef | None, alias: str, verify: bool
    ) -> tuple[Version, Model]:
        meta, data = self._fetch(name, version, alias)
        try:
            return meta, _load_model(data, verify=verify)
        except MarkupError as exc:
            if hasattr(exc, "add_note"):
                exc.add_note(
                    f"while loading version {meta.id} of model {name!r} from {meta.location}"
                )
            raise

    def _read_alias(self, name: str, alias: str) -> dict[str, Any] | None:
        key = f"{name}/aliases/{alias}"
        try:
            raw = self._backend.read(key)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            doc = json.loads(raw)
            # A bare number is accepted too, so that a person can write an alias by hand.
            if isinstance(doc, int) and not isinstance(doc, bool):
                doc = {"version": doc}
            return {
                "version": int(doc["version"]),
                "history": [int(v) for v in doc.get("history", [])],
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{self._backend.url(key)}: damaged alias file ({exc})") from exc

    def _target(self, name: str, alias: str) -> int | None:
        state = self._read_alias(name, alias)
        return None if state is None else state["version"]

    def _write_alias(self, name: str, alias: str, vid: int, history: list[int]) -> None:
        state = {
            "version": vid,
            "history": history[:_HISTORY],
            "updated_at": _dt.datetime.now(_dt.timezone.utc).isoformat().replace("+00:00", "Z"),
        }
        self._backend.replace(f"{name}/aliases/{alias}", json.dumps(state).encode() + b"\n")
        _backends.step("activated")

    def _switch(self, name: str, alias: str, vid: int, *, forward_only: bool = False) -> Version:
        """Point ``alias`` at ``vid``, checked under the lock so that gc cannot remove it."""
        with self._backend.lock(f"{name}/aliases/.lock"):
            target = self._fetch(name, vid, alias)[0]  # refuses a missing or corrupted version
            state = self._read_alias(name, alias) or {"version": None, "history": []}
            old = state["version"]
            if old == vid:
                return target
            if forward_only and old is not None and old > vid:
                logger.info("%s: alias %s stays at %d (newer than %d)", name, alias, old, vid)
                return target
            history = ([old] if old is not None else []) + state["history"]
            self._write_alias(name, alias, vid, history)
        logger.info("%s: alias %s -> %d (was %s)", name, alias, vid, old)
        return target


def _check_name(value: str, what: str) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(
            f"invalid {what} {value!r}: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )


def _version_id(version: VersionRef) -> int:
    if isinstance(version, Version):
        return version.id
    if isinstance(version, str) and version.isdigit():
        version = int(version)
    if isinstance(version, int) and not isinstance(version, bool) and version >= 1:
        return version
    raise ValueError(f"a version is a positive integer id, got {version!r}")


def _json_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return ``metadata`` exactly as it will read back from the manifest."""

    def plain(value: Any) -> Any:
        if hasattr(value, "tolist"):  # numpy scalars and arrays, e.g. a metric from sklearn
            return value.tolist()
        if isinstance(value, (_dt.datetime, _dt.date)):
            return value.isoformat()
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        raise TypeError(f"{type(value).__name__} is not JSON-serialisable")

    try:
        return json.loads(json.dumps(dict(metadata or {}), default=plain, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"metadata must be JSON-serialisable: {exc}") from exc


def _producer(header: Mapping[str, Any]) -> dict[str, str]:
    """The producing application, from a loaded model's ``header`` (PMML ``Header``)."""
    return {key: str(header[key]) for key in ("application", "version") if header.get(key)}
