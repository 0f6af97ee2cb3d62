"""One timed operation in a fresh interpreter; prints a JSON line.

Run by ``bench_file.py`` with either this project's Python or the reference's venv Python:
whichever ``s3dlio`` that interpreter imports is the one measured.
"""

from __future__ import annotations

import json
import time

from _timing import cpu_seconds, worker_args


def main() -> None:
    op, base, num, size, conc = worker_args()
    import s3dlio

    uris = [f"{base}/obj-{i:06d}.bin" for i in range(num)]
    if op == "get_many":
        s3dlio.get(uris[0])  # warm the runtime (both implementations start lazily)
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        out = s3dlio.get_many(uris, max_in_flight=conc)
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
        assert len(out) == num and all(len(v) == size for _, v in out)
    elif op == "put_many":
        payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
        items = [(u, payload) for u in uris]
        s3dlio.put_bytes(f"{base}/warm.bin", b"x")
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        s3dlio.put_many(items, max_in_flight=conc)
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    else:
        raise SystemExit(f"unknown op {op}")
    print(json.dumps({"seconds": elapsed, "cpu": cpu, "version": s3dlio.__version__}))


if __name__ == "__main__":
    main()
