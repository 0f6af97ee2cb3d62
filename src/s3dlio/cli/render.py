"""What the CLI shows on stderr: live progress (only on a terminal, never with ``--quiet``) and
the final summary line of transfer commands (unless ``--quiet``).

Live lines are redrawn in place (``\\r`` + erase-to-end-of-line) and cleared before anything
else is printed, so a summary or an error always starts on a clean line. The library calls
progress callbacks from worker threads one at a time, at most every 0.1 s, and always once at
the end (``done=True``); the views here only format.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import TextIO

from ..engine.progress import Progress
from .exits import PartialFailure

__all__ = [
    "Console",
    "CountView",
    "ProgressView",
    "count_line",
    "human_bytes",
    "human_duration",
    "summary_line",
]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
_CLEAR = "\r\x1b[K"


def human_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KiB"``; IEC units, one decimal."""
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def human_duration(seconds: float) -> str:
    """``75`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _rate(amount: float, seconds: float) -> float:
    return amount / seconds if seconds > 0 else 0.0


def _eta(p: Progress) -> str | None:
    """Time left, from bytes when the total is known, else from objects; None if unknown."""
    for done, total in ((p.bytes, p.total_bytes), (p.objects, p.total_objects)):
        if total is not None and done > 0 and p.elapsed > 0:
            return human_duration((total - done) / (done / p.elapsed))
    return None


def summary_line(
    label: str, p: Progress, *, with_bytes: bool = True, exact_bytes: bool = False
) -> str:
    """``put: 100 objects, 20.0 MiB in 0.53 s (37.7 MiB/s, 188.7 objects/s)``; with
    ``exact_bytes`` the size reads ``20.0 MiB (20,971,520 bytes)``."""
    objects = f"{p.objects:,} object{'' if p.objects == 1 else 's'}"
    rate_objects = f"{_rate(p.objects, p.elapsed):,.1f} objects/s"
    if with_bytes:
        size = human_bytes(p.bytes)
        if exact_bytes:
            size += f" ({p.bytes:,} bytes)"
        return (
            f"{label}: {objects}, {size} in {p.elapsed:.2f} s "
            f"({human_bytes(_rate(p.bytes, p.elapsed))}/s, {rate_objects})"
        )
    return f"{label}: {objects} in {p.elapsed:.2f} s ({rate_objects})"


def count_line(count: int, seconds: float) -> str:
    """The reference's ``ls -c`` result: ``Total objects: N (12.3s, rate: 1,000 objects/s)``."""
    rate = _rate(count, seconds)
    return f"Total objects: {count:,} ({seconds:.1f}s, rate: {rate:,.0f} objects/s)"


class Console:
    """The CLI's stderr: decides whether live progress and summaries are shown."""

    def __init__(self, *, quiet: bool, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        isatty = getattr(self.stream, "isatty", None)
        self.live = not quiet and bool(isatty and isatty())

    def progress(self, label: str, *, with_bytes: bool = True) -> ProgressView:
        return ProgressView(self, label, with_bytes=with_bytes)

    def counter(self, label: str) -> CountView:
        return CountView(self, label)

    def _width(self) -> int:
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            columns = 0
        return columns or shutil.get_terminal_size().columns

    def draw(self, text: str) -> None:
        width = max(20, self._width() - 1)
        self.stream.write(_CLEAR + text[:width])
        self.stream.flush()

    def clear(self) -> None:
        self.stream.write(_CLEAR)
        self.stream.flush()

    def note(self, text: str) -> None:
        """A summary line (suppressed by ``--quiet``)."""
        if not self.quiet:
            print(text, file=self.stream, flush=True)


class ProgressView:
    """A progress callback for the library's bulk calls. Keeps the last snapshot (for the
    summary, and for "N objects done before the failure") and draws it when live.

    Used as a context manager around the call: the live line is erased on the way out, and a
    failure of a bulk call is re-raised as :class:`PartialFailure` saying how many objects were
    done before it.
    """

    def __init__(self, console: Console, label: str, *, with_bytes: bool = True) -> None:
        self.console = console
        self.label = label
        self.with_bytes = with_bytes
        self.last: Progress | None = None
        self._drawn = False

    def __call__(self, p: Progress) -> None:
        self.last = p
        if not self.console.live:
            return
        if p.done:
            self.close()
            return
        self.console.draw(self.render(p))
        self._drawn = True

    def render(self, p: Progress) -> str:
        objects = f"{p.objects:,}"
        if p.total_objects is not None:
            objects += f"/{p.total_objects:,}"
        parts = [self.label, f"{objects} objects"]
        if self.with_bytes:
            size = human_bytes(p.bytes)
            if p.total_bytes is not None:
                size += f" of {human_bytes(p.total_bytes)}"
            parts += [size, f"{human_bytes(_rate(p.bytes, p.elapsed))}/s"]
        parts.append(f"{_rate(p.objects, p.elapsed):,.0f} obj/s")
        if p.errors:
            parts.append(f"{p.errors} failed")
        eta = _eta(p)
        if eta is not None:
            parts.append(f"ETA {eta}")
        return "  ".join(parts)

    def close(self) -> None:
        """Erase the live line (idempotent)."""
        if self._drawn:
            self.console.clear()
            self._drawn = False

    def __enter__(self) -> ProgressView:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self.close()
        if isinstance(exc, Exception) and not isinstance(exc, PartialFailure):
            done = self.done_before_failure()
            if done is not None:
                raise PartialFailure(exc, done) from exc

    def done_before_failure(self) -> str | None:
        """``"12 of 100 objects done before the failure"`` for bulk work that got started."""
        p = self.last
        if p is None or p.total_objects == 1:
            return None
        of = f" of {p.total_objects:,}" if p.total_objects is not None else ""
        return f"{p.objects:,}{of} objects done before the failure"

    def summary(self) -> None:
        if self.last is not None:
            self.console.note(summary_line(self.label, self.last, with_bytes=self.with_bytes))


class CountView:
    """Live ``N objects (R objects/s)`` while counting a listing."""

    _EVERY = 256  # look at the clock once per this many entries

    def __init__(self, console: Console, label: str) -> None:
        self.console = console
        self.label = label
        self.start = time.monotonic()
        self._next = self.start + 0.1
        self._drawn = False

    def tick(self, count: int) -> None:
        if not self.console.live or count % self._EVERY:
            return
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + 0.1
        rate = _rate(count, now - self.start)
        self.console.draw(f"{self.label}  {count:,} objects ({rate:,.0f} objects/s)")
        self._drawn = True

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def close(self) -> None:
        if self._drawn:
            self.console.clear()
            self._drawn = False
