"""Where a store keeps its files: a local (or NFS) directory, or any fsspec filesystem.

Both backends offer the same few primitives, each with a stated atomicity, and the store is
written against those alone:

=====================  =======================================  ===================================
primitive              local path                               fsspec URL (``memory://``, ``s3://``)
=====================  =======================================  ===================================
``create_exclusive``   ``O_CREAT | O_EXCL``, fsync file + dir   ``open(mode="xb")``: ``O_EXCL`` for
                                                                ``file://``; a conditional write
                                                                (``If-None-Match``) on S3 with
                                                                s3fs >= 2025.7, likewise adlfs and
                                                                gcsfs; check-then-create in
                                                                ``memory://``, which we serialise
                                                                (it lives in one process anyway)
``replace``            temp file in the same directory, fsync,  temp object, then ``mv``: a rename
                       ``os.replace``, fsync the directory      on ``file://``, a server-side copy
                                                                on object stores; a reader sees the
                                                                whole old or the whole new object
``commit_version``     stage in ``<name>/.tmp/<id>``, fsync,    ``model.pmml`` first, then
                       one ``rename`` into ``versions/<id>``    ``manifest.json`` with ``replace``
``remove_version``     rename out of ``versions/``, delete     delete the manifest, then the rest
=====================  =======================================  ===================================

On an object store, then, what is atomic is each single object: immutable version objects are
written first and the manifest (which makes the version exist) and the alias object last, so a
reader never meets a half-published version.  Two caveats: an fsspec implementation whose
``"xb"`` silently overwrites (older s3fs did for small files) makes concurrent publishers able
to claim the same id; and alias read-modify-write is only serialised within one process there.

A version exists exactly when its ``manifest.json`` does, so on either backend a reader sees a
version whole or not at all.  Names starting with ``.`` are temporary and never read.

``_STEP_HOOK`` lets the crash-safety tests kill a publisher between two steps; it is ``None``
in production.
"""

from __future__ import annotations

import abc
import contextlib
import os
import posixpath
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pmmlserve.exceptions import StoreError

__all__ = ["Backend", "LocalBackend", "FsspecBackend", "open_backend", "temp_tag", "abandoned"]

MANIFEST = "manifest.json"
DOCUMENT = "model.pmml"
STALE_AFTER = 3600.0  # seconds after which a leftover of a writer on another host is abandoned

# Called with a step name ("claimed", "model-written", "staged", "replace-staged", "committed",
# "activated") each time a publish passes one.  Only tests set it.
_STEP_HOOK: Callable[[str], None] | None = None


def step(name: str) -> None:
    """Report that a publish has completed ``name`` (see ``_STEP_HOOK``)."""
    if _STEP_HOOK is not None:
        _STEP_HOOK(name)


def temp_tag() -> str:
    """A unique suffix for a temporary name that also says who made it and when.

    It contains no ``.``, so it is always the last dot-separated part of a name;
    ``gc`` parses it back (:func:`abandoned`) to decide whether a leftover is orphaned.
    """
    return f"{_hostname()}~{os.getpid()}~{int(time.time())}~{uuid.uuid4().hex[:8]}"


def abandoned(tag: str | None, mtime: float | None = None) -> bool:
    """Whether the writer of a temporary entry tagged ``tag`` (see :func:`temp_tag`) is gone.

    Gone means a dead process on this host, or :data:`STALE_AFTER` seconds on another host
    (where its pid says nothing).  An untagged entry is judged by ``mtime`` alone.
    """
    parts = (tag or "").split("~")
    try:
        host, pid, created = parts[0], int(parts[1]), float(parts[2])
    except (IndexError, ValueError):
        return mtime is None or time.time() - mtime > STALE_AFTER
    if host == _hostname() and not _pid_alive(pid):
        return True
    return time.time() - created > STALE_AFTER


def _hostname() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "localhost"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but someone else's
        return True
    return True


class Backend(abc.ABC):
    """The primitives a :class:`~pmmlserve.ModelStore` needs; keys are ``/``-separated paths
    relative to the store root."""

    @abc.abstractmethod
    def url(self, key: str = "") -> str:
        """Return the path or URL of ``key``, for messages and manifests."""

    @abc.abstractmethod
    def read(self, key: str) -> bytes:
        """Return the bytes at ``key``; raise ``FileNotFoundError`` when there are none."""

    @abc.abstractmethod
    def list(self, key: str) -> list[str]:
        """Return the names directly under ``key`` (empty when ``key`` does not exist)."""

    @abc.abstractmethod
    def mtime(self, key: str) -> float | None:
        """Return when ``key`` was last written (POSIX seconds), when the backend knows."""

    @abc.abstractmethod
    def create_exclusive(self, key: str, data: bytes) -> bool:
        """Create ``key`` holding ``data`` unless it exists; return whether this call created it."""

    @abc.abstractmethod
    def replace(self, key: str, data: bytes) -> None:
        """Set ``key`` to ``data`` so that readers see the old or the new bytes, never a mix."""

    @abc.abstractmethod
    def commit_version(self, prefix: str, staging: str, files: dict[str, bytes]) -> None:
        """Write ``files`` (``MANIFEST`` among them) so that ``prefix`` appears complete at once.

        ``staging`` is a private location for this version, used where the backend can rename.
        """

    @abc.abstractmethod
    def remove_tree(self, key: str) -> None:
        """Delete ``key`` and everything under it (no error when absent)."""

    @abc.abstractmethod
    def remove_version(self, prefix: str, trash: str) -> None:
        """Make the version at ``prefix`` disappear at once, then delete its files."""

    @abc.abstractmethod
    def lock(self, key: str) -> contextlib.AbstractContextManager[None]:
        """Serialise read-modify-write of small pointer files, as far as the backend can."""

    _registry_lock = threading.Lock()
    _thread_locks: dict[tuple[str, str], threading.Lock] = {}

    def _thread_lock(self, key: str) -> threading.Lock:
        """A lock per (store, key) shared by every thread of this process."""
        with self._registry_lock:
            return self._thread_locks.setdefault((self.url(), key), threading.Lock())


class LocalBackend(Backend):
    """A directory on a local or NFS filesystem, with POSIX atomic primitives."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).expanduser().absolute()

    def _path(self, key: str) -> Path:
        return self.root / key if key else self.root

    def url(self, key: str = "") -> str:
        return str(self._path(key))

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def list(self, key: str) -> list[str]:
        try:
            return os.listdir(self._path(key))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def mtime(self, key: str) -> float | None:
        try:
            return self._path(key).stat().st_mtime
        except FileNotFoundError:
            return None

    def create_exclusive(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        _fsync_dir(path.parent)
        return True

    def replace(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{temp_tag()}.tmp")
        try:
            _write_file(tmp, data)
            step("replace-staged")
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(path.parent)

    def commit_version(self, prefix: str, staging: str, files: dict[str, bytes]) -> None:
        stage = self._path(staging)
        stage.mkdir(parents=True)
        # The manifest is written last even here, so a staged directory is complete iff it
        # has one; that only matters to a person looking at leftovers.
        for filename in sorted(files, key=lambda f: f == MANIFEST):
            _write_file(stage / filename, files[filename])
            if filename != MANIFEST:
                step("model-written")
        _fsync_dir(stage)
        step("staged")
        target = self._path(prefix)
        target.parent.mkdir(parents=True, exist_ok=True)
        # The id was claimed exclusively, so nobody else renames onto ``target``.
        os.rename(stage, target)
        _fsync_dir(target.parent)
        _fsync_dir(stage.parent)

    def remove_tree(self, key: str) -> None:
        path = self._path(key)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def remove_version(self, prefix: str, trash: str) -> None:
        target = self._path(trash)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(self._path(prefix), target)
        except FileNotFoundError:
            return
        _fsync_dir(self._path(prefix).parent)
        shutil.rmtree(target, ignore_errors=True)

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: each switch is still atomic
            yield
            return
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # lockf (fcntl record locks) rather than flock: NFS clients forward them to the server.
        # Record locks belong to the process, so threads also need the in-process lock.
        with self._thread_lock(key):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)


class FsspecBackend(Backend):
    """Any fsspec filesystem; object stores have no rename, see the module docstring."""

    # memory:// lives in this process only, and its "xb" is check-then-create: a process-wide
    # lock makes exclusive creation atomic there (and costs nothing elsewhere).
    _create_lock = threading.Lock()

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None):
        try:
            import fsspec
        except ImportError as exc:
            raise StoreError(
                f"cannot open {url!r}: URLs need fsspec (pip install 'pmmlserve[fsspec]')"
            ) from exc
        self.fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
        self.root = root.rstrip("/")

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}" if key else self.root

    def url(self, key: str = "") -> str:
        return self.fs.unstrip_protocol(self._path(key))

    def read(self, key: str) -> bytes:
        return self.fs.cat_file(self._path(key))

    def list(self, key: str) -> list[str]:
        path = self._path(key)
        # Object-store filesystems cache listings; a store must see other writers' versions.
        self.fs.invalidate_cache(path)
        try:
            entries = self.fs.ls(path, detail=False)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [posixpath.basename(str(e).rstrip("/")) for e in entries]

    def mtime(self, key: str) -> float | None:
        try:
            info = self.fs.info(self._path(key))
        except FileNotFoundError:
            return None
        for field in ("mtime", "LastModified", "last_modified", "created", "updated"):
            value = info.get(field)
            if value is None:
                continue
            if hasattr(value, "timestamp"):
                return value.timestamp()
            with contextlib.suppress(TypeError, ValueError):
                return float(value)
        return None

    def create_exclusive(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
        try:
            with self._create_lock, self.fs.open(path, "xb") as f:
                f.write(data)
        except FileExistsError:
            return False
        return True

    def replace(self, key: str, data: bytes) -> None:
        path = self._path(key)
        tmp = posixpath.join(
            posixpath.dirname(path), f".{posixpath.basename(path)}.{temp_tag()}.tmp"
        )
        self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
        self.fs.pipe_file(tmp, data)
        step("replace-staged")
        self.fs.mv(tmp, path)

    def commit_version(self, prefix: str, staging: str, files: dict[str, bytes]) -> None:
        # No rename of a whole prefix: write the immutable document first, the manifest (which
        # is what makes the version exist) last, itself through replace().
        self.fs.makedirs(self._path(prefix), exist_ok=True)
        for filename, data in files.items():
            if filename != MANIFEST:
                self.fs.pipe_file(self._path(f"{prefix}/{filename}"), data)
                step("model-written")
        step("staged")
        self.replace(f"{prefix}/{MANIFEST}", files[MANIFEST])

    def remove_tree(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(self._path(key), recursive=True)

    def remove_version(self, prefix: str, trash: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(f"{prefix}/{MANIFEST}"))
        self.remove_tree(prefix)

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        # Object stores offer no lock: this serialises writers in this process only; across
        # processes the last alias write wins (each write is still whole).
        with self._thread_lock(key):
            yield


def open_backend(root: str | os.PathLike[str], storage_options: dict[str, Any] | None) -> Backend:
    """Choose the backend for ``root``: a URL goes through fsspec, anything else is a path."""
    if isinstance(root, str) and "://" in root:
        return FsspecBackend(root, storage_options)
    if storage_options:
        raise ValueError("storage_options only apply to fsspec URLs such as 's3://bucket/models'")
    return LocalBackend(root)


def _reset_locks_after_fork() -> None:
    # A lock held by a parent thread at fork time would stay held forever in the child.
    Backend._registry_lock = threading.Lock()
    Backend._thread_locks = {}
    FsspecBackend._create_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_locks_after_fork)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def _write_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    """Persist a directory's entries (a rename is durable only once its directory is synced)."""
    if not hasattr(os, "O_DIRECTORY"):  # pragma: no cover - Windows cannot open directories
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
