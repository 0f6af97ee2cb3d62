"""BytesView: zero-copy buffer semantics, plus the reference's gaps we fill on purpose."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from tests.conftest import Backend

import s3dlio
from s3dlio.buffers import as_payload


def test_get_returns_a_zero_copy_view(backend: Backend) -> None:
    s3dlio.put_bytes(backend.uri("x.bin"), bytes(range(256)) * 16)
    view = s3dlio.get(backend.uri("x.bin"))
    assert isinstance(view, s3dlio.BytesView)
    mv = memoryview(view)
    assert mv.readonly and mv.format == "B" and mv.ndim == 1 and mv.obj is view
    arr = np.frombuffer(memoryview(view), dtype=np.uint8)
    assert np.shares_memory(arr, np.frombuffer(view, dtype=np.uint8))
    assert not arr.flags.writeable and not arr.flags.owndata
    assert np.shares_memory(arr, np.frombuffer(view.memoryview(), dtype=np.uint8))
    with pytest.raises(TypeError):
        mv[0] = 1


def test_view_outlives_its_name() -> None:
    view = s3dlio.BytesView(b"keep me")
    mv = memoryview(view)
    del view
    assert mv.tobytes() == b"keep me"


def test_equality_hash_and_repr() -> None:
    view = s3dlio.BytesView(b"hello")
    assert view == b"hello" and view == b"hello"
    assert view == bytearray(b"hello") and view == memoryview(b"hello")
    assert view != b"hellO" and view != b"hell"
    assert hash(view) == hash(b"hello")
    assert repr(view) == "BytesView(5 bytes)"
    assert not isinstance(view, bytes)
    assert view.to_bytes() == b"hello" and bytes(view) == b"hello"
    assert view.decode() == "hello"


def test_slicing_does_not_copy() -> None:
    view = s3dlio.BytesView(bytes(range(100)))
    part = view[10:20]
    assert isinstance(part, s3dlio.BytesView) and part == bytes(range(10, 20))
    base = np.frombuffer(view, np.uint8)
    assert np.shares_memory(base, np.frombuffer(part, np.uint8))
    assert view[3] == 3 and view[-1] == 99
    assert view[::10] == bytes(range(0, 100, 10))
    assert list(view[:3]) == [0, 1, 2]


def test_pickle_and_copy_round_trip() -> None:
    view = s3dlio.BytesView(b"\x00\x01payload")
    back = pickle.loads(pickle.dumps(view))
    assert type(back) is s3dlio.BytesView and back == view
    assert copy.copy(view) is view and copy.deepcopy(view) is view


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"abc", b"abc"),
        (bytearray(b"abc"), b"abc"),
        (memoryview(b"abcdef")[::2], b"ace"),
        (np.arange(4, dtype=np.float32), np.arange(4, dtype=np.float32).tobytes()),
        (s3dlio.BytesView(b"xyz"), b"xyz"),
    ],
)
def test_accepted_payloads(payload: object, expected: bytes) -> None:
    assert bytes(as_payload(payload)) == expected


class HasBytes:
    def __bytes__(self) -> bytes:
        return b"from __bytes__"


def test_payload_with_dunder_bytes(backend: Backend) -> None:
    s3dlio.put_bytes(backend.uri("b.bin"), HasBytes())
    assert s3dlio.get(backend.uri("b.bin")) == b"from __bytes__"


@pytest.mark.parametrize("payload", ["text", 5, True, [1, 2], None])
def test_non_bytes_payload_is_a_type_error_before_any_io(backend: Backend, payload: object) -> None:
    with pytest.raises(TypeError, match="bytes-like"):
        s3dlio.put_bytes(backend.uri("never.bin"), payload)
    assert not s3dlio.exists(backend.uri("never.bin"))
