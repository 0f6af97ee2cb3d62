"""The per-process runtime: async twins, fork safety, nested bulk calls."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterator

import numpy as np
import pytest
from tests.conftest import Backend

import s3dlio
from s3dlio import runtime


def test_async_twins_return_futures(backend: Backend) -> None:
    async def main() -> None:
        fut = s3dlio.put_bytes_async(backend.uri("a"), b"async data")
        assert isinstance(fut, asyncio.Future)
        await fut
        assert await s3dlio.get_async(backend.uri("a")) == b"async data"
        assert await s3dlio.get_range_async(backend.uri("a"), 6) == b"data"
        assert (await s3dlio.stat_async(backend.uri("a")))["size"] == 10
        assert await s3dlio.exists_async(backend.uri("a"))
        await s3dlio.put_many_async(
            [(backend.uri(f"m/{i}"), bytearray(b"x" * i)) for i in range(5)]
        )
        many = await s3dlio.get_many_async([backend.uri(f"m/{i}") for i in range(5)])
        assert [len(v) for _, v in many] == [0, 1, 2, 3, 4]
        assert await s3dlio.get_many_stats_async([backend.uri("a")]) == (1, 10)
        head = await s3dlio.head_async(backend.uri("a"))
        assert head is not None and head.size == 10 and head.etag
        assert await s3dlio.head_async(backend.uri("missing")) is None
        stats = await s3dlio.stat_many_async([backend.uri("a"), backend.uri("m/4")])
        assert [s["size"] for s in stats] == [10, 4]
        await s3dlio.mkdir_async(backend.uri("newdir"))
        await s3dlio.put_async(backend.uri("gen/"), 2, size=64)
        assert len(s3dlio.list(backend.uri("gen/"))) == 2
        with pytest.raises(s3dlio.ObjectNotFoundError):
            await s3dlio.get_async(backend.uri("missing"))

    asyncio.run(main())


def test_async_calls_need_a_running_loop(backend: Backend) -> None:
    with pytest.raises(RuntimeError, match="no running event loop"):
        s3dlio.get_async(backend.uri("x"))


def test_get_into_async_fills_the_buffer(backend: Backend) -> None:
    s3dlio.put_bytes(backend.uri("into"), bytes(range(100)))
    dst = np.zeros(128, dtype=np.uint8)

    async def main() -> tuple[int, bool]:
        n = await s3dlio.get_into_async(backend.uri("into"), dst, expected_len=100)
        try:
            await s3dlio.get_into_async(backend.uri("into"), dst, expected_len=99)
        except s3dlio.LengthMismatchError as exc:
            return n, exc.expected == 99 and exc.actual == 100
        return n, False

    n, mismatch_seen = asyncio.run(main())
    assert n == 100 and mismatch_seen
    assert bytes(dst[:100]) == bytes(range(100)) and not dst[100:].any()


def test_many_concurrent_async_bulk_calls_do_not_deadlock(backend: Backend) -> None:
    # Each async get_many runs on a pool thread and fans out on the same pool; more calls
    # than pool threads must still finish (the caller thread works too).
    s3dlio.put_many([(backend.uri(f"n/{i}"), b"x") for i in range(20)])
    uris = [backend.uri(f"n/{i}") for i in range(20)]

    async def main() -> int:
        results = await asyncio.wait_for(
            asyncio.gather(*(s3dlio.get_many_async(uris, max_in_flight=64) for _ in range(80))),
            timeout=60,
        )
        return sum(len(r) for r in results)

    assert asyncio.run(main()) == 80 * 20


def _child_io(uri: str, conn: object) -> None:
    s3dlio.put_bytes(uri + ".child", b"from child")
    got = s3dlio.get_many([uri, uri + ".child"])
    conn.send([bytes(v) for _, v in got])  # type: ignore[attr-defined]


def test_forked_child_can_use_the_api_after_the_parent(backend: Backend) -> None:
    uri = backend.uri("forked")
    s3dlio.put_bytes(uri, b"from parent")
    s3dlio.get_many([uri] * 8, max_in_flight=4)  # the parent's pool is running
    assert runtime.started()
    ctx = multiprocessing.get_context("fork")
    parent_conn, child_conn = ctx.Pipe()
    proc = ctx.Process(target=_child_io, args=(uri, child_conn))
    proc.start()
    proc.join(timeout=30)
    if proc.is_alive():
        os.kill(proc.pid, signal.SIGKILL)
        pytest.fail("forked child hung using s3dlio after the parent had used it")
    assert proc.exitcode == 0
    assert parent_conn.recv() == [b"from parent", b"from child"]
    assert s3dlio.get(uri + ".child") == b"from child"  # and the parent still works


def test_os_fork_child_bulk_io(backend: Backend) -> None:
    uri = backend.uri("osfork")
    s3dlio.put_many([(f"{uri}{i}", b"p") for i in range(16)])
    pid = os.fork()
    if pid == 0:  # child: bulk I/O on a fresh pool, then exit without running pytest teardown
        code = 1
        try:
            s3dlio.put_many([(f"{uri}c{i}", b"c") for i in range(16)], max_in_flight=8)
            got = s3dlio.get_many([f"{uri}{i}" for i in range(16)], max_in_flight=8)
            code = 0 if all(v == b"p" for _, v in got) else 2
        finally:
            os._exit(code)
    deadline = 30.0
    while deadline > 0:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        import time

        time.sleep(0.05)
        deadline -= 0.05
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("os.fork child hung")
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(s3dlio.list(backend.uri(), recursive=True, pattern="osforkc")) == 16


def test_spawned_process_sees_the_same_api(backend: Backend) -> None:
    ctx = multiprocessing.get_context("spawn")
    parent_conn, child_conn = ctx.Pipe()
    s3dlio.put_bytes(backend.uri("spawn"), b"spawned")
    proc = ctx.Process(target=_child_io, args=(backend.uri("spawn"), child_conn))
    proc.start()
    proc.join(timeout=60)
    assert proc.exitcode == 0
    assert parent_conn.recv() == [b"spawned", b"from child"]


def test_import_does_not_pull_heavy_frameworks() -> None:
    import subprocess

    code = (
        "import sys, s3dlio; print(any(m in sys.modules for m in ('torch', 'jax', 'tensorflow')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_star_import_does_not_shadow_builtin_list() -> None:
    namespace: dict[str, object] = {}
    exec("from s3dlio import *", namespace)
    assert "list" not in namespace
    assert callable(s3dlio.list)


def test_interpreter_exits_cleanly_after_bulk_io(backend: Backend) -> None:
    import subprocess

    script = (
        "import s3dlio, sys; u = sys.argv[1];"
        "s3dlio.put_many([(u + str(i), b'x') for i in range(200)], max_in_flight=32);"
        "assert len(s3dlio.get_many([u + str(i) for i in range(200)])) == 200"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, backend.uri("exit-")], capture_output=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""


def test_async_twins_keep_the_sync_signature() -> None:
    import inspect

    assert inspect.signature(s3dlio.put_async) == inspect.signature(s3dlio.put)
    assert s3dlio.get_many_async.__name__ == "get_many_async"


def test_prefetch_yields_everything_in_order_and_reraises_where_it_failed() -> None:
    def pages() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("page 3 failed")

    got: list[int] = []
    with pytest.raises(OSError, match="page 3 failed"):
        for item in runtime.prefetch(pages()):
            got.append(item)
    assert got == [1, 2]
    assert list(runtime.prefetch(iter(range(100)), depth=3)) == list(range(100))


def test_prefetch_stops_its_thread_when_the_consumer_stops() -> None:
    produced: list[int] = []

    def endless() -> Iterator[int]:
        for i in itertools.count():
            produced.append(i)
            yield i

    stream = runtime.prefetch(endless(), depth=2)
    assert next(stream) == 0
    stream.close()
    time.sleep(0.5)
    settled = len(produced)
    time.sleep(0.3)
    assert len(produced) == settled <= 5  # bounded read-ahead, and the producer has stopped


def test_map_bounded_results_are_freed_when_the_caller_drops_them_even_if_the_pool_was_busy() -> (
    None
):
    """Helpers that never started stay queued (cancelled) in the pool; they must not keep the
    results alive (a streamed copy dropped each window yet held them: GiBs in a download)."""
    import gc
    import threading
    import weakref

    from s3dlio import runtime

    class Piece:
        pass

    pool = runtime.executor()
    release = threading.Event()
    started = threading.Semaphore(0)

    def block() -> None:
        started.release()
        release.wait(timeout=60)

    blockers = [pool.submit(block) for _ in range(pool._max_workers)]
    try:
        for _ in range(pool._max_workers):
            assert started.acquire(timeout=60)  # every pool thread is busy now
        pieces = runtime.map_bounded(lambda _: Piece(), range(8), 4)  # the caller does it all
        refs = [weakref.ref(p) for p in pieces]
        del pieces
        gc.collect()
        assert all(r() is None for r in refs)
    finally:
        release.set()
        for b in blockers:
            b.result(timeout=60)
