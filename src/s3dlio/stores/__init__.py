"""Backends behind the :class:`~s3dlio.stores.base.ObjectStore` protocol, and the registry that
hands out one store per (scheme, bucket, endpoint, account) per process."""

from __future__ import annotations

import os
import threading

from .. import config
from ..errors import UnsupportedOperationError
from ..uri import ObjectURI
from .azure import AzureStore
from .base import ListPage, ObjectMeta, ObjectStore, ObjectWriter
from .direct import DirectIOStore
from .file import FileStore
from .gcs import GCSStore
from .s3 import S3Store

__all__ = [
    "AzureStore",
    "DirectIOStore",
    "GCSStore",
    "S3Store",
    "FileStore",
    "ListPage",
    "ObjectMeta",
    "ObjectStore",
    "ObjectWriter",
    "clear_cache",
    "store_for",
]

_cache: dict[tuple[str, str, str | None, str | None, int], ObjectStore] = {}
_cache_pid = os.getpid()
_lock = threading.Lock()
_LOCAL: dict[str, ObjectStore] = {"file": FileStore(), "direct": DirectIOStore()}


def store_for(uri: ObjectURI) -> ObjectStore:
    """The store serving ``uri``'s bucket/container (cached per process)."""
    local = _LOCAL.get(uri.scheme)
    if local is not None:
        return local
    global _cache_pid
    # Credentials and endpoints are part of the identity: changing the environment gives a
    # new client instead of silently reusing the old one.
    ident = (uri.scheme, uri.bucket, uri.endpoint, uri.account, _fingerprint(uri.scheme))
    with _lock:
        if _cache_pid != os.getpid():  # a forked child must not reuse its parent's clients
            _cache.clear()
            _cache_pid = os.getpid()
        store = _cache.get(ident)
        if store is None:
            store = _cache[ident] = _build(uri)
        return store


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # the parent's may have been held by another thread


os.register_at_fork(after_in_child=_after_fork_in_child)


def _build(uri: ObjectURI) -> ObjectStore:
    if uri.scheme == "s3":
        return S3Store(uri.bucket, uri.endpoint)
    if uri.scheme == "az":
        assert uri.account is not None
        return AzureStore(uri.account, uri.bucket)
    if uri.scheme == "gs":
        return GCSStore(uri.bucket, uri.spelling or "gs")
    raise UnsupportedOperationError(f"no backend for {uri.scheme}://", uri=str(uri))


def _fingerprint(scheme: str) -> int:
    settings: object = {"s3": config.aws, "az": config.azure, "gs": config.gcs}[scheme]()
    return hash(tuple(vars(settings).values()))


def clear_cache() -> None:
    """Forget every cached cloud store (after a credential or endpoint change)."""
    with _lock:
        _cache.clear()
