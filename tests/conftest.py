"""Shared fixtures: every behavioural test runs once per backend, each in its own prefix.

``BACKENDS`` lists the schemes the suite covers; the cloud backends join this list (with
servers started by ``scripts/test-servers``) when they land.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

BACKENDS = ["file", "direct"]
_counter = itertools.count()


class Backend:
    """A fresh, empty prefix on one backend: ``uri(key)`` builds a URI under it."""

    def __init__(self, scheme: str, root: Path) -> None:
        self.scheme = scheme
        self.root = root
        self.base = f"{scheme}://{root}"

    def uri(self, key: str = "") -> str:
        return f"{self.base}/{key}"

    @property
    def is_local(self) -> bool:
        return self.scheme in ("file", "direct")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    root = tmp_path / f"{request.param}-{next(_counter)}"
    root.mkdir()
    yield Backend(request.param, root)
