"""The store registry: which factory serves a scheme, one cached store per bucket and settings
per process, and the layers wrapped around every store it hands out.

A *factory* builds the store of one bucket/container (or filesystem) from a parsed URI and a
:class:`~s3dlio.settings.Settings` value. A *layer* is a callable ``(store, uri, settings) ->
store`` that wraps a store and keeps the :class:`~.base.ObjectStore` protocol (an op-log
recorder, a size cache, a multi-endpoint balancer); layers are applied in the order given,
the first innermost, once per cached store.

Factories are named by dotted path (``"s3dlio.stores.s3:S3Store.from_uri"``) and imported on
first use, so nothing heavy is imported before a scheme is used.

The cache holds one store per (scheme, bucket, endpoint, account, spelling, settings) and per
process: a forked child builds its own (see :class:`s3dlio.runtime.PerProcess`). Settings are
part of the identity, so a changed environment (or other settings passed in) gives a new store
rather than a silently reused one.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

from .. import config
from ..errors import UnsupportedSchemeError
from ..runtime import PerProcess
from ..settings import Settings
from ..uri import ObjectURI
from .base import ObjectStore

__all__ = ["Factory", "Layer", "Registry"]

Factory = Callable[[ObjectURI, Settings], ObjectStore]
Layer = Callable[[ObjectStore, ObjectURI, Settings], ObjectStore]

_BUILTIN: dict[str, str] = {
    "file": "s3dlio.stores.file:FileStore.from_uri",
    "direct": "s3dlio.stores.direct:DirectIOStore.from_uri",
    "s3": "s3dlio.stores.s3:S3Store.from_uri",
    "az": "s3dlio.stores.azure:AzureStore.from_uri",
    "gs": "s3dlio.stores.gcs:GCSStore.from_uri",
    "memory": "s3dlio.stores.memory:MemoryStore.from_uri",
}


def _load(path: str) -> Factory:
    module_name, _, attribute = path.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    factory: Factory = target
    return factory


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stores: dict[tuple[object, ...], ObjectStore] = {}


class Registry:
    """Scheme -> factory, a per-process store cache, and layers.

    Args:
        settings: the settings every store is built with; ``None`` (the default) takes
            :func:`s3dlio.config.settings` - the environment - at each lookup.
        layers: wrapped around every store handed out, first innermost.

    Thread-safe. A registry is cheap: make one per configuration (a client with other
    credentials, a run with the op-log on) rather than changing a shared one.
    """

    def __init__(self, *, settings: Settings | None = None, layers: Sequence[Layer] = ()) -> None:
        self.settings = settings
        self.layers: tuple[Layer, ...] = tuple(layers)
        self._factories: dict[str, Factory | str] = dict(_BUILTIN)
        self._cache: PerProcess[_Cache] = PerProcess(_Cache)

    def register(self, scheme: str, factory: Factory | str) -> None:
        """Serve ``scheme`` (canonical, as :func:`~s3dlio.uri.parse_uri` gives it) with
        ``factory`` (a callable or a ``"module:attribute"`` path); forgets cached stores."""
        self._factories[scheme] = factory
        self.clear()

    def store_for(self, uri: ObjectURI, settings: Settings | None = None) -> ObjectStore:
        """The store serving ``uri``'s bucket/container with ``settings`` (default: this
        registry's), layers applied; built on first use in this process, then cached.

        Raises :class:`~s3dlio.errors.UnsupportedSchemeError` for a scheme with no factory,
        and whatever the factory raises (missing credentials: ``PermissionDeniedError``).
        """
        chosen = settings or self.settings or config.settings()
        ident = (uri.scheme, uri.bucket, uri.endpoint, uri.account, uri.spelling, chosen)
        cache = self._cache.get()
        store = cache.stores.get(ident)
        if store is not None:
            return store
        with cache.lock:
            store = cache.stores.get(ident)
            if store is None:
                store = self._build(uri, chosen)
                cache.stores[ident] = store
            return store

    def _build(self, uri: ObjectURI, settings: Settings) -> ObjectStore:
        factory = self._factories.get(uri.scheme)
        if factory is None:
            raise UnsupportedSchemeError(
                f"no store is registered for {uri.scheme}://", uri=str(uri), operation="connect"
            )
        if isinstance(factory, str):
            factory = self._factories[uri.scheme] = _load(factory)
        store = factory(uri, settings)
        for layer in self.layers:
            store = layer(store, uri, settings)
        return store

    def clear(self) -> None:
        """Forget every cached store of this process (the next lookup builds new ones)."""
        cache = self._cache.get()
        with cache.lock:
            cache.stores.clear()
