"""Data generation: this project against the reference s3dlio 0.10.0, same run.

Workloads (1 GiB each by default):

* ``generate_data(size, dedup, compress)``: the in-memory generator (the reference's is its
  ``random`` method; ours too).
* ``generate_into_buffer(buf, dedup, compress)`` into a preallocated, already-touched 1 GiB
  ``bytearray``: the generation itself, without the page faults of a new buffer.
* ``put(file:///dev/shm/..., 1, size, object_type='raw', data_gen_algorithm=ALG, ...)`` for
  ``random`` and ``prand``: the reference exposes ``prand`` only through ``put``, so this
  measures generation plus a write to tmpfs (the same write for both).

Every measurement runs in a fresh interpreter (``_datagen_worker.py``); implementations alternate
within every repeat. The table gives medians of GB/s (10^9 bytes/s), the ratio ours / ref, and
the CPU cost (user+sys CPU seconds of the call per GiB, median: the figure that a busy, shared
machine disturbs least), and the ratios each implementation's output actually has (from its
first repeat): dedup (1 MiB blocks / distinct blocks) and zstd levels 1 and 3 (input /
compressed bytes).

    python benchmarks/bench_datagen.py --ref-python "$(./scripts/ref-venv | tail -n1)"
"""

from __future__ import annotations

import hashlib
import json
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from _timing import bench_parser, interpreters

HERE = Path(__file__).resolve().parent
FACTORS = [(1, 1), (4, 1), (1, 4), (4, 4)]
WORKLOADS = [
    *[("generate", "random", d, c) for d, c in FACTORS],
    *[("into", "random", d, c) for d, c in FACTORS],
    *[("put", alg, d, c) for alg in ("random", "prand") for d, c in FACTORS],
]


def run(python: str, args: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [python, str(HERE / "_datagen_worker.py"), *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measured_ratios(path: Path) -> dict[str, float]:
    """dedup (1 MiB blocks) and zstd level 1 / 3 ratios of a file."""
    import zstandard

    data = path.read_bytes()
    view = memoryview(data)
    block = 1 << 20
    n = len(view) // block
    distinct = {hashlib.blake2b(view[i * block : (i + 1) * block]).digest() for i in range(n)}
    out = {"dedup": n / len(distinct)}
    for level in (1, 3):
        compressed = zstandard.ZstdCompressor(level=level, threads=-1).compress(view)
        out[f"zstd{level}"] = len(view) / len(compressed)
    return out


def main() -> None:
    ap = bench_parser(__doc__)
    ap.add_argument("--size", type=int, default=1 << 30)
    ap.add_argument("--dir", default="/dev/shm" if Path("/dev/shm").is_dir() else None)
    ap.add_argument("--only", default=None, help="run only workloads whose name contains this")
    args = ap.parse_args()
    impls = interpreters(args.ref_python)
    scratch = Path(tempfile.mkdtemp(prefix="s3dlio-datagen-", dir=args.dir))
    rows = []
    try:
        for op, alg, d, c in WORKLOADS:
            name = f"{op} {alg} d{d} c{c}"
            if args.only and args.only not in name:
                continue
            secs: dict[str, list[float]] = {k: [] for k in impls}
            cpus: dict[str, list[float]] = {k: [] for k in impls}
            ratios: dict[str, dict[str, float]] = {}
            for rep in range(args.repeats):
                order = list(impls) if rep % 2 == 0 else list(reversed(impls))
                for impl in order:
                    target = scratch / f"{impl}-{rep}"
                    keep = impl not in ratios
                    arg = str(target) if (op == "put" or keep) else "-"
                    res = run(impls[impl], [op, alg, str(d), str(c), str(args.size), arg])
                    secs[impl].append(res["seconds"])
                    cpus[impl].append(res["cpu"])
                    if keep:
                        path = target / "object-0" if op == "put" else target
                        ratios[impl] = measured_ratios(path)
                    shutil.rmtree(target, ignore_errors=True)
                    target.unlink(missing_ok=True)
            row: dict[str, object] = {"workload": name}
            for impl in impls:
                row[f"{impl}_gbs"] = statistics.median(args.size / s / 1e9 for s in secs[impl])
                row[f"{impl}_cpu_per_gib"] = statistics.median(
                    c * (1 << 30) / args.size for c in cpus[impl]
                )
                row[f"{impl}_ratios"] = ratios[impl]
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print()
    print(
        "| workload | ours GB/s | ref GB/s | ours/ref | ours CPU s/GiB | ref CPU s/GiB "
        "| ours dedup / zstd-1 / zstd-3 | ref dedup / zstd-1 / zstd-3 |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for r in rows:
        ours, ref = float(r["ours_gbs"]), r.get("ref_gbs")  # type: ignore[arg-type]
        cells = []
        for impl in ("ours", "ref"):
            m = r.get(f"{impl}_ratios")
            cells.append(
                f"{m['dedup']:.2f} / {m['zstd1']:.2f} / {m['zstd3']:.2f}"  # type: ignore[index]
                if m
                else "-"
            )
        ratio = f"{ours / float(ref):.2f}" if ref else "-"  # type: ignore[arg-type]
        ref_s = f"{float(ref):.2f}" if ref else "-"  # type: ignore[arg-type]
        ref_cpu = r.get("ref_cpu_per_gib")
        ref_c = f"{float(ref_cpu):.2f}" if ref_cpu is not None else "-"  # type: ignore[arg-type]
        print(
            f"| {r['workload']} | {ours:.2f} | {ref_s} | {ratio} "
            f"| {float(r['ours_cpu_per_gib']):.2f} | {ref_c} | {cells[0]} | {cells[1]} |"  # type: ignore[arg-type]
        )
    print(f"\nmedian of {args.repeats}, {args.size} bytes per run")


if __name__ == "__main__":
    main()
