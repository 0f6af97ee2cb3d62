"""URI-level primitives: what everything above the stores imports.

``formats/``, the flat API (``api.py``) and every coming layer (loaders, checkpoints,
integrations) read and write through these functions, never through ``api.py``: this module
resolves a URI to its store (:func:`s3dlio.stores.store_for`) and calls one primitive of the
:class:`~s3dlio.stores.base.ObjectStore` protocol, or a routine of the engine. It adds no shapes
of the reference (dicts, aliases, deprecations): ``api.py`` does that over this module.

Every function takes ``settings`` (default: the environment, :func:`s3dlio.config.settings`);
pass one to use other credentials, endpoints or retry policies for one call. Errors are the
s3dlio hierarchy (:mod:`s3dlio.errors`) and name the URI: a missing object raises
:class:`~s3dlio.errors.ObjectNotFoundError` (a ``FileNotFoundError``).
"""

from __future__ import annotations

import io as _stdio
from typing import Any

from . import validate
from .buffers import BytesView, as_payload
from .engine import transfer
from .errors import (
    InvalidArgumentError,
    InvalidArgumentTypeError,
    IsADirectoryObjectError,
    ObjectNotFoundError,
)
from .settings import Settings
from .stores import resolve
from .stores.base import ObjectMeta, ObjectStore, ObjectWriter

__all__ = [
    "RangeReader",
    "copy",
    "exists",
    "get",
    "get_into",
    "get_range",
    "head",
    "open_reader",
    "open_writer",
    "put",
    "resolve",
]

_EMPTY = BytesView(b"")


def get(uri: str, *, size_hint: int | None = None, settings: Settings | None = None) -> BytesView:
    """The whole object as a zero-copy :class:`~s3dlio.buffers.BytesView`. ``size_hint`` (a size
    a listing already gave) lets the store pick the fastest way to fetch it; it never changes
    what is returned. A local directory raises ``IsADirectoryObjectError``."""
    store, parsed = resolve(uri, settings)
    return store.get(parsed.key, size_hint=size_hint)


def get_range(
    uri: str, offset: int, length: int | None = None, *, settings: Settings | None = None
) -> BytesView:
    """``length`` bytes from ``offset`` (``None``: to the end). An offset at or past the end
    gives an empty view; a length past the end is clipped; negative values raise
    ``InvalidArgumentError``."""
    validate.count("offset", offset)
    if length is not None:
        validate.count("length", length)
    store, parsed = resolve(uri, settings)
    return store.get(parsed.key, offset, length)


def get_into(uri: str, buffer: Any, offset: int = 0, *, settings: Settings | None = None) -> int:
    """Read the object from ``offset`` into ``buffer`` (any writable buffer: ``bytearray``,
    numpy array, ``mmap``...; at most its size in bytes) and return the bytes written: fewer
    when the object ends sooner, 0 at or past the end; bytes beyond are untouched. Where the
    store can (S3; Azure with an account key) the response is received straight into
    ``buffer``. A read-only or non-contiguous buffer raises ``InvalidArgumentError``."""
    view = writable_bytes(buffer)
    validate.count("offset", offset)
    store, parsed = resolve(uri, settings)
    return store.get_into(parsed.key, view, offset)


def writable_bytes(buffer: Any, name: str = "buffer") -> memoryview:
    """``buffer`` as a flat, writable byte view (without copying), or ``InvalidArgumentError``
    naming the parameter ``name``."""
    try:
        view = memoryview(buffer)
    except TypeError:
        raise InvalidArgumentTypeError(  # still a TypeError, as memoryview() raises
            f"{name} must support the buffer protocol, got {type(buffer).__name__}"
        ) from None
    if view.readonly or not view.c_contiguous:
        raise InvalidArgumentError(f"{name} must be a writable, C-contiguous buffer")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


def put(
    uri: str, data: object, *, create_only: bool = False, settings: Settings | None = None
) -> None:
    """Write ``data`` (any bytes-like object) as the whole object. It appears only when
    complete; a failed write leaves nothing under the name. By default an existing object is
    replaced; ``create_only=True`` writes only if none exists, atomically against other
    writers, and raises ``AlreadyExistsError`` otherwise (for manifests and commit markers)."""
    view = as_payload(data)
    store, parsed = resolve(uri, settings)
    store.put(parsed.key, view, create_only=create_only)


def head(uri: str, *, settings: Settings | None = None) -> ObjectMeta:
    """Size, modification time, ETag... of one object. Missing: ``ObjectNotFoundError``."""
    store, parsed = resolve(uri, settings)
    return store.head(parsed.key)


def exists(uri: str, *, settings: Settings | None = None) -> bool:
    """Whether ``uri`` names an existing object (a local directory is not one). Failures other
    than "not found" (denied, network) raise."""
    try:
        head(uri, settings=settings)
    except (ObjectNotFoundError, IsADirectoryObjectError):
        return False
    return True


def copy(src: str, dst: str, *, settings: Settings | None = None) -> int:
    """Copy one object; return its size. Within one bucket/filesystem the store copies
    (server-side where it can); across stores it is streamed in bounded pieces (memory: see
    :class:`~s3dlio.settings.TransferConfig`). The destination appears only when complete.
    A missing source raises ``ObjectNotFoundError``."""
    src_store, src_uri = resolve(src, settings)
    dst_store, dst_uri = resolve(dst, settings)
    if src_store is dst_store:
        src_store.copy(src_uri.key, dst_uri.key)
        return src_store.head(dst_uri.key).size
    return transfer.copy_object(src_store, src_uri.key, dst_store, dst_uri.key)


def open_writer(uri: str, *, settings: Settings | None = None) -> ObjectWriter:
    """A streaming writer: ``write`` pieces, then ``close`` publishes the object (multipart on
    object stores); ``abort``, an exception in a ``with`` block, or dropping it unclosed
    publishes nothing."""
    store, parsed = resolve(uri, settings)
    return store.open_writer(parsed.key)


def open_reader(
    uri: str, *, size: int | None = None, tail: int = 0, settings: Settings | None = None
) -> RangeReader:
    """A read-only, seekable binary file over the object (see :class:`RangeReader`)."""
    store, parsed = resolve(uri, settings)
    return RangeReader(store, parsed.key, size=size, tail=tail)


class RangeReader(_stdio.RawIOBase):
    """A read-only, seekable file over one object: each read is one range request, received
    into the caller's buffer where the store can (``readinto``).

    The size comes from ``size`` (a listing's) or one ``head`` on open. ``tail`` bytes at the
    end are fetched once on open and served from memory afterwards: a Parquet or ZIP footer
    (and a small object entirely) then costs one request. Wrap it in ``io.BufferedReader`` for
    many small reads. Not thread-safe (one position); the object should not change while read.
    """

    def __init__(self, store: ObjectStore, key: str, *, size: int | None = None, tail: int = 0):
        super().__init__()
        self.store = store
        self.key = key
        self.uri = store.uri(key)
        self.size = store.head(key).size if size is None else validate.count("size", size)
        tail_len = min(self.size, validate.count("tail", tail))
        self._tail_at = self.size - tail_len
        self._tail = store.get(key, self._tail_at, tail_len) if tail_len else _EMPTY
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = _stdio.SEEK_SET) -> int:
        base = {_stdio.SEEK_SET: 0, _stdio.SEEK_CUR: self._pos, _stdio.SEEK_END: self.size}
        self._pos = max(0, base[whence] + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read_range(self, offset: int, length: int) -> BytesView:
        """``length`` bytes at ``offset`` (clipped at the end), from the cached tail if there."""
        length = max(0, min(length, self.size - offset))
        if length == 0:
            return _EMPTY
        if offset >= self._tail_at:
            start = offset - self._tail_at
            result: BytesView = self._tail[start : start + length]
            return result
        return self.store.get(self.key, offset, length)

    def read(self, size: int | None = -1) -> bytes:
        n = self.size - self._pos if size is None or size < 0 else size
        data = self.read_range(self._pos, n)
        self._pos += len(data)
        return bytes(data)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = max(0, min(len(view), self.size - self._pos))
        if want == 0:
            return 0
        if self._pos >= self._tail_at:
            data = self.read_range(self._pos, want)
            view[: len(data)] = memoryview(data)
            n = len(data)
        else:
            n = self.store.get_into(self.key, view[:want], self._pos)
        self._pos += n
        return n
