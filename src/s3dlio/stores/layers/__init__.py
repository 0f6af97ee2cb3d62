"""Store layers: wrappers that keep the :class:`~s3dlio.stores.base.ObjectStore` protocol and
add one concern each (an op-log recorder, a size cache, multi-endpoint balancing).

:class:`StoreLayer` forwards every primitive to the store it wraps; a layer overrides the ones
its concern touches. Anything beyond the protocol (``create_bucket``, ``delete_bucket``, a
backend's own attributes) is forwarded too, so a wrapped store stands wherever a store stands.
Plug layers in through a registry: ``Registry(layers=[MyLayer.wrap])`` or
``s3dlio.stores.configure(layers=[...])``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ...buffers import BytesView
from ...settings import Settings
from ...uri import ObjectURI
from ..base import ListPage, ObjectMeta, ObjectStore, ObjectWriter

__all__ = ["StoreLayer"]


class StoreLayer:
    """A pass-through layer over ``inner``. Subclasses override what they change."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.scheme = inner.scheme
        self.settings: Settings = inner.settings

    @classmethod
    def wrap(cls, store: ObjectStore, uri: ObjectURI, settings: Settings) -> ObjectStore:
        """The registry's layer signature: ``cls(store)``."""
        return cls(store)

    def __getattr__(self, name: str) -> Any:
        # Only called for names not found on the layer: backend extras (create_bucket, root).
        if name == "inner":  # not yet set (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def uri(self, key: str) -> str:
        return self.inner.uri(key)

    def get(
        self, key: str, offset: int = 0, length: int | None = None, *, size_hint: int | None = None
    ) -> BytesView:
        return self.inner.get(key, offset, length, size_hint=size_hint)

    def get_into(self, key: str, buffer: memoryview, offset: int = 0) -> int:
        return self.inner.get_into(key, buffer, offset)

    def put(self, key: str, data: memoryview, *, create_only: bool = False) -> None:
        self.inner.put(key, data, create_only=create_only)

    def open_writer(self, key: str) -> ObjectWriter:
        return self.inner.open_writer(key)

    def head(self, key: str) -> ObjectMeta:
        return self.inner.head(key)

    def list(
        self, prefix: str, recursive: bool = True, metadata: bool = True
    ) -> Iterator[ListPage]:
        return self.inner.list(prefix, recursive, metadata)

    def delete_many(self, keys: Sequence[str]) -> int:
        return self.inner.delete_many(keys)

    def copy(self, src_key: str, dst_key: str) -> None:
        self.inner.copy(src_key, dst_key)

    def mkdir(self, key: str) -> None:
        self.inner.mkdir(key)

    def rmdir(self, key: str) -> None:
        self.inner.rmdir(key)
