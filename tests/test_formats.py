"""Format builders, checked with the formats' own readers, and ``put`` of every object type
round-tripped through each backend.

The TFRecord reader here is independent of the library: its CRC-32C is a table-driven
implementation written for this test.
"""

from __future__ import annotations

import hashlib
import io
import struct
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from tests.conftest import Backend

import s3dlio
from s3dlio.errors import InvalidArgumentError
from s3dlio.formats import hdf5, npz, tfrecord

MiB = 1 << 20


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_tfrecords(data: bytes) -> Iterator[bytes]:
    """A strict TFRecord reader: every CRC checked, no trailing bytes allowed."""
    pos = 0
    while pos < len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        (length_crc,) = struct.unpack_from("<I", data, pos + 8)
        assert length_crc == masked(data[pos : pos + 8]), f"bad length CRC at {pos}"
        payload = data[pos + 12 : pos + 12 + length]
        assert len(payload) == length, "truncated record"
        (data_crc,) = struct.unpack_from("<I", data, pos + 12 + length)
        assert data_crc == masked(payload), f"bad data CRC at {pos}"
        yield payload
        pos += 16 + length


def test_crc32c_reference_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # the published CRC-32C check value


# -- NPY / NPZ ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["<f4", "float32", "f4", np.float64, "|u1", "int16", "<c8"])
def test_generate_npz_bytes_accepts_any_dtype_spelling(dtype: object) -> None:
    data = s3dlio.generate_npz_bytes([6, 5, 1], dtype, num_samples=3)
    assert isinstance(data, s3dlio.BytesView)
    assert zipfile.ZipFile(io.BytesIO(bytes(data))).testzip() is None  # every CRC-32 checks
    loaded = np.load(io.BytesIO(bytes(data)))
    assert sorted(loaded.files) == ["x", "y"]
    assert loaded["x"].shape == (6, 5, 1)
    assert loaded["x"].dtype == np.dtype(dtype)  # type: ignore[call-overload]
    assert loaded["y"].dtype == np.int64
    assert loaded["y"].tolist() == [0, 0, 0]


def test_generate_npz_bytes_data_is_random_and_bad_dtypes_are_refused() -> None:
    x1 = np.load(io.BytesIO(bytes(s3dlio.generate_npz_bytes([4096], "|u1"))))["x"]
    x2 = np.load(io.BytesIO(bytes(s3dlio.generate_npz_bytes([4096], "|u1"))))["x"]
    assert not np.array_equal(x1, x2)
    for bad in ("bogus", object, "O"):
        with pytest.raises(InvalidArgumentError):
            s3dlio.generate_npz_bytes([2], bad)
    with pytest.raises(InvalidArgumentError):
        s3dlio.generate_npz_bytes([-1])


def test_multi_array_npz_and_npy_round_trip() -> None:
    arrays = {
        "data": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        "labels": np.array([3, 1], dtype=np.int64),
        "meta": np.array([b"a", b"bc"]),
    }
    loaded = np.load(io.BytesIO(bytes(npz.build_npz(arrays))))
    for name, value in arrays.items():
        np.testing.assert_array_equal(loaded[name], value)
    fortran = np.asfortranarray(np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(np.load(io.BytesIO(bytes(npz.build_npy(fortran)))), fortran)


def test_read_npz_reads_an_array_from_any_backend(backend: Backend) -> None:
    uri = backend.uri("a.npz")
    s3dlio.put_bytes(uri, npz.build_npz({"a": np.arange(5), "b": np.ones(2)}))
    np.testing.assert_array_equal(s3dlio.read_npz(uri), np.arange(5))
    np.testing.assert_array_equal(s3dlio.read_npz(uri, "b"), np.ones(2))
    with pytest.raises(InvalidArgumentError, match="no array 'c'"):
        s3dlio.read_npz(uri, "c")


# -- TFRecord -------------------------------------------------------------------------------


def test_tfrecord_framing_and_index() -> None:
    records = [b"hello", b"", bytes(range(256)) * 20]
    data = bytes(tfrecord.build_tfrecord(records))
    assert list(read_tfrecords(data)) == records
    assert [bytes(r) for r in tfrecord.iter_tfrecords(data)] == records
    entries = [(0, 21), (21, 16), (37, 5136)]
    assert s3dlio.get_tfrecord_index_entries(data) == entries
    assert s3dlio.index_tfrecord_bytes(data) == "0 21\n21 16\n37 5136\n"
    assert s3dlio.index_tfrecord_bytes(b"") == ""
    for garbage, says in ((b"garbage" * 10, "bad length CRC"), (data + b"x", "trailing")):
        with pytest.raises(InvalidArgumentError, match=says):
            s3dlio.index_tfrecord_bytes(garbage)
    with pytest.raises(InvalidArgumentError, match="truncated"):
        s3dlio.get_tfrecord_index_entries(data[:-1])
    for flipped, says in ((30, "bad length CRC"), (60, "CRC mismatch")):
        corrupt = bytearray(data)
        corrupt[flipped] ^= 1  # 30: a length CRC; 60: the third record's payload
        with pytest.raises(InvalidArgumentError, match=says):
            list(tfrecord.iter_tfrecords(bytes(corrupt)))


def test_create_and_read_tfrecord_index(tmp_path: Path, backend: Backend) -> None:
    data = bytes(tfrecord.build_tfrecord([b"a" * 10, b"b" * 20]))
    local = tmp_path / "t.tfrecord"
    local.write_bytes(data)
    assert s3dlio.create_tfrecord_index(str(local)) == 2
    assert (tmp_path / "t.tfrecord.idx").read_text() == "0 26\n26 36\n"
    assert s3dlio.read_tfrecord_index(str(tmp_path / "t.tfrecord.idx")) == [(0, 26), (26, 36)]
    uri = backend.uri("t.tfrecord")
    s3dlio.put_bytes(uri, data)
    assert s3dlio.create_tfrecord_index(uri, backend.uri("index/t.idx")) == 2
    assert s3dlio.read_tfrecord_index(backend.uri("index/t.idx")) == [(0, 26), (26, 36)]


# -- HDF5 -----------------------------------------------------------------------------------


def test_build_hdf5_is_readable_by_h5py() -> None:
    data = hdf5.build_hdf5({"x": np.arange(12.0).reshape(3, 4), "y": np.arange(3)})
    with h5py.File(io.BytesIO(bytes(data)), "r") as f:
        np.testing.assert_array_equal(f["x"][()], np.arange(12.0).reshape(3, 4))
        np.testing.assert_array_equal(f["y"][()], np.arange(3))


# -- put of every object type ---------------------------------------------------------------


def _objects(backend: Backend, prefix: str) -> list[bytes]:
    return [bytes(s3dlio.get(u)) for u in sorted(s3dlio.list(backend.uri(prefix)))]


def test_put_zeros_ones_and_random(backend: Backend) -> None:
    s3dlio.put(backend.uri("z/"), 2, size=3000)  # the default object_type is 'zeros'
    s3dlio.put(backend.uri("o/"), 1, size=3000, object_type="ones")
    s3dlio.put(backend.uri("r/"), 3, size=3000, object_type="random")
    assert _objects(backend, "z/") == [bytes(3000)] * 2
    assert _objects(backend, "o/") == [b"\xff" * 3000]
    randoms = _objects(backend, "r/")
    assert len(set(randoms)) == 3 and all(len(r) == 3000 for r in randoms)


@pytest.mark.parametrize(("mode", "algorithm"), [("streaming", "random"), ("single-pass", "prand")])
def test_put_stores_the_requested_ratios(backend: Backend, mode: str, algorithm: str) -> None:
    s3dlio.put(
        backend.uri("gen/"),
        2,
        size=8 * MiB,
        object_type="raw",
        dedup_factor=4,
        compress_factor=2,
        data_gen_algorithm=algorithm,
        data_gen_mode=mode,
        max_in_flight=2,
    )
    blobs = _objects(backend, "gen/")
    for blob in blobs:
        assert len(blob) == 8 * MiB
        view = memoryview(blob)
        distinct = {hashlib.md5(view[i : i + MiB]).digest() for i in range(0, 8 * MiB, MiB)}
        assert 8 / len(distinct) == pytest.approx(4, rel=0.10)
        # the distinct blocks only: zstd's window reaches the repeats of so small an object
        unique = blob[: 2 * MiB]
        ratio = len(unique) / len(zstandard.ZstdCompressor(level=3).compress(unique))
        assert ratio == pytest.approx(2, rel=0.10)
    assert blobs[0] != blobs[1]


def test_put_formats_are_valid(backend: Backend) -> None:
    s3dlio.put(backend.uri("n/"), 2, size=4096, object_type="npz", template="s{}.npz")
    for blob in _objects(backend, "n/"):
        arr = np.load(io.BytesIO(blob))["data"]
        assert arr.dtype == np.uint8 and arr.shape == (4096,)
    s3dlio.put(backend.uri("t/"), 1, size=4096, object_type="tfrecord", compress_factor=2)
    (blob,) = _objects(backend, "t/")
    (record,) = read_tfrecords(blob)
    assert len(blob) == 4112 and len(record) == 4096
    s3dlio.put(backend.uri("h/"), 1, size=5000, object_type="hdf5")
    (blob,) = _objects(backend, "h/")
    with h5py.File(io.BytesIO(blob), "r") as f:
        assert f["data"].shape == (5000,) and f["data"].dtype == np.uint8


@pytest.mark.parametrize(
    "kwargs",
    [
        {"object_type": "parquet-ish"},
        {"data_gen_mode": "sideways"},
        {"data_gen_algorithm": "magic"},
        {"dedup_factor": 0},
        {"chunk_size": 0},
    ],
)
def test_put_refuses_bad_values_before_writing(tmp_path: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError):
        s3dlio.put(f"file://{tmp_path}/junk/", 2, size=10, **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "junk").exists() or not any((tmp_path / "junk").iterdir())


# -- Parquet --------------------------------------------------------------------------------


def same_bits(a: pa.Table, b: pa.Table) -> bool:
    """Equal names and float32 bit patterns (random floats include NaNs, which are != NaN)."""
    return a.column_names == b.column_names and all(
        np.array_equal(
            a.column(i).to_numpy().view(np.uint32), b.column(i).to_numpy().view(np.uint32)
        )
        for i in range(a.num_columns)
    )


def test_generate_parquet_bytes_layout() -> None:
    data = s3dlio.generate_parquet_bytes(3, 10, 4)
    assert bytes(data[:4]) == b"PAR1" and bytes(data[-4:]) == b"PAR1"
    f = pq.ParquetFile(io.BytesIO(bytes(data)))
    assert f.schema_arrow.names == ["col0", "col1", "col2"]
    assert all(t == pa.float32() for t in f.schema_arrow.types)
    assert f.metadata.num_row_groups == 4 and f.metadata.num_rows == 40
    schema = s3dlio.generate_parquet_bytes_schema([("img", 4), ("label", 1)], 5, 2)
    table = pq.read_table(io.BytesIO(bytes(schema)))
    assert table.schema.field("img").type == pa.list_(pa.field("element", pa.float32(), False), 4)
    assert table.num_rows == 10
    with pytest.raises(InvalidArgumentError):
        s3dlio.generate_parquet_bytes_schema([("a", 0)], 5, 2)


def test_parquet_row_groups_by_range_on_any_backend(backend: Backend) -> None:
    uri = backend.uri("d/f.parquet")
    s3dlio.generate_and_write_parquet(uri, 3, 10, 4)
    s3dlio.parquet_cache_clear()
    assert s3dlio.parquet_rg_row_offsets(uri) == [0, 10, 20, 30, 40]
    assert s3dlio.parquet_cache_len() == 1
    whole = pq.read_table(io.BytesIO(bytes(s3dlio.get(uri))))
    batch = pa.ipc.open_stream(bytes(s3dlio.parquet_get_rg(uri, 2))).read_all()
    assert same_bits(batch, whole.slice(20, 10))
    one = pa.ipc.open_stream(bytes(s3dlio.parquet_get_rg(uri, 1, [2]))).read_all()
    assert one.column_names == ["col2"]
    assert same_bits(one, whole.select(["col2"]).slice(10, 10))
    raw = s3dlio.parquet_get_rg(uri, 1, [1], decode="raw")
    meta = pq.ParquetFile(io.BytesIO(bytes(s3dlio.get(uri)))).metadata.row_group(1).column(1)
    assert len(raw) == meta.total_compressed_size
    with pytest.raises(InvalidArgumentError, match="rg_idx 99 out of range"):
        s3dlio.parquet_get_rg(uri, 99)
    with pytest.raises(InvalidArgumentError, match="decode"):
        s3dlio.parquet_get_rg(uri, 0, decode="x")
    s3dlio.parquet_cache_invalidate(uri)
    assert s3dlio.parquet_cache_len() == 0


def test_parquet_streaming_write_and_index(backend: Backend) -> None:
    a, b = backend.uri("s/a.parquet"), backend.uri("s/b.parquet")
    s3dlio.generate_and_write_parquet_schema_streaming(a, [("x", 1), ("emb", 3)], 100, 3)
    s3dlio.generate_and_write_parquet_schema(b, [("x", 1)], 7, 2)
    assert pq.read_table(io.BytesIO(bytes(s3dlio.get(a)))).num_rows == 300
    idx = s3dlio.PyParquetIndex()
    with pytest.raises(InvalidArgumentError, match="URI not indexed"):
        idx.rg_lookup(a, 0)
    idx.ensure_indexed([a, b], epoch=1)
    assert len(idx) == 5 and idx.file_count() == 2 and idx.file_rg_count(b) == 2
    assert idx.file_rg_count(backend.uri("nope")) is None
    rg, offset, length = idx.rg_lookup(a, 150)
    assert rg == 1 and (offset, length) == idx.rg_range(a, 1)
    # the byte range really is that row group: its column chunks parse from those bytes
    assert s3dlio.get_range(a, offset, length) == bytes(s3dlio.get(a))[offset : offset + length]
    assert idx.rg_for_sample(b, 13) == 1
    assert idx.check_and_mark(a, 1, 1) is False
    assert idx.check_and_mark(a, 1, 1) is True
    assert idx.was_fetched(a, 1, 1) and not idx.was_fetched(a, 1, 2)
    assert repr(idx) == "PyParquetIndex(files=2, rgs=5, col_indices=None, footer_cap=4194304)"
    idx.invalidate_uri(a)
    assert not idx.is_indexed(a) and idx.is_indexed(b)
    idx.clear()
    assert len(idx) == 0
    narrow = s3dlio.PyParquetIndex(col_indices=[1])
    narrow.ensure_indexed([a])
    offset1, length1 = narrow.rg_range(a, 1)
    assert offset1 > offset and length1 < length  # only the second column's chunk
    with pytest.raises(InvalidArgumentError, match="col_indices"):
        s3dlio.PyParquetIndex(col_indices=[5]).ensure_indexed([a])


def test_optional_formats_say_how_to_install_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py now raises ImportError
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(NotImplementedError, match=r"s3dlio\[hdf5\]"):
        hdf5.build_hdf5({"x": np.zeros(2)})
    with pytest.raises(NotImplementedError, match=r"s3dlio\[parquet\]"):
        s3dlio.generate_parquet_bytes(1, 1, 1)
