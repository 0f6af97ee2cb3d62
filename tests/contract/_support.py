"""What every contract test is given, and small helpers shared by the contract modules.

A :class:`Contract` is one store and a prefix of its own: ``key(name)`` is a fresh key under
that prefix (for ``file``/``direct`` the key is an absolute path in the test's ``tmp_path``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from s3dlio.stores.base import ListPage, ObjectMeta, ObjectStore

__all__ = [
    "CLOUD",
    "IN_PROCESS",
    "LOCAL",
    "REAL",
    "Contract",
    "known_bug",
    "listed",
    "object_keys",
    "objects_of",
    "payload",
    "prefixes_of",
]

REAL = ["file", "direct", "s3", "az", "gs"]  # narrowed by S3DLIO_TEST_BACKENDS
CLOUD = ["s3", "az", "gs"]
LOCAL = ["file", "direct", "layer-file"]  # keys are filesystem paths
IN_PROCESS = ["memory", "layer-memory", "layer-file"]  # always run


class Contract:
    """One store under test (``store``) and a unique prefix in it (``prefix``)."""

    def __init__(self, name: str, store: ObjectStore, prefix: str) -> None:
        self.name = name
        self.store = store
        self.prefix = prefix

    def key(self, name: str = "") -> str:
        """A key under this test's prefix (``key("")`` is the prefix itself)."""
        return self.prefix + name

    def rel(self, key: str) -> str:
        """``key`` relative to this test's prefix."""
        assert key.startswith(self.prefix), (key, self.prefix)
        return key[len(self.prefix) :]

    @property
    def is_s3(self) -> bool:
        return self.name == "s3"

    @property
    def is_local(self) -> bool:
        return self.name in LOCAL

    def __repr__(self) -> str:
        return f"Contract({self.name!r}, prefix={self.prefix!r})"


def known_bug(*backends: str, reason: str) -> pytest.MarkDecorator:
    """Expect the test to fail on ``backends`` (a strict xfail there, a normal test elsewhere):
    a library bug, reported and left for the library's owners to fix. The contract conftest
    turns this mark into ``pytest.mark.xfail(strict=True, reason=...)`` per backend."""
    return pytest.mark.contract_known_bug(backends=tuple(backends), reason=reason)


def payload(size: int, seed: int = 0) -> bytes:
    """``size`` reproducible pseudo-random bytes."""
    return random.Random(seed).randbytes(size)


def listed(
    store: ObjectStore, prefix: str, recursive: bool = True, metadata: bool = True
) -> list[ListPage]:
    """Every page of a listing (bounded: a listing never yields more than 10,000 pages here)."""
    pages: list[ListPage] = []
    for page in store.list(prefix, recursive, metadata):
        assert isinstance(page, ListPage)
        pages.append(page)
        assert len(pages) < 10_000, "listing does not end"
    return pages


def objects_of(pages: Sequence[ListPage]) -> list[ObjectMeta]:
    return [meta for page in pages for meta in page.objects]


def object_keys(pages: Sequence[ListPage]) -> list[str]:
    return [meta.key for meta in objects_of(pages)]


def prefixes_of(pages: Sequence[ListPage]) -> list[str]:
    return [prefix for page in pages for prefix in page.prefixes]
