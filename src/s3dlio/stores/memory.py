"""``memory://bucket/key``: objects held in this process's memory.

For fast tests of store layers and of code above the stores, and for scratch data that never
needs to leave the process. It keeps the whole :class:`~.base.ObjectStore` contract of an
object store (flat keys, key-prefix listings, atomic puts, create-only puts, writers that
publish on close), so a layer tested over it behaves the same over S3.

Scope: one process. All stores of a bucket share its objects, whatever their settings. A
forked child starts with a copy of its parent's objects (as with any Python data) and changes
them independently; spawned processes start empty. Objects are immutable ``bytes``; a ``get``
returns a zero-copy view of them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .. import config
from ..buffers import BytesView
from ..errors import (
    AlreadyExistsError,
    DirectoryNotEmptyError,
    ObjectNotFoundError,
)
from ..runtime import PerProcess
from ..settings import Settings
from ..uri import ObjectURI
from .base import ListPage, ObjectMeta, WriterBase, object_store_key

__all__ = ["MemoryStore", "MemoryWriter"]

PAGE_SIZE = 1000
_EMPTY = BytesView(b"")


@dataclass(frozen=True, slots=True)
class _Object:
    data: bytes
    mtime_ns: int
    etag: str


# bucket -> key -> object. The lock is per process (a forked child gets a fresh one; the data
# it inherits stays readable).
_buckets: dict[str, dict[str, _Object]] = {}
_lock: PerProcess[threading.Lock] = PerProcess(threading.Lock)
_generation = iter(range(1, 1 << 62))


class MemoryWriter(WriterBase):
    """Buffers the object; :meth:`close` publishes it whole."""

    def __init__(self, store: MemoryStore, key: str) -> None:
        super().__init__(store.uri(key))
        self._store = store
        self._key = key
        self._parts: list[bytes] = []

    def _write(self, data: memoryview) -> None:
        self._parts.append(bytes(data))

    def _close(self) -> None:
        self._done = True
        self._store.put(self._key, memoryview(b"".join(self._parts)))
        self._parts = []

    def _abort(self) -> None:
        self._parts = []


class MemoryStore:
    """One bucket of in-process objects."""

    scheme = "memory"

    def __init__(self, bucket: str, settings: Settings | None = None) -> None:
        self.bucket = bucket
        self.settings = settings if settings is not None else config.settings()
        self.root = f"memory://{bucket}/"

    @classmethod
    def from_uri(cls, uri: ObjectURI, settings: Settings) -> MemoryStore:
        return cls(uri.bucket, settings)

    def uri(self, key: str) -> str:
        return self.root + key

    def _objects(self) -> dict[str, _Object]:
        # Read-only view when the bucket was never written: reads create nothing.
        return _buckets.get(self.bucket) or {}

    def _checked(self, key: str, operation: str) -> str:
        return object_store_key(key, self.uri(key), operation)

    def _object(self, key: str, operation: str) -> _Object:
        obj = self._objects().get(self._checked(key, operation))
        if obj is None:
            raise ObjectNotFoundError("no such object", uri=self.uri(key), operation=operation)
        return obj

    def get(
        self, key: str, offset: int = 0, length: int | None = None, *, size_hint: int | None = None
    ) -> BytesView:
        data = self._object(key, "get").data
        end = len(data) if length is None else min(len(data), offset + length)
        if end <= offset:
            return _EMPTY
        return BytesView(memoryview(data)[offset:end])

    def get_into(self, key: str, buffer: memoryview, offset: int = 0) -> int:
        data = self._object(key, "get_into").data
        chunk = memoryview(data)[offset : offset + len(buffer)]
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def put(self, key: str, data: memoryview, *, create_only: bool = False) -> None:
        self._checked(key, "put")
        obj = _Object(bytes(data), time.time_ns(), f'"mem-{next(_generation)}"')
        with _lock.get():
            objects = _buckets.setdefault(self.bucket, {})  # buckets appear on first write
            if create_only and key in objects:
                raise AlreadyExistsError(
                    "object exists (create-only put)", uri=self.uri(key), operation="put"
                )
            objects[key] = obj

    def open_writer(self, key: str) -> MemoryWriter:
        return MemoryWriter(self, self._checked(key, "open_writer"))

    def head(self, key: str) -> ObjectMeta:
        obj = self._object(key, "head")
        return ObjectMeta(key, len(obj.data), obj.mtime_ns, obj.etag)

    def list(
        self, prefix: str, recursive: bool = True, metadata: bool = True
    ) -> Iterator[ListPage]:
        with _lock.get():
            keys = sorted(k for k in self._objects() if k.startswith(prefix))
        objects: list[ObjectMeta] = []
        prefixes: list[str] = []
        seen: set[str] = set()
        for key in keys:
            if not recursive and "/" in key[len(prefix) :]:
                common = key[: key.index("/", len(prefix)) + 1]
                if common not in seen:
                    seen.add(common)
                    prefixes.append(common)
            else:
                obj = self._objects().get(key)
                if obj is None:  # deleted while we listed
                    continue
                objects.append(ObjectMeta(key, len(obj.data), obj.mtime_ns, obj.etag))
            if len(objects) + len(prefixes) >= PAGE_SIZE:
                yield ListPage(objects, prefixes)
                objects, prefixes = [], []
        if objects or prefixes:
            yield ListPage(objects, prefixes)

    def delete_many(self, keys: Sequence[str]) -> int:
        gone = 0
        with _lock.get():
            objects = _buckets.get(self.bucket, {})
            for key in keys:
                if objects.pop(key, None) is not None:
                    gone += 1
        return gone

    def copy(self, src_key: str, dst_key: str) -> None:
        obj = self._object(src_key, "copy")
        self.put(self._checked(dst_key, "copy"), memoryview(obj.data))

    def mkdir(self, key: str) -> None:
        """No directories: nothing to do."""

    def rmdir(self, key: str) -> None:
        """No directories: nothing to do."""

    def create_bucket(self) -> bool:
        with _lock.get():
            if self.bucket in _buckets:
                return False
            _buckets[self.bucket] = {}
            return True

    def delete_bucket(self) -> None:
        with _lock.get():
            objects = _buckets.get(self.bucket)
            if objects is None:
                raise ObjectNotFoundError(
                    "no such bucket", uri=self.root, operation="delete_bucket"
                )
            if objects:
                raise DirectoryNotEmptyError(
                    "bucket is not empty; delete its objects first (nothing was deleted)",
                    uri=self.root,
                    operation="delete_bucket",
                )
            del _buckets[self.bucket]
