"""The flat, drop-in API: the functions of the reference's ``s3dlio`` module.

A facade: each function validates its arguments, calls :mod:`s3dlio.io` (one object) or the
engine (bulk work), and gives the result the reference's shape (stat dicts, ``ObjectMetadata``,
aliases, deprecation warnings, ``*_async`` twins). Nothing below this module imports it.

Sync functions block the calling thread (the GIL is released during I/O). Each ``*_async``
twin returns an ``asyncio.Future`` of the running loop (calling it outside a running loop
raises ``RuntimeError("no running event loop")``, as the reference does); the work runs on
the per-process pool. Differences from the reference, all deliberate, are listed in
``docs/api.md``.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import itertools
import logging
import os
import sys
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ParamSpec, TypeVar

from . import config, io, runtime, validate
from .buffers import BytesView, as_payload
from .datagen import (
    Generator,
    generate_data,
    generate_data_with_threads,
    generate_into_buffer,
    py_default_data_gen_threads,
    py_total_cpus,
)
from .engine import multiprocess, transfer
from .engine.bulk import run
from .engine.generate import put_generated
from .engine.listing import Entry, select
from .engine.progress import Progress, ProgressCallback
from .errors import (
    InvalidArgumentError,
    IsADirectoryObjectError,
    LengthMismatchError,
    ObjectNotFoundError,
    UnsupportedOperationError,
    UnsupportedSchemeError,
)
from .formats.npz import generate_npz_bytes, read_npz
from .formats.parquet import (
    PyParquetIndex,
    generate_and_write_parquet,
    generate_and_write_parquet_schema,
    generate_and_write_parquet_schema_streaming,
    generate_parquet_bytes,
    generate_parquet_bytes_schema,
    parquet_cache_clear,
    parquet_cache_invalidate,
    parquet_cache_len,
    parquet_get_rg,
    parquet_rg_row_offsets,
)
from .formats.tfrecord import (
    create_tfrecord_index,
    get_tfrecord_index_entries,
    index_tfrecord_bytes,
    read_tfrecord_index,
)
from .payloads import PayloadSpec
from .stores import store_for
from .stores.base import BucketAdmin, ObjectMeta, bucket_admin
from .uri import parse_uri

__all__ = [
    "Generator",
    "ObjectMetadata",
    "PyParquetIndex",
    "configure_tokio_threads",
    "create_bucket",
    "create_tfrecord_index",
    "delete",
    "delete_bucket",
    "download",
    "exists",
    "exists_async",
    "generate_and_write_parquet",
    "generate_and_write_parquet_schema",
    "generate_and_write_parquet_schema_streaming",
    "generate_data",
    "generate_data_with_threads",
    "generate_into_buffer",
    "generate_npz_bytes",
    "generate_parquet_bytes",
    "generate_parquet_bytes_schema",
    "get",
    "get_async",
    "get_by_key",
    "get_into_async",
    "get_many",
    "get_many_async",
    "get_many_stats",
    "get_many_stats_async",
    "get_object",
    "get_range",
    "get_range_async",
    "get_tfrecord_index_entries",
    "head_async",
    "index_tfrecord_bytes",
    "init_logging",
    "list",
    "list_containers",
    "list_full_uris",
    "list_keys",
    "list_count",
    "list_stream",
    "list_stream_async",
    "mp_get",
    "ListEntry",
    "Progress",
    "mkdir",
    "mkdir_async",
    "object_capabilities",
    "parquet_cache_clear",
    "parquet_cache_invalidate",
    "parquet_cache_len",
    "parquet_get_rg",
    "parquet_rg_row_offsets",
    "put",
    "put_async",
    "put_bytes",
    "put_bytes_async",
    "put_many",
    "put_many_async",
    "py_default_data_gen_threads",
    "py_total_cpus",
    "read_npz",
    "read_tfrecord_index",
    "rmdir",
    "stat",
    "stat_async",
    "stat_key",
    "stat_many_async",
    "stat_object",
    "upload",
]

_list = builtins.list


# -- reads ----------------------------------------------------------------------------------


def get(uri: str) -> BytesView:
    """The whole object as a zero-copy :class:`BytesView`.

    Raises :class:`~s3dlio.errors.ObjectNotFoundError` (a ``FileNotFoundError``) when it does
    not exist, :class:`~s3dlio.errors.IsADirectoryObjectError` for a local directory.
    """
    return io.get(uri)


def get_object(uri: str) -> BytesView:
    """Alias of :func:`get`."""
    return get(uri)


def get_range(uri: str, offset: int, length: int | None = None) -> BytesView:
    """``length`` bytes from ``offset`` (``None``: to the end). An offset at or past the end
    gives an empty view; a length past the end is clipped. Negative values raise
    :class:`~s3dlio.errors.InvalidArgumentError`."""
    return io.get_range(uri, offset, length)


def get_by_key(bucket: str, key: str) -> BytesView:
    """Deprecated: ``get(f"s3://{bucket}/{key}")``."""
    warnings.warn("get_by_key is deprecated; use get('s3://bucket/key')", DeprecationWarning, 2)
    return get(f"s3://{bucket}/{key}")


def get_many(
    uris: Sequence[str], max_in_flight: int = 64, *, progress: ProgressCallback | None = None
) -> _list[tuple[str, BytesView]]:
    """Fetch every URI, at most ``max_in_flight`` at once; ``(uri, BytesView)`` pairs in input
    order, duplicates kept. URIs may mix schemes and buckets.

    If an object is missing (or any read fails) no further reads start, running ones finish,
    and the error for that object is raised, naming its URI.
    """
    return transfer.get_many(_list(uris), max_in_flight, progress)


def get_many_stats(
    uris: Sequence[str], max_in_flight: int = 64, *, progress: ProgressCallback | None = None
) -> tuple[int, int]:
    """Read every URI and discard the data; ``(object_count, total_bytes)``. Memory: at most
    ``max_in_flight`` objects at once. Failure policy as :func:`get_many`."""
    sizes = run(lambda u: len(get(u)), _list(uris), max_in_flight, progress)
    return len(sizes), sum(sizes)


def mp_get(
    uri: str, procs: int = 4, jobs: int = 64, num: int = 1000, template: str = "object_{}.dat"
) -> dict[str, Any]:
    """Multi-process GET benchmark: ``procs`` spawned processes read the ``num`` objects
    ``uri/<template with the index>`` (``object_0.dat``...), ``jobs`` in flight in each, and
    discard the data. Works on every backend (the reference: S3 only, and it needs an
    ``s3-cli`` binary its wheel lacks).

    Returns ``attempted``, ``succeeded``, ``failed``, ``total_bytes``, ``duration_seconds``
    (the read phase: the slowest worker), ``wall_seconds`` (including process start-up),
    ``throughput_mb_s`` (10^6 bytes/s), ``ops_per_sec``, ``workers`` (the same figures per
    process) and ``errors`` (up to 5 ``(uri, error)`` pairs). Failed reads are counted, not
    raised; a malformed URI or a bad count raises before any process starts.
    """
    return multiprocess.mp_get(uri, procs, jobs, num, template)


# -- writes ---------------------------------------------------------------------------------


def put_bytes(uri: str, data: object) -> None:
    """Write ``data`` (any bytes-like object) as the whole object, replacing any existing one.

    The object appears only when complete: on ``file://``/``direct://`` through a temporary
    file renamed into place (parents are created); a failed write leaves nothing behind.
    """
    io.put(uri, data)


def put_many(
    items: Sequence[tuple[str, object]],
    max_in_flight: int = 64,
    *,
    progress: ProgressCallback | None = None,
) -> None:
    """Write every ``(uri, data)`` pair, at most ``max_in_flight`` at once.

    Every payload is checked before any write. Not a transaction: when one write fails, writes
    already done stay; no object is ever partially visible.
    """
    transfer.put_many(_list(items), max_in_flight, progress)


def put(
    prefix: str,
    num: int,
    template: str | None = None,
    max_in_flight: int = 64,
    size: int | None = None,
    should_create_bucket: bool = False,
    object_type: str = "zeros",
    dedup_factor: int = 1,
    compress_factor: int = 1,
    data_gen_algorithm: str = "random",
    data_gen_mode: str = "streaming",
    chunk_size: int = 262144,
    *,
    progress: ProgressCallback | None = None,
) -> None:
    """Generate ``num`` objects of ``size`` bytes (default 20 MiB) under ``prefix``.

    Names come from ``template``: its first ``{}`` is the index (from 0), the second ``num``;
    the default is ``object-{i}``.

    ``object_type``: ``zeros`` (zero bytes), ``ones`` (``0xFF`` bytes), ``raw``/``random``
    (generated bytes with ``dedup_factor``/``compress_factor`` and ``data_gen_algorithm``
    ``'random'`` or ``'prand'``), ``npz``/``tfrecord``/``hdf5`` (that format wrapping
    ``size`` generated bytes; hdf5 needs h5py). Every object has its own seed.

    ``data_gen_mode='streaming'`` writes plain byte objects larger than ``chunk_size`` chunk by
    chunk, generating the next chunk while the current one is written: memory is at most
    ``max_in_flight x 2 x chunk_size``. ``'single-pass'`` (and the formats) build each whole
    object first: at most ``max_in_flight x size``. Several objects are generated and written
    at once, so generation overlaps with upload in both modes.

    Unknown ``object_type``, ``data_gen_mode`` or ``data_gen_algorithm`` values and factors
    below 1 raise :class:`~s3dlio.errors.InvalidArgumentError` before any write.
    """
    transfer.check_max_in_flight(max_in_flight)
    num = validate.count("num", num)
    size = validate.optional_count("size", size)
    chunk_size = validate.count("chunk_size", chunk_size, 1)
    nbytes = 20 << 20 if size is None else size
    spec = PayloadSpec(
        object_type,
        nbytes,
        dedup_factor,
        compress_factor,
        data_gen_algorithm,
        data_gen_mode,
        chunk_size,
    )
    base = prefix if prefix.endswith("/") else prefix + "/"
    store, parsed = io.resolve(base)
    if should_create_bucket:
        _ensure_container(base)
    put_generated(
        store,
        parsed.key,
        num,
        spec,
        template=template,
        max_in_flight=max_in_flight,
        progress=progress,
    )


# -- metadata -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _utc_seconds(seconds: int) -> str:
    # Objects listed together mostly share a few seconds: format each second once.
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _rfc3339(mtime_ns: int | None) -> str | None:
    if mtime_ns is None:
        return None
    seconds, nanos = divmod(mtime_ns, 1_000_000_000)
    return f"{_utc_seconds(seconds)}.{nanos:09d}Z"


def _stat_dict(meta: ObjectMeta) -> dict[str, Any]:
    return {
        "size": meta.size,
        "last_modified": _rfc3339(meta.mtime_ns),
        "etag": meta.etag,
        "content_type": meta.content_type,
        "content_language": None,
        "content_encoding": None,
        "cache_control": None,
        "content_disposition": None,
        "expires": None,
        "storage_class": meta.storage_class,
        "server_side_encryption": None,
        "ssekms_key_id": None,
        "sse_customer_algorithm": None,
        "version_id": meta.version_id,
        "replication_status": None,
        "metadata": dict(meta.metadata or {}),
    }


def stat(uri: str) -> dict[str, Any]:
    """Metadata of one object as the reference's 16-key dict (``size``, ``last_modified``
    RFC 3339, ``etag``, ``storage_class``, ...). Missing: ``ObjectNotFoundError``."""
    return _stat_dict(io.head(uri))


def stat_object(uri: str) -> dict[str, Any]:
    """Alias of :func:`stat`."""
    return stat(uri)


def stat_key(bucket: str, key: str) -> dict[str, Any]:
    """Deprecated: ``stat(f"s3://{bucket}/{key}")``."""
    warnings.warn("stat_key is deprecated; use stat('s3://bucket/key')", DeprecationWarning, 2)
    return stat(f"s3://{bucket}/{key}")


def exists(uri: str) -> bool:
    """True when ``uri`` names an existing object; False when it is missing or a directory.

    Unlike the reference, other failures (denied, network, malformed URI) raise instead of
    returning False.
    """
    return io.exists(uri)


@dataclass(frozen=True, slots=True)
class ObjectMetadata:
    """What :func:`head_async` returns: frozen, hashable, comparable."""

    size: int
    etag: str | None
    version_id: str | None = None

    @classmethod
    def of(cls, meta: ObjectMeta) -> ObjectMetadata:
        """The reference's shape of a store's :class:`~s3dlio.stores.base.ObjectMeta`."""
        return cls(meta.size, meta.etag, meta.version_id)


def _head(uri: str) -> ObjectMetadata | None:
    try:
        meta = io.head(uri)
    except (ObjectNotFoundError, IsADirectoryObjectError):
        return None
    return ObjectMetadata.of(meta)


# -- listing --------------------------------------------------------------------------------


def list(uri: str, recursive: bool = False, pattern: str | None = None) -> _list[str]:
    """Full URIs of what ``uri`` selects (see :mod:`s3dlio.engine.listing` for selection).

    Non-recursive listings include immediate sub-directories, ending in ``/``. ``pattern`` is
    a regex searched in each key relative to the listed prefix. A missing prefix gives ``[]``.
    """
    store, parsed = io.resolve(uri)
    root = parsed.root
    return [
        root + e.key
        for e in select(store, parsed, recursive=recursive, pattern=pattern, metadata=False)
    ]


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One entry of :func:`list_stream`: an object, or (``is_prefix``) a sub-directory."""

    uri: str
    size: int | None
    last_modified: str | None
    etag: str | None
    is_prefix: bool = False

    @classmethod
    def of(cls, root: str, entry: Entry) -> ListEntry:
        """The public shape of a selected :class:`~s3dlio.engine.listing.Entry` under ``root``."""
        m = entry.meta
        if m is None:
            return cls(root + entry.key, None, None, None, True)
        return cls(root + entry.key, m.size, _rfc3339(m.mtime_ns), m.etag)


def list_stream(
    uri: str, recursive: bool = False, pattern: str | None = None
) -> Iterator[ListEntry]:
    """What :func:`list` returns, as a stream of :class:`ListEntry` with sizes and times.

    Entries arrive page by page as the store lists them; memory stays bounded however many
    objects there are. Not in the reference.
    """
    store, parsed = io.resolve(uri)
    root = parsed.root
    for e in select(store, parsed, recursive=recursive, pattern=pattern):
        yield ListEntry.of(root, e)


def list_count(uri: str, recursive: bool = True, pattern: str | None = None) -> int:
    """How many objects ``uri`` selects (sub-directories are not counted), listed page by page
    without building a URI per object: memory stays bounded for any count. Not in the
    reference (its CLI's ``ls -c`` counts the same way)."""
    store, parsed = io.resolve(uri)
    entries = select(
        store, parsed, recursive=recursive, pattern=pattern, with_prefixes=False, metadata=False
    )
    return sum(1 for _ in entries)


async def list_stream_async(
    uri: str, recursive: bool = False, pattern: str | None = None, page_size: int = 1000
) -> AsyncIterator[_list[ListEntry]]:
    """:func:`list_stream` for asyncio: an async iterator of pages of at most ``page_size``
    entries. Each page is listed on the worker pool, so the event loop never blocks; one page
    is held at a time. Not in the reference."""
    validate.count("page_size", page_size)
    entries = list_stream(uri, recursive=recursive, pattern=pattern)

    def next_page() -> _list[ListEntry]:
        return _list(itertools.islice(entries, max(page_size, 1)))

    loop = asyncio.get_running_loop()
    while page := await loop.run_in_executor(runtime.executor(), next_page):
        yield page


def list_full_uris(uri: str) -> _list[str]:
    """Alias of ``list(uri)`` (non-recursive)."""
    return list(uri)


def list_keys(uri: str) -> _list[str]:
    """Non-recursive listing as keys relative to ``uri`` (sub-directories keep their ``/``)."""
    store, parsed = io.resolve(uri)
    return [e.relative for e in select(store, parsed, recursive=False, metadata=False)]


def list_containers(uri: str, /) -> _list[dict[str, Any]]:
    """Top-level containers: for ``file://``/``direct://`` the sub-directories of the path,
    sorted by name, as ``{"name", "uri", "creation_date"}`` dicts (``uri`` with the input's
    scheme and no trailing slash)."""
    parsed = parse_uri(uri)
    if not parsed.is_local:
        raise UnsupportedOperationError(
            f"list_containers for {parsed.scheme}:// is not available yet", uri=uri
        )
    path = parsed.key
    try:
        entries = sorted(e.name for e in os.scandir(path) if e.is_dir())
    except FileNotFoundError:
        raise ObjectNotFoundError(
            "no such directory", uri=uri, operation="list_containers"
        ) from None
    root = path if path.endswith("/") else path + "/"
    return [
        {"name": name, "uri": parsed.with_key(root + name), "creation_date": None}
        for name in entries
    ]


# -- delete, directories, transfers ---------------------------------------------------------


def delete(
    uri: str,
    recursive: bool = False,
    *,
    pattern: str | None = None,
    progress: ProgressCallback | None = None,
) -> None:
    """Delete what ``uri`` selects.

    * ``recursive=False``: exactly the object ``uri`` (a glob key: its matches). A missing
      object is not an error. A local directory raises ``IsADirectoryObjectError`` and
      deletes nothing.
    * ``recursive=True``: the object and everything under ``uri/`` - never a sibling such as
      ``uri-old``. On ``file://``/``direct://`` directories left empty are removed too.
    * ``pattern``: only keys (relative to ``uri``) the regex matches.
    """
    transfer.delete(uri, recursive=recursive, pattern=pattern, progress=progress)


def _bucket_store(bucket_name: str) -> BucketAdmin:
    uri = bucket_name if "://" in bucket_name else f"s3://{bucket_name}/"
    parsed = parse_uri(uri)
    if parsed.is_local:
        raise InvalidArgumentError("buckets exist on object stores only; use mkdir", uri=uri)
    return bucket_admin(store_for(parsed), uri)


def create_bucket(bucket_name: str) -> None:
    """Create an S3 bucket (a name, as in the reference, or any ``s3://``/``gs://`` URI of
    it). An existing bucket you own is not an error. GCS works against emulators;
    ``az://`` raises ``UnsupportedOperationError``."""
    _bucket_store(bucket_name).create_bucket()


def delete_bucket(bucket_name: str) -> None:
    """Delete an empty bucket. One with objects raises ``DirectoryNotEmptyError`` and nothing
    is deleted (checked here, as some servers would delete it anyway); a missing one raises
    ``ObjectNotFoundError``."""
    _bucket_store(bucket_name).delete_bucket()


def _ensure_container(uri: str) -> None:
    """``create_bucket=True`` of put/upload: the directory (local) or bucket (object store)."""
    store, parsed = io.resolve(uri)
    if parsed.is_local:
        store.mkdir(parsed.key)
    else:
        bucket_admin(store, uri).create_bucket()


def mkdir(uri: str) -> None:
    """``mkdir -p`` on ``file://``/``direct://``; on object stores a no-op that only validates
    the URI. A file in the way raises ``AlreadyExistsError``."""
    store, parsed = io.resolve(uri)
    store.mkdir(parsed.key)


def rmdir(uri: str) -> None:
    """Remove an empty local directory (``DirectoryNotEmptyError`` otherwise; missing:
    ``ObjectNotFoundError``). A no-op on object stores. Not in the reference."""
    store, parsed = io.resolve(uri)
    store.rmdir(parsed.key.rstrip("/") or parsed.key)


def upload(
    src_patterns: Sequence[str] | str,
    dest_prefix: str,
    max_in_flight: int = 32,
    create_bucket: bool = False,
    *,
    progress: ProgressCallback | None = None,
) -> None:
    """Upload local files, directories (recursively, keeping their layout) and globs (``*``,
    ``?``, ``**``) to ``dest_prefix`` + name. Nothing matched: ``ObjectNotFoundError``.
    ``create_bucket=True`` first creates the bucket (or local directory) if missing."""
    if create_bucket:
        _ensure_container(dest_prefix)
    transfer.upload(src_patterns, dest_prefix, max_in_flight, progress)


def download(
    src_uri: str,
    dest_dir: str,
    max_in_flight: int = 64,
    recursive: bool = True,
    *,
    progress: ProgressCallback | None = None,
) -> None:
    """Download what ``src_uri`` selects into local ``dest_dir`` (a path or a ``file://``
    URI), keeping the layout relative to ``src_uri``; a single object lands at
    ``dest_dir/<name>``. A key that would escape ``dest_dir`` (``..``, absolute) raises
    :class:`~s3dlio.errors.UnsafeKeyError` before anything is written. Nothing matched:
    ``ObjectNotFoundError``, and no directory is created."""
    transfer.download(src_uri, dest_dir, max_in_flight, recursive, progress)


def object_capabilities(uri: str) -> dict[str, Any]:
    """``{"provider", "get_into", "head"}`` from the scheme alone (no I/O). Every known
    scheme supports both; an unknown scheme reports provider ``"unknown"``; a malformed URI of
    a known scheme raises ``InvalidURIError``."""
    try:
        parsed = parse_uri(uri)
    except UnsupportedSchemeError:
        return {"provider": "unknown", "get_into": False, "head": False}
    return {"provider": parsed.scheme, "get_into": True, "head": True}


# -- runtime and logging --------------------------------------------------------------------


def configure_tokio_threads(n: int = 0) -> None:
    """Size the worker pool (``0``: the default). Effective only before the first I/O call,
    like the reference; later calls are ignored."""
    if not runtime.started():
        config.set_runtime_threads(n or None)


_LEVELS = {
    "trace": 5,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def init_logging(level: str) -> None:
    """Send s3dlio's log records at ``level`` (trace, debug, info, warn, error) to stderr.
    An unknown level raises ``InvalidArgumentError``."""
    value = _LEVELS.get(str(level).lower())
    if value is None:
        raise InvalidArgumentError(f"unknown log level {level!r}; use {sorted(_LEVELS)}")
    logger = logging.getLogger("s3dlio")
    logger.setLevel(value)
    if not any(getattr(h, "_s3dlio", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        handler._s3dlio = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


# -- async twins ----------------------------------------------------------------------------

P = ParamSpec("P")
R = TypeVar("R")


def _async_twin(fn: Callable[P, R]) -> Callable[P, asyncio.Future[R]]:
    """The ``*_async`` form of ``fn``: same signature, returns an ``asyncio.Future`` of the
    running loop (raises ``RuntimeError("no running event loop")`` outside one)."""

    @functools.wraps(fn)
    def twin(*args: P.args, **kwargs: P.kwargs) -> asyncio.Future[R]:
        return runtime.run_async(functools.partial(fn, *args, **kwargs))

    twin.__name__ = twin.__qualname__ = f"{fn.__name__}_async"
    return twin


get_async = _async_twin(get)
get_range_async = _async_twin(get_range)
get_many_async = _async_twin(get_many)
get_many_stats_async = _async_twin(get_many_stats)
put_async = _async_twin(put)
stat_async = _async_twin(stat)
mkdir_async = _async_twin(mkdir)


def _payload_for_async(data: object, borrow: bool) -> memoryview:
    view = as_payload(data)
    return view if borrow else memoryview(view.tobytes())


def put_bytes_async(uri: str, data: object, *, borrow: bool = True) -> asyncio.Future[None]:
    """``borrow=True`` reads the caller's buffer in place until the Future completes (do not
    mutate it meanwhile); ``borrow=False`` copies it once up front."""
    return runtime.run_async(put_bytes, uri, _payload_for_async(data, borrow))


def put_many_async(
    items: Sequence[tuple[str, object]], max_in_flight: int = 64, *, borrow: bool = True
) -> asyncio.Future[None]:
    prepared = []
    for n, item in enumerate(items):
        if not isinstance(item, tuple) or len(item) != 2:
            raise InvalidArgumentError(
                f"put_many items must be (uri, data) tuples; item {n} is not"
            )
        prepared.append((item[0], _payload_for_async(item[1], borrow)))
    return runtime.run_async(put_many, prepared, max_in_flight)


def stat_many_async(uris: Sequence[str]) -> asyncio.Future[_list[dict[str, Any]]]:
    """Stat dicts in input order; a missing object fails the whole call, naming it."""
    uri_list = _list(uris)
    return runtime.run_async(lambda: runtime.map_bounded(stat, uri_list, 64))


def exists_async(uri: str) -> asyncio.Future[bool]:
    parse_uri(uri)  # an unparseable URI raises at call time, as in the reference
    return runtime.run_async(exists, uri)


def head_async(uri: str) -> asyncio.Future[ObjectMetadata | None]:
    """:class:`ObjectMetadata`, or ``None`` when the object does not exist."""
    return runtime.run_async(_head, uri)


def _get_into(uri: str, dst: memoryview, expected_len: int) -> int:
    data = get(uri)
    if len(data) != expected_len:
        raise LengthMismatchError(
            f"object is {len(data)} bytes, expected {expected_len}",
            uri=uri,
            operation="get_into",
            expected=expected_len,
            actual=len(data),
        )
    dst[:expected_len] = memoryview(data)
    return expected_len


def get_into_async(uri: str, dst: object, *, expected_len: int) -> asyncio.Future[int]:
    """Read the whole object into the writable, C-contiguous buffer ``dst``; resolves to the
    byte count. A size other than ``expected_len`` raises ``LengthMismatchError`` and leaves
    ``dst`` untouched; a missing object ``ObjectNotFoundError``. Works on every backend."""
    view = io.writable_bytes(dst, "dst")
    if view.nbytes < expected_len:
        raise InvalidArgumentError(
            f"dst holds {view.nbytes} bytes, fewer than expected_len={expected_len}"
        )
    return runtime.run_async(_get_into, uri, view, expected_len)
