"""The ObjectStore protocol: the few primitives every backend implements.

Everything else (recursive and pattern listing, recursive delete, upload, download, bulk get and
put, copy between stores) is written once above this protocol, in :mod:`s3dlio.engine`.

Methods are synchronous and blocking; they are safe to call from many threads at once. The
engine runs them on the per-process worker pool (:mod:`s3dlio.engine.runtime`), which also
backs the ``*_async`` API. Keys are strings relative to the store's root (for ``file://`` and
``direct://``, the path as written in the URI).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, runtime_checkable

from ..buffers import BytesView
from ..errors import InvalidArgumentError, S3dlioError, UnsupportedOperationError
from ..settings import Settings

__all__ = [
    "BucketAdmin",
    "bucket_admin",
    "object_store_key",
    "UNKNOWN_SIZE",
    "ListPage",
    "ObjectMeta",
    "ObjectStore",
    "ObjectWriter",
    "WriterBase",
]

UNKNOWN_SIZE = -1


@dataclass(slots=True)
class ObjectMeta:
    """What a listing or a head returns about one object.

    ``mtime_ns`` is the modification time in nanoseconds since the epoch, at the precision the
    store keeps. ``size`` is :data:`UNKNOWN_SIZE` (-1) only in listings asked for without
    metadata (``list(..., metadata=False)``) from stores that would need a call per object to
    know it. Not frozen: listings build one per object, and a frozen dataclass costs 4x more
    to construct; treat it as read-only.
    """

    key: str
    size: int
    mtime_ns: int | None = None
    etag: str | None = None
    version_id: str | None = None
    content_type: str | None = None
    storage_class: str | None = None
    metadata: dict[str, str] | None = None  # user metadata, when the store returned any


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of a listing: objects, and (delimited listings only) common prefixes.

    Prefixes end with ``/``. Within a page there is no guaranteed order.
    """

    objects: list[ObjectMeta]
    prefixes: list[str] = field(default_factory=list)


@runtime_checkable
class ObjectWriter(Protocol):
    """A streaming write of one object.

    Nothing is visible under the final key until :meth:`close` returns. :meth:`abort` (or an
    exception inside a ``with`` block) discards everything written.
    """

    def write(self, data: memoryview) -> int: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...

    @property
    def bytes_written(self) -> int: ...

    def __enter__(self) -> ObjectWriter: ...

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None: ...


_W = TypeVar("_W", bound="WriterBase")


class WriterBase:
    """The lifecycle every streaming writer shares, written once.

    ``write`` and ``close`` on a finished writer raise ``S3dlioError("writer already
    closed")``; ``abort`` is idempotent and a no-op after ``close``; leaving a ``with`` block
    by an exception, or dropping the writer unclosed, aborts it. Subclasses implement
    ``_write`` (send or buffer the bytes; on failure abort and raise), ``_close`` (publish;
    it sets ``_done`` itself, before or after publishing, depending on whether a failure
    while publishing must still abort) and ``_abort`` (discard, best effort).
    """

    def __init__(self, uri: str) -> None:
        self._uri = uri
        self._written = 0
        self._done = False

    @property
    def bytes_written(self) -> int:
        return self._written

    def _check_open(self, operation: str) -> None:
        if self._done:
            raise S3dlioError("writer already closed", uri=self._uri, operation=operation)

    def write(self, data: memoryview) -> int:
        self._check_open("write")
        self._write(data)
        self._written += len(data)
        return len(data)

    def close(self) -> None:
        self._check_open("close")
        self._close()

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._abort()

    def _write(self, data: memoryview) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _abort(self) -> None:
        raise NotImplementedError

    def __enter__(self: _W) -> _W:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            if not self._done:
                self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        # Dropped without close(): never publish a partial object, never leave temp files.
        if not getattr(self, "_done", True):
            self.abort()


@runtime_checkable
class BucketAdmin(Protocol):
    """Stores that can create and delete their own bucket/container (beyond the protocol)."""

    def create_bucket(self) -> bool:
        """Create it; False if it existed (and is accessible)."""
        ...

    def delete_bucket(self) -> None:
        """Delete it when empty (``DirectoryNotEmptyError`` otherwise; nothing is deleted)."""
        ...


def object_store_key(key: str, uri: str, operation: str) -> str:
    """``key`` if an object store can address it, else ``InvalidArgumentError``.

    object_store paths cannot hold empty, ``.`` or ``..`` segments: it would silently drop a
    leading ``/`` and write a different key, so such keys are refused (on every object store,
    ``memory://`` included, so that they all behave alike)."""
    segments = key.split("/")
    if "" in segments or "." in segments or ".." in segments:
        raise InvalidArgumentError(
            "object keys with empty, '.' or '..' path segments (a leading, trailing or "
            "doubled '/') are not supported on object stores",
            uri=uri,
            operation=operation,
        )
    return key


def bucket_admin(store: object, uri: str) -> BucketAdmin:
    """``store`` as a :class:`BucketAdmin`, or ``UnsupportedOperationError`` naming it."""
    if not isinstance(store, BucketAdmin):
        raise UnsupportedOperationError(
            f"{type(store).__name__} cannot create or delete buckets", uri=uri
        )
    return store


@runtime_checkable
class ObjectStore(Protocol):
    """Primitives of one bucket, container or filesystem.

    Contracts every implementation keeps (``tests/contract/`` checks them on every backend,
    on ``memory://`` and through a store layer):

    * ``get``/``get_into``/``head`` of a missing key raise
      :class:`~s3dlio.errors.ObjectNotFoundError`.
    * ``get`` with ``offset`` at or past the end returns an empty view; ``length`` past the end
      is clipped. ``size_hint`` (a size a listing or cache already knows) only chooses how the
      object is fetched - never what is returned: a stale hint costs speed, not correctness.
    * ``get_into`` writes the object's bytes from ``offset`` into the caller's ``buffer`` (at
      most ``len(buffer)``) and returns how many it wrote: fewer when the object ends sooner,
      0 when ``offset`` is at or past the end. Bytes of ``buffer`` beyond that are untouched.
    * ``put`` and writers publish atomically: a failed or interrupted write never leaves a
      partial object under the final key. ``put(..., create_only=True)`` publishes only if no
      object exists under the key, atomically with respect to other writers (S3/Azure
      ``If-None-Match: *``, GCS ``ifGenerationMatch=0``, ``linkat``/``O_EXCL`` locally), and
      raises :class:`~s3dlio.errors.AlreadyExistsError` otherwise; a store that cannot do it
      raises :class:`~s3dlio.errors.UnsupportedOperationError` naming itself.
    * ``list`` with ``metadata=False`` may leave sizes and times unknown (names only: a
      filesystem then needs no ``stat`` per file).
    * ``list`` is a key-prefix listing (``"a/b"`` matches ``a/b.bin`` and ``a/bc/x``). With
      ``recursive=False`` it is delimited on ``/`` and returns common prefixes. It streams: a
      page at a time, never the whole listing in memory.
    * ``delete_many`` ignores keys that do not exist and returns how many of the keys existed:
      exactly for one key, except on S3, which answers a DELETE of a missing key with 204 (an
      S3 store counts every key it deleted without error); for several keys Azure and GCS
      stores may count fewer (a batch failing on a missing key may have deleted others first).
      It raises on the first other failure, after which some of the keys may already be gone.
    """

    scheme: str
    settings: Settings  # what it was built with (credentials, retries, transfer sizes)

    def uri(self, key: str) -> str:
        """The full URI of ``key`` (used in error messages)."""
        ...

    def get(
        self, key: str, offset: int = 0, length: int | None = None, *, size_hint: int | None = None
    ) -> BytesView: ...

    def get_into(self, key: str, buffer: memoryview, offset: int = 0) -> int: ...

    def put(self, key: str, data: memoryview, *, create_only: bool = False) -> None: ...

    def open_writer(self, key: str) -> ObjectWriter: ...

    def head(self, key: str) -> ObjectMeta: ...

    def list(
        self, prefix: str, recursive: bool = True, metadata: bool = True
    ) -> Iterator[ListPage]: ...

    def delete_many(self, keys: Sequence[str]) -> int: ...

    def copy(self, src_key: str, dst_key: str) -> None: ...

    def mkdir(self, key: str) -> None: ...

    def rmdir(self, key: str) -> None: ...
