"""What the S3, Azure and GCS stores share: the protocol implemented once over obstore.

Each backend module only says how to build its native obstore store from the configuration
(and, for GCS against an emulator, how to write). Native store objects are built lazily and
per process (see :mod:`._obstore` for why), so a store object survives ``fork`` and pickles
(its configuration is pickled, never a native object).
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from arro3.core import DataType

from .. import config
from ..buffers import BytesView, new_buffer
from ..errors import (
    DirectoryNotEmptyError,
    LengthMismatchError,
    NetworkError,
    ObjectNotFoundError,
    StorageTimeoutError,
    UnsupportedOperationError,
)
from ..runtime import PerProcess, keep_forever, map_bounded, prefetch
from ..settings import Settings
from ._http import (
    content_length,
    direct_reachable,
    get,
    read_available,
    read_into,
    receive_exactly,
)
from ._obstore import call, native, translate
from .base import ListPage, ObjectMeta, WriterBase, object_store_key

__all__ = ["ObstoreStore", "ObstoreWriter"]

_EMPTY = BytesView(b"")
LIST_PAGE = 1000


def _meta(raw: dict[str, Any]) -> ObjectMeta:
    modified = raw.get("last_modified")
    mtime_ns = None
    if isinstance(modified, datetime):
        mtime_ns = int(modified.timestamp()) * 1_000_000_000 + modified.microsecond * 1000
    return ObjectMeta(
        key=raw["path"],
        size=int(raw["size"]),
        mtime_ns=mtime_ns,
        etag=raw.get("e_tag"),
        version_id=raw.get("version"),
    )


def _arrow_page(batch: Any, metadata: bool) -> list[ObjectMeta]:
    """One listing batch in obstore's Arrow form as ObjectMeta (columns are converted in bulk:
    about half the CPU of obstore's one-dict-per-object form)."""
    paths = batch.column("path").to_pylist()
    sizes = batch.column("size").to_numpy().tolist()
    if not metadata:
        return [ObjectMeta(p, s) for p, s in zip(paths, sizes, strict=True)]
    micros = batch.column("last_modified").cast(DataType.int64()).to_numpy().tolist()
    etags = batch.column("e_tag").to_pylist()
    versions = batch.column("version").to_pylist()
    return [
        ObjectMeta(p, s, None if t is None else t * 1000, e, v)
        for p, s, t, e, v in zip(paths, sizes, micros, etags, versions, strict=True)
    ]


_MAX_SINGLE_PUT = 5 << 30  # S3's limit of one PUT
_STREAM_CHUNK = 256 << 10  # bytes per copy when a parallel GET drains a response
# Lifetime of the presigned URL of one parallel GET: far beyond any read plus its retries.
_PRESIGNED_FOR = timedelta(hours=1)


def _translated(stream: Iterator[Any], uri: str, operation: str) -> Iterator[Any]:
    """The items of an obstore stream, its errors translated to ours."""
    while True:
        try:
            item = next(stream)
        except StopIteration:
            return
        except Exception as exc:
            raise translate(exc, uri, operation) from exc
        yield item


def _native_path(prefix: str) -> str | None:
    # object_store paths have no leading/trailing "/" and no empty segments.
    stripped = prefix.strip("/")
    return stripped or None


class ObstoreWriter(WriterBase):
    """Streaming write through obstore's multipart writer; visible only after ``close``."""

    def __init__(self, store: ObstoreStore, key: str) -> None:
        super().__init__(store.uri(key))
        mod, native_store = store._native()
        self._file = call(
            self._uri,
            "open_writer",
            mod.open_writer,
            native_store,
            key,
            buffer_size=store.transfer.part_size(0),
            max_concurrency=store.transfer.writer_concurrency,
        )

    def _write(self, data: memoryview) -> None:
        try:
            self._file.write(data)
        except Exception as exc:
            self.abort()
            raise translate(exc, self._uri, "write") from exc

    def _close(self) -> None:
        self._done = True
        call(self._uri, "close", self._file.close)

    def _abort(self) -> None:
        # Leaving the context with an exception makes obstore abort the multipart upload.
        with contextlib.suppress(Exception):
            self._file.__exit__(RuntimeError, RuntimeError("aborted"), None)


class ObstoreStore:
    """A bucket/container served through obstore. Subclasses implement :meth:`_build`."""

    scheme = ""
    # Whether obstore can presign URLs for this store without asking the network for a key
    # (see :meth:`_presigned`); subclasses that can say so.
    can_presign = False

    def __init__(self, root: str, settings: Settings | None = None) -> None:
        self.root = root  # "s3://bucket/", used to render URIs in errors
        self.settings = settings if settings is not None else config.settings()
        self.transfer = self.settings.transfer
        self._client = self._new_client_holder()
        # Whether the last whole-object GET was large enough for a presigned one (see get()).
        # A new store assumes so: a wrong guess costs a small object ~45 us of CPU, a large one
        # a fifth of its copying cost, and a bulk call starts many GETs before any returns.
        self._large_gets = True

    def _new_client_holder(self) -> PerProcess[tuple[Any, Any]]:
        # The parent's native store objects are never freed in a forked child: their Rust
        # destructors take locks (the HTTP connection pool's) that a thread of the parent's
        # runtime may have held at the moment of the fork. Freeing one hung a forked child,
        # stuck in the store cache's clear() (about one full CI run in six). They are kept,
        # unreachable, for the life of the child.
        return PerProcess(self._connect, on_fork=keep_forever)

    def _connect(self) -> tuple[Any, Any]:
        mod = native()
        return mod, call(self.root, "connect", self._build, mod)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_client"]  # native objects never pickle: the receiver connects anew
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._client = self._new_client_holder()

    def uri(self, key: str) -> str:
        return self.root + key

    def _build(self, mod: Any) -> Any:
        raise NotImplementedError

    def _checked(self, key: str, operation: str) -> str:
        return object_store_key(key, self.uri(key), operation)

    def _native(self) -> tuple[Any, Any]:
        """obstore's module and this store's native client, for this process."""
        return self._client.get()

    # -- protocol --------------------------------------------------------------------------

    def get(
        self, key: str, offset: int = 0, length: int | None = None, *, size_hint: int | None = None
    ) -> BytesView:
        """See :class:`~.base.ObjectStore`. A whole-object GET goes to a presigned URL through
        s3dlio's own HTTP client (one copy less per byte; ``Retry-After`` honoured) when the
        store can presign and the object is at least ``presigned_get_min`` bytes, else through
        obstore (for small objects obstore costs less per request). The size comes from
        ``size_hint`` when given; without one, the store guesses from its previous whole-object
        GET (a size is known only once a response arrives). Either way the object's real size
        is taken from the response, so a wrong hint only picks the slower path.
        """
        mod, store = self._native()
        uri = self.uri(self._checked(key, "get"))
        if offset == 0 and length is None:
            large = self._large_gets if size_hint is None else self._worth_presigning(size_hint)
            if large or self.transfer.presigned_get_min == 0:
                url = self._presigned(mod, store, key)
                if url is not None:
                    return self._get_presigned(mod, store, key, url)
            result = call(uri, "get", mod.get, store, key)
            threshold = self.transfer.range_threshold
            size = int(result.meta["size"])
            self._note_size(size)
            if threshold is not None and size >= threshold:
                etag = result.meta.get("e_tag")
                url = self._presigned(mod, store, key)
                return self._get_parallel(mod, store, key, size, etag, result, url)
            return BytesView(call(uri, "get", result.bytes))
        if length == 0:
            self.head(key)
            return _EMPTY
        rng: Any = {"offset": offset} if length is None else (offset, offset + length)
        try:
            result = mod.get(store, key, options={"range": rng})
            return BytesView(result.bytes())
        except Exception as exc:
            error = translate(exc, uri, "get_range")
            if isinstance(error, ObjectNotFoundError):
                raise error from exc
            # A range starting at or past the end: S3 says 416, object_store complains about
            # the range. The contract is an empty view, so check the size.
            size = self.head(key).size
            if offset >= size:
                return _EMPTY
            if length is not None and offset + length > size:
                return self.get(key, offset, size - offset)
            raise error from exc

    def _presigned(self, mod: Any, store: Any, key: str) -> str | None:
        """A presigned GET URL for ``key`` that s3dlio's own HTTP client can use, or ``None``
        (switched off, a store that cannot presign, a key that needs percent-encoding, a proxy
        in the way, signing failed)."""
        if not (self.can_presign and self.transfer.presigned_get):
            return None
        try:
            url: str = mod.sign(store, "GET", key, _PRESIGNED_FOR)
        except Exception:
            return None
        # Keys with characters the URL must percent-encode (space, %, ?, non-ASCII...) stay on
        # obstore: Azurite rejects the SAS signature of such paths (measured), so a server may.
        if "%" in urllib.parse.urlsplit(url).path:
            return None
        return url if direct_reachable(url) else None

    def _worth_presigning(self, size: int) -> bool:
        return size >= self.transfer.presigned_get_min

    def _note_size(self, size: int) -> None:
        # Whole-object GETs go presigned while this store's objects are large (see get()).
        self._large_gets = self._worth_presigning(size)

    def get_into(self, key: str, buffer: memoryview, offset: int = 0) -> int:
        """See :class:`~.base.ObjectStore`. Over a presigned URL (S3; Azure with an account
        key) the response body is received straight into ``buffer``; elsewhere obstore's
        range GET is copied into it."""
        mod, store = self._native()
        uri = self.uri(self._checked(key, "get_into"))
        if len(buffer) == 0:
            self.head(key)  # a missing object still raises
            return 0
        url = self._presigned(mod, store, key)
        if url is None:
            data = self.get(key, offset, len(buffer))
            buffer[: len(data)] = memoryview(data)
            return len(data)
        return read_available(
            url, buffer, offset, uri=uri, operation="get_into", settings=self.settings
        )

    def _get_presigned(self, mod: Any, store: Any, key: str, url: str) -> BytesView:
        """A whole object through s3dlio's own HTTP client, received straight into the result;
        one at least ``S3DLIO_RANGE_THRESHOLD_MB`` is read as parallel range GETs instead (its
        first response only gives the size and ETag: it is closed unread)."""
        uri = self.uri(key)
        threshold = self.transfer.range_threshold

        def receive(resp: Any) -> BytesView | tuple[int, str | None]:
            size = content_length(resp)
            if size is None:  # no length announced: read to the end
                return BytesView(resp.read())
            if threshold is not None and size >= threshold:
                return size, resp.getheader("ETag")
            if size == 0:
                resp.read()  # ends the (empty) body: the connection stays reusable
                return _EMPTY
            buf = new_buffer(size)
            receive_exactly(resp, buf.data)
            return BytesView(buf.data)

        got = get(url, receive, uri=uri, operation="get", settings=self.settings)
        if isinstance(got, BytesView):
            self._note_size(len(got))
            return got
        size, etag = got
        return self._get_parallel(mod, store, key, size, etag, None, url)

    def _get_parallel(
        self,
        mod: Any,
        store: Any,
        key: str,
        size: int,
        etag: str | None,
        first: Any | None,
        url: str | None,
    ) -> BytesView:
        """A large object read as parallel range GETs into one buffer. ``first`` is obstore's
        response to a whole-object GET, already open: it supplies the first part (so no request
        is spent on learning the size); without it every part is a range request.

        The parts are asked for with ``If-Match`` on ``etag`` (the first response's), so an
        object replaced during the read fails with ``PreconditionFailedError`` instead of
        returning a mix of two versions. Given ``url`` (a presigned URL: S3; Azure with an
        account key) they are read over it straight into the buffer (:func:`read_into`),
        else through obstore. Memory: the result plus, through obstore, at most
        ``S3DLIO_RANGE_CONCURRENCY`` chunks of 256 KiB in flight.
        """
        uri = self.uri(key)
        part = self.transfer.range_part_size
        buf = new_buffer(size)
        # Later parts hold only if the object is still the version the first came from.
        if_match = {"If-Match": etag} if etag else None  # as a header, for read_into
        conditions: dict[str, Any] = {"if_match": etag} if etag else {}  # as obstore's option

        def drain(response: Any, start: int, end: int) -> None:
            # Copy the body in small chunks as they arrive: a fresh 16 MiB buffer per part
            # would page-fault another GiB per GiB read (measured: 0.86 s of CPU per GiB that
            # way, 0.75 s this way).
            pos = start
            for chunk in _translated(response.stream(min_chunk_size=_STREAM_CHUNK), uri, "get"):
                n = min(len(chunk), end - pos)
                buf[pos : pos + n] = np.frombuffer(chunk, np.uint8, count=n)
                pos += n
                if pos >= end:
                    return
            raise LengthMismatchError(
                f"range {start}-{end} ended after {pos - start} bytes",
                uri=uri,
                operation="get",
                expected=end - start,
                actual=pos - start,
            )

        def fetch(start: int) -> None:
            end = min(start + part, size)
            if start == 0 and first is not None:
                drain(first, 0, end)  # the response already open
            elif url is not None:
                part_buf = buf.data[start:end]
                read_into(
                    url,
                    part_buf,
                    start,
                    uri=uri,
                    operation="get",
                    headers=if_match,
                    settings=self.settings,
                )
            else:
                options = {**conditions, "range": (start, end)}
                drain(call(uri, "get", mod.get, store, key, options=options), start, end)

        map_bounded(fetch, range(0, size, part), self.transfer.range_concurrency)
        return BytesView(buf.data)

    def put(self, key: str, data: memoryview, *, create_only: bool = False) -> None:
        """See :class:`~.base.ObjectStore`. A create-only put is always one request (the
        condition cannot be carried by a multipart upload through obstore), so it is limited
        to S3's 5 GiB single-PUT maximum."""
        mod, store = self._native()
        self._checked(key, "put")
        size = len(data)
        if create_only:
            if size > _MAX_SINGLE_PUT:
                raise UnsupportedOperationError(
                    f"{type(self).__name__}: a create-only put is at most 5 GiB",
                    uri=self.uri(key),
                    operation="put",
                )
            call(self.uri(key), "put", mod.put, store, key, data, mode="create")
            return
        multipart = size > self.transfer.multipart_threshold
        call(
            self.uri(key),
            "put",
            mod.put,
            store,
            key,
            data,
            use_multipart=multipart,
            chunk_size=self.transfer.part_size(size),
        )

    def open_writer(self, key: str) -> ObstoreWriter:
        return ObstoreWriter(self, self._checked(key, "open_writer"))

    def head(self, key: str) -> ObjectMeta:
        mod, store = self._native()
        return _meta(call(self.uri(self._checked(key, "head")), "head", mod.head, store, key))

    def list(
        self, prefix: str, recursive: bool = True, metadata: bool = True
    ) -> Iterator[ListPage]:
        """Listings always carry sizes and times here: the store sends them anyway.

        object_store lists whole path segments (``"a/b"`` means the directory ``a/b/``), so a
        prefix that does not end with ``/`` is listed as its directory, filtered to the keys
        that start with it; a recursive one starts after the prefix minus its last character
        (a proper prefix of every matching key), so keys before it are not fetched.
        """
        mod, store = self._native()
        uri = self.uri(prefix)
        partial = bool(prefix) and not prefix.endswith("/")
        directory = prefix[: prefix.rfind("/") + 1] if partial else prefix
        path = _native_path(directory)
        if recursive:
            options: dict[str, Any] = {"chunk_size": LIST_PAGE, "return_arrow": True}
            if partial and len(prefix) > 1:
                options["offset"] = prefix[:-1]
            stream = call(uri, "list", mod.list, store, path, **options)
            # The next page is requested while the caller works on this one.
            for batch in prefetch(_translated(stream, uri, "list")):
                page = _arrow_page(batch, metadata)
                if partial:
                    page = [m for m in page if m.key.startswith(prefix)]
                if page:
                    yield ListPage(page)
        else:
            result = call(uri, "list", mod.list_with_delimiter, store, path)
            objects = [_meta(m) for m in result["objects"]]
            prefixes = [p.rstrip("/") + "/" for p in result["common_prefixes"]]
            if partial:
                objects = [m for m in objects if m.key.startswith(prefix)]
                prefixes = [p for p in prefixes if p.startswith(prefix)]
            for start in range(0, len(objects), LIST_PAGE):
                yield ListPage(objects[start : start + LIST_PAGE])
            for start in range(0, len(prefixes), LIST_PAGE):
                yield ListPage([], prefixes[start : start + LIST_PAGE])

    def delete_many(self, keys: Sequence[str]) -> int:
        """See :class:`~.base.ObjectStore`. Where the server reports a missing key (Azure,
        GCS: 404) it is not counted; S3 reports none. A batch that fails on a missing key may
        already have deleted others, which the key-by-key retry then finds missing: the count
        is then a lower bound (exact for a single key)."""
        if not keys:
            return 0
        mod, store = self._native()
        uri = self.uri(keys[0])
        try:
            mod.delete(store, list(keys))
        except Exception as exc:
            error = translate(exc, uri, "delete")
            # A batch is a POST, which obstore does not retry after a dropped connection; the
            # deletes it stands for are idempotent, so they are made again key by key (each a
            # DELETE, retried).
            if not isinstance(error, (ObjectNotFoundError, NetworkError, StorageTimeoutError)):
                raise error from exc
        else:
            return len(keys)
        # Some backends fail a whole batch for one missing key: retry one by one, ignoring
        # (and not counting) keys that are already gone.
        gone = 0
        for key in keys:
            try:
                mod.delete(store, key)
            except Exception as one:
                err = translate(one, self.uri(key), "delete")
                if not isinstance(err, ObjectNotFoundError):
                    raise err from one
            else:
                gone += 1
        return gone

    def copy(self, src_key: str, dst_key: str) -> None:
        mod, store = self._native()
        call(self.uri(src_key), "copy", mod.copy, store, src_key, dst_key)

    def create_bucket(self) -> bool:
        """Create this bucket/container; False if it existed. Backends that cannot raise
        ``UnsupportedOperationError``."""
        raise UnsupportedOperationError(
            f"creating buckets/containers is not supported for {self.scheme}:// yet",
            uri=self.root,
            operation="create_bucket",
        )

    def _require_empty(self) -> None:
        """Refuse to delete a bucket with objects: some servers (SeaweedFS) would delete a
        non-empty bucket with everything in it, where AWS refuses."""
        for page in self.list("", recursive=True):
            if page.objects:
                raise DirectoryNotEmptyError(
                    "bucket is not empty; delete its objects first (nothing was deleted)",
                    uri=self.root,
                    operation="delete_bucket",
                )

    def delete_bucket(self) -> None:
        raise UnsupportedOperationError(
            f"deleting buckets/containers is not supported for {self.scheme}:// yet",
            uri=self.root,
            operation="delete_bucket",
        )

    def mkdir(self, key: str) -> None:
        """Object stores have no directories: nothing to do."""

    def rmdir(self, key: str) -> None:
        """Object stores have no directories: nothing to do."""
