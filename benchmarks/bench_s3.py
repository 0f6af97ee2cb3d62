"""S3 PUT/GET of 32 x 8 MiB at concurrency 16: this project, the reference s3dlio 0.10.0 and raw
obstore, side by side on the same server in the same run (implementations alternate each
repeat; medians of 5). Prints MiB/s, client CPU seconds and, when the server's PID is known,
server CPU seconds.

    python benchmarks/bench_s3.py [--repeats 5] [--ref-python PATH]

The server: the AWS_* environment if AWS_ENDPOINT_URL is set (give ``--server-pid`` for its
CPU), else SeaweedFS started (and stopped) here by ``scripts/test_servers.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import uuid

import _harness as h


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--ref-python", default=h.REF_PYTHON_DEFAULT)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--num", type=int, default=32)
    ap.add_argument("--size-mib", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--server-pid", type=int, default=None)
    args = ap.parse_args()

    impls = h.implementations(h.ref_python(args.ref_python))
    size = args.size_mib << 20
    mib = args.num * size / (1 << 20)
    rows = []
    with h.s3_server(args.server_pid) as (env, pid):
        if pid:
            env["BENCH_SERVER_PID"] = str(pid)  # the worker measures the server's CPU
        bucket = env.get("S3DLIO_TEST_S3_BUCKET", "s3dlio-test")
        for op in ("put_many", "get_many"):
            results: dict[str, list[dict[str, float]]] = {k: [] for k in impls}
            src = f"s3://{bucket}/bench-src-{uuid.uuid4().hex[:8]}"
            if op == "get_many":
                h.run_worker(impls["ours"], ["put_many", src, args.num, size, 16], env)
            for rep in range(args.repeats):
                for name in h.rotation(list(impls), rep):
                    base = src if op == "get_many" else f"s3://{bucket}/bench-{name}-{rep}"
                    cmd_args = [op, base, args.num, size, args.concurrency]
                    results[name].append(h.run_worker(impls[name], cmd_args, env))
            for name, res in results.items():
                rows.append(
                    {
                        "workload": f"{op} {args.num} x {args.size_mib} MiB",
                        "impl": name,
                        "mibs": statistics.median(mib / r["seconds"] for r in res),
                        "cpu": statistics.median(r["cpu"] for r in res),
                        "server_cpu": statistics.median(r["server_cpu"] for r in res),
                        "runs_mibs": [round(mib / r["seconds"], 1) for r in res],
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    print()
    cells = []
    for r in rows:
        ref = next((x for x in rows if x["workload"] == r["workload"] and x["impl"] == "ref"), None)
        cells.append([
            r["workload"], r["impl"], f"{r['mibs']:.1f}", h.ratio(r["mibs"], ref and ref["mibs"]),
            f"{r['cpu']:.3f}", h.ratio(r["cpu"], ref and ref["cpu"]), f"{r['server_cpu']:.2f}",
        ])  # fmt: skip
    headers = ["workload", "impl", "MiB/s", "vs ref", "client CPU s", "vs ref", "server CPU s"]
    h.print_table(headers, cells)
    print(f"median of {args.repeats}; concurrency {args.concurrency}")


if __name__ == "__main__":
    main()
