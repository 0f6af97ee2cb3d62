"""Raw obstore baseline for one timed S3 operation (no s3dlio at all); prints a JSON line.

Uses obstore's async API in one event loop with a semaphore, the fastest pattern measured in
``shared/design/ARCHITECTURE.md``. Reads the same AWS_* variables as s3dlio.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import timedelta

import obstore
from obstore.store import S3Store

from _timing import cpu_seconds, worker_args


async def run(op: str, store: S3Store, keys: list[str], size: int, conc: int) -> float:
    sem = asyncio.Semaphore(conc)
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)

    async def one(key: str) -> int:
        async with sem:
            if op == "get_many":
                result = await obstore.get_async(store, key)
                return len(await result.bytes_async())
            await obstore.put_async(store, key, payload, use_multipart=False)
            return size

    got = await asyncio.gather(*(one(k) for k in keys))
    return float(sum(got))


def main() -> None:
    op, base, num, size, conc = worker_args()
    bucket, _, prefix = base.removeprefix("s3://").partition("/")
    store = S3Store(
        bucket,
        endpoint=os.environ["AWS_ENDPOINT_URL"],
        access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        region=os.environ.get("AWS_REGION", "us-east-1"),
        client_options={"allow_http": True, "timeout": timedelta(seconds=300)},
    )
    keys = [f"{prefix}/obj-{i:06d}.bin" for i in range(num)]

    async def warm() -> None:  # build the connection pool, as the other workers do
        if op == "get_many":
            await obstore.head_async(store, keys[0])

    loop = asyncio.new_event_loop()
    loop.run_until_complete(warm())
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    total = loop.run_until_complete(run(op, store, keys, size, conc))
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    assert total == num * size
    print(json.dumps({"seconds": elapsed, "cpu": cpu, "version": obstore.__version__}))
    time.sleep(0.2)  # let Tokio settle before interpreter shutdown (known abort race)


if __name__ == "__main__":
    main()
