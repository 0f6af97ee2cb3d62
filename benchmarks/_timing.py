"""What every benchmark worker shares: its command line, the clocks, memory and the JSON line.

A worker is one fresh interpreter timing one operation. ``measure`` runs the operation and
returns wall seconds, the worker's CPU seconds during it (user+sys, all threads), and, when
``BENCH_SERVER_PID`` names the storage server's process, the server's CPU seconds during it.
``report`` adds the whole process's CPU (start-up and imports included), the peak RSS (VmHWM:
reset by exec, so a fresh worker's own peak) and prints everything as one JSON line, the last
line of stdout, which the driver reads.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MIB = 1 << 20


def cpu_seconds() -> float:
    """User + system CPU of this process, all threads."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def worker_args() -> tuple[str, str, int, int, int]:
    """``OP BASE_URI NUM SIZE CONCURRENCY`` from the command line."""
    op, base, num, size, conc = sys.argv[1:6]
    return op, base, int(num), int(size), int(conc)


def object_keys(num: int) -> list[str]:
    """The object names every workload uses under its prefix, the same for every worker."""
    return [f"obj-{i:06d}.bin" for i in range(num)]


_BLOCK = random.Random(20251124).randbytes(MIB)
_WRAPPED = _BLOCK + _BLOCK[:4096]  # a 4 KiB sample may wrap around the block's end


def payload(size: int) -> bytes:
    """``size`` bytes no server or filesystem can compress: one fixed random MiB, repeated (the
    same in every worker, so a reader can check what it got)."""
    whole, rest = divmod(size, MIB)
    return _BLOCK * whole + _BLOCK[:rest]


def check_payload(data: Any, size: int) -> int:
    """Raise unless ``data`` (any buffer) is ``payload(size)``: its length and 4 KiB samples at
    the start, middle and end. Returns the length."""
    view = memoryview(data).cast("B")
    if len(view) != size:
        raise AssertionError(f"got {len(view)} bytes, expected {size}")
    for off in {0, size // 2, max(0, size - 4096)}:
        n = min(4096, size - off)
        want = _WRAPPED[off % MIB : off % MIB + n]
        if view[off : off + n] != want:
            raise AssertionError(f"wrong bytes at offset {off}")
    return size


def _proc_status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    return 0.0


def server_cpu() -> float:
    """CPU seconds (user+sys) of the server process named by ``BENCH_SERVER_PID``, else 0."""
    pid = os.environ.get("BENCH_SERVER_PID")
    if not pid:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(op: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """Run ``op`` once: its result, and wall / client CPU / server CPU seconds and the RSS
    just before it."""
    rss0 = _proc_status_mib("VmRSS")
    s0, cpu0, t0 = server_cpu(), cpu_seconds(), time.perf_counter()
    out = op()
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    return out, {
        "seconds": elapsed,
        "cpu": cpu,
        "server_cpu": server_cpu() - s0,
        "rss_before_mib": rss0,
    }


def report(stats: dict[str, float], version: str, **extra: Any) -> None:
    """Print the worker's result line (the driver reads the last line of stdout)."""
    line = dict(stats)
    line.update(
        cpu_total=cpu_seconds(),
        peak_rss_mib=_proc_status_mib("VmHWM"),
        version=version,
        **extra,
    )
    print(json.dumps(line), flush=True)


def bench_parser(doc: str | None) -> argparse.ArgumentParser:
    """The options every side-by-side benchmark takes: ``--ref-python`` and ``--repeats``."""
    ap = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--ref-python", default=os.environ.get("S3DLIO_REF_PYTHON", "/tmp/s3dlio-ref/bin/python")
    )
    ap.add_argument("--repeats", type=int, default=5)
    return ap


def interpreters(ref_python: str | None) -> dict[str, str]:
    """``{"ours": this Python, "ref": the reference venv's}`` (without "ref" if it is missing)."""
    impls = {"ours": sys.executable}
    if ref_python and Path(ref_python).exists():
        impls["ref"] = ref_python
    else:
        print(f"reference interpreter {ref_python!r} not found: measuring this project only")
    return impls
