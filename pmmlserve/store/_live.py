"""A model that follows a store alias, swapping versions without stopping service."""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pmmlserve.store._store import ModelStore
from pmmlserve.store._version import Version

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from pmmlserve.scoring import Field, Model

__all__ = ["LiveModel"]

logger = logging.getLogger("pmmlserve.live")


@dataclass(frozen=True)
class _Serving:
    """What answers requests: replaced as one reference, so a request sees one version."""

    version: Version
    model: Model


class LiveModel:
    """The model an alias of a :class:`~pmmlserve.ModelStore` points to, kept up to date.

    Scores like a loaded model.  A background thread (and :meth:`refresh`, on demand) notices
    when the alias moves, loads and verifies the new version away from the request path, then
    swaps a single reference: every request is served entirely by one complete version.  A
    version that fails to load or verify is never activated; the previous one keeps serving,
    :attr:`last_error` says why and a record is logged on ``pmmlserve.live``.

    Parameters
    ----------
    store : ModelStore or str or path-like
        The store (a root path or URL is opened as a ModelStore).
    name : str
        The model name.
    alias : str, default "current"
        The alias to follow.
    poll_interval : float or None, default 2.0
        Seconds between checks of the alias; None disables the thread (call :meth:`refresh`).

    Raises
    ------
    VersionNotFoundError, StoreError, MarkupError
        The alias target cannot be served when the LiveModel is created.

    Notes
    -----
    Safe to share between threads.  After ``fork`` (gunicorn-style workers) the child keeps
    serving the version it inherited and restarts its own watcher on first use.  The watcher
    skips a target that failed until the alias moves again; :meth:`refresh` always retries.

    Examples
    --------
    >>> with pmmlserve.LiveModel("/srv/models", "ctr", alias="stable") as live:    # doctest: +SKIP
    ...     scores = live.predict(frame)
    ...     live.version.id
    7
    """

    def __init__(
        self,
        store: ModelStore | str | os.PathLike[str],
        name: str,
        *,
        alias: str = "current",
        poll_interval: float | None = 2.0,
    ):
        if poll_interval is not None and not poll_interval > 0:
            raise ValueError(
                f"poll_interval must be a positive number of seconds or None, got {poll_interval!r}"
            )
        self._store = store if isinstance(store, ModelStore) else ModelStore(store)
        self._name = name
        self._alias = alias
        self._poll_interval = poll_interval
        self._lock = threading.Lock()  # one refresh at a time; requests never take it
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._failed: int | None = None
        self._last_error: BaseException | None = None
        self._closed = False
        self._forked = False
        self._serving = _Serving(*self._store._open(name, None, alias, verify=True))
        logger.info("%s@%s: serving version %d", name, alias, self._serving.version.id)
        _LIVE.add(self)
        self._start_watcher()

    # ------------------------------------------------------------------ scoring

    def predict(self, data: Any) -> pd.DataFrame:
        """Score a batch with the version being served (see ``pmmlserve.Model.predict``).

        The result's ``attrs["model_version"]`` is the id of the version that scored it.

        Examples
        --------
        >>> live.predict(frame).attrs["model_version"]                      # doctest: +SKIP
        7
        """
        serving = self._current()
        result = serving.model.predict(data)
        result.attrs["model_version"] = serving.version.id
        return result

    def predict_one(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Score one record with the version being served (see ``pmmlserve.Model.predict_one``).

        Examples
        --------
        >>> live.predict_one({"age": 31, "city": "Lyon"})                    # doctest: +SKIP
        {'probability(1)': 0.27, ...}
        """
        return self._current().model.predict_one(record)

    @property
    def model(self) -> Model:
        """The loaded model being served now."""
        return self._current().model

    @property
    def version(self) -> Version:
        """The version being served now."""
        return self._current().version

    @property
    def input_fields(self) -> tuple[Field, ...]:
        """Input fields of the version being served."""
        return self.model.input_fields

    @property
    def target_fields(self) -> tuple[Field, ...]:
        """Target fields of the version being served."""
        return self.model.target_fields

    @property
    def output_fields(self) -> tuple[Field, ...]:
        """Output fields of the version being served."""
        return self.model.output_fields

    @property
    def last_error(self) -> BaseException | None:
        """Why the latest alias target is not served (None once a target loads)."""
        return self._last_error

    # ------------------------------------------------------------------ updating

    def refresh(self) -> Version:
        """Check the alias now and swap to its target if it loads and verifies.

        Never raises for a bad target: the served version stays and :attr:`last_error` is set.

        Returns
        -------
        Version
            The version served after the check.

        Examples
        --------
        >>> store.promote("ctr", 8); live.refresh().id                       # doctest: +SKIP
        8
        """
        self._check(retry_failed=True)
        return self._serving.version

    def close(self) -> None:
        """Stop following the alias (the last version keeps answering requests).

        Examples
        --------
        >>> live.close()                                                     # doctest: +SKIP
        """
        self._closed = True
        self._stop.set()
        watcher = self._watcher
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join()
        _LIVE.discard(self)

    def __enter__(self) -> LiveModel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f"{self._store.root!r}, {self._name!r}, alias={self._alias!r}"
        return f"LiveModel({where}, version={self._serving.version.id})"

    # ------------------------------------------------------------------ internals

    def _current(self) -> _Serving:
        if self._forked:
            self._restart_after_fork()
        return self._serving

    def _check(self, *, retry_failed: bool) -> None:
        with self._lock:
            try:
                target = self._store._resolve(self._name, None, self._alias)
            except Exception as exc:  # the store may be briefly unreadable: keep serving
                self._record(exc, f"cannot read alias {self._alias!r}")
                return
            if target == self._serving.version.id:
                self._failed = self._last_error = None  # the alias came back to what we serve
                return
            if target == self._failed and not retry_failed:
                return
            try:
                serving = _Serving(*self._store._open(self._name, target, self._alias, verify=True))
            except Exception as exc:  # whatever breaks the new version, the old one keeps serving
                self._failed = target
                self._record(exc, f"version {target} not activated")
                return
            previous = self._serving.version.id
            self._serving = serving
            self._failed = self._last_error = None
        logger.info("%s@%s: serving version %d (was %d)", self._name, self._alias, target, previous)

    def _record(self, exc: BaseException, what: str) -> None:
        repeated = self._last_error is not None and str(self._last_error) == str(exc)
        self._last_error = exc
        if not repeated:
            logger.error(
                "%s@%s: %s, still serving version %d: %s",
                self._name,
                self._alias,
                what,
                self._serving.version.id,
                exc,
            )

    def _start_watcher(self) -> None:
        if self._poll_interval is None or self._closed:
            return
        self._watcher = threading.Thread(
            target=_watch,
            args=(weakref.ref(self), self._stop, self._poll_interval),
            name=f"pmmlserve-live-{self._name}",
            daemon=True,
        )
        self._watcher.start()

    def _after_fork_in_child(self) -> None:
        # The parent's threads do not exist here, and its locks may have been held.
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher = None
        self._forked = not self._closed

    def _restart_after_fork(self) -> None:
        with self._lock:
            if self._forked:
                self._forked = False
                self._start_watcher()


def _watch(ref: weakref.ref[LiveModel], stop: threading.Event, interval: float) -> None:
    # Holds the LiveModel only weakly, so that dropping the last reference also ends the thread.
    while not stop.wait(interval):
        live = ref()
        if live is None:
            return
        live._check(retry_failed=False)
        del live


_LIVE: weakref.WeakSet[LiveModel] = weakref.WeakSet()


def _reset_after_fork() -> None:
    for live in list(_LIVE):
        live._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
