"""Bulk operations, written once above the store protocol: get/put many, upload, download,
delete, copy.

Concurrency: each call runs at most ``max_in_flight`` store calls at once on the per-process
pool (:mod:`s3dlio.engine.runtime`). Memory: ``get_many`` holds every result (it returns them);
``put_many`` holds nothing beyond the caller's buffers; upload/download/copy stream each object
in chunks of ``COPY_CHUNK`` bytes, so they hold at most ``max_in_flight x COPY_CHUNK``.

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

from ..buffers import BytesView, as_payload
from ..errors import (
    DirectoryNotEmptyError,
    InvalidArgumentError,
    IsADirectoryObjectError,
    LengthMismatchError,
    ObjectNotFoundError,
    UnsafeKeyError,
)
from ..runtime import for_each_bounded, map_bounded
from ..stores import store_for
from ..stores.base import ObjectStore
from ..uri import ObjectURI, parse_uri
from .listing import Entry, has_glob, select
from .progress import ProgressCallback, Tracker

T = TypeVar("T")

__all__ = [
    "COPY_CHUNK",
    "DELETE_BATCH",
    "check_max_in_flight",
    "copy_object",
    "delete",
    "download",
    "get_many",
    "put_many",
    "safe_local_path",
    "upload",
]

COPY_CHUNK = 8 << 20
DELETE_BATCH = 1000


def check_max_in_flight(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidArgumentError(f"max_in_flight must be an integer >= 1, got {value!r}")
    return value


def resolve(uri: str) -> tuple[ObjectStore, ObjectURI]:
    parsed = parse_uri(uri)
    return store_for(parsed), parsed


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
    tracker = Tracker(progress, total_objects=len(uris))
    out: list[BytesView | None] = [None] * len(uris)

    def fetch(i: int) -> int:
        store, parsed = resolved[i]
        out[i] = store.get(parsed.key)
        return len(out[i])  # type: ignore[arg-type]

    try:
        map_bounded(tracker.counted(fetch), range(len(uris)), max_in_flight)
    finally:
        tracker.finish()
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

    tracker = Tracker(
        progress, total_objects=len(prepared), total_bytes=sum(len(v) for _, _, v in prepared)
    )
    try:
        map_bounded(tracker.counted(write), prepared, max_in_flight)
    finally:
        tracker.finish()


def copy_object(
    src: ObjectStore,
    src_key: str,
    dst: ObjectStore,
    dst_key: str,
    size: int | None = None,
    window: int | None = None,
) -> int:
    """Stream one object from ``src`` to ``dst``; return its size.

    Objects up to ``COPY_CHUNK`` bytes are one GET and one PUT. Larger ones are read as range
    GETs of ``COPY_CHUNK`` bytes, ``window`` (default ``S3DLIO_RANGE_CONCURRENCY``) at a time,
    and written in order through a streaming writer: memory is bounded by
    ``window x COPY_CHUNK`` whatever the object's size, so files larger than RAM transfer.
    ``size`` (from a listing or ``stat``) saves one HEAD request for large objects.

    The destination appears only when complete and of the expected size; any failure aborts
    it (a multipart upload is aborted, a local temp file removed).
    """
    first = src.get(src_key, 0, COPY_CHUNK)
    if len(first) < COPY_CHUNK:
        dst.put(dst_key, memoryview(first))
        return len(first)
    if size is None:
        size = src.head(src_key).size
    width = window if window is not None else src.settings.transfer.range_concurrency
    starts = list(range(COPY_CHUNK, size, COPY_CHUNK))
    with dst.open_writer(dst_key) as writer:  # aborted by any exception inside
        writer.write(memoryview(first))
        written = len(first)
        for i in range(0, len(starts), width):
            group = starts[i : i + width]
            chunks = map_bounded(lambda at: src.get(src_key, at, COPY_CHUNK), group, width)
            for chunk in chunks:
                writer.write(memoryview(chunk))
                written += len(chunk)
            del chunks
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
    """Delete what ``uri`` selects; return the number of objects deleted.

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
        store.delete_many([parsed.key])
        return 1
    dirs: set[str] = set()
    count = 0

    def keys() -> Iterator[str]:
        nonlocal count
        for entry in select(
            store, parsed, recursive=recursive, pattern=pattern, with_prefixes=False, metadata=False
        ):
            count += 1
            if parsed.is_local:
                dirs.add(os.path.dirname(entry.key))
            yield entry.key

    tracker = Tracker(progress)

    def delete_batch(batch: list[str]) -> None:
        try:
            store.delete_many(batch)
        except BaseException:
            tracker.error()
            raise
        tracker.add(len(batch))

    try:
        for_each_bounded(delete_batch, _batches(keys(), DELETE_BATCH), max_in_flight)
    finally:
        tracker.finish()
    if parsed.is_local and recursive:
        _prune_dirs(store, parsed, dirs)
    return count


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


@dataclass(frozen=True, slots=True)
class _Transfer:
    src: ObjectStore
    src_key: str
    dst: ObjectStore
    dst_key: str
    size: int | None = None


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


def _run_transfers(
    jobs: list[_Transfer], max_in_flight: int, progress: ProgressCallback | None
) -> None:
    tracker = Tracker(progress, total_objects=len(jobs))

    def one(j: _Transfer) -> int:
        return copy_object(j.src, j.src_key, j.dst, j.dst_key, j.size)

    try:
        map_bounded(tracker.counted(one), jobs, max_in_flight)
    finally:
        tracker.finish()


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
