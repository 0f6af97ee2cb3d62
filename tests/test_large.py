"""Large objects: parallel range GETs, multipart uploads, streaming transfers of big files."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import s3dlio
import s3dlio.stores
from conftest import Backend
from s3dlio import config
from s3dlio.engine import transfer
from s3dlio.errors import LengthMismatchError
from s3dlio.settings import TransferConfig
from s3dlio.uri import parse_uri

MiB = 1 << 20


@pytest.fixture
def small_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parallel GET from 1 MiB objects on, in 1 MiB parts, 3 at a time."""
    monkeypatch.setenv("S3DLIO_RANGE_THRESHOLD_MB", "1")
    monkeypatch.setenv("S3DLIO_RANGE_PART_SIZE_MB", "1")
    monkeypatch.setenv("S3DLIO_RANGE_CONCURRENCY", "3")


@pytest.mark.parametrize("size", [MiB, 5 * MiB + 7, 3 * MiB])
def test_parallel_range_get_is_byte_identical(
    backend: Backend, small_ranges: None, size: int
) -> None:
    data = np.random.default_rng(size).bytes(size)
    uri = backend.uri(f"ranged/{size}.bin")
    s3dlio.put_bytes(uri, data)
    got = s3dlio.get(uri)
    assert len(got) == size
    assert got == data
    # The result is one contiguous buffer that numpy can use without a copy.
    assert np.frombuffer(memoryview(got), np.uint8)[-1] == data[-1]


@pytest.mark.parametrize(("offset", "length"), [(12_345, 3 * MiB), (4 * MiB, 3 * MiB), (0, None)])
def test_large_range_reads_are_byte_identical(
    backend: Backend, small_ranges: None, offset: int, length: int | None
) -> None:
    data = np.random.default_rng(3).bytes(5 * MiB + 7)
    uri = backend.uri("ranges.bin")
    s3dlio.put_bytes(uri, data)
    want = data[offset:] if length is None else data[offset : offset + length]  # clipped at end
    assert s3dlio.get_range(uri, offset, length) == want


def test_local_parallel_read_stops_where_the_file_ends(tmp_path: Path, small_ranges: None) -> None:
    from s3dlio.stores.file import pread_into

    path = tmp_path / "short.bin"
    data = np.random.default_rng(4).bytes(2 * MiB + 100)
    path.write_bytes(data)
    view = memoryview(bytearray(4 * MiB))  # longer than the file: parts 3 and 4 read nothing
    fd = os.open(path, os.O_RDONLY)
    try:
        assert pread_into(fd, view, 0) == len(data)
        assert pread_into(fd, view[: 3 * MiB], 100) == len(data) - 100
    finally:
        os.close(fd)
    assert view[: len(data) - 100] == data[100:]


def test_parallel_get_just_below_the_threshold_is_one_request(
    backend: Backend, small_ranges: None
) -> None:
    data = b"x" * (MiB - 1)
    uri = backend.uri("below.bin")
    s3dlio.put_bytes(uri, data)
    assert s3dlio.get(uri) == data


def test_parallel_get_can_be_switched_off(
    backend: Backend, small_ranges: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S3DLIO_ENABLE_RANGE_OPTIMIZATION", "0")
    data = np.random.default_rng(1).bytes(2 * MiB + 3)
    uri = backend.uri("off.bin")
    s3dlio.put_bytes(uri, data)
    assert s3dlio.get(uri) == data


def test_get_many_of_large_objects_uses_ranges_inside_the_bound(
    backend: Backend, small_ranges: None
) -> None:
    payloads = [np.random.default_rng(i).bytes(2 * MiB + i) for i in range(4)]
    uris = [backend.uri(f"many/{i}.bin") for i in range(4)]
    s3dlio.put_many(list(zip(uris, payloads, strict=True)), max_in_flight=4)
    got = s3dlio.get_many(uris, max_in_flight=2)
    assert [u for u, _ in got] == uris
    assert [bytes(v) for _, v in got] == payloads


def test_download_and_upload_of_a_multi_chunk_object_in_bounded_windows(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Objects larger than one copy chunk stream through ordered windows of range GETs."""
    _small_copy_chunks(monkeypatch)
    data = np.random.default_rng(3).bytes(10 * (1 << 16) + 99)  # 11 chunks, ragged tail
    src = tmp_path / "src"
    src.mkdir()
    (src / "big.bin").write_bytes(data)
    s3dlio.upload([str(src / "big.bin")], backend.uri("up/"), max_in_flight=2)
    assert s3dlio.get(backend.uri("up/big.bin")) == data
    out = tmp_path / "out"
    s3dlio.download(backend.uri("up/"), str(out), max_in_flight=2, recursive=True)
    assert (out / "big.bin").read_bytes() == data


def _small_copy_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every store of the default registry copies in 64 KiB pieces (for this test only)."""
    base = config.settings()
    small = replace(base, transfer=replace(base.transfer, copy_chunk=1 << 16))
    monkeypatch.setattr(s3dlio.stores, "_default", s3dlio.stores.Registry(settings=small))


def test_copy_refuses_a_source_that_is_not_the_size_it_claimed(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stale size (the object changed after it was listed) fails the copy; nothing appears."""
    data = os.urandom(3 * (1 << 16))
    uri = backend.uri("src.bin")
    s3dlio.put_bytes(uri, data)
    store = s3dlio.stores.store_for(parse_uri(uri))
    local = s3dlio.stores.store_for(parse_uri("file://x"))
    (tmp_path / "dst").mkdir()
    target = str(tmp_path / "dst" / "copy.bin")
    with pytest.raises(LengthMismatchError, match="changed during the copy"):
        transfer.copy_object(
            store,
            parse_uri(uri).key,
            local,
            target,
            size=len(data) + 5,
            transfer=TransferConfig(copy_chunk=1 << 16),
        )
    assert not os.path.exists(target)
    assert os.listdir(tmp_path / "dst") == []  # no temp file left behind either


def test_mp_get_reads_everything_from_several_processes(backend: Backend) -> None:
    sizes = [100 + i for i in range(7)]
    s3dlio.put_many([(backend.uri(f"mp/object_{i}.dat"), b"z" * n) for i, n in enumerate(sizes)], 8)
    out = s3dlio.mp_get(backend.uri("mp"), procs=2, jobs=3, num=8)  # object_7 is missing
    assert (out["attempted"], out["succeeded"], out["failed"]) == (8, 7, 1)
    assert out["total_bytes"] == sum(sizes)
    assert [w["attempted"] for w in out["workers"]] == [4, 4]
    assert out["errors"][0][0].endswith("mp/object_7.dat")
    assert "ObjectNotFoundError" in out["errors"][0][1]
    assert out["throughput_mb_s"] > 0 and out["ops_per_sec"] > 0


def test_mp_get_rejects_bad_arguments_before_starting_processes() -> None:
    with pytest.raises(s3dlio.InvalidURIError):
        s3dlio.mp_get("s3:/nope", num=1)
    with pytest.raises(s3dlio.InvalidArgumentError):
        s3dlio.mp_get("file:///tmp/x", procs=0)
