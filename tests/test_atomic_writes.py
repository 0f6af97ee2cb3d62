"""A write is visible under its final name only when complete - even if the writer dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from tests.conftest import Backend

import s3dlio
from s3dlio.stores import store_for
from s3dlio.uri import parse_uri

KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from s3dlio.stores import store_for
    from s3dlio.uri import parse_uri
    uri = sys.argv[1]
    parsed = parse_uri(uri)
    writer = store_for(parsed).open_writer(parsed.key)
    chunk = memoryview(b"z" * (1 << 20))
    writer.write(chunk)
    print("written", flush=True)
    while True:  # keep writing until killed
        writer.write(chunk)
        time.sleep(0.01)
    """
)


def visible_files(backend: Backend) -> list[str]:
    """Every file or object under the backend's prefix, however it got there."""
    if backend.root is None:
        return sorted(u[len(backend.uri()) :] for u in s3dlio.list(backend.uri(), recursive=True))
    return sorted(
        os.path.relpath(os.path.join(root, name), backend.root)
        for root, _, files in os.walk(backend.root)
        for name in files
    )


def test_killed_writer_leaves_nothing_visible(backend: Backend) -> None:
    uri = backend.uri("out/killed.bin")
    s3dlio.mkdir(backend.uri("out"))
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, uri], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "written"
    time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert not s3dlio.exists(uri)
    assert s3dlio.list(backend.uri("out/"), recursive=True) == []
    assert visible_files(backend) == []


def test_killed_writer_keeps_the_previous_version(backend: Backend) -> None:
    uri = backend.uri("keep.bin")
    s3dlio.put_bytes(uri, b"old complete version")
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, uri], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert s3dlio.get(uri) == b"old complete version"


def test_killed_put_bytes_is_all_or_nothing(backend: Backend) -> None:
    size = 256 << 20
    uri = backend.uri("whole.bin")
    script = f"import s3dlio; s3dlio.put_bytes({uri!r}, bytes({size}))"
    proc = subprocess.Popen([sys.executable, "-c", script])
    time.sleep(0.4)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    listed = s3dlio.list(backend.uri(), recursive=True)
    if listed:  # the write finished before the kill: then it must be complete
        assert listed == [uri] and s3dlio.stat(uri)["size"] == size
    assert visible_files(backend) == (["whole.bin"] if listed else [])


def test_aborted_writer_and_exception_leave_nothing(backend: Backend) -> None:
    parsed = parse_uri(backend.uri("w/aborted.bin"))
    store = store_for(parsed)
    writer = store.open_writer(parsed.key)
    writer.write(memoryview(b"partial"))
    writer.abort()
    with pytest.raises(RuntimeError, match="boom"), store.open_writer(parsed.key) as w2:  # type: ignore[attr-defined]
        w2.write(memoryview(b"partial"))
        raise RuntimeError("boom")
    assert not s3dlio.exists(backend.uri("w/aborted.bin"))
    assert visible_files(backend) == []


def test_writer_publishes_on_close(backend: Backend) -> None:
    parsed = parse_uri(backend.uri("w/streamed.bin"))
    writer = store_for(parsed).open_writer(parsed.key)
    pieces = [os.urandom(n) for n in (1, 4095, 4097, 10_000, 3)]
    for p in pieces:
        writer.write(memoryview(p))
        assert not s3dlio.exists(backend.uri("w/streamed.bin"))
    assert writer.bytes_written == sum(map(len, pieces))
    writer.close()
    assert s3dlio.get(backend.uri("w/streamed.bin")) == b"".join(pieces)
    with pytest.raises(s3dlio.S3dlioError, match="closed"):
        writer.write(memoryview(b"late"))


def test_dropped_writer_cleans_up(backend: Backend) -> None:
    parsed = parse_uri(backend.uri("dropped.bin"))
    writer = store_for(parsed).open_writer(parsed.key)
    writer.write(memoryview(b"never published"))
    del writer
    assert visible_files(backend) == []
