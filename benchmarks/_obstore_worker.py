"""Raw obstore baseline for one timed operation (no s3dlio at all); prints a JSON line.

Same command line, objects and checks as ``_worker.py``; ``s3://`` (the AWS_* variables s3dlio
reads) or ``file://`` (``LocalStore`` rooted at the prefix). What a competent obstore user
would write:

- ``get_many`` / ``put_many``: the async API in one event loop, ``asyncio.Semaphore(CONCURRENCY)``
  around ``get_async(...).bytes_async()`` / ``put_async(..., use_multipart=False)``, the fastest
  pattern measured in ``shared/design/ARCHITECTURE.md``;
- ``get``: ``obstore.get(store, key).bytes()``; ``put``: ``obstore.put(store, key, data)`` with
  obstore's defaults (multipart above 5 MiB chunks, 12 parts in flight);
- ``list``: ``obstore.list(store, prefix, chunk_size=1000)``, counting every batch;
- ``delete``: that listing, then one ``obstore.delete(store, paths)`` (DeleteObjects batches of
  1,000 on S3; 10 concurrent unlinks on LocalStore).
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import timedelta
from typing import Any

import obstore
from obstore.store import LocalStore, S3Store

from _timing import check_payload, measure, object_keys, payload, report, worker_args


def open_store(base: str) -> tuple[Any, str]:
    """The store and the key prefix (ending in ``/``, or empty) for ``base``."""
    if base.startswith("file://"):
        return LocalStore(prefix=base.removeprefix("file://"), mkdir=True), ""
    bucket, _, prefix = base.removeprefix("s3://").partition("/")
    store = S3Store(
        bucket,
        endpoint=os.environ["AWS_ENDPOINT_URL"],
        access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        region=os.environ.get("AWS_REGION", "us-east-1"),
        client_options={"allow_http": True, "timeout": timedelta(seconds=600)},
    )
    return store, prefix + "/"


async def many(op: str, store: Any, keys: list[str], data: bytes, conc: int) -> list[Any]:
    """Every object's bytes (``get_many``: kept, as s3dlio's callers get them) or put result."""
    sem = asyncio.Semaphore(conc)

    async def one(key: str) -> Any:
        async with sem:
            if op == "get_many":
                result = await obstore.get_async(store, key)
                return await result.bytes_async()
            return await obstore.put_async(store, key, data, use_multipart=False)

    return await asyncio.gather(*(one(k) for k in keys))


def listing(store: Any, prefix: str) -> list[str]:
    paths: list[str] = []
    for batch in obstore.list(store, prefix or None, chunk_size=1000):
        paths.extend(meta["path"] for meta in batch)
    return paths


def count_objects(store: Any, prefix: str) -> int:
    return sum("obj-" in p for p in listing(store, prefix))


def main() -> None:
    op, base, num, size, conc = worker_args()
    store, prefix = open_store(base)
    keys = [prefix + k for k in object_keys(num)]
    loop = asyncio.new_event_loop()
    if op in ("get_many", "get", "list", "delete"):
        obstore.head(store, keys[0])  # build the client and its connection pool, as s3dlio's do
    else:
        obstore.put(store, prefix + "warm.bin", b"x")

    stats: dict[str, float]
    if op in ("get_many", "put_many"):
        data = payload(size)
        got, stats = measure(lambda: loop.run_until_complete(many(op, store, keys, data, conc)))
        assert len(got) == num
        if op == "put_many":
            assert count_objects(store, prefix) == num
        else:
            assert all(len(b) == size for b in got)
            check_payload(got[0], size)
            check_payload(got[-1], size)
    elif op == "get":
        buf, stats = measure(lambda: obstore.get(store, keys[0]).bytes())
        check_payload(buf, size)
    elif op == "put":
        data = payload(size)
        _, stats = measure(lambda: obstore.put(store, keys[0], data))
        assert obstore.head(store, keys[0])["size"] == size
    elif op == "list":
        paths, stats = measure(lambda: listing(store, prefix))
        assert len(paths) == num, len(paths)
    elif op == "delete":
        _, stats = measure(lambda: obstore.delete(store, listing(store, prefix)))
        assert count_objects(store, prefix) == 0
    else:
        raise SystemExit(f"unknown op {op}")
    report(stats, f"obstore {obstore.__version__}")
    time.sleep(0.2)  # let Tokio settle before interpreter shutdown (known abort race)


if __name__ == "__main__":
    main()
