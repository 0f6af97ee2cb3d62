"""direct://: real O_DIRECT, aligned buffers from a bounded pool, exact unaligned data."""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import s3dlio
from s3dlio.stores.direct import AlignedBufferPool, DirectIOStore


def test_direct_store_really_opens_with_o_direct(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    s3dlio.put_bytes(f"direct://{path}", b"x" * 5000)
    fd = DirectIOStore()._open_read(str(path))
    try:
        import fcntl

        assert fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT
    finally:
        os.close(fd)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    size=st.integers(0, 3 * 4096 + 100),
    offset=st.integers(0, 3 * 4096 + 200),
    length=st.one_of(st.none(), st.integers(0, 9000)),
)
def test_unaligned_sizes_and_ranges_are_byte_identical(
    tmp_path: Path, size: int, offset: int, length: int | None
) -> None:
    data = np.random.default_rng(size).bytes(size)
    uri = f"direct://{tmp_path}/h-{size}.bin"
    s3dlio.put_bytes(uri, data)
    assert os.path.getsize(f"{tmp_path}/h-{size}.bin") == size  # padding trimmed
    assert s3dlio.get(uri) == data
    end = None if length is None else offset + length
    assert s3dlio.get_range(uri, offset, length) == data[offset:end]


def test_file_and_direct_see_the_same_bytes(tmp_path: Path) -> None:
    data = os.urandom(1_000_001)
    s3dlio.put_bytes(f"direct://{tmp_path}/x", data)
    assert s3dlio.get(f"file://{tmp_path}/x") == data
    s3dlio.put_bytes(f"file://{tmp_path}/y", data)
    assert s3dlio.get(f"direct://{tmp_path}/y") == data


def test_large_write_spans_many_bounce_buffers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(3 * (1 << 20) + 123)
    s3dlio.put_bytes(f"direct://{tmp_path}/big", data)
    assert s3dlio.get(f"direct://{tmp_path}/big") == data


def test_bounce_pool_is_bounded_and_aligned() -> None:
    pool = AlignedBufferPool(count=2, size=8192)
    active = 0
    peak = 0
    lock = threading.Lock()
    seen: set[int] = set()

    def use() -> None:
        nonlocal active, peak
        with pool.buffer() as buf:
            addr = np.frombuffer(buf, np.uint8).__array_interface__["data"][0]
            assert addr % 4096 == 0
            with lock:
                active += 1
                peak = max(peak, active)
                seen.add(id(buf))
            time.sleep(0.02)
            with lock:
                active -= 1

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 2 and len(seen) == 2 and pool._created == 2


def _refuse_o_direct(path: str, flags: int, mode: int = 0o777) -> int:
    if flags & os.O_DIRECT:
        raise OSError(errno.EINVAL, "Invalid argument", path)
    return os.open(path, flags, mode)


def test_refused_o_direct_falls_back_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from s3dlio.stores import direct

    monkeypatch.setattr(DirectIOStore, "_raw_open", staticmethod(_refuse_o_direct))
    monkeypatch.setattr(direct, "_warned_devices", set())
    caplog.set_level(logging.WARNING, logger="s3dlio.direct")
    data = os.urandom(10_000)
    s3dlio.put_bytes(f"direct://{tmp_path}/fb.bin", data)
    s3dlio.put_bytes(f"direct://{tmp_path}/fb2.bin", data)
    assert s3dlio.get(f"direct://{tmp_path}/fb.bin") == data
    assert os.path.getsize(tmp_path / "fb.bin") == 10_000
    warnings = [r for r in caplog.records if "refuses O_DIRECT" in r.getMessage()]
    assert len(warnings) == 1


def test_refused_o_direct_in_strict_mode_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(DirectIOStore, "_raw_open", staticmethod(_refuse_o_direct))
    monkeypatch.setenv("S3DLIO_DIRECT_IO_STRICT", "1")
    with pytest.raises(s3dlio.DirectIOUnsupportedError, match="O_DIRECT"):
        s3dlio.put_bytes(f"direct://{tmp_path}/strict.bin", b"x")
    assert not (tmp_path / "strict.bin").exists()
