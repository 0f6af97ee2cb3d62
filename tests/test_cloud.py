"""Object-store specifics: credentials, endpoints, missing buckets, failures that must not be
mistaken for "missing", fork and pickling of stores, GCS write paths, cross-backend copies."""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import pickle
import signal
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import Backend, in_forked_child

import s3dlio
from s3dlio.engine.transfer import copy_object
from s3dlio.stores import clear_cache, store_for
from s3dlio.uri import parse_uri


@pytest.fixture
def fresh_clients() -> Iterator[None]:
    """Environment changes in a test must build new clients, and not leak into other tests."""
    clear_cache()
    yield
    clear_cache()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_missing_s3_credentials_fail_fast_and_name_the_variables(
    monkeypatch: pytest.MonkeyPatch, fresh_clients: None
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    t0 = time.monotonic()
    with pytest.raises(s3dlio.PermissionDeniedError, match="AWS_ACCESS_KEY_ID") as info:
        s3dlio.get("s3://bucket/key")
    assert time.monotonic() - t0 < 5
    assert isinstance(info.value, PermissionError)


def test_missing_azure_credentials(monkeypatch: pytest.MonkeyPatch, fresh_clients: None) -> None:
    for name in (
        "AZURE_STORAGE_ACCOUNT_KEY",
        "AZURE_STORAGE_KEY",
        "S3DLIO_AZURE_SAS_TOKEN",
        "AZURE_STORAGE_SAS_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(s3dlio.PermissionDeniedError, match="AZURE_STORAGE_ACCOUNT_KEY"):
        s3dlio.get("az://acct/container/key")


def test_missing_gcs_credentials(monkeypatch: pytest.MonkeyPatch, fresh_clients: None) -> None:
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GCS_ENDPOINT_URL", "STORAGE_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(s3dlio.PermissionDeniedError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        s3dlio.get("gs://bucket/key")


def test_missing_bucket_is_named(cloud_backend: Backend) -> None:
    parsed = parse_uri(cloud_backend.uri("k"))
    missing = parsed.root.replace(parsed.bucket, "no-such-bucket-s3dlio", 1) + "key"
    with pytest.raises(s3dlio.ObjectNotFoundError) as info:
        s3dlio.put_bytes(missing, b"x")
    assert "no-such-bucket-s3dlio" in str(info.value)
    with pytest.raises(s3dlio.ObjectNotFoundError):
        s3dlio.get(missing)


@pytest.mark.parametrize("scheme", ["s3", "az"])
def test_wrong_secret_is_denied_not_missing(
    scheme: str, servers: dict[str, str], monkeypatch: pytest.MonkeyPatch, fresh_clients: None
) -> None:
    if scheme == "s3":
        uri = f"s3://{servers['S3DLIO_TEST_S3_BUCKET']}/denied/key"
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
    else:
        uri = f"az://{servers['AZURE_STORAGE_ACCOUNT']}/{servers['S3DLIO_TEST_AZ_CONTAINER']}/k"
        monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", "d3Jvbmcta2V5LXdyb25nLWtleQ==")
    with pytest.raises(s3dlio.PermissionDeniedError):
        s3dlio.exists(uri)  # exists() must not turn "denied" into False
    with pytest.raises(s3dlio.PermissionDeniedError):
        s3dlio.put_bytes(uri, b"x")


def test_unreachable_endpoint_is_a_network_error_not_false(
    servers: dict[str, str], fresh_clients: None
) -> None:
    uri = f"s3://127.0.0.1:{closed_port()}/bucket/key"
    t0 = time.monotonic()
    with pytest.raises(s3dlio.NetworkError) as info:
        s3dlio.exists(uri)
    assert time.monotonic() - t0 < 30  # retries are bounded
    assert "127.0.0.1" in str(info.value)
    assert isinstance(info.value, ConnectionError)


def test_endpoint_inside_the_uri(
    servers: dict[str, str], monkeypatch: pytest.MonkeyPatch, fresh_clients: None
) -> None:
    endpoint = servers["AWS_ENDPOINT_URL"].removeprefix("http://")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    prefix = f"in-uri-{uuid.uuid4().hex}"
    uri = f"s3://{endpoint}/{servers['S3DLIO_TEST_S3_BUCKET']}/{prefix}/obj"
    s3dlio.put_bytes(uri, b"via the URI endpoint")
    assert s3dlio.get(uri) == b"via the URI endpoint"
    assert s3dlio.list(f"s3://{endpoint}/{servers['S3DLIO_TEST_S3_BUCKET']}/{prefix}/") == [uri]


def test_stores_are_cached_per_credentials(
    cloud_backend: Backend, monkeypatch: pytest.MonkeyPatch, fresh_clients: None
) -> None:
    parsed = parse_uri(cloud_backend.uri("k"))
    first = store_for(parsed)
    assert store_for(parsed) is first
    if parsed.scheme == "s3":
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "another")
    elif parsed.scheme == "az":
        monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", "YW5vdGhlcg==")
    else:
        monkeypatch.setenv("GCS_ENDPOINT_URL", "http://127.0.0.1:1")
    assert store_for(parsed) is not first


def test_store_pickles_and_works_after_unpickling(cloud_backend: Backend) -> None:
    s3dlio.put_bytes(cloud_backend.uri("p"), b"pickled")
    parsed = parse_uri(cloud_backend.uri("p"))
    clone = pickle.loads(pickle.dumps(store_for(parsed)))
    assert clone.get(parsed.key) == b"pickled"


def _child_get(uri: str, conn: object) -> None:
    # If the child hangs, its stacks reach the test's output before the parent kills it.
    faulthandler.dump_traceback_later(50, exit=False)
    s3dlio.put_bytes(uri + ".child", b"child")
    conn.send(bytes(s3dlio.get(uri)) + bytes(s3dlio.get(uri + ".child")))  # type: ignore[attr-defined]


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_child_processes_do_io_after_the_parent(cloud_backend: Backend, method: str) -> None:
    uri = cloud_backend.uri("mp")
    s3dlio.put_bytes(uri, b"parent-")
    assert s3dlio.get(uri) == b"parent-"  # the parent's client is live
    ctx = multiprocessing.get_context(method)
    parent_conn, child_conn = ctx.Pipe()
    proc = ctx.Process(target=_child_get, args=(uri, child_conn))
    proc.start()
    proc.join(timeout=60)
    if proc.is_alive():
        os.kill(proc.pid, signal.SIGKILL)
        pytest.fail(f"{method} child hung doing I/O after the parent")
    assert proc.exitcode == 0
    assert parent_conn.recv() == b"parent-child"
    assert s3dlio.get(uri + ".child") == b"child"  # and the parent still works


def test_a_forked_child_never_frees_the_parents_native_store(cloud_backend: Backend) -> None:
    # Freeing it runs Rust destructors that take locks a thread of the parent's runtime may
    # have held at the fork: that hung a forked child (in the store cache's clear()).
    uri = cloud_backend.uri("keep")
    s3dlio.put_bytes(uri, b"kept")
    assert s3dlio.get(uri) == b"kept"
    store = store_for(parse_uri(uri))
    parents = store._client.peek()  # type: ignore[attr-defined]  # (module, native store)
    assert parents is not None
    box = [parents]  # the test's only other reference, dropped in the child
    del parents
    refs = sys.getrefcount(box[0])

    def in_child() -> bool:
        # The store let go of it, and something else holds it for good.
        holder = store._client  # type: ignore[attr-defined]
        ok = holder._value is None and sys.getrefcount(box[0]) == refs
        box.clear()
        clear_cache()
        return ok and s3dlio.get(uri) == b"kept"

    assert in_forked_child(in_child)
    assert store._client.peek() is box[0]  # type: ignore[attr-defined]  # the parent's is untouched


class _Objects:
    """A map-style dataset over object URIs (what DataLoader workers pickle or inherit)."""

    def __init__(self, uris: list[str]) -> None:
        self.uris = uris

    def __len__(self) -> int:
        return len(self.uris)

    def __getitem__(self, i: int) -> bytes:
        return bytes(s3dlio.get(self.uris[i]))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_torch_dataloader_workers_read_after_parent(cloud_backend: Backend, method: str) -> None:
    if os.environ.get("S3DLIO_REQUIRE_TORCH") == "1":  # scripts/test installs torch
        import torch.utils.data as torch_data
    else:
        torch_data = pytest.importorskip("torch.utils.data")
    uris = [cloud_backend.uri(f"dl/{i}") for i in range(8)]
    s3dlio.put_many([(u, f"item{i}".encode()) for i, u in enumerate(uris)])
    assert len(s3dlio.get_many(uris)) == 8  # parent used the client before the workers start
    loader = torch_data.DataLoader(
        _Objects(uris),
        batch_size=None,
        num_workers=2,
        multiprocessing_context=method,
        timeout=60,
    )
    assert sorted(loader) == sorted(f"item{i}".encode() for i in range(8))


def test_gcs_xml_writes_fail_clearly_on_the_emulator(
    servers: dict[str, str], monkeypatch: pytest.MonkeyPatch, fresh_clients: None
) -> None:
    # fake-gcs-server implements no XML uploads; the JSON path is the default for emulators.
    uri = f"gs://{servers['S3DLIO_TEST_GCS_BUCKET']}/xml-path-{uuid.uuid4().hex}/obj"
    monkeypatch.setenv("S3DLIO_GCS_WRITE_API", "xml")
    with pytest.raises(s3dlio.S3dlioError) as info:
        s3dlio.put_bytes(uri, b"x")
    assert uri in str(info.value)
    assert not s3dlio.exists(uri)
    monkeypatch.setenv("S3DLIO_GCS_WRITE_API", "json")
    s3dlio.put_bytes(uri, b"x")
    assert s3dlio.get(uri) == b"x"


def test_gcs_json_writes_need_an_endpoint(
    monkeypatch: pytest.MonkeyPatch, fresh_clients: None, tmp_path: Path
) -> None:
    for name in ("GCS_ENDPOINT_URL", "STORAGE_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "sa.json"))
    monkeypatch.setenv("S3DLIO_GCS_WRITE_API", "json")
    with pytest.raises(s3dlio.InvalidArgumentError, match="GCS_ENDPOINT_URL"):
        s3dlio.put_bytes("gs://b/k", b"x")


def test_copy_between_every_pair_of_backends(servers: dict[str, str], tmp_path: Path) -> None:
    from tests.conftest import BACKENDS, _cloud_base

    bases = {}
    for scheme in BACKENDS:
        if scheme in ("file", "direct"):
            (tmp_path / scheme).mkdir()
            bases[scheme] = f"{scheme}://{tmp_path / scheme}"
        else:
            bases[scheme] = _cloud_base(scheme, servers)
    payload = os.urandom(20 << 20)  # several copy chunks: streamed, not read whole
    for src_scheme, src_base in bases.items():
        src = parse_uri(f"{src_base}/src.bin")
        s3dlio.put_bytes(str(src), payload)
        for dst_scheme, dst_base in bases.items():
            dst = parse_uri(f"{dst_base}/from-{src_scheme}.bin")
            n = copy_object(store_for(src), src.key, store_for(dst), dst.key)
            assert n == len(payload)
            assert s3dlio.get(str(dst)) == payload, f"{src_scheme} -> {dst_scheme}"


@pytest.mark.parametrize("key", ["x/../y", "x/./y", "x//y", "/lead", "trail/"])
def test_keys_object_stores_cannot_hold_are_refused(cloud_backend: Backend, key: str) -> None:
    # Such keys could otherwise escape a download directory, or be silently renamed.
    uri = cloud_backend.uri(key)
    with pytest.raises(s3dlio.InvalidArgumentError):
        s3dlio.put_bytes(uri, b"x")
    assert s3dlio.list(cloud_backend.uri(), recursive=True) == []


def test_create_and_delete_s3_bucket(servers: dict[str, str], tmp_path: Path) -> None:
    name = f"made-{uuid.uuid4().hex[:16]}"
    with pytest.raises(s3dlio.ObjectNotFoundError):
        s3dlio.put_bytes(f"s3://{name}/k", b"x")
    s3dlio.create_bucket(name)
    s3dlio.create_bucket(name)  # already yours: not an error
    s3dlio.put_bytes(f"s3://{name}/k", b"in the new bucket")
    assert s3dlio.get(f"s3://{name}/k") == b"in the new bucket"
    with pytest.raises(s3dlio.DirectoryNotEmptyError):
        s3dlio.delete_bucket(name)  # not empty: refused, nothing lost
    assert s3dlio.get(f"s3://{name}/k") == b"in the new bucket"
    s3dlio.delete(f"s3://{name}/k")
    s3dlio.delete_bucket(name)
    with pytest.raises(s3dlio.ObjectNotFoundError):
        s3dlio.put_bytes(f"s3://{name}/k", b"x")
    with pytest.raises(s3dlio.ObjectNotFoundError):
        s3dlio.delete_bucket(name)


def test_upload_and_put_create_the_bucket_when_asked(
    servers: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "f.txt").write_bytes(b"F")
    up, gen, gcs = (f"{k}-{uuid.uuid4().hex[:12]}" for k in ("up", "gen", "gcs-made"))
    s3dlio.upload([str(tmp_path / "f.txt")], f"s3://{up}/dir/", create_bucket=True)
    assert s3dlio.get(f"s3://{up}/dir/f.txt") == b"F"
    s3dlio.put(f"s3://{gen}/p", 2, size=10, should_create_bucket=True)
    assert len(s3dlio.list(f"s3://{gen}/p/")) == 2
    s3dlio.create_bucket(f"gs://{gcs}")  # the emulator, through the JSON API
    s3dlio.put_bytes(f"gs://{gcs}/k", b"g")
    assert s3dlio.get(f"gs://{gcs}/k") == b"g"


def test_unsupported_operations_raise_documented_errors(servers: dict[str, str]) -> None:
    az_root = f"az://{servers['AZURE_STORAGE_ACCOUNT']}/new-container"
    with pytest.raises(s3dlio.UnsupportedOperationError):
        s3dlio.create_bucket(az_root)
    with pytest.raises(s3dlio.UnsupportedOperationError):
        s3dlio.list_containers(f"s3://{servers['S3DLIO_TEST_S3_BUCKET']}/")
    with pytest.raises(s3dlio.InvalidArgumentError):
        s3dlio.create_bucket("file:///tmp/x")


def test_listing_a_missing_bucket_is_an_error_not_empty(cloud_backend: Backend) -> None:
    parsed = parse_uri(cloud_backend.uri("k"))
    missing = parsed.root.replace(parsed.bucket, "no-such-bucket-s3dlio", 1)
    with pytest.raises(s3dlio.S3dlioError) as info:
        s3dlio.list(missing, recursive=True)
    assert "no-such-bucket-s3dlio" in str(info.value)
    if parsed.scheme != "gs":  # fake-gcs-server answers 500, not 404, for a missing bucket
        assert isinstance(info.value, s3dlio.ObjectNotFoundError)


def test_azure_with_a_sas_token_only(
    servers: dict[str, str], monkeypatch: pytest.MonkeyPatch, fresh_clients: None
) -> None:
    assert servers["S3DLIO_AZURE_SAS_TOKEN"]
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_KEY")
    uri = f"az://{servers['AZURE_STORAGE_ACCOUNT']}/{servers['S3DLIO_TEST_AZ_CONTAINER']}/sas-{uuid.uuid4().hex}"
    s3dlio.put_bytes(uri, b"signed with a SAS")
    assert s3dlio.get(uri) == b"signed with a SAS"
    assert s3dlio.list(uri) == [uri]
    monkeypatch.setenv("S3DLIO_AZURE_SAS_TOKEN", "sv=2019-12-12&sig=bm90LXZhbGlk")
    with pytest.raises(s3dlio.PermissionDeniedError):
        s3dlio.get(uri)
