"""Listing, metadata and administration commands: ls, stat, rm, buckets, mkdir, rmdir.

Each command is one call into the flat API (``import s3dlio``) plus rendering; none does I/O
of its own. Every handler takes the parsed arguments and the :class:`~.render.Console` and
returns the exit code (failures are raised; :mod:`.main` turns them into exit codes).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

import s3dlio

from ..errors import InvalidURIError
from ..uri import parse_uri
from .exits import EXIT_OK, CommandFailed, UsageError
from .render import Console, count_line

__all__ = [
    "create_bucket",
    "delete",
    "delete_bucket",
    "list_buckets",
    "ls",
    "mkdir",
    "rmdir",
    "stat",
]

LIBRARY_DELETE_BATCH = 1000  # keys per batch in the library's recursive delete (fixed)
# A URI naming a whole account of an object store: what list-buckets would list.
_ACCOUNT_ROOT = re.compile(r"^(?:(?:s3|gs|gcs):///?|az://[^/]+/?)$")


def ls(args: argparse.Namespace, console: Console) -> int:
    """Stream the listing (memory stays flat however many objects there are)."""
    entries = s3dlio.list_stream(args.uri, recursive=args.recursive, pattern=args.pattern)
    out = sys.stdout
    if args.count_only:
        counter = console.counter("ls")
        count = 0
        try:
            for _ in entries:
                count += 1
                counter.tick(count)
        finally:
            counter.close()
        seconds = counter.elapsed()
        if args.json:
            rate = count / seconds if seconds > 0 else 0.0
            out.write(
                json.dumps({"total_objects": count, "seconds": seconds, "objects_per_second": rate})
                + "\n"
            )
        else:
            out.write(count_line(count, seconds) + "\n")
        return EXIT_OK
    if args.json:
        for e in entries:
            record = {
                "uri": e.uri,
                "size": e.size,
                "last_modified": e.last_modified,
                "etag": e.etag,
                "is_prefix": e.is_prefix,
            }
            out.write(json.dumps(record) + "\n")
    else:
        for e in entries:
            out.write(e.uri + "\n")
    return EXIT_OK


_STAT_LINES = (
    ("Size", "size"),
    ("LastModified", "last_modified"),
    ("ETag", "etag"),
    ("Content-Type", "content_type"),
)


def stat(args: argparse.Namespace, console: Console) -> int:
    info: dict[str, Any] = s3dlio.stat(args.uri)
    if args.json:
        print(json.dumps(info))
        return EXIT_OK
    print(f"URI: {args.uri}")
    for label, key in _STAT_LINES:
        value = info.get(key)
        print(f"{label}: {'-' if value is None else value}")
    return EXIT_OK


def delete(args: argparse.Namespace, console: Console) -> int:
    if args.jobs is not None and args.jobs != LIBRARY_DELETE_BATCH:
        raise UsageError(
            f"delete -j/--jobs {args.jobs}: the batch size is fixed at "
            f"{LIBRARY_DELETE_BATCH} keys in the library and cannot be changed yet"
        )
    with console.progress("delete", with_bytes=False) as view:
        s3dlio.delete(args.uri, recursive=args.recursive, pattern=args.pattern, progress=view)
    # A single-object delete reports no progress (and a missing object is not an error), so
    # only bulk deletes get a summary line.
    view.summary()
    return EXIT_OK


def list_buckets(args: argparse.Namespace, console: Console) -> int:
    try:
        containers = s3dlio.list_containers(args.uri)
    except InvalidURIError:
        if _ACCOUNT_ROOT.match(args.uri):
            # The library rejects a bucket-less URI before it could say that listing buckets
            # is not supported on object stores yet; say that instead of "empty bucket name".
            scheme = args.uri.split("://", 1)[0]
            raise CommandFailed(
                f"list-buckets {args.uri}: listing the buckets of {scheme}:// is not available "
                "yet (the library lists containers on file:// and direct:// only)"
            ) from None
        raise
    for container in containers:
        print(container["uri"])
    return EXIT_OK


def create_bucket(args: argparse.Namespace, console: Console) -> int:
    # file:// and direct:// have directories, not buckets: the reference CLI accepts them here.
    if parse_uri(args.uri).is_local:
        s3dlio.mkdir(args.uri)
    else:
        s3dlio.create_bucket(args.uri)
    return EXIT_OK


def delete_bucket(args: argparse.Namespace, console: Console) -> int:
    if parse_uri(args.uri).is_local:
        s3dlio.rmdir(args.uri)
    else:
        s3dlio.delete_bucket(args.uri)
    return EXIT_OK


def mkdir(args: argparse.Namespace, console: Console) -> int:
    s3dlio.mkdir(args.uri)
    return EXIT_OK


def rmdir(args: argparse.Namespace, console: Console) -> int:
    s3dlio.rmdir(args.uri)
    return EXIT_OK
