"""Synthetic payloads with a requested dedup and compression ratio.

An object of ``size`` bytes is a sequence of 1 MiB blocks (:data:`BLOCK_SIZE`; the last one may
be short). Its content is a pure function of ``(layout, offset)``, so any byte range can be
generated on its own: in parallel, chunk by chunk (streaming), or again after a ``reset``.

* **dedup** ``D``: block ``b`` holds the content of unique block ``b % U`` with
  ``U = max(1, round(blocks / D))``, so the fraction of distinct blocks is about ``1/D`` at any
  block size that divides 1 MiB.
* **compress** ``C``: the first ``round(BLOCK_SIZE / C)`` bytes of every block are
  pseudo-random and the rest are zeros, so zstd or zlib shrink the data by about ``C`` (1 means
  incompressible).
* **algorithm** ``'random'``: unique block ``u`` is the SplitMix64 stream of a 64-bit key
  ``k_u`` (itself SplitMix64 of a per-layout salt and ``u``): its 64-bit word ``i`` is
  ``mix64(k_u + (i + 1) * 0x9E3779B97F4A7C15)``, little-endian, where ``mix64`` is SplitMix64's
  finaliser (the generator passes BigCrush). A counter-based stream: byte ``lo`` of a block is
  byte ``lo % 8`` of word ``lo // 8``, computed without generating what precedes it.
  ``'prand'`` (cheaper in numpy, the reference's "pseudo-random" method): one random 1 MiB pool
  per layout; unique block ``u`` is the pool rotated by a per-block byte offset and XORed with
  a per-block 64-bit key. Neither output is compressible, and distinct blocks never coincide;
  neither is a cryptographic-quality stream.
* **seed**: ``None`` draws 128 bits from the OS, so each call differs; an integer gives the same
  bytes every time, whatever the chunking or thread count.

The ``'random'`` words are computed by the C kernel :mod:`s3dlio._fastgen` when it was built
(:data:`ACCELERATED`), else by numpy, with identical bytes. The kernel exists because numpy
cannot reach the reference's speed here: a numpy word stream costs 0.25 s of CPU per GiB
(PCG64 ``random_raw``; SplitMix64 as whole-array ufuncs is no cheaper), the kernel 0.04 s
(docs/performance.md). ``S3DLIO_DATAGEN_PURE=1`` forces the numpy path.

Fills of 8 MiB or more are split across threads of the per-process pool (by default
:func:`py_default_data_gen_threads`, the reference's ``max(4, CPUs / 2)``; the kernel and
numpy release the GIL while they fill and copy), writing straight into the caller's buffer.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from . import config, runtime, validate
from .buffers import BytesView, new_buffer, view_of
from .errors import InvalidArgumentError

__all__ = [
    "ACCELERATED",
    "ALGORITHMS",
    "BLOCK_SIZE",
    "DataLayout",
    "Generator",
    "fill",
    "generate_data",
    "generate_data_with_threads",
    "generate_into_buffer",
    "iter_chunks",
    "make_data",
    "new_buffer",
    "py_default_data_gen_threads",
    "py_total_cpus",
]

BLOCK_SIZE = 1 << 20
"""The dedup and compression unit, in bytes."""

ALGORITHMS = ("random", "prand")

# Below this a fill runs on the calling thread: handing work to the pool costs more than it saves.
_PARALLEL_MIN = 8 << 20

_U8 = npt.NDArray[np.uint8]

_MASK64 = (1 << 64) - 1

# SplitMix64: the counter increment (the golden ratio) and the finaliser's two multipliers.
_GAMMA = 0x9E3779B97F4A7C15
_MUL1 = 0xBF58476D1CE4E5B9
_MUL2 = 0x94D049BB133111EB

try:
    from ._fastgen import fill as _kernel_fill
except ImportError:  # built without a C compiler: the numpy path gives the same bytes
    _kernel_fill = None  # type: ignore[assignment]

ACCELERATED: bool = _kernel_fill is not None and not config.datagen_pure()
"""True when ``'random'`` data comes from the C kernel ``s3dlio._fastgen``; False when it comes
from numpy (the kernel was not built, or ``S3DLIO_DATAGEN_PURE=1``). Same bytes either way."""


def py_total_cpus() -> int:
    """The number of CPUs this process may run on (its affinity mask, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def py_default_data_gen_threads() -> int:
    """Threads a generation call uses by default: half the usable CPUs, at least 4 (the
    reference's rule, so both get the same share of a busy machine)."""
    return max(4, py_total_cpus() // 2)


def _mix64_inplace(z: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64's finaliser, in place: a bijection with well-spread outputs."""
    tmp = np.empty_like(z)
    for shift, mul in ((30, _MUL1), (27, _MUL2)):
        np.right_shift(z, np.uint64(shift), out=tmp)
        z ^= tmp
        np.multiply(z, np.uint64(mul), out=z)  # wraps modulo 2**64 (no warning for arrays)
    np.right_shift(z, np.uint64(31), out=tmp)
    z ^= tmp
    return z


def _splitmix64_int(x: int) -> int:
    """One SplitMix64 step of a Python int: a bijective 64-bit mixer (distinct inputs give
    distinct, well-spread outputs); :func:`_mix64_inplace` is its finaliser for arrays."""
    z = (x + _GAMMA) & _MASK64
    z = ((z ^ (z >> 30)) * _MUL1) & _MASK64
    z = ((z ^ (z >> 27)) * _MUL2) & _MASK64
    return z ^ (z >> 31)


_PIECE_WORDS = 1 << 17  # numpy fills 1 MiB at a time, so its passes stay in cache
_steps: npt.NDArray[np.uint64] | None = None


def _numpy_fill(dst: _U8, key: int, lo: int) -> None:
    """Bytes ``[lo, lo + len(dst))`` of the SplitMix64 stream of ``key`` into ``dst``: what
    the C kernel's ``fill`` writes, in numpy."""
    global _steps
    if _steps is None:  # (i + 1) * GAMMA for the words of one piece; a race only recomputes
        with np.errstate(over="ignore"):
            _steps = np.arange(1, _PIECE_WORDS + 1, dtype=np.uint64) * np.uint64(_GAMMA)
    n = dst.shape[0]
    word, skip = divmod(lo, 8)
    pos = 0
    while pos < n:
        words = min(_PIECE_WORDS, -(-(skip + n - pos) // 8))
        z = _steps[:words] + np.uint64((key + word * _GAMMA) & _MASK64)
        _mix64_inplace(z)
        if sys.byteorder == "big":  # pragma: no cover - the stream is little-endian
            z.byteswap(inplace=True)
        take = min(words * 8 - skip, n - pos)
        dst[pos : pos + take] = z.view(np.uint8)[skip : skip + take]
        pos += take
        word += words
        skip = 0


class DataLayout:
    """What an object's bytes are: size, dedup and compress factors, algorithm and seed.

    Immutable. ``seed=None`` draws fresh OS entropy (kept, so the same layout always gives the
    same bytes). Raises :class:`~s3dlio.errors.InvalidArgumentError` for a negative size, a
    factor below 1 or an unknown algorithm.
    """

    __slots__ = ("__dict__", "algorithm", "compress", "dedup", "seed", "size")

    def __init__(
        self,
        size: int,
        dedup: int = 1,
        compress: int = 1,
        algorithm: str = "random",
        seed: int | None = None,
    ) -> None:
        self.size = validate.count("size", size, 0)
        self.dedup = validate.count("dedup", dedup, 1)
        self.compress = validate.count("compress", compress, 1)
        alg = algorithm.lower() if isinstance(algorithm, str) else algorithm
        if alg not in ALGORITHMS:
            raise InvalidArgumentError(
                f"unknown data generation algorithm {algorithm!r}; expected one of {ALGORITHMS}"
            )
        self.algorithm: str = alg
        if seed is None:
            entropy = np.random.SeedSequence().entropy
            assert isinstance(entropy, int)
            self.seed: int = entropy
        else:
            self.seed = validate.count("seed", seed, 0)

    def __repr__(self) -> str:
        return (
            f"DataLayout(size={self.size}, dedup={self.dedup}, compress={self.compress}, "
            f"algorithm={self.algorithm!r}, seed={self.seed})"
        )

    @cached_property
    def blocks(self) -> int:
        """Number of blocks, the last one possibly short."""
        return -(-self.size // BLOCK_SIZE)

    @cached_property
    def unique_blocks(self) -> int:
        """Number of distinct blocks: ``max(1, round(blocks / dedup))``."""
        return max(1, round(self.blocks / self.dedup))

    @cached_property
    def random_len(self) -> int:
        """Random bytes at the start of every block; the rest of the block is zeros."""
        return max(1, round(BLOCK_SIZE / self.compress))

    def _seed_sequence(self, key: int) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.seed, spawn_key=(key,))

    @cached_property
    def _pool(self) -> _U8:
        """``prand``: the random pool every unique block is derived from."""
        gen = np.random.SFC64(self._seed_sequence(1 << 40))
        return gen.random_raw(BLOCK_SIZE // 8).view(np.uint8)

    def _salt_word(self, key: int) -> int:
        """A 64-bit salt drawn from the seed, independent for each ``key``."""
        return int(self._seed_sequence(key).generate_state(1, np.uint64)[0])

    @cached_property
    def _prand_salt(self) -> int:
        """``prand``: the per-layout salt of the block keys."""
        return self._salt_word(1 << 41)

    def _prand_key(self, u: int) -> tuple[int, npt.NDArray[np.uint8]]:
        """``prand``: (rotation, 8 key bytes) of unique block ``u``."""
        mixed = _splitmix64_int(u ^ self._prand_salt)
        rotation = _splitmix64_int(mixed) % BLOCK_SIZE
        return rotation, np.array([mixed], dtype="<u8").view(np.uint8)

    # -- block content ---------------------------------------------------------------------

    def _write_block(self, dst: _U8, u: int, lo: int, zeroed: bool = False) -> None:
        """Write bytes ``[lo, lo + len(dst))`` of unique block ``u`` into ``dst`` (whose zero
        tail is left alone when ``zeroed`` says it is zero already)."""
        hi = lo + dst.shape[0]
        rnd_hi = min(hi, self.random_len)
        if lo < rnd_hi:
            part = dst[: rnd_hi - lo]
            if self.algorithm == "random":
                self._random_part(part, u, lo)
            else:
                self._prand_part(part, u, lo)
        if hi > self.random_len and not zeroed:
            dst[max(lo, self.random_len) - lo :] = 0

    @cached_property
    def _random_salt(self) -> int:
        """``random``: the per-layout salt of the block keys."""
        return self._salt_word(1 << 42)

    def _random_part(self, dst: _U8, u: int, lo: int) -> None:
        key = _splitmix64_int(self._random_salt ^ u)
        if ACCELERATED:
            _kernel_fill(dst, key, lo)
        else:
            _numpy_fill(dst, key, lo)

    def _prand_part(self, dst: _U8, u: int, lo: int) -> None:
        rotation, key = self._prand_key(u)
        n = dst.shape[0]
        start = (lo + rotation) % BLOCK_SIZE
        first = min(n, BLOCK_SIZE - start)
        dst[:first] = self._pool[start : start + first]
        if first < n:
            dst[first:] = self._pool[: n - first]
        # XOR with the key, its lanes anchored at the block start (so any window agrees).
        head = (-lo) % 8
        if head:
            idx = (lo + np.arange(min(head, n))) % 8
            dst[: idx.shape[0]] ^= key[idx]
        body = dst[head:]
        whole = (body.shape[0] // 8) * 8
        if whole:
            body[:whole].view(np.uint64)[:] ^= key.view(np.uint64)[0]
        if whole < body.shape[0]:
            body[whole:] ^= key[: body.shape[0] - whole]


def _split(items: Sequence[Any], parts: int) -> list[Sequence[Any]]:
    step = -(-len(items) // parts)
    return [items[i : i + step] for i in range(0, len(items), step)]


def fill(
    out: _U8,
    layout: DataLayout,
    offset: int = 0,
    threads: int | None = None,
    *,
    zeroed: bool = False,
) -> None:
    """Write bytes ``[offset, offset + len(out))`` of ``layout``'s object into ``out``.

    ``out`` is a 1-D, contiguous, writable uint8 array; the range must lie within the object.
    ``threads`` (default :func:`py_default_data_gen_threads`) bounds the parallelism; fills
    under 8 MiB run on the calling thread. ``zeroed=True`` promises ``out`` is all zeros
    already, so the zero parts of blocks are not written again.
    """
    n = out.shape[0]
    end = offset + n
    if offset < 0 or end > layout.size:
        raise InvalidArgumentError(
            f"range [{offset}, {end}) is outside the object of {layout.size} bytes"
        )
    if n == 0:
        return
    unique = layout.unique_blocks
    # A repeated block is copied from its first occurrence, unless the kernel makes it: it
    # writes 'random' bytes without reading any, so it outpaces a copy whose source has left
    # the cache (generate_data(1 GiB, dedup=4): 0.40 s of CPU copying, 0.36 s generating).
    copies = not (ACCELERATED and layout.algorithm == "random")
    generate: list[tuple[int, int, int, int]] = []  # (dst_start, dst_end, unique block, lo)
    copy: list[tuple[int, int, int]] = []  # (dst_start, dst_end, src_start)
    for b in range(offset // BLOCK_SIZE, (end - 1) // BLOCK_SIZE + 1):
        b_start = b * BLOCK_SIZE
        lo = max(offset, b_start)
        hi = min(end, b_start + BLOCK_SIZE)
        u = b % unique
        u_start = u * BLOCK_SIZE
        if copies and u != b and u_start >= offset and u_start + BLOCK_SIZE <= end:
            if zeroed:  # only the random head differs from zero
                hi = min(hi, b_start + layout.random_len)
                if hi <= lo:
                    continue
            src = u_start + (lo - b_start) - offset
            copy.append((lo - offset, hi - offset, src))
        else:
            generate.append((lo - offset, hi - offset, u, lo - b_start))

    def gen_all(jobs: Sequence[tuple[int, int, int, int]]) -> None:
        for start, stop, u, lo in jobs:
            layout._write_block(out[start:stop], u, lo, zeroed)

    def copy_all(jobs: Sequence[tuple[int, int, int]]) -> None:
        for start, stop, src in jobs:
            out[start:stop] = out[src : src + stop - start]

    workers = py_default_data_gen_threads() if threads is None else max(1, threads)
    if workers == 1 or n < _PARALLEL_MIN:
        gen_all(generate)
        copy_all(copy)
        return
    # Sources of the copies are generated first; both phases split evenly across workers.
    runtime.map_bounded(gen_all, _split(generate, workers), workers)
    if copy:
        runtime.map_bounded(copy_all, _split(copy, workers), workers)


def _writable_u8(buffer: object) -> _U8:
    try:
        view = memoryview(buffer)  # type: ignore[arg-type]
    except TypeError as exc:
        raise InvalidArgumentError(
            f"buffer must support the buffer protocol, got {type(buffer).__name__}"
        ) from exc
    if view.readonly:
        raise InvalidArgumentError("Buffer must be writable")
    if view.itemsize != 1:
        raise BufferError("buffer contents are not compatible with u8")
    if not view.c_contiguous:
        raise BufferError("buffer must be C-contiguous")
    return np.frombuffer(view.cast("B") if view.ndim != 1 else view, dtype=np.uint8)


def make_data(layout: DataLayout, threads: int | None = None) -> _U8:
    """A new uint8 array holding the whole object of ``layout``."""
    out = new_buffer(layout.size, zeroed=True)
    fill(out, layout, 0, threads, zeroed=True)
    return out


def generate_data(size: int, dedup: int = 1, compress: int = 1) -> BytesView:
    """``size`` new bytes with dedup ratio ``dedup`` and compression ratio ``compress``.

    Each call gives different bytes. Returns a zero-copy :class:`BytesView`. A negative size or
    a factor below 1 raises :class:`~s3dlio.errors.InvalidArgumentError`.
    """
    return view_of(make_data(DataLayout(size, dedup, compress)))


def generate_data_with_threads(
    size: int, dedup: int = 1, compress: int = 1, threads: int | None = None
) -> BytesView:
    """:func:`generate_data` on at most ``threads`` threads (``None``: the default count)."""
    if threads is not None:
        validate.count("threads", threads, 1)
    return view_of(make_data(DataLayout(size, dedup, compress), threads))


def generate_into_buffer(
    buffer: Any, dedup: int = 1, compress: int = 1, threads: int | None = None
) -> int:
    """Fill a writable, contiguous byte buffer (``bytearray``, uint8 numpy array, writable
    ``memoryview``, ``mmap``) in place and return its length.

    The buffer can then go to ``put_bytes`` without a copy. A read-only buffer raises
    :class:`~s3dlio.errors.InvalidArgumentError` (a ``ValueError``, ``"Buffer must be
    writable"``); items wider than one byte raise ``BufferError``.
    """
    out = _writable_u8(buffer)
    if threads is not None:
        validate.count("threads", threads, 1)
    fill(out, DataLayout(out.shape[0], dedup, compress), 0, threads)
    return int(out.shape[0])


def _new_prefetch_pool() -> ThreadPoolExecutor:
    # Its own pool, not the runtime's: a lookahead task never waits on anything, so callers
    # blocked on one can never starve the I/O workers (or be starved by them).
    return ThreadPoolExecutor(py_total_cpus(), thread_name_prefix="s3dlio-datagen")


_prefetch = runtime.PerProcess(_new_prefetch_pool)


def iter_chunks(layout: DataLayout, chunk_size: int, threads: int | None = 1) -> Iterator[_U8]:
    """The object of ``layout`` as consecutive new arrays of ``chunk_size`` bytes (the last may
    be shorter). Chunk ``k + 1`` is generated on a helper thread while the caller consumes
    chunk ``k``, so at most two chunks exist at once. Each chunk is a fresh array the caller
    may keep."""
    step = validate.count("chunk_size", chunk_size, 1)

    def make(offset: int) -> _U8:
        out = np.empty(min(step, layout.size - offset), dtype=np.uint8)
        fill(out, layout, offset, threads)
        return out

    offsets = range(0, layout.size, step)
    if len(offsets) == 1:
        yield make(0)
        return
    pending: Future[_U8] | None = None
    for k, offset in enumerate(offsets):
        current = make(offset) if pending is None else pending.result()
        pending = None
        if k + 1 < len(offsets):
            pending = _prefetch.get().submit(make, offsets[k + 1])
        yield current


class Generator:
    """A stream of ``size`` generated bytes, produced chunk by chunk into caller buffers.

    ``fill_chunk(buffer)`` writes the next ``min(len(buffer), remaining)`` bytes and returns
    that count (0 once complete). The bytes do not depend on the buffer sizes used: the
    concatenated chunks always equal the same object. ``reset()`` starts again and reproduces
    the same bytes; two generators with the same ``seed`` (and parameters) produce identical
    streams. ``chunk_size`` (default 32 MiB) is the buffer size the caller is advised to use.

    ``algorithm`` (keyword-only, an addition) picks ``'random'`` (default) or ``'prand'``.
    """

    def __init__(
        self,
        size: int,
        dedup: int = 1,
        compress: int = 1,
        threads: int | None = None,
        chunk_size: int | None = None,
        seed: int | None = None,
        *,
        algorithm: str = "random",
    ) -> None:
        self._layout = DataLayout(size, dedup, compress, algorithm, seed)
        self._threads = None if threads is None else validate.count("threads", threads, 1)
        self._chunk_size = (
            32 << 20 if chunk_size is None else validate.count("chunk_size", chunk_size, 1)
        )
        self._position = 0
        self._lock = threading.Lock()

    @property
    def chunk_size(self) -> int:
        """The advised buffer size for :meth:`fill_chunk`."""
        return self._chunk_size

    @property
    def size(self) -> int:
        """Total bytes this generator produces."""
        return self._layout.size

    @property
    def position(self) -> int:
        """Bytes produced so far."""
        return self._position

    def fill_chunk(self, buffer: Any) -> int:
        """Write the next bytes into ``buffer``; return how many (0 when complete)."""
        out = _writable_u8(buffer)
        with self._lock:
            n = min(out.shape[0], self._layout.size - self._position)
            if n:
                fill(out[:n], self._layout, self._position, self._threads)
                self._position += n
            return int(n)

    def is_complete(self) -> bool:
        """True once every byte has been produced."""
        return self._position >= self._layout.size

    def reset(self) -> None:
        """Start again from byte 0 (the same bytes follow)."""
        with self._lock:
            self._position = 0

    def __repr__(self) -> str:
        return f"Generator({self._layout!r}, position={self._position})"
