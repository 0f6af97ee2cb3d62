"""The ``contract`` fixture: every contract test runs once per store under test.

Backends: ``file``, ``direct``, ``s3``, ``az``, ``gs`` (narrowed by ``S3DLIO_TEST_BACKENDS``,
as in ``tests/conftest.py``, whose ``servers`` fixture starts the cloud servers), ``memory``,
and a pass-through :class:`~s3dlio.stores.layers.StoreLayer` over ``memory://``
(``layer-memory``) and over ``file://`` (``layer-file``); the last three always run. Each test
gets a prefix of its own: a directory in ``tmp_path`` locally, ``t-<uuid>/`` in the test
bucket/container on the servers, a fresh bucket on ``memory://``.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from s3dlio.errors import ObjectNotFoundError
from s3dlio.stores import store_for
from s3dlio.stores.base import ObjectStore
from s3dlio.stores.layers import StoreLayer
from s3dlio.stores.memory import MemoryStore
from s3dlio.uri import parse_uri

from ._support import CLOUD, IN_PROCESS, REAL, Contract

_selected = os.environ.get("S3DLIO_TEST_BACKENDS", ",".join(REAL)).split(",")
CONTRACT_BACKENDS = [b for b in REAL if b in _selected] + IN_PROCESS


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "contract_known_bug(*backends, reason): a library bug on these backends "
        "(strict xfail there); see tests/contract/_support.py:known_bug",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or "contract" not in callspec.params:
            continue
        backend = callspec.params["contract"]
        for mark in item.iter_markers("contract_known_bug"):
            if backend in mark.kwargs["backends"]:
                item.add_marker(pytest.mark.xfail(strict=True, reason=mark.kwargs["reason"]))


def _cloud_uri(name: str, env: dict[str, str], prefix: str) -> str:
    if name == "s3":
        return f"s3://{env['S3DLIO_TEST_S3_BUCKET']}/{prefix}"
    if name == "az":
        return f"az://{env['AZURE_STORAGE_ACCOUNT']}/{env['S3DLIO_TEST_AZ_CONTAINER']}/{prefix}"
    return f"gs://{env['S3DLIO_TEST_GCS_BUCKET']}/{prefix}"


@pytest.fixture(params=CONTRACT_BACKENDS)
def contract(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Contract]:
    """One store under test and a fresh, empty prefix in it."""
    name: str = request.param
    memory: MemoryStore | None = None
    store: ObjectStore
    if name in ("file", "direct", "layer-file"):
        root = tmp_path / name
        root.mkdir()
        scheme = "direct" if name == "direct" else "file"
        store = store_for(parse_uri(f"{scheme}://{root}/"))
        prefix = f"{root}/"
    elif name in CLOUD:
        env: dict[str, str] = request.getfixturevalue("servers")
        uri = parse_uri(_cloud_uri(name, env, f"t-{uuid.uuid4().hex[:12]}/"))
        store = store_for(uri)
        prefix = uri.key
    else:  # memory, layer-memory: a bucket of its own
        store = store_for(parse_uri(f"memory://contract-{uuid.uuid4().hex[:12]}/"))
        assert isinstance(store, MemoryStore)
        memory = store
        prefix = "t/"
    if name.startswith("layer-"):
        store = StoreLayer(store)
    yield Contract(name, store, prefix)
    if memory is not None:  # give the process's memory back
        keys = [m.key for page in memory.list("") for m in page.objects]
        memory.delete_many(keys)
        with contextlib.suppress(ObjectNotFoundError):  # never written: no bucket
            memory.delete_bucket()
