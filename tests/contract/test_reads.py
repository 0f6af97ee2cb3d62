"""Reads: ``get`` (whole, ranges, size hints), ``get_into`` and ``head``, on every store."""

from __future__ import annotations

import numpy as np
import pytest

from s3dlio.errors import ObjectNotFoundError

from ._support import Contract, payload

MiB = 1 << 20
SENTINEL = 0xA5


def _round_trip(contract: Contract, size: int) -> None:
    data = payload(size, seed=size)
    key = contract.key(f"obj-{size}.bin")
    contract.store.put(key, memoryview(data))
    got = contract.store.get(key)
    assert len(got) == size
    assert bytes(got) == data


def test_put_then_get_returns_an_empty_object(contract: Contract) -> None:
    _round_trip(contract, 0)


def test_put_then_get_returns_a_one_byte_object(contract: Contract) -> None:
    _round_trip(contract, 1)


def test_put_then_get_returns_a_mebibyte_of_random_bytes_exactly(contract: Contract) -> None:
    _round_trip(contract, MiB + 7)


def test_put_replaces_an_existing_object(contract: Contract) -> None:
    key = contract.key("replaced.bin")
    contract.store.put(key, memoryview(b"the first, longer version"))
    contract.store.put(key, memoryview(b"second"))
    assert bytes(contract.store.get(key)) == b"second"
    assert contract.store.head(key).size == len(b"second")


def test_get_returns_a_zero_copy_read_only_buffer(contract: Contract) -> None:
    data = payload(4096 + 3, seed=1)
    key = contract.key("buffer.bin")
    contract.store.put(key, memoryview(data))
    view = contract.store.get(key)
    mv = memoryview(view)
    assert mv.readonly
    assert (mv.format, mv.ndim, mv.nbytes) == ("B", 1, len(data))
    # numpy's stubs list the buffer types they accept; BytesView exports one all the same.
    first = np.frombuffer(view, dtype=np.uint8)  # type: ignore[call-overload]
    second = np.frombuffer(view, dtype=np.uint8)  # type: ignore[call-overload]
    # Every export is the same memory: nothing is copied per memoryview/frombuffer.
    assert np.shares_memory(first, second)
    assert np.shares_memory(first, np.frombuffer(mv, dtype=np.uint8))
    assert first.tobytes() == data
    assert view == data


# -- missing keys -------------------------------------------------------------------------


def test_get_of_a_missing_key_raises_object_not_found(contract: Contract) -> None:
    key = contract.key("missing.bin")
    for offset, length in ((0, None), (3, 10), (0, 0), (100, None)):
        with pytest.raises(ObjectNotFoundError) as info:
            contract.store.get(key, offset, length)
        assert isinstance(info.value, FileNotFoundError)


def test_head_of_a_missing_key_raises_object_not_found(contract: Contract) -> None:
    with pytest.raises(ObjectNotFoundError) as info:
        contract.store.head(contract.key("missing.bin"))
    assert isinstance(info.value, FileNotFoundError)


def test_get_into_of_a_missing_key_raises_object_not_found(contract: Contract) -> None:
    buffer = bytearray([SENTINEL]) * 16
    with pytest.raises(ObjectNotFoundError) as info:
        contract.store.get_into(contract.key("missing.bin"), memoryview(buffer))
    assert isinstance(info.value, FileNotFoundError)
    assert buffer == bytearray([SENTINEL]) * 16


# -- ranges -------------------------------------------------------------------------------

DATA = bytes(range(100))


@pytest.fixture
def hundred(contract: Contract) -> str:
    """The key of a 100-byte object whose byte ``i`` is ``i``."""
    key = contract.key("hundred.bin")
    contract.store.put(key, memoryview(DATA))
    return key


def test_get_range_inside_the_object_returns_exactly_that_range(
    contract: Contract, hundred: str
) -> None:
    get = contract.store.get
    assert bytes(get(hundred, 10, 20)) == DATA[10:30]
    assert bytes(get(hundred, 0, 1)) == DATA[:1]
    assert bytes(get(hundred, 99, 1)) == DATA[99:]
    assert bytes(get(hundred, 0, 100)) == DATA
    assert bytes(get(hundred, 37)) == DATA[37:]  # no length: to the end


def test_get_range_past_the_end_is_clipped(contract: Contract, hundred: str) -> None:
    assert bytes(contract.store.get(hundred, 90, 50)) == DATA[90:]
    assert bytes(contract.store.get(hundred, 0, 1000)) == DATA


def test_get_at_or_past_the_end_returns_an_empty_view(contract: Contract, hundred: str) -> None:
    for offset, length in ((100, None), (100, 10), (150, None), (150, 10)):
        got = contract.store.get(hundred, offset, length)
        assert len(got) == 0, (offset, length)
        assert memoryview(got).nbytes == 0


def test_get_of_length_zero_returns_an_empty_view(contract: Contract, hundred: str) -> None:
    for offset in (0, 50, 100, 150):
        assert len(contract.store.get(hundred, offset, 0)) == 0, offset


def test_get_range_of_an_empty_object_is_empty(contract: Contract) -> None:
    key = contract.key("empty.bin")
    contract.store.put(key, memoryview(b""))
    assert len(contract.store.get(key, 0, 10)) == 0
    assert len(contract.store.get(key, 0)) == 0
    assert len(contract.store.get(key, 5, 5)) == 0


# -- size hints: they choose how an object is fetched, never what is returned -------------


@pytest.fixture
def hinted(contract: Contract) -> list[tuple[str, bytes]]:
    """A small and a ~1 MiB object (on either side of the presigned-GET threshold)."""
    objects = []
    for size in (100, MiB + 5):
        data = payload(size, seed=size)
        key = contract.key(f"hinted-{size}.bin")
        contract.store.put(key, memoryview(data))
        objects.append((key, data))
    return objects


def test_get_with_the_true_size_hint_returns_the_whole_object(
    contract: Contract, hinted: list[tuple[str, bytes]]
) -> None:
    for key, data in hinted:
        assert bytes(contract.store.get(key, size_hint=len(data))) == data


def test_get_with_a_smaller_size_hint_returns_the_whole_object(
    contract: Contract, hinted: list[tuple[str, bytes]]
) -> None:
    for key, data in hinted:
        for hint in (0, 1, len(data) - 1):
            assert bytes(contract.store.get(key, size_hint=hint)) == data, hint
        assert bytes(contract.store.get(key, 10, 20, size_hint=5)) == data[10:30]


def test_get_with_a_larger_size_hint_returns_the_whole_object(
    contract: Contract, hinted: list[tuple[str, bytes]]
) -> None:
    for key, data in hinted:
        for hint in (len(data) + 1, len(data) + (128 << 20)):
            assert bytes(contract.store.get(key, size_hint=hint)) == data, hint
        assert bytes(contract.store.get(key, 10, 20, size_hint=len(data) * 2)) == data[10:30]


# -- get_into -----------------------------------------------------------------------------


def test_get_into_a_larger_buffer_returns_the_size_and_leaves_the_tail_untouched(
    contract: Contract, hundred: str
) -> None:
    buffer = bytearray([SENTINEL]) * 150
    assert contract.store.get_into(hundred, memoryview(buffer)) == 100
    assert bytes(buffer[:100]) == DATA
    assert buffer[100:] == bytearray([SENTINEL]) * 50


def test_get_into_a_smaller_buffer_fills_it(contract: Contract, hundred: str) -> None:
    buffer = bytearray([SENTINEL]) * 40
    assert contract.store.get_into(hundred, memoryview(buffer)) == 40
    assert bytes(buffer) == DATA[:40]


def test_get_into_from_an_offset_reads_from_there(contract: Contract, hundred: str) -> None:
    buffer = bytearray([SENTINEL]) * 30
    assert contract.store.get_into(hundred, memoryview(buffer), 10) == 30
    assert bytes(buffer) == DATA[10:40]
    # The object ends before the buffer is full: fewer bytes, the rest untouched.
    buffer = bytearray([SENTINEL]) * 30
    assert contract.store.get_into(hundred, memoryview(buffer), 80) == 20
    assert bytes(buffer[:20]) == DATA[80:]
    assert buffer[20:] == bytearray([SENTINEL]) * 10


def test_get_into_at_or_past_the_end_returns_zero_and_writes_nothing(
    contract: Contract, hundred: str
) -> None:
    for offset in (100, 101, 1000):
        buffer = bytearray([SENTINEL]) * 16
        assert contract.store.get_into(hundred, memoryview(buffer), offset) == 0, offset
        assert buffer == bytearray([SENTINEL]) * 16
    empty = contract.key("empty.bin")
    contract.store.put(empty, memoryview(b""))
    buffer = bytearray([SENTINEL]) * 16
    assert contract.store.get_into(empty, memoryview(buffer)) == 0
    assert buffer == bytearray([SENTINEL]) * 16


def test_get_into_fills_a_numpy_array_in_place(contract: Contract, hundred: str) -> None:
    array = np.full(128, SENTINEL, dtype=np.uint8)
    assert contract.store.get_into(hundred, array.data, 4) == 96
    assert array[:96].tobytes() == DATA[4:]
    assert (array[96:] == SENTINEL).all()


# -- head ---------------------------------------------------------------------------------


def test_head_reports_the_size_an_mtime_and_an_etag(contract: Contract, hundred: str) -> None:
    meta = contract.store.head(hundred)
    assert meta.key == hundred
    assert meta.size == 100
    # Every backend keeps a modification time (ns since the epoch) and gives an ETag (the local
    # stores and memory:// make one up from size and time, or a generation).
    assert isinstance(meta.mtime_ns, int)
    assert meta.mtime_ns > 0
    assert isinstance(meta.etag, str)
    assert meta.etag
