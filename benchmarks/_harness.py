"""What the benchmark drivers share: the S3 server, the reference interpreter, running a
worker, the rotation of implementations, and printing tables."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REF_PYTHON_DEFAULT = os.environ.get(
    "S3DLIO_REF_PYTHON", "/tmp/s3dlio-test-tools/ref-venv/bin/python"
)
WORKER = str(HERE / "_worker.py")
OBSTORE_WORKER = str(HERE / "_obstore_worker.py")


def test_servers() -> ModuleType:
    """``scripts/test_servers.py`` (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(
        "test_servers", ROOT / "scripts" / "test_servers.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def s3_server(server_pid: int | None = None) -> Iterator[tuple[dict[str, str], int | None]]:
    """``(environment, server pid)`` for S3 benchmarks.

    With ``AWS_ENDPOINT_URL`` set: that server, and ``server_pid`` if given (for its CPU).
    Otherwise SeaweedFS from ``scripts/test_servers.py`` (state dir ``$S3DLIO_SERVERS_DIR``),
    stopped at the end unless it was already running. ``os.environ`` is updated too, so that
    ``s3dlio`` imported afterwards in this process talks to the same server.
    """
    if "AWS_ENDPOINT_URL" in os.environ:
        yield dict(os.environ), server_pid
        return
    servers = test_servers()
    already = "AWS_ENDPOINT_URL" in servers.env(which="s3")
    os.environ.update(servers.start("s3"))
    try:
        yield dict(os.environ), int(servers.status()["s3"]["pid"])
    finally:
        if not already:
            servers.stop("s3")


def ref_python(path: str | None) -> str | None:
    """The reference interpreter if it exists, else None (with a note on stderr)."""
    if path and Path(path).exists():
        return path
    print(f"reference interpreter {path!r} not found: measuring without it", file=sys.stderr)
    return None


def implementations(
    ref: str | None, with_obstore: bool = True, baseline: str | None = None
) -> dict[str, list[str]]:
    """Worker command prefixes: ``ours``, ``ref`` (when available), ``obstore``, and
    ``before`` (this project at an earlier commit, installed under the ``baseline`` Python)."""
    impls = {"ours": [sys.executable, WORKER]}
    if baseline:
        impls["before"] = [baseline, WORKER]
    if ref:
        impls["ref"] = [ref, WORKER]
    if with_obstore:
        impls["obstore"] = [sys.executable, OBSTORE_WORKER]
    return impls


def rotation(names: Sequence[str], rep: int) -> list[str]:
    """Repeat ``rep``'s order: the list rotated by ``rep``, so every implementation takes
    every position equally often."""
    k = rep % len(names)
    return list(names[k:]) + list(names[:k])


class WorkerError(RuntimeError):
    """A worker exited with an error (its stderr's tail is the message)."""


def run_worker(
    cmd: Sequence[str],
    args: Sequence[object],
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Run one worker (``cmd`` + ``args``) in a fresh process; its JSON result line."""
    out = subprocess.run(
        [*cmd, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=tempfile.gettempdir(),
    )
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-6:])
        raise WorkerError(f"exit {out.returncode}: {tail}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def ratio(value: float | None, ref: float | None) -> str:
    return f"{value / ref:.2f}" if value is not None and ref else "-"


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool = False
) -> None:
    """Columns right-aligned except the first ones that hold text; ``markdown``: a pipe table."""
    if markdown:
        print("| " + " | ".join(headers) + " |")
        print(
            "|"
            + "|".join(" --- " if _is_text(rows, i) else " ---: " for i in range(len(headers)))
            + "|"
        )
        for r in rows:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for line in (headers, *rows):
        cells = [
            c.ljust(w) if _is_text(rows, i) else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())


def _is_text(rows: Sequence[Sequence[str]], col: int) -> bool:
    def numeric(cell: str) -> bool:
        try:
            float(cell.replace(",", ""))
        except ValueError:
            return cell in ("-", "")
        return True

    return not all(numeric(r[col]) for r in rows)
