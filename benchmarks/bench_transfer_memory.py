"""Memory of a bulk download: ``s3dlio.download`` of many large objects, old code vs new.

Creates ``--objects`` (default 64) files of ``--size-mib`` (default 256) MiB under a fresh
directory in ``--dir`` (untimed; one random 8 MiB block written over and over, each block
stamped with its file and block number at both ends, so no two blocks are alike) and copies
them with ``s3dlio.download("file://<dir>/src/", <dir>/dst, max_in_flight=--jobs)`` in a fresh
interpreter per measurement: ``--python`` (default: this interpreter, the project's current
code, "ours") and, with ``--baseline-python``, an interpreter with the project at an earlier
commit ("before"), alternating, ``--repeats`` times each, after ``--warmup`` (default 1)
uncounted run (the first copy after creating the source is the slowest); the destination is
deleted and the page cache's dirty data written out between runs (untimed). Each worker
reports its peak RSS (VmHWM) minus its RSS before the call and the wall time, then checks the
copy: the destination holds exactly the source's file names and sizes, and 4 KiB samples (the
start, the end, and three block starts of every file) equal the source's.

The current code bounds the object data a bulk copy holds by ``TransferConfig.memory_budget``
(``S3DLIO_TRANSFER_MEMORY_MB``, 512 MiB; ``--memory-mb`` sets it for the workers, otherwise it
is unset). "Within bound" allows a fixed overhead of 64 MiB on top of the budget for what is
not object data (the worker threads' stacks, the allocator, the listing): yes when the largest
peak RSS growth of "ours" is at most ``memory_budget + 64 MiB``. The old code held up to
``(1 + 8) x 8 MiB`` per object in flight and has no stated bound. Workers inherit the rest of
the environment (e.g. ``S3DLIO_RT_THREADS``: the pool size caps the objects really in flight).

    python benchmarks/bench_transfer_memory.py [--objects 64] [--size-mib 256] [--jobs 64]
        [--dir /tmp] [--repeats 3] [--warmup 1] [--memory-mb N] [--json PATH]
        [--baseline-python /tmp/before/.venv/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
BLOCK = 8 * MiB  # the generated data repeats per block; also the copy's default piece
STAMP = 16  # bytes of (file, block) stamped at each end of a block
OVERHEAD_MIB = 64  # allowed on top of memory_budget for what is not object data

WORKER = r"""
import json, os, sys, time
import s3dlio
from s3dlio import config

def status_mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)

src, dst, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    budget = config.settings().transfer.memory_budget  # the current code's stated bound
except AttributeError:
    budget = None  # the old code has none
threads = config.runtime_threads()
before = status_mib("VmRSS")
start = time.perf_counter()
s3dlio.download(f"file://{src}/", dst, max_in_flight=jobs)
wall = time.perf_counter() - start
growth = status_mib("VmHWM") - before

SAMPLE, BLOCK = 4096, 8 << 20
problems, total = [], 0
names = sorted(os.listdir(src))
got = sorted(os.listdir(dst)) if os.path.isdir(dst) else []
if got != names:
    problems.append(f"destination has {len(got)} entries, source {len(names)}")
for n, name in enumerate(names):
    s, d = os.path.join(src, name), os.path.join(dst, name)
    size = os.path.getsize(s)
    total += size
    if not os.path.isfile(d) or os.path.getsize(d) != size:
        problems.append(f"{name}: missing or wrong size")
        continue
    blocks = max(1, -(-size // BLOCK))
    offsets = {0, max(0, size - SAMPLE)} | {((n + k) * 7919 % blocks) * BLOCK for k in range(3)}
    with open(s, "rb") as fs, open(d, "rb") as fd:
        for at in sorted(offsets):
            if os.pread(fs.fileno(), SAMPLE, at) != os.pread(fd.fileno(), SAMPLE, at):
                problems.append(f"{name}: bytes differ at {at}")
print(json.dumps({"wall_s": wall, "growth_mib": growth, "before_mib": before,
                  "budget_mib": None if budget is None else budget / (1 << 20),
                  "pool_threads": threads, "objects": len(names), "bytes": total,
                  "ok": not problems, "problems": problems[:5]}))
"""


def populate(src: Path, objects: int, size: int) -> None:
    """``objects`` files of ``size`` bytes; block ``j`` of file ``i`` is one random 8 MiB
    block (cut short at the end of the file) with ``(i, j)`` stamped over its first and last
    16 bytes."""
    base = memoryview(random.Random(0).randbytes(BLOCK))
    middle = base[STAMP:-STAMP]
    src.mkdir()
    for i in range(objects):
        fd = os.open(src / f"obj{i:05d}.bin", os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
        try:
            for j in range(-(-size // BLOCK)):
                stamp = struct.pack("<QQ", i, j)
                left = min(BLOCK, size - j * BLOCK)
                if left == BLOCK:
                    parts: list[bytes | memoryview] = [stamp, middle, stamp]
                elif left >= 2 * STAMP:  # a short last block (or a small object)
                    parts = [stamp, middle[: left - 2 * STAMP], stamp]
                else:
                    parts = [stamp[:left]]
                want = sum(len(p) for p in parts)
                if os.writev(fd, parts) != want:
                    raise OSError(f"short write to {src}/obj{i:05d}.bin")
        finally:
            os.close(fd)


def rotation(names: dict[str, str], rep: int) -> list[str]:
    """Repeat ``rep``'s order: ``names`` rotated by ``rep``, so each takes every position."""
    order = list(names)
    k = rep % len(order)
    return order[k:] + order[:k]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=64)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--jobs", type=int, default=64, help="max_in_flight of the download")
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--warmup", type=int, default=1, help="uncounted runs first (the first run is slower)"
    )
    parser.add_argument("--python", default=sys.executable, help="the current code ('ours')")
    parser.add_argument("--baseline-python", default=None, help="an earlier commit ('before')")
    parser.add_argument("--memory-mb", type=int, default=None, help="S3DLIO_TRANSFER_MEMORY_MB")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per measurement")
    parser.add_argument("--json", default=None, help="write the raw runs to this file")
    args = parser.parse_args()

    impls = {"ours": args.python}
    if args.baseline_python:
        impls["before"] = args.baseline_python
    env = dict(os.environ)
    env.pop("S3DLIO_TRANSFER_MEMORY_MB", None)
    if args.memory_mb is not None:
        env["S3DLIO_TRANSFER_MEMORY_MB"] = str(args.memory_mb)
    size = args.size_mib * MiB
    root = Path(tempfile.mkdtemp(prefix="s3dlio-xfermem-", dir=args.dir))
    src, dst = root / "src", root / "dst"
    runs: list[dict[str, Any]] = []
    failed = False
    try:
        start = time.perf_counter()
        populate(src, args.objects, size)
        made = time.perf_counter() - start
        os.sync()  # the first run should not pay for the source's writeback
        print(
            f"created {args.objects} x {args.size_mib} MiB = {args.objects * size / MiB:,.0f} MiB "
            f"in {made:.1f} s, synced in {time.perf_counter() - start - made:.1f} s (untimed)"
        )
        print(
            f"download(max_in_flight={args.jobs}), S3DLIO_TRANSFER_MEMORY_MB="
            f"{env.get('S3DLIO_TRANSFER_MEMORY_MB', 'unset')}, repeats={args.repeats}, "
            f"warm-up={args.warmup}; "
            + ", ".join(f"{name}={python}" for name, python in impls.items()),
            flush=True,
        )
        order = [(0, next(iter(impls)))] * args.warmup  # (0: not counted, implementation)
        order += [(rep + 1, name) for rep in range(args.repeats) for name in rotation(impls, rep)]
        for rep, name in order:
            label = f"run {rep} {name}" if rep else f"warm-up {name} (not counted)"
            shutil.rmtree(dst, ignore_errors=True)
            os.sync()
            cmd = [impls[name], "-c", WORKER, str(src), str(dst), str(args.jobs)]
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)
            if out.returncode != 0:
                print(f"{label}: failed: {out.stderr.strip()[-500:]}")
                failed = True
                continue
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row.update(impl=name, repeat=rep)
            if rep:
                runs.append(row)
            failed |= not row["ok"] or row["objects"] != args.objects
            print(
                f"{label}: {row['wall_s']:.2f} s, "
                f"{row['bytes'] / MiB / row['wall_s']:,.0f} MiB/s, peak RSS growth "
                f"{row['growth_mib']:,.1f} MiB, pool threads {row['pool_threads']}, "
                + ("verified" if row["ok"] else f"WRONG: {row['problems']}"),
                flush=True,
            )
        shutil.rmtree(dst, ignore_errors=True)

        print(
            "| implementation | runs | median wall s | median MiB/s | median peak RSS growth "
            "MiB | max peak RSS growth MiB | bound MiB | within bound |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for name in impls:
            mine = [r for r in runs if r["impl"] == name]
            if not mine:
                print(f"| {name} | 0 | | | | | | |")
                continue
            walls = [r["wall_s"] for r in mine]
            rates = [r["bytes"] / MiB / r["wall_s"] for r in mine]
            growths = [r["growth_mib"] for r in mine]
            budget = mine[0]["budget_mib"]
            if budget is None:
                bound, within = "none stated", "n/a"
            else:
                ok = max(growths) <= budget + OVERHEAD_MIB
                bound, within = f"{budget:,.0f}", "yes" if ok else "no"
                failed |= not ok
            print(
                f"| {name} | {len(mine)} | {statistics.median(walls):.2f} | "
                f"{statistics.median(rates):,.0f} | {statistics.median(growths):,.1f} | "
                f"{max(growths):,.1f} | {bound} | {within} |"
            )
        print(f"(within bound: max peak RSS growth <= memory_budget + {OVERHEAD_MIB} MiB)")
        if args.json:
            facts = {"args": vars(args), "created_s": made, "runs": runs}
            Path(args.json).write_text(json.dumps(facts, indent=1) + "\n")
        return 1 if failed else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
