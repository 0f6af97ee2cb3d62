"""``s3-cli ls -rc`` over 100,000 objects on S3: the streamed count's objects/s.

    python benchmarks/bench_cli_ls.py [--objects 100000] [--repeats 5] [--keep]

Puts ``--objects`` empty objects under a fresh prefix (``s3dlio.put_many``, 64 in flight),
then runs the installed ``s3-cli ls -rc s3://bucket/prefix/`` ``--repeats`` times as a fresh
process each, checks it counted every object, and prints the median objects/s (wall clock of
the whole process, start-up included) with the client CPU of each run. The prefix is deleted
afterwards unless ``--keep``.

The server: the AWS_* environment if AWS_ENDPOINT_URL is set, else SeaweedFS started (and
stopped) here by ``scripts/test_servers.py``. The reference s3dlio 0.10.0 wheel ships no CLI,
so there is nothing to run side by side.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from _harness import s3_server

EXE = str(Path(sys.executable).parent / "s3-cli")


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def measure(
    s3dlio: Any, objects: int, repeats: int, keep: bool
) -> tuple[list[float], list[float], list[int]]:
    """Objects/s by wall clock, client CPU s and the CLI's own objects/s, one per run."""
    bucket = os.environ.get("S3DLIO_TEST_S3_BUCKET", "s3dlio-test")
    prefix = f"s3://{bucket}/bench-ls-{uuid.uuid4().hex[:8]}/"
    rates: list[float] = []
    cpus: list[float] = []
    reported: list[int] = []
    try:
        t0 = time.perf_counter()
        items = [(f"{prefix}{i // 1000:03d}/obj-{i:07d}", b"") for i in range(objects)]
        s3dlio.put_many(items, max_in_flight=64)
        put_s = time.perf_counter() - t0
        print(f"put {objects:,} empty objects in {put_s:.1f} s", file=sys.stderr)

        for _ in range(repeats):
            c0, t0 = children_cpu(), time.perf_counter()
            out = subprocess.run(
                [EXE, "ls", "-rc", prefix],
                check=True,
                capture_output=True,
                text=True,
                cwd=tempfile.gettempdir(),
            )
            wall = time.perf_counter() - t0
            cpus.append(children_cpu() - c0)
            m = re.match(
                r"Total objects: ([\d,]+) \(([\d.]+)s, rate: ([\d,]+) objects/s\)", out.stdout
            )
            assert m, out.stdout
            counted = int(m.group(1).replace(",", ""))
            assert counted == objects, f"counted {counted}, expected {objects}"
            rates.append(counted / wall)
            reported.append(int(m.group(3).replace(",", "")))
            print(
                f"  {wall:.2f} s wall, {rates[-1]:,.0f} objects/s; CLI reported "
                f"{reported[-1]:,} objects/s; client CPU {cpus[-1]:.2f} s",
                file=sys.stderr,
            )
    finally:
        if not keep:
            s3dlio.delete(prefix, recursive=True)
    return rates, cpus, reported


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="leave the objects in place")
    args = ap.parse_args()

    with s3_server():
        import s3dlio  # after the environment is final

        rates, cpus, reported = measure(s3dlio, args.objects, args.repeats, args.keep)
    print(
        f"s3-cli ls -rc, {args.objects:,} objects on S3 (SeaweedFS if started here): "
        f"median {statistics.median(rates):,.0f} objects/s over {args.repeats} runs "
        f"(process wall clock incl. start-up; the CLI's own figure "
        f"{statistics.median(reported):,} objects/s; client CPU median "
        f"{statistics.median(cpus):.2f} s)"
    )
    print("reference: none - the s3dlio 0.10.0 wheel ships no s3-cli, so there is no comparison")


if __name__ == "__main__":
    main()
