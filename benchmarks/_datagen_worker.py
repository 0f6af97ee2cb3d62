"""One timed generation in a fresh interpreter; prints a JSON line.

Run by ``bench_datagen.py`` with either this project's Python or the reference's venv Python.

    _datagen_worker.py generate ALG DEDUP COMPRESS SIZE DUMP   # generate_data; DUMP: file or -
    _datagen_worker.py into ALG DEDUP COMPRESS SIZE -          # generate_into_buffer
    _datagen_worker.py put ALG DEDUP COMPRESS SIZE DIR         # put(file://DIR, 1, ...)
"""

from __future__ import annotations

import json
import sys
import time

from _timing import cpu_seconds


def main() -> None:
    op, alg, dedup, compress, size, target = sys.argv[1:7]
    d, c, n = int(dedup), int(compress), int(size)
    import s3dlio

    s3dlio.generate_data(16 << 20, 1, 1)  # warm: both implementations start pools lazily
    if op == "generate":
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        data = s3dlio.generate_data(n, d, c)
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
        assert len(data) == n
        if target != "-":
            with open(target, "wb") as f:
                f.write(memoryview(data))
    elif op == "into":
        buf = bytearray(n)  # zero-filled: its pages are faulted in before the clock starts
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        s3dlio.generate_into_buffer(buf, d, c)
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
        if target != "-":
            with open(target, "wb") as f:
                f.write(buf)
    elif op == "put":
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        s3dlio.put(
            f"file://{target}/",
            1,
            size=n,
            object_type="raw",
            dedup_factor=d,
            compress_factor=c,
            data_gen_algorithm=alg,
        )
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    else:
        raise SystemExit(f"unknown op {op}")
    print(json.dumps({"seconds": elapsed, "cpu": cpu}))


if __name__ == "__main__":
    main()
