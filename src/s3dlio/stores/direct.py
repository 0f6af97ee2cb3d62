"""``direct://``: the local filesystem with ``O_DIRECT`` (bypassing the page cache).

Reads go straight into a fresh page-aligned buffer (an anonymous ``mmap``) covering the aligned
superset of the requested range; the returned ``BytesView`` is a zero-copy slice of it, so an
unaligned offset or size costs at most two extra blocks of I/O and no copy.

Writes copy the caller's data through a bounded pool of aligned bounce buffers
(``S3DLIO_DIRECT_IO_BOUNCE_BUFFERS`` x ``S3DLIO_DIRECT_IO_BOUNCE_SIZE_MB``; writers wait for a
free buffer, so direct writes never use more memory than that). The unaligned tail is written
as a zero-padded block and the file is then truncated to its exact size, before the atomic
rename that publishes it.

Filesystems that refuse ``O_DIRECT`` (tmpfs, some overlays) answer ``EINVAL`` at open. By
default the store then falls back to buffered I/O and logs one warning per filesystem; with
``S3DLIO_DIRECT_IO_STRICT=1`` it raises :class:`~s3dlio.errors.DirectIOUnsupportedError`.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import mmap
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..buffers import BytesView
from ..errors import DirectIOUnsupportedError
from ..runtime import PerProcess
from ..settings import Settings
from ..uri import ObjectURI
from .file import FileStore, pread_into

__all__ = ["AlignedBufferPool", "DirectIOStore"]

log = logging.getLogger("s3dlio.direct")
_O_DIRECT: int = getattr(os, "O_DIRECT", 0)


class AlignedBufferPool:
    """At most ``count`` page-aligned buffers of ``size`` bytes, created on demand."""

    def __init__(self, count: int, size: int) -> None:
        self.count = count
        self.size = size
        self._free: list[mmap.mmap] = []
        self._created = 0
        self._cond = threading.Condition()

    @contextmanager
    def buffer(self) -> Iterator[mmap.mmap]:
        with self._cond:
            while not self._free and self._created >= self.count:
                self._cond.wait()
            if self._free:
                buf = self._free.pop()
            else:
                buf = mmap.mmap(-1, self.size)
                self._created += 1
        try:
            yield buf
        finally:
            with self._cond:
                self._free.append(buf)
                self._cond.notify()


_warned_devices: set[int] = set()


class DirectIOStore(FileStore):
    """``file://`` semantics, with ``O_DIRECT`` data transfers."""

    scheme = "direct"
    storage_class = "DIRECT_IO"

    # The OS call that may refuse O_DIRECT (a seam for the fallback test).
    _raw_open = staticmethod(os.open)

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__(settings)
        self._align = self.settings.local.direct_io_align
        self._bounce = self._new_bounce_pool()

    def _new_bounce_pool(self) -> PerProcess[AlignedBufferPool]:
        local = self.settings.local
        return PerProcess(lambda: AlignedBufferPool(local.bounce_buffers, local.bounce_size))

    @classmethod
    def from_uri(cls, uri: ObjectURI, settings: Settings) -> DirectIOStore:
        return cls(settings)

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        del state["_bounce"]  # per process: the receiver makes its own
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._bounce = self._new_bounce_pool()

    def _open_direct(self, path: str, flags: int, mode: int = 0o666) -> int:
        try:
            fd = self._raw_open(path, flags | _O_DIRECT, mode)
        except OSError as exc:
            if exc.errno != errno.EINVAL or not _O_DIRECT:
                raise
            self._refused(path)
            return os.open(path, flags, mode)
        return fd

    def _refused(self, path: str) -> None:
        if self.settings.local.direct_io_strict:
            raise DirectIOUnsupportedError(
                "the filesystem refuses O_DIRECT (tmpfs?); use file:// or unset "
                "S3DLIO_DIRECT_IO_STRICT to fall back to buffered I/O",
                uri=self.uri(path),
                operation="open",
            )
        try:
            dev = os.stat(os.path.dirname(path) or ".").st_dev
        except OSError:
            dev = -1
        if dev not in _warned_devices:
            _warned_devices.add(dev)
            log.warning(
                "direct://: the filesystem holding %s refuses O_DIRECT; using buffered I/O "
                "for it (set S3DLIO_DIRECT_IO_STRICT=1 to make this an error)",
                path,
            )

    def get_into(self, key: str, buffer: memoryview, offset: int = 0) -> int:
        """See :class:`~.base.ObjectStore`. The caller's buffer need not be aligned, so the
        read goes through an aligned buffer (still bypassing the page cache) and is copied."""
        data = self.get(key, offset, len(buffer))
        n = len(data)
        buffer[:n] = memoryview(data)
        return n

    @staticmethod
    def _is_direct(fd: int) -> bool:
        # Ask the descriptor itself: after a fallback open it has no O_DIRECT flag.
        return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & _O_DIRECT)

    # -- hooks ------------------------------------------------------------------------------

    def _open_read(self, path: str) -> int:
        return self._open_direct(path, os.O_RDONLY | os.O_CLOEXEC)

    def _read(self, fd: int, offset: int, length: int) -> BytesView:
        if not self._is_direct(fd):
            return super()._read(fd, offset, length)
        align = self._align
        start = offset - offset % align
        end = -(-(offset + length) // align) * align
        view = memoryview(mmap.mmap(-1, end - start))  # page-aligned, as O_DIRECT needs
        got = pread_into(fd, view, start, self.settings.transfer)
        need = offset + length - start
        lo = offset - start
        return BytesView(view[lo : min(got, need)])

    def _open_tmpfile(self, parent: str) -> int:
        return self._open_direct(parent, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC)

    def _open_write(self, path: str) -> int:
        return self._open_direct(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC)

    def _write_at(self, fd: int, data: memoryview, offset: int) -> None:
        if not self._is_direct(fd):
            super()._write_at(fd, data, offset)
            return
        align = self._align
        if offset % align:
            # Streaming writers append in arbitrary sizes: rewrite the partial block first.
            block_start = offset - offset % align
            head = self._read_back(fd, block_start, offset - block_start)
            data = memoryview(bytes(head) + bytes(data))
            offset = block_start
        with self._bounce.get().buffer() as bounce:
            bview = memoryview(bounce)
            cap = len(bounce)
            pos = 0
            while pos < len(data):
                chunk = data[pos : pos + cap]
                n = len(chunk)
                bview[:n] = chunk
                padded = -(-n // align) * align
                if padded != n:
                    bview[n:padded] = bytes(padded - n)
                done = 0
                while done < padded:
                    done += os.pwrite(fd, bview[done:padded], offset + pos + done)
                pos += n

    @staticmethod
    def _read_back(fd: int, offset: int, length: int) -> bytes:
        # Reading the partial block through the O_DIRECT descriptor would need an aligned
        # buffer too; /proc/self/fd gives a second, buffered descriptor on the same file.
        rfd = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC)
        try:
            return os.pread(rfd, length, offset)
        finally:
            os.close(rfd)

    def _finish_write(self, fd: int, size: int) -> None:
        # Drop the zero padding of the last aligned block.
        if self._is_direct(fd):
            os.ftruncate(fd, size)
