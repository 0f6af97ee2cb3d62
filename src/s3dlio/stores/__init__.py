"""Backends behind the :class:`~s3dlio.stores.base.ObjectStore` protocol, and the registry that
hands out one store per (scheme, bucket, endpoint, account) per process."""

from __future__ import annotations

import os
import threading

from ..errors import UnsupportedOperationError
from ..uri import ObjectURI
from .base import ListPage, ObjectMeta, ObjectStore, ObjectWriter
from .direct import DirectIOStore
from .file import FileStore

__all__ = [
    "DirectIOStore",
    "FileStore",
    "ListPage",
    "ObjectMeta",
    "ObjectStore",
    "ObjectWriter",
    "clear_cache",
    "store_for",
]

_cache: dict[tuple[str, str, str | None, str | None], ObjectStore] = {}
_cache_pid = os.getpid()
_lock = threading.Lock()
_LOCAL: dict[str, ObjectStore] = {"file": FileStore(), "direct": DirectIOStore()}


def store_for(uri: ObjectURI) -> ObjectStore:
    """The store serving ``uri``'s bucket/container (cached per process)."""
    local = _LOCAL.get(uri.scheme)
    if local is not None:
        return local
    global _cache_pid
    ident = (uri.scheme, uri.bucket, uri.endpoint, uri.account)
    with _lock:
        if _cache_pid != os.getpid():  # a forked child must not reuse its parent's clients
            _cache.clear()
            _cache_pid = os.getpid()
        store = _cache.get(ident)
        if store is None:
            raise UnsupportedOperationError(
                f"the {uri.scheme}:// backend is not available yet in this version of s3dlio "
                "(only file:// and direct:// are)",
                uri=str(uri),
            )
        return store


def clear_cache() -> None:
    """Forget every cached cloud store (after a credential or endpoint change)."""
    with _lock:
        _cache.clear()
