"""file:// get_many / put_many: this project against the reference s3dlio 0.10.0, same run.

Each measurement runs in a fresh interpreter (``_worker.py``); implementations alternate within
every repeat, and the table reports medians of MiB/s and of client CPU seconds, and the ratio
ours / reference (throughput: higher is better; CPU: lower is better).

    python benchmarks/bench_file.py [--ref-python PATH] [--repeats 5]

``--ref-python`` defaults to ``$S3DLIO_REF_PYTHON``, else the reference venv that
``scripts/ref-venv`` installs; when it does not exist only this project is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
from pathlib import Path

import _harness as h

WORKLOADS = [
    ("get_many", 32, 8 << 20),
    ("get_many", 2000, 4096),
    ("put_many", 32, 8 << 20),
    ("put_many", 2000, 4096),
]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--ref-python", default=h.REF_PYTHON_DEFAULT)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument(
        "--dir", default=None, help="scratch directory (default: a temp dir under /tmp)"
    )
    args = ap.parse_args()
    impls = h.implementations(h.ref_python(args.ref_python), with_obstore=False)
    scratch = Path(args.dir or tempfile.mkdtemp(prefix="s3dlio-bench-"))
    rows = []
    try:
        for op, num, size in WORKLOADS:
            results: dict[str, list[dict[str, float]]] = {k: [] for k in impls}
            src = scratch / f"src-{num}-{size}"
            if op == "get_many" and not src.exists():
                h.run_worker(
                    impls["ours"], ["put_many", f"file://{src}", num, size, args.concurrency]
                )
            for rep in range(args.repeats):
                for name in h.rotation(list(impls), rep):
                    if op == "get_many":
                        base = f"file://{src}"
                    else:
                        dst = scratch / f"dst-{name}-{rep}"
                        shutil.rmtree(dst, ignore_errors=True)
                        base = f"file://{dst}"
                    os.sync()  # flush earlier writes so one run's writeback does not bill the next
                    cmd_args = [op, base, num, size, args.concurrency]
                    results[name].append(h.run_worker(impls[name], cmd_args))
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
    cells = [
        [
            r["workload"], f"{r['ours_mibs']:.1f}", f"{r.get('ref_mibs', 0):.1f}",
            h.ratio(r["ours_mibs"], r.get("ref_mibs")), f"{r['ours_cpu']:.3f}",
            f"{r.get('ref_cpu', 0):.3f}", h.ratio(r["ours_cpu"], r.get("ref_cpu")),
        ]
        for r in rows
    ]  # fmt: skip
    headers = ["workload", "ours MiB/s", "ref MiB/s", "ratio", "ours CPU s", "ref CPU s"]
    h.print_table([*headers, "CPU ratio"], cells)
    print(f"median of {args.repeats}, concurrency {args.concurrency}; CPU = user+sys of the call")


if __name__ == "__main__":
    main()
