"""The per-process runtime, the bottom layer: per-process state, and one worker pool that runs
every blocking storage call.

* :class:`PerProcess` holds anything that must not cross a ``fork`` (pools, clients, caches,
  locks): created lazily on first use in each process, dropped in a forked child. It is the
  only place in s3dlio that deals with ``fork``; no module writes its own PID check or
  ``os.register_at_fork`` handler.
* The pool is created on first use, sized by ``S3DLIO_RT_THREADS`` (see :mod:`s3dlio.config`),
  and again in a forked child (the parent's threads do not exist there), so a forked child - a
  PyTorch DataLoader worker, say - can use the API after its parent did.
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
import ctypes
import itertools
import os
import queue
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from . import config

__all__ = [
    "PerProcess",
    "executor",
    "keep_forever",
    "for_each_bounded",
    "map_bounded",
    "prefetch",
    "run_async",
    "started",
]

T = TypeVar("T")
R = TypeVar("R")

_registered: weakref.WeakSet[PerProcess[Any]] = weakref.WeakSet()


class PerProcess(Generic[T]):
    """A value of this process: made by ``factory`` on first :meth:`get`, made again in a
    forked child.

    Thread-safe: concurrent first calls create one value. In a forked child the parent's value
    is dropped (its threads, sockets and locks belong to the parent) and the next :meth:`get`
    creates a new one. ``on_fork`` is called with the parent's value in the child instead of
    dropping it plainly: for values whose destruction in the child is unsafe (native clients
    whose destructors take locks a parent thread may have held at the fork), it can keep them
    alive forever. All ``on_fork`` handlers run before any plain value is dropped, so dropping
    a container of such values (a store cache) never frees one of them first.

    Forks are noticed by an ``os.register_at_fork`` handler, and by the PID as well (a fork
    made by C code that bypasses Python's handlers).
    """

    __slots__ = ("__weakref__", "_factory", "_lock", "_on_fork", "_pid", "_value")

    def __init__(
        self, factory: Callable[[], T], *, on_fork: Callable[[T], None] | None = None
    ) -> None:
        self._factory = factory
        self._on_fork = on_fork
        self._value: T | None = None
        self._pid = 0
        self._lock = threading.Lock()
        _registered.add(self)

    def get(self) -> T:
        value = self._value
        if value is not None and self._pid == os.getpid():
            return value
        with self._lock:
            if self._value is None or self._pid != os.getpid():
                self._forget()
                self._value = self._factory()
                self._pid = os.getpid()
            return self._value

    def peek(self) -> T | None:
        """This process's value if it was created, else ``None`` (creates nothing)."""
        return self._value if self._pid == os.getpid() else None

    def reset(self) -> None:
        """Drop this process's value; the next :meth:`get` creates a new one."""
        with self._lock:
            self._value = None

    def _forget(self) -> None:
        # Called in a child for the parent's value.
        if self._value is not None and self._pid != os.getpid() and self._on_fork is not None:
            self._on_fork(self._value)
        self._value = None

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # the parent's may have been held by another thread
        self._forget()


def keep_forever(obj: object) -> None:
    """Give ``obj`` a reference nothing releases: it is never freed, not even at exit. An
    ``on_fork`` handler for native objects whose destructors are unsafe in a forked child."""
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))


def _after_fork_in_child() -> None:
    instances = list(_registered)
    for holder in instances:  # values that need care first (see PerProcess)
        if holder._on_fork is not None:
            holder._after_fork()
    for holder in instances:
        if holder._on_fork is None:
            holder._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _new_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=config.runtime_threads(), thread_name_prefix="s3dlio")


_pool: PerProcess[ThreadPoolExecutor] = PerProcess(_new_pool)


def executor() -> ThreadPoolExecutor:
    """This process's worker pool (created on first use, and again after a fork)."""
    return _pool.get()


def started() -> bool:
    """Whether this process's pool exists yet."""
    return _pool.peek() is not None


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

    try:
        _run_workers(work, min(max_in_flight, n), batch)
    except BaseException:
        results.clear()
        raise
    # Helpers the pool never started stay queued (cancelled) until a pool thread pops them,
    # and their closure holds ``results``: hand out a copy and empty the shared list, so the
    # caller alone decides how long the results live (a streamed copy drops each window).
    out = list(results)
    results.clear()
    return out


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
