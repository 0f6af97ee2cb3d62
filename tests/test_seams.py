"""The seams the next layers build on: per-process state, settings passed in, the store registry
and its layers, the I/O layer (``s3dlio.io``), the one validator, and the memory budget."""

from __future__ import annotations

import base64
import dataclasses
import os
import pickle
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import s3dlio
import s3dlio.stores
from conftest import Backend, in_forked_child
from s3dlio import config, io, runtime, validate
from s3dlio.engine import bulk, transfer
from s3dlio.errors import (
    AlreadyExistsError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    ObjectNotFoundError,
    PermissionDeniedError,
    UnsupportedSchemeError,
)
from s3dlio.settings import AwsSettings, AzureSettings, GcsSettings, Settings, TransferConfig
from s3dlio.stores import Registry
from s3dlio.stores.base import ObjectStore
from s3dlio.stores.layers import StoreLayer
from s3dlio.uri import ObjectURI, parse_uri


def _mem(key: str = "") -> str:
    return f"memory://t-{uuid.uuid4().hex[:12]}/{key}"


# -- per-process state ------------------------------------------------------------------------


def test_per_process_value_is_made_once_and_again_in_a_forked_child() -> None:
    made: list[int] = []
    seen_by_on_fork: list[object] = []

    def factory() -> object:
        made.append(os.getpid())
        return object()

    holder = runtime.PerProcess(factory, on_fork=seen_by_on_fork.append)
    assert holder.peek() is None  # nothing is made until asked for
    parents = holder.get()
    assert holder.get() is parents and made == [os.getpid()]

    def in_child() -> bool:
        fresh = holder.peek() is None and seen_by_on_fork == [parents]
        child = holder.get()
        return fresh and child is not parents and holder.get() is child

    assert in_forked_child(in_child)
    assert holder.get() is parents and seen_by_on_fork == []  # the parent's is untouched


def test_per_process_makes_one_value_under_concurrent_first_use() -> None:
    made: list[object] = []
    holder = runtime.PerProcess(lambda: made.append(object()) or made[-1])
    barrier = threading.Barrier(8)
    results: list[object] = []

    def use() -> None:
        barrier.wait(timeout=30)
        results.append(holder.get())

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(made) == 1 and len(results) == 8 and all(r is made[0] for r in results)


# -- settings -----------------------------------------------------------------------------------


def test_settings_from_an_unchanged_environment_are_the_same_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("S3DLIO_RANGE_CONCURRENCY", "3")
    first = config.settings()
    assert config.settings() is first and first.transfer.range_concurrency == 3
    monkeypatch.setenv("S3DLIO_RANGE_CONCURRENCY", "5")
    assert config.settings().transfer.range_concurrency == 5


def test_settings_pickle_equal_and_hash_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-test-1")
    settings = config.settings()
    hash(settings)  # cached on the value: it must not travel with a pickle
    back = pickle.loads(pickle.dumps(settings))
    assert back == settings and hash(back) == hash(settings) and back.aws.region == "eu-test-1"
    assert "_hash" not in pickle.loads(pickle.dumps(settings)).__dict__


def test_settings_repr_hides_every_secret() -> None:
    secret = Settings(aws=AwsSettings("AKID", "TOPSECRET", "TOKENSECRET"))
    assert "TOPSECRET" not in repr(secret) and "TOKENSECRET" not in repr(secret)


def test_settings_passed_in_win_over_the_environment(backend: Backend) -> None:
    uri = backend.uri("settings/x.bin")
    s3dlio.put_bytes(uri, b"env")
    parsed = parse_uri(uri)
    env_store = s3dlio.stores.store_for(parsed)
    base = config.settings()
    other = dataclasses.replace(base, transfer=dataclasses.replace(base.transfer, copy_chunk=4096))
    mine = s3dlio.stores.store_for(parsed, other)
    assert mine is not env_store and mine.settings is other
    assert s3dlio.stores.store_for(parsed, other) is mine  # cached per settings
    assert bytes(io.get(uri, settings=other)) == b"env"


def test_credentials_passed_in_are_the_ones_used(cloud_backend: Backend) -> None:
    uri = cloud_backend.uri("creds.bin")
    s3dlio.put_bytes(uri, b"x")
    base = config.settings()
    if cloud_backend.scheme == "s3":
        wrong = dataclasses.replace(base, aws=dataclasses.replace(base.aws, secret_access_key="no"))
        none = dataclasses.replace(base, aws=AwsSettings(endpoint_url=base.aws.endpoint_url))
    elif cloud_backend.scheme == "az":
        bad_key = base64.b64encode(b"not the account key").decode()
        wrong = dataclasses.replace(
            base, azure=dataclasses.replace(base.azure, account_key=bad_key)
        )
        none = dataclasses.replace(base, azure=AzureSettings(endpoint=base.azure.endpoint))
    else:  # the emulator checks no credentials: only their absence can be shown
        wrong = None
        none = dataclasses.replace(base, gcs=GcsSettings())
    if wrong is not None:
        with pytest.raises(PermissionDeniedError):
            io.get(uri, settings=wrong)
    with pytest.raises(PermissionDeniedError, match="missing"):
        io.get(uri, settings=none)
    assert bytes(io.get(uri)) == b"x"  # the environment's still work


# -- the registry and layers ----------------------------------------------------------------


class _Counting(StoreLayer):
    calls: list[str]

    def __init__(self, inner: ObjectStore) -> None:
        super().__init__(inner)
        self.calls = []

    def get(self, key: str, offset: int = 0, length: int | None = None, **kw: Any) -> Any:
        self.calls.append(f"get {key}")
        return super().get(key, offset, length, **kw)

    def put(self, key: str, data: memoryview, *, create_only: bool = False) -> None:
        self.calls.append(f"put {key}")
        super().put(key, data, create_only=create_only)


@pytest.fixture
def counting_layer(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[_Counting]]:
    made: list[_Counting] = []

    def layer(store: ObjectStore, uri: object, settings: object) -> ObjectStore:
        wrapped = _Counting(store)
        made.append(wrapped)
        return wrapped

    monkeypatch.setattr(s3dlio.stores, "_default", Registry(layers=[layer]))
    yield made


def test_a_layer_sees_every_call_of_the_flat_api_and_bulk_calls(
    counting_layer: list[_Counting],
) -> None:
    base = _mem()
    s3dlio.put_bytes(base + "a", b"1")
    s3dlio.put_many([(base + "b", b"2"), (base + "c", b"3")])
    assert [bytes(v) for _, v in s3dlio.get_many([base + "a", base + "c"])] == [b"1", b"3"]
    (layer,) = counting_layer  # one store of one bucket, wrapped once
    assert sorted(layer.calls) == sorted(["put a", "put b", "put c", "get a", "get c"])
    assert s3dlio.list(base) == [base + "a", base + "b", base + "c"]  # forwarded primitives


def test_a_registry_serves_a_scheme_with_the_factory_registered_for_it() -> None:
    registry = Registry()
    with pytest.raises(UnsupportedSchemeError):
        registry.store_for(ObjectURI("nosuch", "b", "k"))  # type: ignore[arg-type]
    made: list[str] = []

    def factory(uri: Any, settings: Settings) -> ObjectStore:
        from s3dlio.stores.memory import MemoryStore

        made.append(uri.bucket)
        return MemoryStore(uri.bucket, settings)

    registry.register("memory", factory)
    store = registry.store_for(parse_uri("memory://reg-b/x"))
    assert made == ["reg-b"] and registry.store_for(parse_uri("memory://reg-b/y")) is store


def test_the_memory_store_works_through_the_flat_api() -> None:
    base = _mem("d/")
    s3dlio.put_bytes(base + "one.bin", b"one")
    s3dlio.put_bytes(base + "sub/two.bin", b"two")
    assert s3dlio.list(base) == [base + "one.bin", base + "sub/"]
    assert s3dlio.list(base, recursive=True) == [base + "one.bin", base + "sub/two.bin"]
    assert s3dlio.get_range(base + "sub/two.bin", 1, 5) == b"wo"
    s3dlio.delete(base, recursive=True)
    assert s3dlio.list(base, recursive=True) == []
    with pytest.raises(FileNotFoundError):
        s3dlio.get(base + "one.bin")


# -- the I/O layer ------------------------------------------------------------------------------


def test_io_get_into_fills_a_numpy_array_in_place(backend: Backend) -> None:
    data = np.random.default_rng(1).integers(0, 255, 100_000, dtype=np.uint8)
    uri = backend.uri("into.bin")
    io.put(uri, data)
    out = np.full(120_000, 7, dtype=np.uint8)
    assert io.get_into(uri, out) == 100_000
    assert np.array_equal(out[:100_000], data) and (out[100_000:] == 7).all()
    part = bytearray(10)
    assert io.get_into(uri, part, 99_995) == 5 and bytes(part[:5]) == data[-5:].tobytes()
    with pytest.raises(InvalidArgumentError, match="writable"):
        io.get_into(uri, b"read-only")


def test_io_create_only_put_writes_once(backend: Backend) -> None:
    uri = backend.uri("marker")
    io.put(uri, b"first", create_only=True)
    with pytest.raises(AlreadyExistsError):
        io.put(uri, b"second", create_only=True)
    assert s3dlio.get(uri) == b"first"
    io.put(uri, b"third")  # a plain put still replaces
    assert s3dlio.get(uri) == b"third"


def test_io_copy_within_and_across_stores(backend: Backend) -> None:
    data = os.urandom(70_000)
    src = backend.uri("c/src.bin")
    io.put(src, data)
    assert io.copy(src, backend.uri("c/same.bin")) == len(data)
    other = _mem("copied.bin")
    assert io.copy(src, other) == len(data)
    assert s3dlio.get(backend.uri("c/same.bin")) == data and s3dlio.get(other) == data
    with pytest.raises(ObjectNotFoundError):
        io.copy(backend.uri("c/missing"), _mem("x"))


def test_io_open_reader_is_a_seekable_file(backend: Backend) -> None:
    data = os.urandom(50_000)
    uri = backend.uri("r.bin")
    io.put(uri, data)
    with io.open_reader(uri, tail=1000) as f:
        assert f.seekable() and f.size == len(data)
        f.seek(-10, os.SEEK_END)
        assert f.read() == data[-10:]  # from the cached tail
        f.seek(100)
        buf = bytearray(1000)
        assert f.readinto(buf) == 1000 and bytes(buf) == data[100:1100]
        assert f.tell() == 1100
        f.seek(0)
        assert f.read(5) == data[:5]


def test_io_open_writer_publishes_on_close_only() -> None:
    uri = _mem("w.bin")
    with io.open_writer(uri) as w:
        w.write(memoryview(b"ab"))
        assert not io.exists(uri)
        w.write(memoryview(b"cd"))
    assert s3dlio.get(uri) == b"abcd"


# -- deletes count what existed -----------------------------------------------------------------


def test_delete_counts_only_objects_that_existed(backend: Backend) -> None:
    s3dlio.put_many([(backend.uri(f"del/{i}"), b"x") for i in range(3)])
    assert transfer.delete(backend.uri("del/0"), recursive=False, pattern=None) == 1
    missing = transfer.delete(backend.uri("del/0"), recursive=False, pattern=None)
    assert missing == (1 if backend.scheme == "s3" else 0)  # S3 does not tell (documented)
    assert transfer.delete(backend.uri("del"), recursive=True, pattern=None) == 2


# -- one validator ----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [True, 1.5, "4", None])
def test_counts_of_the_wrong_type_raise_type_error_naming_the_parameter(bad: object) -> None:
    with pytest.raises(TypeError, match="max_in_flight") as info:
        s3dlio.get_many([_mem("x")], max_in_flight=bad)  # type: ignore[arg-type]
    assert isinstance(info.value, InvalidArgumentTypeError) and isinstance(info.value, RuntimeError)


@pytest.mark.parametrize(
    "call",
    [
        lambda: s3dlio.get_many([_mem("x")], max_in_flight=0),
        lambda: s3dlio.put_many([(_mem("x"), b"1")], max_in_flight=-1),
        lambda: s3dlio.put(_mem(), num=-1, size=1),
        lambda: s3dlio.get_range(_mem("x"), -1, 2),
        lambda: s3dlio.upload(["/nonexistent"], _mem(), max_in_flight=0),
        lambda: s3dlio.download(_mem(), "/tmp/x", max_in_flight=0),
        lambda: s3dlio.generate_data_with_threads(10, threads=0),
    ],
    ids=["get_many", "put_many", "put", "get_range", "upload", "download", "datagen"],
)
def test_counts_out_of_range_raise_value_error(call: Any) -> None:
    with pytest.raises(ValueError) as info:
        call()
    assert not isinstance(info.value, TypeError)


def test_the_validator_accepts_numpy_integers_and_names_the_parameter() -> None:
    assert validate.count("n", np.int64(5), 1) == 5
    with pytest.raises(InvalidArgumentError, match=r"n must be an integer >= 1, got 0"):
        validate.count("n", 0, 1)
    assert validate.optional_count("n", None) is None


# -- the memory budget --------------------------------------------------------------------------


def test_memory_budget_never_exceeds_its_limit_and_serves_in_order() -> None:
    budget = bulk.MemoryBudget(100)
    held = 0
    worst = 0
    lock = threading.Lock()
    order: list[int] = []

    def job(i: int) -> int:
        nonlocal held, worst
        with budget.reserve(60 if i % 5 == 0 else 30) as amount:
            with lock:
                order.append(i)
                held += amount
                worst = max(worst, held)
            with lock:
                held -= amount
        return 0

    runtime.map_bounded(job, list(range(40)), 8)
    assert worst <= 100 and budget.peak <= 100 and sorted(order) == list(range(40))
    with budget.reserve(10_000) as amount:  # one item above the budget runs, alone
        assert amount == 100


def test_bulk_copies_reserve_within_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A download of many large objects shrinks the per-object window so that all of them in
    flight fit the budget (here 8 objects x 4 pieces of 64 KiB would need 2 MiB; 256 KiB is
    allowed)."""
    budgets: list[bulk.MemoryBudget] = []

    class Recorded(bulk.MemoryBudget):
        def __init__(self, limit: int) -> None:
            super().__init__(limit)
            budgets.append(self)

    monkeypatch.setattr(transfer, "MemoryBudget", Recorded)
    base = config.settings()
    small = dataclasses.replace(
        base,
        transfer=TransferConfig(copy_chunk=64 << 10, memory_budget=256 << 10, range_concurrency=4),
    )
    monkeypatch.setattr(s3dlio.stores, "_default", Registry(settings=small))
    src = _mem("big/")
    blobs = {f"o{i}": os.urandom(300_000) for i in range(8)}
    s3dlio.put_many([(src + k, v) for k, v in blobs.items()])
    s3dlio.download(src, str(tmp_path / "out"), max_in_flight=8)
    for k, v in blobs.items():
        assert (tmp_path / "out" / k).read_bytes() == v
    (budget,) = budgets
    assert budget.limit == 256 << 10 and 0 < budget.peak <= 256 << 10
