"""Bulk operations, written once above the store protocol: get/put many, upload, download,
copy, delete.

Concurrency: each call runs at most ``max_in_flight`` store calls at once on the per-process
pool, through the one bulk runner (:mod:`.bulk`). Memory: ``get_many`` holds every result (it
returns them); ``put_many`` holds nothing beyond the caller's buffers; upload, download and
copy stream large objects in pieces and together hold at most the
:class:`~s3dlio.settings.TransferConfig`'s ``memory_budget`` (its docstring has the formula).

Failure policy for every bulk call: the first failure stops new work; calls already running
finish; then that failure is raised. It names the URI that failed. Objects already written or
deleted stay so (a bulk call is not a transaction), but no object is ever left partially
written under its final name.
"""

from __future__ import annotations

import glob as globlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from .. import config, validate
from ..buffers import BytesView, as_payload
from ..errors import (
    DirectoryNotEmptyError,
    InvalidArgumentError,
    IsADirectoryObjectError,
    LengthMismatchError,
    ObjectNotFoundError,
    UnsafeKeyError,
)
from ..runtime import map_bounded
from ..settings import TransferConfig
from ..stores import resolve, store_for
from ..stores.base import ObjectStore
from ..uri import ObjectURI, parse_uri
from .bulk import MemoryBudget, run, run_stream
from .listing import Entry, has_glob, select
from .progress import ProgressCallback

T = TypeVar("T")

__all__ = [
    "COPY_CHUNK",
    "DELETE_BATCH",
    "check_max_in_flight",
    "copy",
    "copy_object",
    "delete",
    "download",
    "get_many",
    "put_many",
    "safe_local_path",
    "upload",
]

COPY_CHUNK = TransferConfig.copy_chunk  # the default piece of a streamed copy
DELETE_BATCH = 1000


def check_max_in_flight(value: object) -> int:
    return validate.count("max_in_flight", value, 1)


class _Resolver:
    """``resolve`` for the many URIs of one bulk call: the store of each bucket is looked up
    once per call, not once per object (which re-reads the credentials from the environment)."""

    def __init__(self) -> None:
        self._stores: dict[tuple[object, ...], ObjectStore] = {}

    def __call__(self, uri: str) -> tuple[ObjectStore, ObjectURI]:
        parsed = parse_uri(uri)
        ident = (parsed.scheme, parsed.bucket, parsed.endpoint, parsed.account)
        store = self._stores.get(ident)
        if store is None:
            store = self._stores[ident] = store_for(parsed)
        return store, parsed


def get_many(
    uris: Sequence[str], max_in_flight: int, progress: ProgressCallback | None = None
) -> list[tuple[str, BytesView]]:
    """Fetch every URI; ``(uri, data)`` pairs in input order (duplicates kept)."""
    check_max_in_flight(max_in_flight)
    lookup = _Resolver()
    resolved = [lookup(u) for u in uris]
    out: list[BytesView | None] = [None] * len(uris)

    def fetch(i: int) -> int:
        store, parsed = resolved[i]
        data = out[i] = store.get(parsed.key)
        return len(data)

    run(fetch, range(len(uris)), max_in_flight, progress)
    return [(u, v) for u, v in zip(uris, out, strict=True)]  # type: ignore[misc]


def put_many(
    items: Sequence[tuple[str, object]],
    max_in_flight: int,
    progress: ProgressCallback | None = None,
) -> None:
    """Write every ``(uri, data)``. Payloads are checked before any I/O."""
    check_max_in_flight(max_in_flight)
    lookup = _Resolver()
    prepared: list[tuple[ObjectStore, str, memoryview]] = []
    for n, item in enumerate(items):
        if not isinstance(item, tuple) or len(item) != 2:
            raise InvalidArgumentError(
                f"put_many items must be (uri, data) tuples; item {n} is {type(item).__name__}"
            )
        uri, data = item
        store, parsed = lookup(uri)
        prepared.append((store, parsed.key, as_payload(data, what=f"item {n} ({uri})")))

    def write(entry: tuple[ObjectStore, str, memoryview]) -> int:
        store, key, view = entry
        store.put(key, view)
        return len(view)

    total = sum(len(v) for _, _, v in prepared)
    run(write, prepared, max_in_flight, progress, total_bytes=total)


def _writer_memory(store: ObjectStore, transfer: TransferConfig) -> int:
    """What ``store``'s streaming writer may buffer (see TransferConfig)."""
    return 0 if store.scheme in ("file", "direct", "memory") else transfer.writer_memory


def copy_object(
    src: ObjectStore,
    src_key: str,
    dst: ObjectStore,
    dst_key: str,
    size: int | None = None,
    window: int | None = None,
    transfer: TransferConfig | None = None,
) -> int:
    """Stream one object from ``src`` to ``dst``; return its size.

    Objects below ``transfer.copy_chunk`` bytes are one GET and one PUT. Larger ones are read
    as range GETs of ``copy_chunk`` bytes, ``window`` (default ``range_concurrency``) at a
    time, and written in order through a streaming writer: at most ``window x copy_chunk``
    bytes are held (plus what the destination's writer buffers), whatever the object's size,
    so files larger than RAM transfer. ``size`` (from a listing or ``stat``) saves one HEAD
    request for large objects. ``transfer`` defaults to the source store's.

    The destination appears only when complete and of the expected size; any failure aborts
    it (a multipart upload is aborted, a local temp file removed).
    """
    transfer = transfer or src.settings.transfer
    chunk = transfer.copy_chunk
    width = max(1, window if window is not None else transfer.range_concurrency)
    first = src.get(src_key, 0, chunk)
    if len(first) < chunk:
        dst.put(dst_key, memoryview(first))
        return len(first)
    if size is None:
        size = src.head(src_key).size
    starts = list(range(chunk, size, chunk))
    with dst.open_writer(dst_key) as writer:  # aborted by any exception inside
        writer.write(memoryview(first))
        written = len(first)
        del first  # from here on the window is all this object holds
        for i in range(0, len(starts), width):
            group = starts[i : i + width]
            chunks = map_bounded(lambda at: src.get(src_key, at, chunk), group, width)
            for piece in chunks:
                writer.write(memoryview(piece))
                written += len(piece)
            del chunks, piece  # neither may hold a piece while the next window is read
        if written != size:
            raise LengthMismatchError(
                f"copied {written} bytes but the source is {size} bytes (changed during the "
                "copy?); the destination was not written",
                uri=src.uri(src_key),
                operation="copy",
                expected=size,
                actual=written,
            )
    return written


@dataclass(frozen=True, slots=True)
class _Transfer:
    src: ObjectStore
    src_key: str
    dst: ObjectStore
    dst_key: str
    size: int | None = None


def _run_transfers(
    jobs: Sequence[_Transfer] | Iterable[_Transfer],
    max_in_flight: int,
    progress: ProgressCallback | None,
    transfer: TransferConfig | None = None,
) -> int:
    """Copy every job, ``max_in_flight`` at a time, within the memory budget (see
    :class:`~s3dlio.settings.TransferConfig`): a small object reserves its size, a large one
    ``window x copy_chunk`` plus its writer's buffer, with ``window`` shrunk so that the large
    objects that can run at once fit the budget together (for a lazy iterable of jobs, as if
    all were large). ``transfer`` defaults to the first job's source store's. Returns the
    number of jobs."""
    width = check_max_in_flight(max_in_flight)
    if transfer is None:  # the source stores' (one bulk call has one source)
        first = jobs[0] if isinstance(jobs, Sequence) and jobs else None
        transfer = first.src.settings.transfer if first else config.settings().transfer
    chunk = transfer.copy_chunk
    if isinstance(jobs, Sequence):
        large = sum(1 for j in jobs if j.size is None or j.size >= chunk)
    else:
        large = width
    running = max(1, min(width, large))
    window = max(1, min(transfer.range_concurrency, transfer.memory_budget // (running * chunk)))
    budget = MemoryBudget(transfer.memory_budget)

    def cost(j: _Transfer) -> int:
        if j.size is not None and j.size < chunk:
            return j.size
        return window * chunk + _writer_memory(j.dst, transfer)

    def one(j: _Transfer) -> int:
        with budget.reserve(cost(j)):
            return copy_object(j.src, j.src_key, j.dst, j.dst_key, j.size, window, transfer)

    if isinstance(jobs, Sequence):
        run(one, jobs, width, progress)
        return len(jobs)
    return run_stream(one, jobs, width, progress)


def copy(
    src_uri: str,
    dst_uri: str,
    *,
    recursive: bool = False,
    max_in_flight: int = 32,
    progress: ProgressCallback | None = None,
) -> int:
    """Copy what ``src_uri`` selects (:mod:`.listing`) to ``dst_uri``, between any two stores;
    return the number of objects.

    One object (a key without ``recursive``) is copied to ``dst_uri`` itself, or into it when
    ``dst_uri`` ends with ``/`` (keeping its name). A selection keeps its layout under
    ``dst_uri`` as a prefix, copied while the listing streams (a long listing is never held
    whole). Objects stream in bounded pieces within the memory budget; each destination
    appears only when complete. Nothing selected: ``ObjectNotFoundError``, and nothing is
    written.
    """
    check_max_in_flight(max_in_flight)
    src, parsed = resolve(src_uri)
    dst, dst_parsed = resolve(dst_uri)
    key = parsed.key
    if not recursive and key and not key.endswith("/") and not has_glob(key):
        dst_key = dst_parsed.key
        if dst_key == "" or dst_key.endswith("/"):
            dst_key += key.rsplit("/", 1)[-1]
        _run_transfers([_Transfer(src, key, dst, dst_key)], 1, progress)
        return 1
    base = dst_parsed.key
    if base and not base.endswith("/"):
        base += "/"
    jobs = (
        _Transfer(src, e.key, dst, base + e.relative, e.meta.size if e.meta else None)
        for e in select(src, parsed, recursive=recursive, with_prefixes=False)
    )
    count = _run_transfers(jobs, max_in_flight, progress, src.settings.transfer)
    if count == 0:
        raise ObjectNotFoundError("no objects matched for copy", uri=src_uri, operation="copy")
    return count


# -- delete ---------------------------------------------------------------------------------


def _batches(keys: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for key in keys:
        batch.append(key)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def delete(
    uri: str,
    *,
    recursive: bool,
    pattern: str | None,
    max_in_flight: int = 16,
    progress: ProgressCallback | None = None,
) -> int:
    """Delete what ``uri`` selects; return the number of objects that existed and were
    deleted: for an exact key, whether it existed (S3 does not tell: there a successful DELETE
    counts 1); for a selection, the objects listed (each existed when listed).

    Without ``recursive`` and ``pattern`` exactly one key is deleted (a glob key deletes its
    matches); deleting a missing object is not an error. A local directory without
    ``recursive`` raises :class:`~s3dlio.errors.IsADirectoryObjectError` and deletes nothing.
    Recursive deletes stream the listing into batches of ``DELETE_BATCH`` keys deleted
    concurrently, and on ``file://``/``direct://`` remove the directories they emptied.
    """
    store, parsed = resolve(uri)
    if not recursive and pattern is None and not has_glob(parsed.key):
        if parsed.is_local and (parsed.key.endswith("/") or os.path.isdir(parsed.key)):
            raise IsADirectoryObjectError(
                "is a directory; use recursive=True to delete everything under it "
                "(nothing was deleted)",
                uri=uri,
                operation="delete",
            )
        return store.delete_many([parsed.key])
    dirs: set[str] = set()
    listed = 0

    def keys() -> Iterator[str]:
        nonlocal listed  # pulled under the runner's lock: one thread at a time
        for entry in select(
            store, parsed, recursive=recursive, pattern=pattern, with_prefixes=False, metadata=False
        ):
            listed += 1
            if parsed.is_local:
                dirs.add(os.path.dirname(entry.key))
            yield entry.key

    def delete_batch(batch: list[str]) -> int:
        store.delete_many(batch)
        return 0  # no bytes moved

    # Progress counts the objects of each batch, not batches.
    run_stream(delete_batch, _batches(keys(), DELETE_BATCH), max_in_flight, progress, per_item=len)
    if parsed.is_local and recursive:
        _prune_dirs(store, parsed, dirs)
    return listed


def _prune_dirs(store: ObjectStore, parsed: ObjectURI, dirs: set[str]) -> None:
    key = parsed.key
    top = key.rstrip("/") if not has_glob(key) else os.path.dirname(key.split("*")[0])
    every: set[str] = set()
    for d in dirs:
        while d and d != top and d.startswith(top + "/"):
            every.add(d)
            d = os.path.dirname(d)
    if not has_glob(key) and (key.endswith("/") or os.path.isdir(top)):
        every.add(top)
    for d in sorted(every, key=len, reverse=True):
        try:
            store.rmdir(d)
        except (DirectoryNotEmptyError, ObjectNotFoundError):
            continue


# -- upload / download ----------------------------------------------------------------------


def _local_sources(patterns: Sequence[str]) -> list[tuple[str, str]]:
    """(path, relative destination name) for every file the patterns match."""
    out: list[tuple[str, str]] = []
    for raw in patterns:
        pattern = raw.split("://", 1)[1] if raw.startswith(("file://", "direct://")) else raw
        if has_glob(pattern) or "[" in pattern:
            for path in sorted(globlib.glob(pattern, recursive=True)):
                if os.path.isfile(path):
                    out.append((path, os.path.basename(path)))
        elif os.path.isdir(pattern):
            for root, subdirs, files in os.walk(pattern):
                subdirs.sort()
                for name in sorted(files):
                    path = os.path.join(root, name)
                    out.append((path, os.path.relpath(path, pattern).replace(os.sep, "/")))
        elif os.path.isfile(pattern):
            out.append((pattern, os.path.basename(pattern)))
    return out


def upload(
    patterns: Sequence[str] | str,
    dest_prefix: str,
    max_in_flight: int,
    progress: ProgressCallback | None = None,
) -> int:
    """Upload local files (paths, directories - recursively, globs incl. ``**``) under
    ``dest_prefix``; return the number of files. Raises
    :class:`~s3dlio.errors.ObjectNotFoundError` when nothing matches."""
    check_max_in_flight(max_in_flight)
    if isinstance(patterns, str):
        patterns = [patterns]
    sources = _local_sources(patterns)
    if not sources:
        raise ObjectNotFoundError(
            f"no files matched for upload: {list(patterns)!r}", operation="upload"
        )
    dst, parsed = resolve(dest_prefix)
    base = parsed.key if parsed.key == "" or parsed.key.endswith("/") else parsed.key + "/"
    local = store_for(parse_uri("file://x"))
    jobs = [_Transfer(local, path, dst, base + rel, os.path.getsize(path)) for path, rel in sources]
    _run_transfers(jobs, max_in_flight, progress)
    return len(jobs)


def safe_local_path(dest_dir: str, relative: str, uri: str) -> str:
    """``dest_dir/relative``, refusing any key that would land outside ``dest_dir``."""
    parts = relative.split("/")
    if relative.startswith("/") or any(p in ("..", ".") for p in parts) or "\\" in relative:
        raise UnsafeKeyError(
            f"key {relative!r} would escape the download directory {dest_dir!r}; "
            "nothing was downloaded",
            uri=uri,
            operation="download",
        )
    path = os.path.normpath(os.path.join(dest_dir, *[p for p in parts if p]))
    root = os.path.normpath(dest_dir)
    if os.path.commonpath([root, path]) != root or path == root:
        raise UnsafeKeyError(
            f"key {relative!r} would escape the download directory {dest_dir!r}; "
            "nothing was downloaded",
            uri=uri,
            operation="download",
        )
    return path


def download(
    src_uri: str,
    dest_dir: str,
    max_in_flight: int,
    recursive: bool,
    progress: ProgressCallback | None = None,
) -> int:
    """Download what ``src_uri`` selects into ``dest_dir`` keeping the relative layout; return
    the number of objects. Every key is checked before anything is written."""
    check_max_in_flight(max_in_flight)
    src, parsed = resolve(src_uri)
    if dest_dir.startswith(("file://", "direct://")):
        dst_parsed = parse_uri(dest_dir)
        dst, dest_root = store_for(dst_parsed), dst_parsed.key
    else:
        dst, dest_root = store_for(parse_uri("file://x")), dest_dir
    entries: list[Entry] = [
        e
        for e in select(src, parsed, recursive=recursive, with_prefixes=False)
        if not e.key.endswith("/")
    ]
    if not entries:
        raise ObjectNotFoundError(
            "no objects matched for download", uri=src_uri, operation="download"
        )
    jobs = [
        _Transfer(
            src,
            e.key,
            dst,
            safe_local_path(dest_root, e.relative, parsed.with_key(e.key)),
            e.meta.size if e.meta is not None else None,
        )
        for e in entries
    ]
    _run_transfers(jobs, max_in_flight, progress)
    return len(jobs)
