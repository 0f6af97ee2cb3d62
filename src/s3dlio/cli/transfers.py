"""Data commands: get, put, upload, download, cp.

Thin over the library: ``put``, ``upload``, ``download`` and ``cp`` are one call each
(``s3dlio.put``/``upload``/``download``, the engine's ``copy``, with ``progress=``). ``get``
is a read benchmark: ``s3dlio.get``/``get_range`` over the library's streamed selection,
through the engine's bulk runner (``run_stream``). That keeps memory at most ``--jobs``
objects (``get_many`` would hold every object it read) and starts work before a long listing
ends.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
from collections.abc import Iterable
from typing import TypeVar

import s3dlio

from ..engine.bulk import run_stream
from ..engine.listing import has_glob
from ..engine.progress import ProgressCallback
from ..engine.transfer import copy
from ..errors import ObjectNotFoundError
from ..uri import ObjectURI, parse_uri
from .exits import EXIT_OK, CommandFailed, UsageError
from .render import Console, summary_line

__all__ = ["cp", "download", "get", "put", "upload"]

T = TypeVar("T")


def _not_available(flag: str, value: object, why: str) -> None:
    if value is not None:
        raise UsageError(f"{flag} is not available yet: {why}")


# -- get ------------------------------------------------------------------------------------


def _selects_many(uri: str) -> bool:
    return uri.endswith("/") or has_glob(uri.split("://", 1)[-1])


def _read_keylist(path: str, base: str | None) -> list[str]:
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read()
    except OSError as exc:
        raise UsageError(f"cannot read --keylist {path}: {exc.strerror or exc}") from None
    uris = []
    for line in text.splitlines():
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        if "://" in item:
            uris.append(item)
        elif base is None:
            raise UsageError(
                f"--keylist {path}: {item!r} is not a URI; give a base URI to resolve keys"
            )
        else:
            uris.append((base if base.endswith("/") else base + "/") + item.lstrip("/"))
    return uris


def _get_selection(args: argparse.Namespace) -> tuple[Iterable[str], int | None]:
    """The URIs to read and, when known up front, how many."""
    if args.keylist is not None:
        if args.recursive:
            raise UsageError("--keylist names exact objects; it cannot be combined with -r")
        uris = _read_keylist(args.keylist, args.uri)
        return uris, len(uris)
    if args.uri is None:
        raise UsageError("get needs a URI (or --keylist FILE)")
    if not args.recursive and not _selects_many(args.uri):
        return [args.uri], 1
    listing = s3dlio.list_stream(args.uri, recursive=args.recursive)
    return (e.uri for e in listing if not e.is_prefix), None


def get(args: argparse.Namespace, console: Console) -> int:
    _not_available("get --endpoints", args.endpoints, "the library has no multi-endpoint store")
    _not_available("get --concurrent", args.concurrent, "the library has no concurrent ranged GET")
    uris, total = _get_selection(args)
    offset, length = args.offset, args.length
    ranged = offset is not None or length is not None

    def read(uri: str) -> int:
        # The data is dropped as soon as it is counted: this is a read benchmark.
        if ranged:
            return len(s3dlio.get_range(uri, offset or 0, length))
        return len(s3dlio.get(uri))

    with console.progress("get") as view:
        count = run_stream(read, uris, args.jobs, view, total_objects=total)
    if count == 0:
        raise CommandFailed(f"get {args.uri or args.keylist}: no objects matched")
    assert view.last is not None
    print(summary_line("get", view.last, exact_bytes=True), flush=True)
    return EXIT_OK


# -- put, upload, download ------------------------------------------------------------------


def put(args: argparse.Namespace, console: Console) -> int:
    _not_available("put --endpoints", args.endpoints, "the library has no multi-endpoint store")
    with console.progress("put") as view:
        s3dlio.put(
            args.uri,
            args.num,
            template=args.template,
            max_in_flight=max(1, min(args.jobs, args.num)),
            size=args.size,
            should_create_bucket=args.create_bucket,
            object_type=args.object_type,
            dedup_factor=args.dedup,
            compress_factor=args.compress,
            data_gen_mode=args.data_gen_mode,
            chunk_size=args.chunk_size,
            progress=view,
        )
    view.summary()
    return EXIT_OK


def upload(args: argparse.Namespace, console: Console) -> int:
    with console.progress("upload") as view:
        s3dlio.upload(args.sources, args.dest, args.jobs, args.create_bucket, progress=view)
    view.summary()
    return EXIT_OK


def download(args: argparse.Namespace, console: Console) -> int:
    with console.progress("download") as view:
        s3dlio.download(args.src, args.dest, args.jobs, args.recursive, progress=view)
    view.summary()
    return EXIT_OK


# -- cp -------------------------------------------------------------------------------------


def _is_uri(text: str) -> bool:
    return "://" in text


def _as_uri(text: str) -> str:
    """A local path as a ``file://`` URI (absolute; a trailing ``/`` is kept)."""
    if _is_uri(text):
        return text
    path = os.path.abspath(text)
    return f"file://{path}{'/' if text.endswith(('/', os.sep)) and path != '/' else ''}"


def _is_single(src: ObjectURI, recursive: bool) -> bool:
    """SRC names one object: no -r, no trailing ``/``, no glob, not a local directory."""
    key = src.key
    if recursive or key == "" or key.endswith("/") or has_glob(key):
        return False
    return not (src.is_local and os.path.isdir(key))


def _into_directory(dst: ObjectURI) -> bool:
    key = dst.key
    return key == "" or key.endswith("/") or (dst.is_local and os.path.isdir(key))


def _copy_single(src: ObjectURI, dst: ObjectURI, view: ProgressCallback) -> None:
    target = str(dst)
    if _into_directory(dst) and not target.endswith("/"):
        target += "/"  # a local directory: the object keeps its name inside it
    copy(str(src), target, progress=view)


def _upload_sources(src: ObjectURI, recursive: bool) -> list[str]:
    """What to hand ``s3dlio.upload`` for a local SRC: a directory is recursive only with -r
    (without it, its files), as for object-store prefixes."""
    path = src.key
    if recursive or has_glob(path) or not os.path.isdir(path):
        return [path]
    return [glob.escape(path.rstrip("/") or "/") + "/*"]


def cp(args: argparse.Namespace, console: Console) -> int:
    if not _is_uri(args.src) and not _is_uri(args.dst):
        raise UsageError("cp needs a URI on at least one side; both SRC and DST are local paths")
    src_uri, dst_uri = _as_uri(args.src), _as_uri(args.dst)
    src, dst = parse_uri(src_uri), parse_uri(dst_uri)  # a bad URI is a usage error, before I/O
    if args.create_bucket and not dst.is_local:
        s3dlio.create_bucket(dst_uri)
    with console.progress("cp") as view:
        if _is_single(src, args.recursive):
            _copy_single(src, dst, view)
        elif dst.is_local:
            s3dlio.download(src_uri, dst_uri, args.jobs, args.recursive, progress=view)
        elif src.is_local:
            s3dlio.upload(_upload_sources(src, args.recursive), dst_uri, args.jobs, progress=view)
        else:
            try:
                copy(src_uri, dst_uri, recursive=args.recursive, max_in_flight=args.jobs,
                     progress=view)  # fmt: skip
            except ObjectNotFoundError:
                raise CommandFailed(f"cp {src_uri}: no objects matched") from None
    view.summary()
    return EXIT_OK
