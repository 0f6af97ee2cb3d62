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
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def server_cpu(pid: int | None) -> float:
    if not pid:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run(
        cmd, check=True, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir()
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--ref-python",
        default=os.environ.get("S3DLIO_REF_PYTHON", "/tmp/s3dlio-test-tools/ref-venv/bin/python"),
    )
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--num", type=int, default=32)
    ap.add_argument("--size-mib", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--server-pid", type=int, default=None)
    args = ap.parse_args()

    servers = None
    env = dict(os.environ)
    pid = args.server_pid
    if "AWS_ENDPOINT_URL" not in env:
        spec = importlib.util.spec_from_file_location("ts", ROOT / "scripts" / "test_servers.py")
        assert spec and spec.loader
        servers = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(servers)
        env.update(servers.start("s3"))
        pid = int(servers.status()["s3"]["pid"])
    bucket = env.get("S3DLIO_TEST_S3_BUCKET", "s3dlio-test")
    impls = {
        "ours": [sys.executable, str(HERE / "_worker.py")],
        "obstore": [sys.executable, str(HERE / "_obstore_worker.py")],
    }
    if Path(args.ref_python).exists():
        impls["ref"] = [args.ref_python, str(HERE / "_worker.py")]
    else:
        print(f"reference interpreter {args.ref_python} not found: skipping it", file=sys.stderr)
    size = args.size_mib << 20
    mib = args.num * size / (1 << 20)
    rows = []
    try:
        for op in ("put_many", "get_many"):
            results: dict[str, list[dict[str, float]]] = {k: [] for k in impls}
            src = f"s3://{bucket}/bench-src-{uuid.uuid4().hex[:8]}"
            if op == "get_many":
                run(impls["ours"] + ["put_many", src, str(args.num), str(size), "16"], env)
            for rep in range(args.repeats):
                order = list(impls)[rep % len(impls) :] + list(impls)[: rep % len(impls)]
                for name in order:
                    base = src if op == "get_many" else f"s3://{bucket}/bench-{name}-{rep}"
                    cmd = impls[name] + [op, base, str(args.num), str(size), str(args.concurrency)]
                    s0 = server_cpu(pid)
                    res = run(cmd, env)
                    res["server_cpu"] = server_cpu(pid) - s0
                    results[name].append(res)
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
    finally:
        if servers is not None:
            servers.stop("s3")
    print()
    print(
        f"{'workload':22} {'impl':8} {'MiB/s':>8} {'vs ref':>7} {'client CPU s':>12} "
        f"{'vs ref':>7} {'server CPU s':>12}"
    )
    for r in rows:
        ref = next((x for x in rows if x["workload"] == r["workload"] and x["impl"] == "ref"), None)
        ratio = f"{r['mibs'] / ref['mibs']:7.2f}" if ref else f"{'-':>7}"
        cratio = f"{r['cpu'] / ref['cpu']:7.2f}" if ref and ref["cpu"] else f"{'-':>7}"
        print(
            f"{r['workload']:22} {r['impl']:8} {r['mibs']:8.1f} {ratio} {r['cpu']:12.3f} "
            f"{cratio} {r['server_cpu']:12.2f}"
        )
    print(f"median of {args.repeats}; concurrency {args.concurrency}")


if __name__ == "__main__":
    main()
