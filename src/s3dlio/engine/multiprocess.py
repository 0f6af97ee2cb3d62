"""Multi-process GET (``mp_get``): several worker processes read a templated set of objects.

One Python process with one pool is often enough (every read releases the GIL), but a single
process can still be the bottleneck for small objects on many cores; ``mp_get`` measures what
``procs`` processes reach together. Workers are started with the ``spawn`` method (a fresh
interpreter each: nothing inherited from the caller's threads or event loops), each reads its
contiguous share of the objects with ``jobs`` reads in flight, and discards the data.

Failures are counted, not raised: a benchmark wants to know how many reads failed. The result
names up to ``ERROR_SAMPLES`` failed URIs with their errors.
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

from .. import validate
from ..runtime import map_bounded
from ..uri import format_object_name, parse_uri

__all__ = ["ERROR_SAMPLES", "mp_get"]

ERROR_SAMPLES = 5


def _worker(uris: list[str], jobs: int) -> dict[str, Any]:
    """Runs in a spawned process: read every URI, ``jobs`` at a time; count what happened."""
    from ..stores import store_for

    errors: list[tuple[str, str]] = []

    def read(uri: str) -> int:
        parsed = parse_uri(uri)
        try:
            return len(store_for(parsed).get(parsed.key))
        except Exception as exc:  # counted, not raised: see the module docstring
            errors.append((uri, f"{type(exc).__name__}: {exc}"))
            return -1

    start = time.perf_counter()
    sizes = map_bounded(read, uris, jobs) if uris else []
    seconds = time.perf_counter() - start
    ok = [n for n in sizes if n >= 0]
    return {
        "attempted": len(uris),
        "succeeded": len(ok),
        "failed": len(uris) - len(ok),
        "total_bytes": sum(ok),
        "duration_seconds": seconds,
        "errors": errors[:ERROR_SAMPLES],
    }


def _shares(items: list[str], parts: int) -> list[list[str]]:
    step, extra = divmod(len(items), parts)
    out, pos = [], 0
    for i in range(parts):
        n = step + (1 if i < extra else 0)
        out.append(items[pos : pos + n])
        pos += n
    return out


def mp_get(uri: str, procs: int, jobs: int, num: int, template: str) -> dict[str, Any]:
    """Read ``num`` objects named ``uri`` + ``template`` (the first ``{}`` is the index from 0,
    a second ``{}`` is ``num``) from ``procs`` spawned processes, ``jobs`` reads in flight in
    each. Returns totals and per-worker figures (see ``api.mp_get``)."""
    procs = validate.count("procs", procs, 1)
    jobs = validate.count("jobs", jobs, 1)
    num = validate.count("num", num, 0)
    parse_uri(uri)  # a malformed URI fails here, not in every worker
    base = uri if uri.endswith("/") else uri + "/"
    uris = [base + format_object_name(template, i, num) for i in range(num)]
    shares = _shares(uris, min(procs, max(num, 1)))
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(len(shares)) as pool:
        workers = pool.starmap(_worker, [(share, jobs) for share in shares])
    wall = time.perf_counter() - start
    # Rates are over the read phase (the slowest worker), not interpreter start-up.
    seconds = max(w["duration_seconds"] for w in workers)
    total_bytes = sum(w["total_bytes"] for w in workers)
    succeeded = sum(w["succeeded"] for w in workers)
    return {
        "attempted": num,
        "succeeded": succeeded,
        "failed": sum(w["failed"] for w in workers),
        "total_bytes": total_bytes,
        "duration_seconds": seconds,
        "wall_seconds": wall,
        "throughput_mb_s": total_bytes / 1e6 / seconds if seconds > 0 else 0.0,
        "ops_per_sec": succeeded / seconds if seconds > 0 else 0.0,
        "workers": [dict(w, worker=i) for i, w in enumerate(workers)],
        "errors": [e for w in workers for e in w["errors"]][:ERROR_SAMPLES],
    }
