"""Parquet: synthetic files, row-group access by byte range, and an epoch-aware row-group index.

Needs the ``parquet`` extra (pyarrow), imported on first use. Files are read through
:class:`RangeFile`, a seekable file over ``get_range``: opening a file fetches only its last
``footer_cap`` bytes (one request), and reading a row group fetches only its column chunks, on
any backend.

Generated files match the reference's: Float32 columns (``col0``, ``col1``, ... or the names
given), not nullable, uncompressed, random values; a column with ``n > 1`` floats per row is a
``FixedSizeList<Float32>[n]``.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import io as s3io
from .. import runtime, validate
from ..buffers import BytesView
from ..datagen import DataLayout, make_data
from ..errors import InvalidArgumentError, S3dlioError, UnsupportedOperationError
from ..io import RangeReader

__all__ = [
    "PyParquetIndex",
    "RangeFile",
    "generate_and_write_parquet",
    "generate_and_write_parquet_schema",
    "generate_and_write_parquet_schema_streaming",
    "generate_parquet_bytes",
    "generate_parquet_bytes_schema",
    "parquet_cache_clear",
    "parquet_cache_invalidate",
    "parquet_cache_len",
    "parquet_get_rg",
    "parquet_rg_row_offsets",
]

DEFAULT_FOOTER_CAP = 4 << 20


def _arrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise UnsupportedOperationError(
            "Parquet needs pyarrow: pip install 's3dlio[parquet]'", operation="parquet"
        ) from exc
    return pa, pq


# -- generation -----------------------------------------------------------------------------


def _schema_columns(columns: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    out = []
    for item in columns:
        try:
            name, width = item
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"columns must be (name, n) pairs, got {item!r}") from None
        if not isinstance(name, str):
            raise InvalidArgumentError(f"column name must be a str, got {name!r}")
        out.append((name, validate.count(f"column {name!r} width", width, 1)))
    if not out:
        raise InvalidArgumentError("at least one column is needed")
    if len({n for n, _ in out}) != len(out):
        raise InvalidArgumentError("column names must be unique")
    return out


def _arrow_schema(columns: Sequence[tuple[str, int]]) -> Any:
    pa, _ = _arrow()
    fields = []
    for name, width in columns:
        element = pa.field("element", pa.float32(), nullable=False)
        kind = pa.float32() if width == 1 else pa.list_(element, width)
        fields.append(pa.field(name, kind, nullable=False))
    return pa.schema(fields)


def _row_group(schema: Any, columns: Sequence[tuple[str, int]], rows: int) -> Any:
    """One row group's table of random float32 values (random bits, as the reference)."""
    pa, _ = _arrow()
    floats = sum(w for _, w in columns) * rows
    values = make_data(DataLayout(floats * 4), threads=1).view(np.float32)
    arrays = []
    at = 0
    for _, width in columns:
        part = pa.array(values[at : at + rows * width], type=pa.float32())
        at += rows * width
        arrays.append(part if width == 1 else pa.FixedSizeListArray.from_arrays(part, width))
    return pa.Table.from_arrays(arrays, schema=schema)


def _write_parquet(
    sink: Any, columns: Sequence[tuple[str, int]], rows_per_rg: int, num_row_groups: int
) -> None:
    _, pq = _arrow()
    rows = validate.count("rows_per_rg", rows_per_rg, 1)
    groups = validate.count("num_row_groups", num_row_groups, 0)
    schema = _arrow_schema(columns)
    with pq.ParquetWriter(
        sink, schema, compression="NONE", use_dictionary=False, write_statistics=False
    ) as writer:
        for _ in range(groups):
            writer.write_table(_row_group(schema, columns, rows), row_group_size=rows)


def _default_columns(num_cols: int) -> list[tuple[str, int]]:
    return [(f"col{i}", 1) for i in range(validate.count("num_cols", num_cols, 1))]


def generate_parquet_bytes_schema(
    columns: Sequence[tuple[str, int]], rows_per_rg: int, num_row_groups: int
) -> BytesView:
    """A Parquet file in memory: ``columns`` is a list of ``(name, n)``; n=1 is a Float32
    column, n>1 a ``FixedSizeList<Float32>[n]``. Values are random."""
    buf = io.BytesIO()
    _write_parquet(buf, _schema_columns(columns), rows_per_rg, num_row_groups)
    return BytesView(buf.getbuffer())


def generate_parquet_bytes(num_cols: int, rows_per_rg: int, num_row_groups: int) -> BytesView:
    """A Parquet file in memory with ``num_cols`` Float32 columns ``col0``... of random values,
    ``num_row_groups`` row groups of ``rows_per_rg`` rows each."""
    return generate_parquet_bytes_schema(_default_columns(num_cols), rows_per_rg, num_row_groups)


def generate_and_write_parquet_schema(
    uri: str, columns: Sequence[tuple[str, int]], rows_per_rg: int, num_row_groups: int
) -> None:
    """:func:`generate_parquet_bytes_schema`, written to ``uri`` (any backend)."""
    s3io.put(uri, generate_parquet_bytes_schema(columns, rows_per_rg, num_row_groups))


def generate_and_write_parquet(
    uri: str, num_cols: int, rows_per_rg: int, num_row_groups: int
) -> None:
    """:func:`generate_parquet_bytes`, written to ``uri`` (any backend)."""
    generate_and_write_parquet_schema(uri, _default_columns(num_cols), rows_per_rg, num_row_groups)


class _WriterSink(io.RawIOBase):
    """A write-only file over a store's streaming writer (what pyarrow writes to)."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._writer.write(memoryview(bytes(view)))  # pyarrow reuses its buffer: keep a copy
        self._pos += len(view)
        return len(view)

    def tell(self) -> int:
        return self._pos


def generate_and_write_parquet_schema_streaming(
    uri: str, columns: Sequence[tuple[str, int]], rows_per_rg: int, num_row_groups: int
) -> None:
    """Like :func:`generate_and_write_parquet_schema`, but each row group is uploaded as it is
    generated (multipart on object stores), so memory holds about one row group. Any backend
    (the reference's was S3-only). Nothing appears at ``uri`` unless the whole file is written."""
    cols = _schema_columns(columns)
    with s3io.open_writer(uri) as writer:  # aborted by any exception inside
        _write_parquet(_WriterSink(writer), cols, rows_per_rg, num_row_groups)


# -- range reads ------------------------------------------------------------------------------


def RangeFile(uri: str, footer_cap: int = DEFAULT_FOOTER_CAP) -> RangeReader:
    """A seekable file over the object at ``uri`` whose last ``footer_cap`` bytes (at least 8)
    are fetched once, on open: a Parquet footer, and small files entirely, cost one request."""
    return s3io.open_reader(uri, tail=validate.count("footer_cap", footer_cap, 8))


@dataclass
class _FileMeta:
    """What the cache keeps per file: the parsed footer and row-group geometry."""

    metadata: Any
    row_offsets: list[int]
    ranges: list[tuple[int, int]]  # (byte offset, byte length) of each row group
    chunk_ranges: list[list[tuple[int, int]]] = field(default_factory=list)


def _rg_geometry(metadata: Any) -> _FileMeta:
    offsets = [0]
    ranges = []
    chunks = []
    for i in range(metadata.num_row_groups):
        rg = metadata.row_group(i)
        offsets.append(offsets[-1] + rg.num_rows)
        cols = []
        for c in range(rg.num_columns):
            col = rg.column(c)
            start = col.data_page_offset
            if col.has_dictionary_page and col.dictionary_page_offset is not None:
                start = min(start, col.dictionary_page_offset)
            cols.append((int(start), int(col.total_compressed_size)))
        chunks.append(cols)
        ranges.append(_span(cols))
    return _FileMeta(metadata, offsets, ranges, chunks)


def _span(chunks: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """``(offset, length)`` covering every ``(offset, length)`` chunk given."""
    if not chunks:
        return (0, 0)
    lo = min(s for s, _ in chunks)
    return (lo, max(s + n for s, n in chunks) - lo)


def _read_metadata(uri: str, footer_cap: int) -> Any:
    """The parsed footer (one ranged read of the last ``footer_cap`` bytes)."""
    _, pq = _arrow()
    try:
        return pq.ParquetFile(RangeFile(uri, footer_cap)).metadata
    except S3dlioError:
        raise
    except Exception as exc:  # pyarrow's ArrowInvalid & co: not a Parquet file
        raise InvalidArgumentError(f"not a readable Parquet file: {exc}", uri=uri) from exc


_cache: dict[str, _FileMeta] = {}
_cache_lock = threading.Lock()


def _file_meta(uri: str, footer_cap: int = DEFAULT_FOOTER_CAP) -> _FileMeta:
    with _cache_lock:
        hit = _cache.get(uri)
    if hit is not None:
        return hit
    meta = _rg_geometry(_read_metadata(uri, footer_cap))
    with _cache_lock:
        _cache[uri] = meta
    return meta


def parquet_rg_row_offsets(uri: str) -> list[int]:
    """Cumulative row offsets: ``[0, rows(rg0), rows(rg0)+rows(rg1), ..., total_rows]``.

    The footer is fetched once per URI and cached (see :func:`parquet_cache_invalidate`)."""
    return list(_file_meta(uri).row_offsets)


def parquet_cache_len() -> int:
    """Number of files whose metadata is cached."""
    with _cache_lock:
        return len(_cache)


def parquet_cache_invalidate(uri: str) -> None:
    """Forget one file's cached metadata (after it was rewritten)."""
    with _cache_lock:
        _cache.pop(uri, None)


def parquet_cache_clear() -> None:
    """Forget every cached file."""
    with _cache_lock:
        _cache.clear()


def _check_rg(uri: str, meta: _FileMeta, rg_idx: int) -> int:
    groups = len(meta.ranges)
    if isinstance(rg_idx, bool) or not isinstance(rg_idx, int) or not 0 <= rg_idx < groups:
        raise InvalidArgumentError(
            f"rg_idx {rg_idx} out of range for '{uri}' ({groups} row groups)", uri=uri
        )
    return rg_idx


def parquet_get_rg(
    uri: str,
    rg_idx: int,
    col_indices: Sequence[int] | None = None,
    footer_cap: int = DEFAULT_FOOTER_CAP,
    decode: str = "arrow",
) -> BytesView:
    """One row group, fetching only its column chunks.

    ``decode='arrow'``: an Arrow IPC stream (``pyarrow.ipc.open_stream``) of the row group's
    columns ``col_indices`` (``None``: all). ``decode='raw'``: the raw Parquet column-chunk
    bytes of those columns, concatenated in file order. Any other ``decode`` raises
    :class:`~s3dlio.errors.InvalidArgumentError` (the reference treated it as raw), and so
    does an out-of-range ``rg_idx``.
    """
    if decode not in ("arrow", "raw"):
        raise InvalidArgumentError(f"decode must be 'arrow' or 'raw', got {decode!r}")
    meta = _file_meta(uri, footer_cap)
    idx = _check_rg(uri, meta, rg_idx)
    chunks = meta.chunk_ranges[idx]
    cols = list(range(len(chunks))) if col_indices is None else list(col_indices)
    for c in cols:
        if not 0 <= c < len(chunks):
            raise InvalidArgumentError(f"column index {c} out of range ({len(chunks)} columns)")
    if decode == "raw":
        parts = [s3io.get_range(uri, *chunks[c]) for c in sorted(set(cols))]
        return parts[0] if len(parts) == 1 else BytesView(b"".join(bytes(p) for p in parts))
    pa, pq = _arrow()
    table = pq.ParquetFile(RangeFile(uri, footer_cap), metadata=meta.metadata).read_row_group(
        idx, columns=[meta.metadata.schema.column(c).path for c in cols] if col_indices else None
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as out:
        out.write_table(table)
    return BytesView(memoryview(sink.getvalue()).cast("B"))


# -- the row-group index ----------------------------------------------------------------------


@dataclass
class _Indexed:
    row_offsets: list[int]
    ranges: list[tuple[int, int]]
    last_epoch: list[int]


class PyParquetIndex:
    """Epoch-aware index of ``(uri, row group) -> (byte offset, byte length)``.

    ``ensure_indexed`` fetches the footers of the URIs not indexed yet (``batch_size`` at once,
    on the per-process pool); lookups are then local. ``check_and_mark(uri, rg, epoch)`` returns
    whether that row group was already fetched in ``epoch`` and marks it, so each row group is
    fetched once per epoch. Unindexed URIs raise
    :class:`~s3dlio.errors.InvalidArgumentError` ``URI not indexed: ...``.
    """

    def __init__(
        self, col_indices: Sequence[int] | None = None, footer_cap: int = DEFAULT_FOOTER_CAP
    ) -> None:
        self._col_indices = None if col_indices is None else list(col_indices)
        self._footer_cap = validate.count("footer_cap", footer_cap, 8)
        self._files: dict[str, _Indexed] = {}
        self._lock = threading.Lock()

    def ensure_indexed(self, uris: Iterable[str], epoch: int = 1, batch_size: int = 16) -> None:
        """Index every URI not indexed yet; already indexed ones cost nothing."""
        validate.count("batch_size", batch_size, 1)
        todo = [u for u in dict.fromkeys(uris) if not self.is_indexed(u)]

        def index(uri: str) -> None:
            meta = _rg_geometry(_read_metadata(uri, self._footer_cap))
            ranges = meta.ranges
            if self._col_indices is not None:  # the span of the selected columns' chunks
                width = len(meta.chunk_ranges[0]) if meta.chunk_ranges else 0
                bad = [c for c in self._col_indices if not 0 <= c < width]
                if bad and meta.chunk_ranges:
                    raise InvalidArgumentError(
                        f"col_indices {bad} out of range for '{uri}' ({width} columns)", uri=uri
                    )
                ranges = [_span([cols[c] for c in self._col_indices]) for cols in meta.chunk_ranges]
            entry = _Indexed(meta.row_offsets, ranges, [epoch - 1] * len(ranges))
            with self._lock:
                self._files.setdefault(uri, entry)

        runtime.map_bounded(index, todo, batch_size)

    def _get(self, uri: str) -> _Indexed:
        with self._lock:
            entry = self._files.get(uri)
        if entry is None:
            raise InvalidArgumentError(f"URI not indexed: {uri}", uri=uri)
        return entry

    def rg_for_sample(self, uri: str, sample_idx: int) -> int:
        """The row group holding row ``sample_idx`` (0-based within the file)."""
        offsets = self._get(uri).row_offsets
        if not 0 <= sample_idx < offsets[-1]:
            raise InvalidArgumentError(
                f"sample_idx {sample_idx} out of range for '{uri}' ({offsets[-1]} rows)"
            )
        return int(np.searchsorted(offsets, sample_idx, side="right")) - 1

    def rg_range(self, uri: str, rg_idx: int) -> tuple[int, int]:
        """``(byte_offset, byte_length)`` of row group ``rg_idx``."""
        ranges = self._get(uri).ranges
        if not 0 <= rg_idx < len(ranges):
            raise InvalidArgumentError(
                f"rg_idx {rg_idx} out of range for '{uri}' ({len(ranges)} row groups)"
            )
        return ranges[rg_idx]

    def rg_lookup(self, uri: str, sample_idx: int) -> tuple[int, int, int]:
        """``(rg_idx, byte_offset, byte_length)`` of the row group holding ``sample_idx``."""
        rg = self.rg_for_sample(uri, sample_idx)
        offset, length = self.rg_range(uri, rg)
        return rg, offset, length

    def mark_fetched(self, uri: str, rg_idx: int, epoch: int) -> None:
        """Record that row group ``rg_idx`` was fetched in ``epoch``."""
        self.rg_range(uri, rg_idx)
        with self._lock:
            self._files[uri].last_epoch[rg_idx] = epoch

    def was_fetched(self, uri: str, rg_idx: int, epoch: int) -> bool:
        """Whether row group ``rg_idx`` was marked fetched in ``epoch``."""
        self.rg_range(uri, rg_idx)
        with self._lock:
            return self._files[uri].last_epoch[rg_idx] == epoch

    def check_and_mark(self, uri: str, rg_idx: int, epoch: int) -> bool:
        """Atomically: was it fetched in ``epoch`` already? Then mark it fetched."""
        self.rg_range(uri, rg_idx)
        with self._lock:
            seen = self._files[uri].last_epoch[rg_idx] == epoch
            self._files[uri].last_epoch[rg_idx] = epoch
            return seen

    def file_count(self) -> int:
        """Number of indexed files."""
        with self._lock:
            return len(self._files)

    def file_rg_count(self, uri: str) -> int | None:
        """Row groups of ``uri``, or ``None`` when it is not indexed."""
        with self._lock:
            entry = self._files.get(uri)
        return None if entry is None else len(entry.ranges)

    def is_indexed(self, uri: str) -> bool:
        with self._lock:
            return uri in self._files

    def invalidate_uri(self, uri: str) -> None:
        """Forget one file (after it was rewritten)."""
        with self._lock:
            self._files.pop(uri, None)

    def clear(self) -> None:
        """Forget every file."""
        with self._lock:
            self._files.clear()

    def __len__(self) -> int:
        """Total row groups over all indexed files."""
        with self._lock:
            return sum(len(e.ranges) for e in self._files.values())

    def __repr__(self) -> str:
        with self._lock:
            files, rgs = len(self._files), sum(len(e.ranges) for e in self._files.values())
        return (
            f"PyParquetIndex(files={files}, rgs={rgs}, col_indices={self._col_indices}, "
            f"footer_cap={self._footer_cap})"
        )
