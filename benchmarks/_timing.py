"""What every benchmark worker shares: its command line and the CPU clock."""

from __future__ import annotations

import resource
import sys


def cpu_seconds() -> float:
    """User + system CPU of this process, all threads."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def worker_args() -> tuple[str, str, int, int, int]:
    """``OP BASE_URI NUM SIZE CONCURRENCY`` from the command line."""
    op, base, num, size, conc = sys.argv[1:6]
    return op, base, int(num), int(size), int(conc)
