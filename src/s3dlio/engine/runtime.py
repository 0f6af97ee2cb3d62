"""The per-process runtime: one worker pool that runs every blocking storage call.

* Created lazily on first use, sized by ``S3DLIO_RT_THREADS`` (see :mod:`s3dlio.config`).
* Re-created in a child after ``fork`` (the parent's threads do not exist there), so a forked
  child - a PyTorch DataLoader worker, say - can use the API after its parent did.
* Worker threads finish their current call and exit when the interpreter shuts down.

The ``*_async`` API hands calls to this pool with ``loop.run_in_executor`` and returns the
``asyncio.Future``; no event loop is ever created per call.

:func:`map_bounded` and :func:`for_each_bounded` run a function over many items with at most
``max_in_flight`` running at once. The calling thread takes part as one of the workers, so a
bulk call made from inside the pool (an async bulk call, or a nested one) always progresses
even when every pool thread is busy.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from .. import config

__all__ = ["executor", "for_each_bounded", "map_bounded", "prefetch", "run_async"]

T = TypeVar("T")
R = TypeVar("R")

_executor: ThreadPoolExecutor | None = None
_executor_pid = 0
_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    """This process's worker pool (created on first use, and again after a fork)."""
    global _executor, _executor_pid
    pid = os.getpid()
    pool = _executor
    if pool is not None and _executor_pid == pid:
        return pool
    with _lock:
        if _executor is None or _executor_pid != pid:
            _executor = ThreadPoolExecutor(
                max_workers=config.runtime_threads(), thread_name_prefix="s3dlio"
            )
            _executor_pid = pid
        return _executor


def started() -> bool:
    return _executor is not None and _executor_pid == os.getpid()


def _after_fork_in_child() -> None:
    global _executor, _lock
    # The parent's pool threads do not exist in the child; its locks may be held. Drop both.
    _executor = None
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def run_async(fn: Callable[..., R], *args: Any) -> asyncio.Future[R]:
    """Run ``fn(*args)`` on the pool; return an ``asyncio.Future`` of the running loop.

    Raises ``RuntimeError("no running event loop")`` when called outside a running loop, like
    the reference.
    """
    loop = asyncio.get_running_loop()
    return loop.run_in_executor(executor(), fn, *args)


class _Batch:
    """Shared state of one bounded run: a claim counter and the first failure."""

    def __init__(self) -> None:
        self.error: BaseException | None = None
        self.stop = False
        self.lock = threading.Lock()

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            if self.error is None:
                self.error = exc
            self.stop = True


def _run_workers(work: Callable[[], None], workers: int, batch: _Batch) -> None:
    futures: list[Future[None]] = []
    if workers > 1:
        pool = executor()
        futures = [pool.submit(work) for _ in range(workers - 1)]
    try:
        work()
    finally:
        for fut in futures:
            if not fut.cancel():
                exc = fut.exception()
                if exc is not None:
                    batch.fail(exc)
    if batch.error is not None:
        raise batch.error


def map_bounded(fn: Callable[[T], R], items: Sequence[T], max_in_flight: int) -> list[R]:
    """``[fn(x) for x in items]`` with at most ``max_in_flight`` calls running at once.

    Results are in input order. On the first failure no new item is started; calls already
    running finish, then that first exception is raised (the others are dropped).
    """
    n = len(items)
    if n == 0:
        return []
    results: list[Any] = [None] * n
    counter = itertools.count()
    batch = _Batch()

    def work() -> None:
        while not batch.stop:
            i = next(counter)
            if i >= n:
                return
            try:
                results[i] = fn(items[i])
            except BaseException as exc:
                batch.fail(exc)
                return

    _run_workers(work, min(max_in_flight, n), batch)
    return results


def for_each_bounded(fn: Callable[[T], object], items: Iterable[T], max_in_flight: int) -> int:
    """Call ``fn`` on every item of a (possibly lazy, unbounded) iterable, ``max_in_flight`` at
    a time, pulling items only as workers free up; return the number of items processed.

    Failure policy as :func:`map_bounded`.
    """
    iterator = iter(items)
    pull = threading.Lock()
    done = itertools.count()
    batch = _Batch()

    def work() -> None:
        while not batch.stop:
            try:
                with pull:
                    item = next(iterator)
            except StopIteration:
                return
            except BaseException as exc:
                batch.fail(exc)
                return
            try:
                fn(item)
            except BaseException as exc:
                batch.fail(exc)
                return
            next(done)

    _run_workers(work, max(1, max_in_flight), batch)
    return next(done)


_DONE = object()


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate ``items`` with up to ``depth`` items produced ahead by a helper thread, so that
    fetching the next page of a listing overlaps the caller's work on this one.

    Errors from ``items`` are raised to the caller at the point they occurred. Closing (or
    dropping) the returned generator stops the helper thread within ~0.1 s; at most
    ``depth + 1`` items are ever held.
    """
    box: queue.Queue[Any] = queue.Queue(maxsize=max(1, depth))
    closed = threading.Event()

    def offer(value: Any) -> bool:
        while not closed.is_set():
            try:
                box.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer((item, None)):
                    return
        except BaseException as exc:
            offer((_DONE, exc))
            return
        offer((_DONE, None))

    worker = threading.Thread(target=produce, name="s3dlio-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, error = box.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        closed.set()
