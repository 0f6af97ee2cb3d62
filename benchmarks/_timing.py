"""What every benchmark worker shares: its command line and the CPU clock."""

from __future__ import annotations

import argparse
import os
import resource
import sys
from pathlib import Path


def cpu_seconds() -> float:
    """User + system CPU of this process, all threads."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def worker_args() -> tuple[str, str, int, int, int]:
    """``OP BASE_URI NUM SIZE CONCURRENCY`` from the command line."""
    op, base, num, size, conc = sys.argv[1:6]
    return op, base, int(num), int(size), int(conc)


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
