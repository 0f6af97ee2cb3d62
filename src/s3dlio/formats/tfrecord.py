"""TFRecord framing and its DALI-style index.

A TFRecord file is a sequence of records, each framed as::

    uint64 length (LE) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)

The index is text, one ``"{offset} {size}\\n"`` line per record, where ``size`` counts the 16
framing bytes (what NVIDIA DALI's ``readers.tfrecord(index_path=...)`` reads).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator

import google_crc32c

from .. import io as s3io
from ..buffers import BytesView, as_payload, view_of
from ..datagen import new_buffer
from ..errors import InvalidArgumentError

__all__ = [
    "build_tfrecord",
    "create_tfrecord_index",
    "get_tfrecord_index_entries",
    "index_tfrecord_bytes",
    "iter_tfrecords",
    "masked_crc32c",
    "read_tfrecord_index",
]

_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
_FRAMING = _HEADER.size + _FOOTER.size
_CRC_PIECE = 4 << 20  # google_crc32c takes only bytes: checksum big payloads a piece at a time


def _crc32c(data: memoryview) -> int:
    crc = 0
    for start in range(0, len(data), _CRC_PIECE):
        crc = google_crc32c.extend(crc, bytes(data[start : start + _CRC_PIECE]))
    return crc


def masked_crc32c(data: bytes | memoryview) -> int:
    """TFRecord's masked CRC-32C: ``((crc >> 15 | crc << 17) + 0xA282EAD8) mod 2**32``."""
    crc = _crc32c(memoryview(data))
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def build_tfrecord(records: Iterable[object]) -> BytesView:
    """A TFRecord file holding each payload (any bytes-like object) as one record."""
    views = [as_payload(r, what="record") for r in records]
    out = new_buffer(sum(len(v) + _FRAMING for v in views))
    mv = memoryview(out)  # type: ignore[arg-type]
    pos = 0
    for view in views:
        header = _HEADER.pack(len(view), 0)[:8]
        mv[pos : pos + _HEADER.size] = header + struct.pack("<I", masked_crc32c(header))
        pos += _HEADER.size
        mv[pos : pos + len(view)] = view
        pos += len(view)
        mv[pos : pos + _FOOTER.size] = _FOOTER.pack(masked_crc32c(view))
        pos += _FOOTER.size
    return view_of(out)


def _frames(data: memoryview) -> Iterator[tuple[int, int]]:
    """(offset, payload length) of each record. A frame whose length CRC is wrong, that runs
    past the end, or trailing bytes too short for a frame raise
    :class:`~s3dlio.errors.InvalidArgumentError` naming the offset."""
    pos = 0
    end = len(data)
    while pos < end:
        if pos + _FRAMING > end:
            raise InvalidArgumentError(
                f"not TFRecord data: {end - pos} trailing bytes at offset {pos}"
            )
        length, length_crc = _HEADER.unpack_from(data, pos)
        if masked_crc32c(data[pos : pos + 8]) != length_crc:
            raise InvalidArgumentError(f"not TFRecord data: bad length CRC at offset {pos}")
        if pos + _FRAMING + length > end:
            raise InvalidArgumentError(
                f"truncated TFRecord at offset {pos}: {length} bytes announced, "
                f"{end - pos - _FRAMING} present"
            )
        yield pos, length
        pos += _FRAMING + length


def iter_tfrecords(data: object, verify: bool = True) -> Iterator[BytesView]:
    """Each record's payload (zero-copy). Malformed framing raises
    :class:`~s3dlio.errors.InvalidArgumentError`; so does, with ``verify``, a data CRC
    mismatch."""
    view = as_payload(data, what="tfrecord_bytes")
    for offset, length in _frames(view):
        payload = view[offset + _HEADER.size : offset + _HEADER.size + length]
        if verify:
            (stored,) = _FOOTER.unpack_from(view, offset + _HEADER.size + length)
            if stored != masked_crc32c(payload):
                raise InvalidArgumentError(f"TFRecord data CRC mismatch at offset {offset}")
        yield BytesView(payload)


def get_tfrecord_index_entries(tfrecord_bytes: object) -> list[tuple[int, int]]:
    """``(offset, size)`` of every record, ``size`` including the 16 framing bytes. Empty input
    gives ``[]``; anything that is not whole TFRecord framing (checked with the length CRCs)
    raises :class:`~s3dlio.errors.InvalidArgumentError`."""
    view = as_payload(tfrecord_bytes, what="tfrecord_bytes")
    return [(offset, length + _FRAMING) for offset, length in _frames(view)]


def _index_text(entries: list[tuple[int, int]]) -> str:
    return "".join(f"{offset} {size}\n" for offset, size in entries)


def index_tfrecord_bytes(tfrecord_bytes: object) -> str:
    """The DALI index text of in-memory TFRecord data (errors as
    :func:`get_tfrecord_index_entries`)."""
    return _index_text(get_tfrecord_index_entries(tfrecord_bytes))


def _read(path_or_uri: str) -> BytesView:
    if "://" in path_or_uri:
        return s3io.get(path_or_uri)
    with open(path_or_uri, "rb") as f:
        return BytesView(f.read())


def _write(path_or_uri: str, data: bytes) -> None:
    if "://" in path_or_uri:
        s3io.put(path_or_uri, data)
        return
    tmp = f"{path_or_uri}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path_or_uri)


def create_tfrecord_index(tfrecord_path: str, index_path: str | None = None) -> int:
    """Write the DALI index of a TFRecord file to ``index_path`` (default
    ``tfrecord_path + ".idx"``) and return the record count.

    Both may be local paths or URIs of any backend (the reference took local paths only).
    """
    entries = get_tfrecord_index_entries(_read(tfrecord_path))
    _write(index_path if index_path is not None else tfrecord_path + ".idx",
           _index_text(entries).encode())  # fmt: skip
    return len(entries)


def read_tfrecord_index(index_path: str) -> list[tuple[int, int]]:
    """Parse a DALI index file (local path or URI) into ``(offset, size)`` tuples.

    A malformed line raises :class:`~s3dlio.errors.InvalidArgumentError`."""
    entries = []
    for n, line in enumerate(_read(index_path).decode().splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            offset, size = int(fields[0]), int(fields[1])
        except (IndexError, ValueError):
            raise InvalidArgumentError(f"{index_path}: line {n} is not '<offset> <size>'") from None
        entries.append((offset, size))
    return entries
