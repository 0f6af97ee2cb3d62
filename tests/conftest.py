"""Shared fixtures: every behavioural test runs once per backend, each in its own prefix.

Backends: ``file`` and ``direct`` (a temp directory) and ``s3``, ``az``, ``gs`` (a unique
prefix in a bucket/container on SeaweedFS, Azurite and fake-gcs-server, started once per
session by ``scripts/test_servers.py`` and stopped at the end - unless they were already
running, in which case they are reused and left alone).

``S3DLIO_TEST_BACKENDS`` (comma-separated, default all five) narrows the set;
``S3DLIO_TEST_SERVERS_SCRIPT`` names another module with the same ``start``/``stop``/``env``
functions.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

import s3dlio.stores

LOCAL = ["file", "direct"]
CLOUD = ["s3", "az", "gs"]
BACKENDS = [
    b
    for b in os.environ.get("S3DLIO_TEST_BACKENDS", ",".join(LOCAL + CLOUD)).split(",")
    if b in LOCAL + CLOUD
]
_counter = itertools.count()
ROOT = Path(__file__).resolve().parent.parent


def _servers_module() -> ModuleType:
    default = str(ROOT / "scripts" / "test_servers.py")
    script = os.environ.get("S3DLIO_TEST_SERVERS_SCRIPT", default)
    spec = importlib.util.spec_from_file_location("test_servers", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, str]]:
    """Start the cloud servers the selected backends need; export their environment."""
    wanted = [b for b in BACKENDS if b in CLOUD]
    if not wanted:
        yield {}
        return
    module = _servers_module()
    kinds = ",".join(wanted)
    already = module.env()  # servers someone else started in the same state dir
    env: dict[str, str] = module.start(kinds)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    s3dlio.stores.clear_cache()
    try:
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if not already:
            module.stop(kinds)


class Backend:
    """A fresh, empty prefix on one backend: ``uri(key)`` builds a URI under it.

    ``root`` is the local directory for ``file``/``direct`` and ``None`` for object stores.
    """

    def __init__(self, scheme: str, base: str, root: Path | None) -> None:
        self.scheme = scheme
        self.base = base
        self.root = root

    def uri(self, key: str = "") -> str:
        return f"{self.base}/{key}"

    @property
    def is_local(self) -> bool:
        return self.scheme in LOCAL


def _cloud_base(scheme: str, env: dict[str, str]) -> str:
    prefix = f"t-{uuid.uuid4().hex[:12]}"
    if scheme == "s3":
        return f"s3://{env['S3DLIO_TEST_S3_BUCKET']}/{prefix}"
    if scheme == "az":
        return f"az://{env['AZURE_STORAGE_ACCOUNT']}/{env['S3DLIO_TEST_AZ_CONTAINER']}/{prefix}"
    return f"gs://{env['S3DLIO_TEST_GCS_BUCKET']}/{prefix}"


def _make(scheme: str, request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if scheme in LOCAL:
        root = tmp_path / f"{scheme}-{next(_counter)}"
        root.mkdir()
        return Backend(scheme, f"{scheme}://{root}", root)
    env = request.getfixturevalue("servers")
    return Backend(scheme, _cloud_base(scheme, env), None)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return _make(request.param, request, tmp_path)


@pytest.fixture(params=[b for b in BACKENDS if b in LOCAL])
def local_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Only ``file://`` and ``direct://``: for filesystem-specific behaviour."""
    return _make(request.param, request, tmp_path)


@pytest.fixture(params=[b for b in BACKENDS if b in CLOUD])
def cloud_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Only object stores."""
    return _make(request.param, request, tmp_path)


def in_forked_child(check: Callable[[], bool]) -> bool:
    """Run ``check`` in an ``os.fork`` child and return what it returned there (False if it
    raised or died). The child leaves with ``os._exit``, running no cleanup of the parent's; one
    that hangs is killed by an alarm after 60 s, so the parent never waits unboundedly."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        signal.alarm(60)
        try:
            os.write(write_end, b"ok" if check() else b"no")
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        _, status = os.waitpid(pid, 0)
        return os.read(read_end, 2) == b"ok" and status == 0
    finally:
        os.close(read_end)
