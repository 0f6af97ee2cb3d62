"""The one runner of bulk work, and the memory budget of bulk copies.

:func:`run` and :func:`run_stream` are what every bulk call (``get_many``, ``put_many``,
``put``, ``upload``, ``download``, ``copy``, ``delete``, the CLI's ``get``) runs its per-item
function through: at most ``max_in_flight`` items at once on the per-process pool (the calling
thread takes part), progress counted and reported (:mod:`.progress`), and one failure policy -
the first failure stops new items, running ones finish, then that failure is raised.

:class:`MemoryBudget` bounds the bytes that bulk copies hold (see
:class:`~s3dlio.settings.TransferConfig` for the formula): each item reserves its cost before
it starts; reservations are granted in the order asked, so a large item is never starved by a
stream of small ones.
"""

from __future__ import annotations

import collections
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from .. import validate
from ..runtime import for_each_bounded, map_bounded
from .progress import ProgressCallback, Tracker

__all__ = ["MemoryBudget", "run", "run_stream"]

T = TypeVar("T")


def run(
    fn: Callable[[T], int],
    items: Sequence[T],
    max_in_flight: int,
    progress: ProgressCallback | None = None,
    *,
    total_bytes: int | None = None,
) -> list[int]:
    """``[fn(x) for x in items]`` (each returning the bytes it moved), ``max_in_flight`` at a
    time, in input order, counted for ``progress``. ``max_in_flight`` is validated here."""
    width = validate.count("max_in_flight", max_in_flight, 1)
    tracker = Tracker(progress, total_objects=len(items), total_bytes=total_bytes)
    try:
        return map_bounded(tracker.counted(fn), items, width)
    finally:
        tracker.finish()


def run_stream(
    fn: Callable[[T], int],
    items: Iterable[T],
    max_in_flight: int,
    progress: ProgressCallback | None = None,
    *,
    total_objects: int | None = None,
    per_item: Callable[[T], int] | None = None,
) -> int:
    """:func:`run` over a lazy (possibly unbounded) iterable: items are pulled only as workers
    free up, so memory does not grow with their number. Returns the number of items.
    ``per_item`` gives how many objects an item stands for (a batch of keys), for progress."""
    width = validate.count("max_in_flight", max_in_flight, 1)
    tracker = Tracker(progress, total_objects=total_objects)
    try:
        return for_each_bounded(tracker.counted(fn, per_item), items, width)
    finally:
        tracker.finish()


class MemoryBudget:
    """At most ``limit`` bytes reserved at once; a reservation above ``limit`` is cut to it (so
    one item larger than the budget still runs, alone). Thread-safe, first come first served.

    Every wait ends when a running item releases its reservation, which it does when it
    finishes or fails (its I/O has timeouts), so waits are bounded by the items in flight.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._free = self.limit
        self._cond = threading.Condition()
        self._queue: collections.deque[int] = collections.deque()
        self._tickets = itertools.count()
        self.peak = 0  # the most bytes ever reserved at once (for tests and benchmarks)

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[int]:
        """Hold ``min(nbytes, limit)`` bytes for the ``with`` block; yields the amount held."""
        amount = min(max(0, nbytes), self.limit)
        with self._cond:
            ticket = next(self._tickets)
            self._queue.append(ticket)
            try:
                while self._queue[0] != ticket or self._free < amount:
                    self._cond.wait(timeout=1.0)
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()
            self._free -= amount
            self.peak = max(self.peak, self.limit - self._free)
        try:
            yield amount
        finally:
            with self._cond:
                self._free += amount
                self._cond.notify_all()
