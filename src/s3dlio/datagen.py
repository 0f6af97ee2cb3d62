"""Payload generation for ``put``.

Until the data-generation work lands (dedup/compress control, formats), every object is
incompressible random bytes from numpy's PCG64, unique per object.
"""

from __future__ import annotations

import threading

import numpy as np

from .buffers import BytesView

__all__ = ["random_bytes"]

_local = threading.local()


def random_bytes(size: int) -> BytesView:
    """``size`` random bytes (a fresh generator per thread, seeded from OS entropy)."""
    rng = getattr(_local, "rng", None)
    if rng is None:
        rng = _local.rng = np.random.default_rng()
    return BytesView(rng.bytes(size))
