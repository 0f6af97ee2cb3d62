"""Backends behind the :class:`~s3dlio.stores.base.ObjectStore` protocol, and the default
:class:`~.registry.Registry` that hands out one store per bucket and settings per process.

``store_for(uri)`` is what every layer above calls; :func:`configure` replaces the default
registry's settings or layers for the whole process (the CLI passes its flags this way), and
a caller that needs another configuration next to the default makes a ``Registry`` of its own.
Backend classes are imported on first use of their scheme.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..settings import Settings
from ..uri import ObjectURI, parse_uri
from .base import ListPage, ObjectMeta, ObjectStore, ObjectWriter
from .registry import Layer, Registry

__all__ = [
    "Layer",
    "ListPage",
    "ObjectMeta",
    "ObjectStore",
    "ObjectWriter",
    "Registry",
    "clear_cache",
    "configure",
    "default_registry",
    "resolve",
    "store_for",
]

_default = Registry()


def default_registry() -> Registry:
    """The registry the flat API, the engine and the CLI resolve URIs with."""
    return _default


def configure(
    *, settings: Settings | None = None, layers: Sequence[Layer] | None = None
) -> Registry:
    """Replace the default registry by one with these ``settings`` (``None``: the environment)
    and ``layers`` (``None``: keep the current ones); return it. Stores already handed out
    keep working with what they were built with."""
    global _default
    new = Registry(settings=settings, layers=_default.layers if layers is None else layers)
    new._factories.update(_default._factories)
    _default = new
    return new


def store_for(uri: ObjectURI, settings: Settings | None = None) -> ObjectStore:
    """The store serving ``uri``'s bucket/container (cached per process and settings)."""
    return _default.store_for(uri, settings)


def resolve(uri: str, settings: Settings | None = None) -> tuple[ObjectStore, ObjectURI]:
    """The store serving ``uri`` and the parsed URI (``InvalidURIError`` when malformed)."""
    parsed = parse_uri(uri)
    return _default.store_for(parsed, settings), parsed


def clear_cache() -> None:
    """Forget every cached store of the default registry (they are rebuilt on next use)."""
    _default.clear()
