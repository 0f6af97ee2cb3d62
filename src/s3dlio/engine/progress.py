"""Progress events of bulk operations: the engine reports, callers (the CLI, users) render.

A callback receives a :class:`Progress` snapshot at most every ``interval`` seconds while work
runs, and always once at the end (``done=True``). It is called from worker threads, one call at
a time; it must be quick and must not raise (an exception from it is ignored).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

__all__ = ["Progress", "ProgressCallback", "Tracker"]


@dataclass(frozen=True, slots=True)
class Progress:
    """Totals so far. ``total_*`` are ``None`` when not known in advance (streamed work)."""

    objects: int
    bytes: int
    errors: int
    elapsed: float
    total_objects: int | None = None
    total_bytes: int | None = None
    done: bool = False


ProgressCallback = Callable[[Progress], None]


class Tracker:
    """Thread-safe counters that call a :data:`ProgressCallback`, throttled."""

    def __init__(
        self,
        callback: ProgressCallback | None,
        *,
        total_objects: int | None = None,
        total_bytes: int | None = None,
        interval: float = 0.1,
    ) -> None:
        self._callback = callback
        self._total_objects = total_objects
        self._total_bytes = total_bytes
        self._interval = interval
        self._start = time.monotonic()
        self._next = self._start + interval
        self._lock = threading.Lock()
        self.objects = 0
        self.bytes = 0
        self.errors = 0

    def add(self, objects: int = 1, nbytes: int = 0) -> None:
        with self._lock:
            self.objects += objects
            self.bytes += nbytes
            if self._callback is None:
                return
            now = time.monotonic()
            if now < self._next:
                return
            self._next = now + self._interval
            self._emit(now, done=False)

    def error(self) -> None:
        with self._lock:
            self.errors += 1

    def counted(
        self, fn: Callable[[T], int], per_item: Callable[[T], int] | None = None
    ) -> Callable[[T], int]:
        """``fn`` (returning a byte count) with every call counted here: one object (or
        ``per_item(item)`` objects) and its bytes when it returns, one error (re-raised) when
        it fails."""

        def run(item: T) -> int:
            try:
                n = fn(item)
            except BaseException:
                self.error()
                raise
            self.add(1 if per_item is None else per_item(item), n)
            return n

        return run

    def finish(self) -> Progress:
        with self._lock:
            return self._emit(time.monotonic(), done=True)

    def _emit(self, now: float, *, done: bool) -> Progress:
        snapshot = Progress(
            self.objects,
            self.bytes,
            self.errors,
            now - self._start,
            self._total_objects,
            self._total_bytes,
            done,
        )
        if self._callback is not None:
            # A rendering bug must not fail the transfer.
            with contextlib.suppress(Exception):
                self._callback(snapshot)
        return snapshot
