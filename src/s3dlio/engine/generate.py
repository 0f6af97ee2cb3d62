"""Generated objects written in bulk: what ``s3dlio.put`` and ``s3-cli put`` do.

``num`` objects of one :class:`~s3dlio.payloads.PayloadSpec` are generated and written
``max_in_flight`` at a time through the bulk runner, so generation overlaps with upload.
Memory: streaming mode holds at most ``max_in_flight x 2 x chunk_size`` (a chunk being written
and the next being generated, per object); whole-object mode and the formats
``max_in_flight x size``.
"""

from __future__ import annotations

from ..payloads import PayloadSpec
from ..stores.base import ObjectStore
from ..uri import format_object_name
from .bulk import run
from .progress import ProgressCallback

__all__ = ["DEFAULT_TEMPLATE", "put_generated"]

DEFAULT_TEMPLATE = "object-{}"


def put_generated(
    store: ObjectStore,
    prefix: str,
    num: int,
    spec: PayloadSpec,
    *,
    template: str | None = None,
    max_in_flight: int = 64,
    progress: ProgressCallback | None = None,
) -> None:
    """Write ``num`` objects ``prefix + template(i)`` of ``spec`` to ``store``. Each object
    appears only when complete; the first failure stops new objects (running ones finish)."""
    name_template = template if template is not None else DEFAULT_TEMPLATE
    # One object at a time gets every core; with several in flight, one thread each.
    gen_threads = None if min(num, max_in_flight) == 1 else 1

    def write(i: int) -> int:
        key = prefix + format_object_name(name_template, i, num)
        if spec.streams:
            with store.open_writer(key) as writer:  # aborted by any exception inside
                for chunk in spec.chunks(gen_threads):
                    writer.write(chunk)
            return spec.size
        payload = spec.payload(gen_threads)
        store.put(key, payload)
        return len(payload)

    run(write, range(num), max_in_flight, progress, total_bytes=num * spec.size)
