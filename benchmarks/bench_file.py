"""file:// get_many / put_many: this project against the reference s3dlio 0.10.0, same run.

Each measurement runs in a fresh interpreter (``_worker.py``); implementations alternate within
every repeat, and the table reports medians of MiB/s and of client CPU seconds, and the ratio
ours / reference (throughput: higher is better; CPU: lower is better).

    python benchmarks/bench_file.py --ref-python /tmp/s3dlio-ref/bin/python [--repeats 5]

Without ``--ref-python`` (or when it does not exist) only this project is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKLOADS = [
    ("get_many", 32, 8 << 20),
    ("get_many", 2000, 4096),
    ("put_many", 32, 8 << 20),
    ("put_many", 2000, 4096),
]


def run(python: str, op: str, base: str, num: int, size: int, conc: int) -> dict[str, float]:
    out = subprocess.run(
        [python, str(HERE / "_worker.py"), op, base, str(num), str(size), str(conc)],
        check=True,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--ref-python", default=os.environ.get("S3DLIO_REF_PYTHON", "/tmp/s3dlio-ref/bin/python")
    )
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument(
        "--dir", default=None, help="scratch directory (default: a temp dir under /tmp)"
    )
    args = ap.parse_args()
    impls = {"ours": sys.executable}
    if args.ref_python and Path(args.ref_python).exists():
        impls["ref"] = args.ref_python
    else:
        print(f"reference interpreter {args.ref_python!r} not found: measuring this project only")
    scratch = Path(args.dir or tempfile.mkdtemp(prefix="s3dlio-bench-"))
    rows = []
    try:
        for op, num, size in WORKLOADS:
            results: dict[str, list[dict[str, float]]] = {k: [] for k in impls}
            src = scratch / f"src-{num}-{size}"
            if op == "get_many" and not src.exists():
                run(sys.executable, "put_many", f"file://{src}", num, size, args.concurrency)
            for rep in range(args.repeats):
                order = list(impls) if rep % 2 == 0 else list(reversed(impls))
                for name in order:
                    if op == "get_many":
                        base = f"file://{src}"
                    else:
                        dst = scratch / f"dst-{name}-{rep}"
                        shutil.rmtree(dst, ignore_errors=True)
                        base = f"file://{dst}"
                    os.sync()  # flush earlier writes so one run's writeback does not bill the next
                    results[name].append(run(impls[name], op, base, num, size, args.concurrency))
                    if op == "put_many":
                        shutil.rmtree(scratch / f"dst-{name}-{rep}", ignore_errors=True)
            mib = num * size / (1 << 20)
            row = {"workload": f"{op} {num} x {size // 1024} KiB"}
            for name, res in results.items():
                row[f"{name}_mibs"] = statistics.median(mib / r["seconds"] for r in res)
                row[f"{name}_cpu"] = statistics.median(r["cpu"] for r in res)
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print()
    print(
        f"{'workload':26} {'ours MiB/s':>10} {'ref MiB/s':>10} {'ratio':>6} "
        f"{'ours CPU s':>10} {'ref CPU s':>10} {'CPU ratio':>9}"
    )
    for r in rows:
        ref_m, ref_c = r.get("ref_mibs"), r.get("ref_cpu")
        ratio = f"{r['ours_mibs'] / ref_m:6.2f}" if ref_m else f"{'-':>6}"
        cratio = f"{r['ours_cpu'] / ref_c:9.2f}" if ref_c else f"{'-':>9}"
        print(
            f"{r['workload']:26} {r['ours_mibs']:10.1f} {ref_m or 0:10.1f} {ratio} "
            f"{r['ours_cpu']:10.3f} {ref_c or 0:10.3f} {cratio}"
        )
    print(f"median of {args.repeats}, concurrency {args.concurrency}; CPU = user+sys of the call")


if __name__ == "__main__":
    main()
