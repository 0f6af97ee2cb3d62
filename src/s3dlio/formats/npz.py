"""NPY arrays and uncompressed (stored) multi-array NPZ archives, as ``numpy.load`` reads them.

The archive is laid out in one preallocated buffer: each member's bytes are written (or
generated) in place, then CRC-32'd, so building a 140 MiB archive copies nothing twice.
Archives whose members or offsets reach 4 GiB are written by :mod:`zipfile` with ZIP64 records.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import io as s3io
from ..buffers import BytesView, view_of
from ..datagen import DataLayout, fill, new_buffer
from ..errors import InvalidArgumentError

__all__ = [
    "as_dtype",
    "build_npy",
    "build_npz",
    "generate_npz_bytes",
    "npy_header",
    "read_npz",
]

_ZIP32_LIMIT = 0xFFFFFFFF
_DOS_DATE = 0x0021  # 1980-01-01, what numpy.savez's fixed-date archives also carry
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")

Filler = Callable[[npt.NDArray[np.uint8]], None]


def as_dtype(dtype: Any) -> np.dtype[Any]:
    """Any numpy dtype spelling (``'float32'``, ``'f4'``, ``'<f4'``, ``np.float32``...).

    Unknown spellings and object dtypes raise :class:`~s3dlio.errors.InvalidArgumentError`.
    """
    try:
        result: np.dtype[Any] = np.dtype(dtype)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"not a numpy dtype: {dtype!r}") from exc
    if result.hasobject:
        raise InvalidArgumentError(f"object dtypes cannot be stored in an NPY file: {dtype!r}")
    return result


def _as_shape(shape: Sequence[int] | int) -> tuple[int, ...]:
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0:
            raise InvalidArgumentError(f"shape must be non-negative integers, got {shape!r}")
    return tuple(int(d) for d in dims)


def npy_header(dtype: np.dtype[Any], shape: tuple[int, ...]) -> bytes:
    """The NPY (version 1.0, or 2.0 when needed) header of a C-order array."""
    buf = io.BytesIO()
    header = {
        "descr": np.lib.format.dtype_to_descr(dtype),
        "fortran_order": False,
        "shape": shape,
    }
    try:
        np.lib.format.write_array_header_1_0(buf, header)
    except ValueError:  # header longer than 64 KiB: version 2.0 has a 4-byte length
        buf = io.BytesIO()
        np.lib.format.write_array_header_2_0(buf, header)
    return buf.getvalue()


class _Member:
    __slots__ = ("fill", "header", "name", "nbytes")

    def __init__(self, name: str, header: bytes, nbytes: int, filler: Filler) -> None:
        self.name = name.encode()
        self.header = header
        self.nbytes = nbytes
        self.fill = filler

    @property
    def size(self) -> int:
        return len(self.header) + self.nbytes


def _array_member(name: str, array: npt.NDArray[Any]) -> _Member:
    arr = np.ascontiguousarray(array)
    if arr.dtype.hasobject:
        raise InvalidArgumentError(f"array {name!r}: object arrays cannot be stored")

    def copy_in(out: npt.NDArray[np.uint8]) -> None:
        out[:] = arr.reshape(-1).view(np.uint8)

    return _Member(name, npy_header(arr.dtype, arr.shape), arr.nbytes, copy_in)


def _assemble(members: Sequence[_Member]) -> BytesView:
    local_sizes = [_LOCAL.size + len(m.name) + m.size for m in members]
    central_size = sum(_CENTRAL.size + len(m.name) for m in members)
    total = sum(local_sizes) + central_size + _END.size
    if any(m.size >= _ZIP32_LIMIT for m in members) or total >= _ZIP32_LIMIT:
        return _assemble_zip64(members)
    out = new_buffer(total)
    mv = memoryview(out)  # type: ignore[arg-type]
    offsets = []
    crcs = []
    pos = 0
    for m in members:
        offsets.append(pos)
        data_at = pos + _LOCAL.size + len(m.name)
        mv[data_at : data_at + len(m.header)] = m.header
        m.fill(out[data_at + len(m.header) : data_at + m.size])
        crc = zlib.crc32(mv[data_at : data_at + m.size])
        crcs.append(crc)
        mv[pos : pos + _LOCAL.size] = _LOCAL.pack(
            0x04034B50, 20, 0, 0, 0, _DOS_DATE, crc, m.size, m.size, len(m.name), 0
        )
        mv[pos + _LOCAL.size : data_at] = m.name
        pos = data_at + m.size
    central_at = pos
    for m, offset, crc in zip(members, offsets, crcs, strict=True):
        mv[pos : pos + _CENTRAL.size] = _CENTRAL.pack(
            0x02014B50, 20, 20, 0, 0, 0, _DOS_DATE, crc, m.size, m.size, len(m.name),
            0, 0, 0, 0, 0o644 << 16, offset,
        )  # fmt: skip
        pos += _CENTRAL.size
        mv[pos : pos + len(m.name)] = m.name
        pos += len(m.name)
    mv[pos:] = _END.pack(0x06054B50, 0, 0, len(members), len(members), central_size, central_at, 0)
    return view_of(out)


def _assemble_zip64(members: Sequence[_Member]) -> BytesView:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for m in members:
            data = np.empty(m.nbytes, dtype=np.uint8)
            m.fill(data)
            with zf.open(m.name.decode(), "w", force_zip64=True) as member:
                member.write(m.header)
                member.write(memoryview(data))  # type: ignore[arg-type]
    return BytesView(buf.getbuffer())


def build_npy(array: npt.ArrayLike) -> BytesView:
    """One array as an NPY file (what ``numpy.save`` writes)."""
    arr = np.ascontiguousarray(array)
    member = _array_member("array", arr)
    out = np.empty(member.size, dtype=np.uint8)
    out[: len(member.header)] = np.frombuffer(member.header, dtype=np.uint8)
    member.fill(out[len(member.header) :])
    return view_of(out)


def build_npz(arrays: Mapping[str, npt.ArrayLike]) -> BytesView:
    """A stored (uncompressed) NPZ archive of several named arrays (what ``numpy.savez``
    writes): ``numpy.load(io.BytesIO(data))[name]`` gives each array back."""
    if not arrays:
        raise InvalidArgumentError("an NPZ archive needs at least one array")
    return _assemble([_array_member(f"{k}.npy", np.asarray(v)) for k, v in arrays.items()])


def random_member(
    name: str,
    shape: Sequence[int] | int,
    dtype: Any,
    layout: DataLayout | None = None,
    threads: int | None = None,
) -> _Member:
    """A member whose array bytes are generated in place (``layout`` sets the ratios)."""
    dt = as_dtype(dtype)
    dims = _as_shape(shape)
    nbytes = int(np.prod(dims, dtype=np.int64)) * dt.itemsize
    gen_layout = DataLayout(nbytes) if layout is None else layout
    if gen_layout.size != nbytes:
        raise InvalidArgumentError(f"layout of {gen_layout.size} bytes for {nbytes} array bytes")

    def generate(out: npt.NDArray[np.uint8]) -> None:
        fill(out, gen_layout, 0, threads)

    return _Member(f"{name}.npy", npy_header(dt, dims), nbytes, generate)


def generate_npz_bytes(
    shape: Sequence[int] | int, dtype: Any = "<f4", num_samples: int = 1
) -> BytesView:
    """An NPZ with ``x`` (``shape``, ``dtype``, random bytes) and ``y`` (``num_samples`` int64
    zeros), loadable by ``numpy.load``. ``dtype`` takes any numpy spelling; an unknown one
    raises :class:`~s3dlio.errors.InvalidArgumentError` (the reference wrote a corrupt archive
    for ``'float32'`` and accepted ``'bogus'``)."""
    samples = _as_shape([num_samples])[0]
    y = np.zeros(samples, dtype="<i8")
    return _assemble([random_member("x", shape, dtype), _array_member("y.npy", y)])


def object_npz(layout: DataLayout, threads: int | None = None) -> BytesView:
    """``put(object_type='npz')``: one uint8 array ``data`` holding the generated bytes."""
    return _assemble([random_member("data", layout.size, np.uint8, layout, threads)])


def read_npz(uri: str, array_name: str | None = None) -> npt.NDArray[Any]:
    """One array of the NPZ (or NPY) object at ``uri``, any backend: ``array_name``, or the
    first array of the archive when ``None``. A missing name raises
    :class:`~s3dlio.errors.InvalidArgumentError` listing the names present."""
    data = io.BytesIO(s3io.get(uri).memoryview())
    loaded = np.load(data, allow_pickle=False)
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        names = list(loaded.files)
        if not names:
            raise InvalidArgumentError(f"{uri}: the archive holds no arrays")
        name = names[0] if array_name is None else array_name
        if name not in names:
            raise InvalidArgumentError(f"{uri}: no array {array_name!r} (has {names})")
        result: npt.NDArray[Any] = loaded[name]
        return result
