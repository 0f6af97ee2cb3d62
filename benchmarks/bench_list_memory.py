"""Memory of listing a million keys: streamed (``list_stream``, ``list_count``) vs whole (``list``).

Creates ``--keys`` (default 1,000,000) empty objects under a fresh ``file://`` directory (1,000
sub-directories of 1,000 files; untimed) and lists them recursively in a fresh interpreter per
mode, reporting the worker's peak RSS (VmHWM) minus its RSS before the call, the keys seen and
the wall time. A streamed listing holds one page at a time, so its peak should not grow with
the number of keys; ``list`` returns them all, so it must.

    python benchmarks/bench_list_memory.py [--keys 1000000] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = ("list_stream", "list_count", "list")

WORKER = r"""
import json, sys, time
import s3dlio

def status_mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)

mode, uri = sys.argv[1], sys.argv[2]
before = status_mib("VmRSS")
start = time.perf_counter()
if mode == "list_stream":
    seen = sum(1 for _ in s3dlio.list_stream(uri, recursive=True))
elif mode == "list_count":
    seen = s3dlio.list_count(uri, recursive=True)
else:
    seen = len(s3dlio.list(uri, recursive=True))
wall = time.perf_counter() - start
print(json.dumps({"mode": mode, "keys": seen, "wall_s": wall,
                  "growth_mib": status_mib("VmHWM") - before}))
"""


def populate(root: Path, keys: int) -> None:
    per_dir = 1000
    for d in range(-(-keys // per_dir)):
        sub = root / f"d{d:04d}"
        sub.mkdir()
        for i in range(min(per_dir, keys - d * per_dir)):
            os.close(os.open(sub / f"k{i:04d}", os.O_CREAT | os.O_WRONLY, 0o644))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="s3dlio-listmem-", dir=args.dir))
    try:
        start = time.perf_counter()
        populate(root, args.keys)
        print(f"created {args.keys:,} empty files in {time.perf_counter() - start:.1f} s (untimed)")
        uri = f"file://{root}/"
        print("| mode | keys | peak RSS growth MiB | wall s |")
        print("| --- | ---: | ---: | ---: |")
        failed = False
        for mode in MODES:
            out = subprocess.run(
                [sys.executable, "-c", WORKER, mode, uri], capture_output=True, text=True
            )
            if out.returncode != 0:
                print(f"| {mode} | failed: {out.stderr.strip()[-300:]} | | |")
                failed = True
                continue
            row = json.loads(out.stdout.strip().splitlines()[-1])
            failed |= row["keys"] != args.keys
            print(f"| {mode} | {row['keys']:,} | {row['growth_mib']:.1f} | {row['wall_s']:.2f} |")
        return 1 if failed else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
