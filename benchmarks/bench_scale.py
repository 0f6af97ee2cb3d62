"""The transfer engine at scale: this project, the reference s3dlio 0.10.0 and raw obstore, side
by side in one run, on S3 (SeaweedFS) and on ``file://``.

    python benchmarks/bench_scale.py [--backends s3,file] [--repeats 5] [--workloads ...]
                                     [--list-keys 100000] [--quick] [--json out.json]
    python benchmarks/bench_scale.py --show out.json [--markdown]    # a saved run's table

Workloads (``--workloads`` takes a comma list of these names):

    put-8m, get-8m   PUT / GET of 32 x 8 MiB, concurrency 32 (put_many / get_many)
    put-4k, get-4k   PUT / GET of 2,000 x 4 KiB, concurrency 32
    put-1g, get-1g   one 1 GiB object (put_bytes of a buffer made before timing / get)
    list             recursive list of a prefix holding --list-keys empty objects
    delete           recursive delete of a fresh prefix holding --list-keys empty objects

Every measurement is a fresh process timing one call (``_worker.py`` under this project's or the
reference's Python; ``_obstore_worker.py`` for raw obstore); the implementations' order rotates
each repeat. Recorded per run: wall seconds, client CPU (user+sys of the worker during the call,
all threads) and of the whole worker process, peak RSS of the worker (VmHWM), the RSS just
before the call, and the server's CPU during the call (SeaweedFS's /proc/PID/stat). Each worker
checks what it did (sizes, sampled bytes, counts). Data that a workload reads, lists or deletes
is created beforehand with this project's ``put_many`` (64 in flight), untimed; how long that
took is printed. The table gives medians; ratios are ours / reference. A failed run is reported
(and the exit status is 1); the others still count.

S3: the AWS_* environment when AWS_ENDPOINT_URL is set (``--server-pid`` for its CPU), else
SeaweedFS started here by ``scripts/test_servers.py`` (state dir ``$S3DLIO_SERVERS_DIR``) and
stopped at the end. ``file://``: a temporary directory (``--dir`` to choose where).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from _harness import (
    REF_PYTHON_DEFAULT,
    WorkerError,
    implementations,
    print_table,
    ratio,
    ref_python,
    rotation,
    run_worker,
    s3_server,
)

MIB = 1 << 20
GIB = 1 << 30


@dataclass(frozen=True)
class Workload:
    name: str
    op: str  # the worker's OP
    num: int
    size: int
    conc: int = 32

    @property
    def label(self) -> str:
        verb = {"put_many": "PUT", "put": "PUT", "get_many": "GET", "get": "GET"}.get(self.op)
        if verb is None:
            return f"{self.op.upper()} {self.num:,}"
        unit = (
            f"{self.size >> 30} GiB"
            if self.size >= GIB
            else (f"{self.size >> 20} MiB" if self.size >= MIB else f"{self.size >> 10} KiB")
        )
        return f"{verb} {self.num:,} x {unit}"

    @property
    def counts_objects(self) -> bool:
        return self.op in ("list", "delete")

    @property
    def needs_source(self) -> bool:
        return self.op in ("get_many", "get", "list")


def workloads(quick: bool, keys: int) -> list[Workload]:
    if quick:
        return [
            Workload("put-8m", "put_many", 8, 1 * MIB),
            Workload("get-8m", "get_many", 8, 1 * MIB),
            Workload("put-4k", "put_many", 200, 4096),
            Workload("get-4k", "get_many", 200, 4096),
            Workload("put-1g", "put", 1, 64 * MIB),
            Workload("get-1g", "get", 1, 64 * MIB),
            Workload("list", "list", keys, 0),
            Workload("delete", "delete", keys, 0),
        ]
    return [
        Workload("put-8m", "put_many", 32, 8 * MIB),
        Workload("get-8m", "get_many", 32, 8 * MIB),
        Workload("put-4k", "put_many", 2000, 4096),
        Workload("get-4k", "get_many", 2000, 4096),
        Workload("put-1g", "put", 1, GIB),
        Workload("get-1g", "get", 1, GIB),
        Workload("list", "list", keys, 0),
        Workload("delete", "delete", keys, 0),
    ]


class Backend:
    """Where objects live, and the untimed set-up / clean-up done with this project's API."""

    def __init__(self, name: str, root: str, env: dict[str, str]) -> None:
        self.name, self.root, self.env = name, root, env

    def uri(self, leaf: str) -> str:
        return f"{self.root}/{leaf}"

    def create(self, base: str, num: int, size: int) -> float:
        import s3dlio  # in this process only after the S3 environment is final
        from _timing import object_keys, payload

        data = payload(size)
        t0 = time.perf_counter()
        s3dlio.put_many([(f"{base}/{k}", data) for k in object_keys(num)], max_in_flight=64)
        return time.perf_counter() - t0

    def remove(self, base: str) -> None:
        if self.name == "file":
            shutil.rmtree(base.removeprefix("file://"), ignore_errors=True)
        else:
            import s3dlio

            s3dlio.delete(base + "/", recursive=True)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def summarise(wl: Workload, backend: str, name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if "error" not in r]
    row: dict[str, Any] = {
        "backend": backend,
        "workload": wl.name,
        "label": wl.label,
        "impl": name,
        "unit": "objects/s" if wl.counts_objects else "MiB/s",
        "runs": len(ok),
        "errors": [r["error"] for r in runs if "error" in r],
    }
    if not ok:
        return row
    amount = wl.num if wl.counts_objects else wl.num * wl.size / MIB

    def med(key: str) -> float:
        return statistics.median(r[key] for r in ok)

    row.update(
        rate=statistics.median(amount / r["seconds"] for r in ok),
        seconds=med("seconds"),
        cpu=med("cpu"),
        cpu_total=med("cpu_total"),
        server_cpu=med("server_cpu"),
        peak_rss_mib=med("peak_rss_mib"),
        rss_before_mib=med("rss_before_mib"),
        peak_over_before_mib=statistics.median(r["peak_rss_mib"] - r["rss_before_mib"] for r in ok),
        rates=[round(amount / r["seconds"], 1) for r in ok],
        cpus=[round(r["cpu"], 3) for r in ok],
        version=ok[0]["version"],
    )
    if not wl.counts_objects and wl.size:
        row["cpu_per_gib"] = row["cpu"] / (wl.num * wl.size / GIB)
    return row


def run_backend(
    backend: Backend, wls: list[Workload], impls: dict[str, list[str]], repeats: int, timeout: float
) -> list[dict[str, Any]]:
    rows = []
    for wl in wls:
        t_wl = time.perf_counter()
        args = [wl.num, wl.size, wl.conc]
        src = backend.uri(f"src-{wl.name}")
        if wl.needs_source:
            took = backend.create(src, wl.num, wl.size)
            log(f"[{backend.name}] {wl.label}: created the source in {took:.1f} s (untimed)")
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in impls}
        for rep in range(repeats):
            order = rotation(list(impls), rep)
            bases = {
                n: src if wl.needs_source else backend.uri(f"{wl.name}-{n}-{rep}") for n in order
            }
            if wl.op == "delete":
                t0 = time.perf_counter()
                for n in order:
                    backend.create(bases[n], wl.num, wl.size)
                log(
                    f"[{backend.name}] {wl.label}: created {len(order)} x {wl.num:,} objects "
                    f"in {time.perf_counter() - t0:.1f} s (untimed)"
                )
            for n in order:
                os.sync()  # earlier writes' writeback must not bill this measurement
                try:
                    res = run_worker(impls[n], [wl.op, bases[n], *args], backend.env, timeout)
                except (WorkerError, subprocess.TimeoutExpired) as exc:
                    res = {"error": str(exc)}
                runs[n].append(res)
                if not wl.needs_source:
                    backend.remove(bases[n])
                if "error" in res:
                    log(f"[{backend.name}] {wl.label} {n} #{rep}: FAILED {res['error']}")
                else:
                    log(
                        f"[{backend.name}] {wl.label} {n} #{rep}: {res['seconds']:.3f} s, "
                        f"CPU {res['cpu']:.3f} s, server CPU {res['server_cpu']:.2f} s, "
                        f"peak RSS {res['peak_rss_mib']:.0f} MiB"
                    )
        if wl.needs_source:
            backend.remove(src)
        for n in impls:
            rows.append(summarise(wl, backend.name, n, runs[n]))
        log(f"[{backend.name}] {wl.label}: {time.perf_counter() - t_wl:.0f} s in all")
    return rows


def table(rows: list[dict[str, Any]], markdown: bool) -> None:
    headers = [
        "backend", "workload", "impl", "rate", "unit", "vs ref", "client CPU s", "vs ref",
        "process CPU s", "server CPU s", "peak RSS MiB", "peak - pre-call MiB",
    ]  # fmt: skip
    cells = []
    for r in rows:
        ref = next(
            (x for x in rows if x["backend"] == r["backend"] and x["workload"] == r["workload"]
             and x["impl"] == "ref" and "rate" in x),
            None,
        )  # fmt: skip
        if "rate" not in r:
            cells.append([r["backend"], r["label"], r["impl"], "failed", *["-"] * 8])
            continue
        cells.append([
            r["backend"], r["label"], r["impl"], f"{r['rate']:,.1f}", r["unit"],
            ratio(r["rate"], ref and ref["rate"]), f"{r['cpu']:.3f}",
            ratio(r["cpu"], ref and ref["cpu"]), f"{r['cpu_total']:.2f}",
            f"{r['server_cpu']:.2f}" if r["backend"] == "s3" else "-",
            f"{r['peak_rss_mib']:,.0f}", f"{r['peak_over_before_mib']:,.0f}",
        ])  # fmt: skip
    print_table(headers, cells, markdown)


def targets(rows: list[dict[str, Any]]) -> list[str]:
    """The issue's targets, checked on the medians: one line per miss or figure of note."""
    out = [
        f"FAIL {r['backend']:4} {r['label']:22} {r['impl']}: {len(r['errors'])} run(s) failed, "
        f"first: {r['errors'][0].splitlines()[-1]}"
        for r in rows
        if r.get("errors")
    ]
    by = {(r["backend"], r["workload"], r["impl"]): r for r in rows if "rate" in r}
    for (backend, wl, impl), r in by.items():  # in the order measured
        if impl != "ours":
            continue
        ref = by.get((backend, wl, "ref"))
        if ref:
            verdict = "ok" if r["rate"] >= ref["rate"] and r["cpu"] <= ref["cpu"] else "MISS"
            server = ""
            if backend == "s3":  # cores the server kept busy: near the core count, it is the limit
                busy = [x["server_cpu"] / x["seconds"] for x in (r, ref)]
                server = f"; server busy {busy[0]:.2f} / {busy[1]:.2f} cores (ours / ref)"
            out.append(
                f"{verdict:4} {backend:4} {r['label']:22} throughput {r['rate'] / ref['rate']:.2f}x"
                f" ref, client CPU {r['cpu'] / ref['cpu']:.2f}x ref{server}"
            )
        raw = by.get((backend, wl, "obstore"))
        if raw and wl.startswith("get-") and wl != "get-4k" and raw.get("cpu_per_gib"):
            q = r["cpu_per_gib"] / raw["cpu_per_gib"]
            out.append(
                f"{'ok' if q <= 1.5 else 'MISS':4} {backend:4} {r['label']:22} client CPU per GiB "
                f"{r['cpu_per_gib']:.3f} s = {q:.2f}x raw obstore's (target <= 1.5x)"
            )
        if wl.endswith("-1g"):
            peak = r["peak_rss_mib"]
            out.append(
                f"{'ok' if peak < 1536 else 'MISS':4} {backend:4} {r['label']:22} peak RSS "
                f"{peak:,.0f} MiB (target < 1,536), {r['peak_over_before_mib']:,.0f} MiB above the "
                f"RSS before the call"
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--backends", default="s3,file", help="comma list of s3, file")
    ap.add_argument("--workloads", default="all", help="comma list (see above), or all")
    ap.add_argument("--repeats", type=int, default=None, help="default 5 (1 with --quick)")
    ap.add_argument("--list-keys", type=int, default=None, help="default 100,000 (1,000 quick)")
    ap.add_argument("--quick", action="store_true", help="small sizes, 1 repeat: a smoke run")
    ap.add_argument("--ref-python", default=REF_PYTHON_DEFAULT)
    ap.add_argument("--no-obstore", action="store_true", help="skip the raw obstore baseline")
    ap.add_argument(
        "--baseline-python",
        default=None,
        help="a Python with this project at an earlier commit installed: measured as 'before', "
        "alternating with the others (before/after comparisons in one run)",
    )
    ap.add_argument("--server-pid", type=int, default=None, help="S3 server PID (own server)")
    ap.add_argument("--dir", default=None, help="scratch directory for file:// (default: /tmp)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per measurement")
    ap.add_argument("--json", default=None, help="write rows and run facts to this file")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--show", default=None, help="only print the table of a --json file")
    args = ap.parse_args()
    if args.show:
        saved = json.loads(Path(args.show).read_text())
        table(saved["rows"], args.markdown)
        print(f"\n{json.dumps(saved['facts'])}\n\ntargets (ours):")
        for line in targets(saved["rows"]):
            print("  " + line)
        return
    repeats = args.repeats or (1 if args.quick else 5)
    keys = args.list_keys or (1000 if args.quick else 100_000)
    all_wls = workloads(args.quick, keys)
    chosen = (
        set(w.name for w in all_wls) if args.workloads == "all" else set(args.workloads.split(","))
    )
    unknown = chosen - {w.name for w in all_wls}
    if unknown:
        ap.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    wls = [w for w in all_wls if w.name in chosen]
    backends = args.backends.split(",")
    impls = implementations(
        ref_python(args.ref_python), with_obstore=not args.no_obstore, baseline=args.baseline_python
    )

    started = datetime.now(timezone.utc)
    t_all = time.perf_counter()
    load0 = os.getloadavg()
    rows: list[dict[str, Any]] = []
    run_id = uuid.uuid4().hex[:8]
    if "file" in backends:
        scratch = Path(tempfile.mkdtemp(prefix="s3dlio-scale-", dir=args.dir))
        env = {k: v for k, v in os.environ.items() if k != "BENCH_SERVER_PID"}
        try:
            rows += run_backend(Backend("file", f"file://{scratch}", env), wls, impls, repeats,
                                args.timeout)  # fmt: skip
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    if "s3" in backends:
        with s3_server(args.server_pid) as (env, pid):
            if pid:
                env["BENCH_SERVER_PID"] = str(pid)
            bucket = env.get("S3DLIO_TEST_S3_BUCKET", "s3dlio-test")
            backend = Backend("s3", f"s3://{bucket}/bench-scale-{run_id}", env)
            try:
                rows += run_backend(backend, wls, impls, repeats, args.timeout)
            finally:
                backend.remove(backend.root)
    total = time.perf_counter() - t_all

    print()
    table(rows, args.markdown)
    print(
        f"\nmedian of {repeats}; concurrency 32 for the many-object workloads; ratios ours / ref "
        f"(throughput: higher is better; CPU: lower is better); client CPU = user+sys of the "
        f"worker during the call; process CPU = the whole worker process; {total / 60:.1f} min"
    )
    print("\ntargets (ours):")
    for line in targets(rows):
        print("  " + line)
    failed = any(r.get("errors") for r in rows)
    if args.json:
        facts = {
            "started": started.isoformat(timespec="seconds"),
            "minutes": round(total / 60, 1),
            "repeats": repeats,
            "list_keys": keys,
            "quick": args.quick,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}",
            "python": platform.python_version(),
            "loadavg_start": load0,
            "loadavg_end": os.getloadavg(),
        }
        Path(args.json).write_text(json.dumps({"facts": facts, "rows": rows}, indent=1) + "\n")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
