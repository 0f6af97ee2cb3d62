"""Retries: real servers behind a fault-injecting proxy (tests/fault_proxy.py).

Each store talks to the real SeaweedFS / Azurite / fake-gcs-server through a proxy that answers
chosen requests itself (503 SlowDown, 429, 500, 403...) or resets the connection, and records
every request. Assertions count attempts and bound waits from below only, never from above.
Backoffs are made tiny through the environment (``S3DLIO_RETRY_*_BACKOFF_MS``).

Reads and S3/Azure writes go through obstore's retry loop; GCS writes (JSON API on the
emulator), bucket administration and the presigned parts of parallel range GETs go through
s3dlio's own (stores/_http.py), which also honours ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from tests.conftest import BACKENDS, CLOUD
from tests.fault_proxy import Fault, FaultProxy, slow_down

import s3dlio
import s3dlio.stores
from s3dlio import config
from s3dlio.retry import RetryBudget, retry_after, retryable_status
from s3dlio.settings import RetryPolicy

ATTEMPTS = 4  # S3DLIO_MAX_RETRY_ATTEMPTS in these tests


@dataclass
class Proxied:
    """A fresh prefix on one backend, reached through ``proxy``."""

    scheme: str
    proxy: FaultProxy
    base: str
    secrets: list[str]

    def uri(self, key: str) -> str:
        return f"{self.base}/{key}"

    @property
    def write_method(self) -> str:
        # GCS writes use the JSON upload API on the emulator (a POST); the others PUT.
        return "POST" if self.scheme == "gs" else "PUT"


def _proxied(
    scheme: str, servers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Proxied]:
    if scheme not in BACKENDS:
        pytest.skip(f"backend {scheme} not selected (S3DLIO_TEST_BACKENDS)")
    monkeypatch.setenv("S3DLIO_MAX_RETRY_ATTEMPTS", str(ATTEMPTS))
    monkeypatch.setenv("S3DLIO_RETRY_INITIAL_BACKOFF_MS", "1")
    monkeypatch.setenv("S3DLIO_RETRY_MAX_BACKOFF_MS", "20")
    prefix = f"retry-{uuid.uuid4().hex[:12]}"
    if scheme == "s3":
        proxy = FaultProxy(servers["AWS_ENDPOINT_URL"])
        # The endpoint in the URI: the store talks to the proxy, signing for its address.
        base = f"s3://127.0.0.1:{proxy.port}/{servers['S3DLIO_TEST_S3_BUCKET']}/{prefix}"
    elif scheme == "az":
        proxy = FaultProxy(servers["AZURE_STORAGE_ENDPOINT"])
        monkeypatch.setenv("AZURE_STORAGE_ENDPOINT", proxy.url)
        account, container = servers["AZURE_STORAGE_ACCOUNT"], servers["S3DLIO_TEST_AZ_CONTAINER"]
        base = f"az://{account}/{container}/{prefix}"
    else:
        # fake-gcs-server routes XML-API requests by Host: the proxy presents the upstream's.
        proxy = FaultProxy(servers["GCS_ENDPOINT_URL"], rewrite_host=True)
        monkeypatch.setenv("GCS_ENDPOINT_URL", proxy.url)
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
        base = f"gs://{servers['S3DLIO_TEST_GCS_BUCKET']}/{prefix}"
    secrets = [
        servers[name]
        for name in ("AWS_SECRET_ACCESS_KEY", "AZURE_STORAGE_ACCOUNT_KEY", "S3DLIO_AZURE_SAS_TOKEN")
        if name in servers
    ]
    s3dlio.stores.clear_cache()
    with proxy:
        yield Proxied(scheme, proxy, base, secrets)
    s3dlio.stores.clear_cache()


@pytest.fixture(params=[b for b in BACKENDS if b in CLOUD])
def proxied(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proxied]:
    """Each object store in turn, behind a fresh proxy, with tiny backoffs."""
    yield from _proxied(request.param, request.getfixturevalue("servers"), monkeypatch)


@pytest.fixture(params=[b for b in BACKENDS if b in ("s3", "az")])
def authed_proxied(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Proxied]:
    """The object stores whose test server checks credentials (fake-gcs accepts any)."""
    yield from _proxied(request.param, request.getfixturevalue("servers"), monkeypatch)


@pytest.fixture
def gcs_proxied(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Proxied]:
    """GCS on the emulator: its writes are s3dlio's own HTTP requests (JSON API)."""
    yield from _proxied("gs", request.getfixturevalue("servers"), monkeypatch)


@pytest.fixture
def s3_proxied(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Proxied]:
    """S3: its bucket administration is s3dlio's own HTTP request (a presigned URL)."""
    yield from _proxied("s3", request.getfixturevalue("servers"), monkeypatch)


def _seed(p: Proxied, key: str, data: bytes) -> str:
    uri = p.uri(key)
    s3dlio.put_bytes(uri, data)
    p.proxy.clear()
    return uri


# -- what is retried ---------------------------------------------------------------------------

FAULTS = {
    "503-slowdown": slow_down(),
    "429": slow_down(status=429),
    "500": Fault("status", status=500, body=b"internal error"),
    "reset-before-reply": Fault("reset"),
    "reset-mid-body": Fault("reset_body"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_get_succeeds_after_transient_faults(proxied: Proxied, fault: str) -> None:
    data = bytes(range(256)) * 64
    uri = _seed(proxied, "obj", data)
    proxied.proxy.inject(FAULTS[fault], times=2, method="GET", path="/obj")
    assert s3dlio.get(uri) == data
    attempts = proxied.proxy.requests("GET", "/obj")
    assert len(attempts) == 3, [r.outcome for r in attempts]
    assert attempts[-1].outcome == "forwarded"


@pytest.mark.parametrize("fault", ["503-slowdown", "429", "500", "reset-before-reply"])
def test_put_succeeds_after_transient_faults(proxied: Proxied, fault: str) -> None:
    proxied.proxy.inject(FAULTS[fault], times=2, method=proxied.write_method, path="/obj")
    s3dlio.put_bytes(proxied.uri("obj"), b"written through faults")
    attempts = proxied.proxy.requests(proxied.write_method, "/obj")
    assert len(attempts) == 3, [r.outcome for r in attempts]
    assert s3dlio.get(proxied.uri("obj")) == b"written through faults"


# Where each backend's multipart/streaming writer sends a part other than the first.
PART_MARKER = {"s3": "partNumber=2", "az": "comp=block", "gs": "upload_id="}


def test_multipart_part_upload_is_retried(
    proxied: Proxied, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S3DLIO_MULTIPART_THRESHOLD_MB", "5")
    monkeypatch.setenv("S3DLIO_MULTIPART_PART_SIZE_MB", "5")
    data = random.Random(5).randbytes(11 << 20)
    proxied.proxy.inject(slow_down(), times=2, method="PUT", path=PART_MARKER[proxied.scheme])
    s3dlio.put_bytes(proxied.uri("big"), data)
    refused = [r for r in proxied.proxy.requests("PUT") if r.outcome == "status 503"]
    assert len(refused) == 2
    assert s3dlio.get(proxied.uri("big")) == data


def test_list_is_retried(proxied: Proxied) -> None:
    for i in range(3):
        s3dlio.put_bytes(proxied.uri(f"dir/k{i}"), b"x")
    proxied.proxy.clear()
    proxied.proxy.inject(slow_down(), times=2, method="GET", path="")
    keys = s3dlio.list(proxied.uri("dir/"), recursive=True)
    assert sorted(k.rsplit("/", 1)[-1] for k in keys) == ["k0", "k1", "k2"]
    assert [r.outcome for r in proxied.proxy.requests("GET")][:2] == ["status 503"] * 2


def test_a_batch_delete_dropped_by_the_network_is_made_again(proxied: Proxied) -> None:
    """A batch delete is a POST (S3 DeleteObjects, Azure Blob Batch), which obstore does not
    resend after a dropped connection; the deletes are idempotent, so s3dlio makes them again
    key by key. (GCS deletes key by key anyway.)"""
    for i in range(5):
        s3dlio.put_bytes(proxied.uri(f"batch/k{i}"), b"x")
    proxied.proxy.clear()
    proxied.proxy.inject(
        Fault("reset"), times=1, method="POST" if proxied.scheme != "gs" else "DELETE"
    )
    s3dlio.delete(proxied.uri("batch"), recursive=True)
    assert s3dlio.list(proxied.uri("batch/"), recursive=True) == []
    assert [r.outcome for r in proxied.proxy.requests()].count("reset") == 1  # it did fire


# -- when retries run out ------------------------------------------------------------------------


def test_throttling_beyond_max_attempts_raises_throttled_error_naming_uri(
    proxied: Proxied,
) -> None:
    uri = _seed(proxied, "hot", b"x")
    proxied.proxy.inject(slow_down(), times=100, method="GET", path="/hot")
    with pytest.raises(s3dlio.ThrottledError) as info:
        s3dlio.get(uri)
    err = info.value
    assert err.uri == uri and err.operation == "get"
    assert f"{ATTEMPTS} attempts" in str(err)
    assert len(proxied.proxy.requests("GET", "/hot")) == ATTEMPTS
    for secret in proxied.secrets:
        assert secret not in str(err) and secret not in repr(err)


def test_throttled_write_beyond_max_attempts_raises_throttled_error(proxied: Proxied) -> None:
    uri = proxied.uri("hot-write")
    proxied.proxy.inject(
        slow_down(status=429), times=100, method=proxied.write_method, path="/hot-write"
    )
    with pytest.raises(s3dlio.ThrottledError) as info:
        s3dlio.put_bytes(uri, b"never stored")
    assert info.value.uri == uri
    assert f"{ATTEMPTS} attempts" in str(info.value)
    assert len(proxied.proxy.requests(proxied.write_method, "/hot-write")) == ATTEMPTS
    with pytest.raises(s3dlio.ObjectNotFoundError):
        s3dlio.get(uri)


def test_connection_resets_beyond_max_attempts_raise_network_error(proxied: Proxied) -> None:
    uri = _seed(proxied, "flaky", b"x")
    proxied.proxy.inject(Fault("reset"), times=100, method="GET", path="/flaky")
    with pytest.raises(s3dlio.NetworkError) as info:
        s3dlio.get(uri)
    assert info.value.uri == uri
    assert len(proxied.proxy.requests("GET", "/flaky")) == ATTEMPTS


def test_max_attempts_one_disables_retries(
    proxied: Proxied, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S3DLIO_MAX_RETRY_ATTEMPTS", "1")
    s3dlio.stores.clear_cache()  # stores read the policy when built
    uri = _seed(proxied, "once", b"x")
    proxied.proxy.inject(slow_down(), times=1, method="GET", path="/once")
    with pytest.raises(s3dlio.ThrottledError):
        s3dlio.get(uri)
    assert len(proxied.proxy.requests("GET", "/once")) == 1


# -- what fails fast -----------------------------------------------------------------------------
# The injected fault is answered once; a retry would reach the real server and succeed, so a
# raised error together with a single attempt proves there was no retry.


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (403, s3dlio.PermissionDeniedError),
        (404, s3dlio.ObjectNotFoundError),
        (400, s3dlio.S3dlioError),
    ],
)
def test_client_errors_fail_fast(proxied: Proxied, status: int, error: type[Exception]) -> None:
    uri = _seed(proxied, "denied", b"x")
    proxied.proxy.inject(Fault("status", status=status, body=b"<Error/>"), method="GET")
    with pytest.raises(error):
        s3dlio.get(uri)
    assert len(proxied.proxy.requests("GET", "/denied")) == 1


def test_missing_object_fails_after_one_request(proxied: Proxied) -> None:
    with pytest.raises(s3dlio.ObjectNotFoundError):
        s3dlio.get(proxied.uri("never-written"))  # the real server's 404
    assert len(proxied.proxy.requests("GET", "/never-written")) == 1


def test_wrong_credentials_fail_after_one_request(
    authed_proxied: Proxied, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxied = authed_proxied
    if proxied.scheme == "s3":
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    else:
        monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", "bm90LXRoZS1rZXk=")
    s3dlio.stores.clear_cache()
    with pytest.raises(s3dlio.PermissionDeniedError) as info:
        s3dlio.get(proxied.uri("k"))  # the real server's 403
    assert "not-the-secret" not in str(info.value) and "bm90LXRoZS1rZXk" not in str(info.value)
    assert len(proxied.proxy.requests("GET", "/k")) == 1


# -- s3dlio's own HTTP requests: Retry-After and idempotency --------------------------------------


def test_retry_after_is_honoured_on_own_requests(gcs_proxied: Proxied) -> None:
    proxy = gcs_proxied.proxy
    proxy.inject(slow_down(retry_after="1"), times=1, method="POST", path="/obj")
    s3dlio.put_bytes(gcs_proxied.uri("obj"), b"after a pause")
    first, second = proxy.requests("POST", "/obj")
    assert first.outcome == "status 503" and second.outcome == "forwarded"
    assert second.at - first.at >= 1.0  # the backoff alone would be about 1 ms
    assert s3dlio.get(gcs_proxied.uri("obj")) == b"after a pause"


def test_retry_after_beyond_budget_fails_at_once(
    gcs_proxied: Proxied, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S3DLIO_RETRY_TIMEOUT_SECS", "5")
    proxy = gcs_proxied.proxy
    proxy.inject(slow_down(retry_after="120", status=429), times=1, method="POST", path="/obj")
    with pytest.raises(s3dlio.ThrottledError) as info:
        s3dlio.put_bytes(gcs_proxied.uri("obj"), b"x")
    assert "retry after 120 s" in str(info.value)
    assert len(proxy.requests("POST", "/obj")) == 1


def test_non_idempotent_request_is_not_resent_after_a_dropped_connection(
    gcs_proxied: Proxied,
) -> None:
    # Creating a bucket is a POST: after a reset the server may have acted, so no retry...
    proxy = gcs_proxied.proxy
    name = f"made-{uuid.uuid4().hex[:12]}"
    proxy.inject(Fault("reset"), times=1, method="POST", path="/storage/v1/b")
    with pytest.raises(s3dlio.NetworkError):
        s3dlio.create_bucket(f"gs://{name}")
    assert len(proxy.requests("POST", "/storage/v1/b")) == 1
    # ... but a refusal (503) says it did not act: that is retried.
    proxy.clear()
    proxy.inject(slow_down(), times=1, method="POST", path="/storage/v1/b")
    s3dlio.create_bucket(f"gs://{name}")
    assert len(proxy.requests("POST", "/storage/v1/b")) == 2


def test_s3_bucket_creation_is_retried_when_throttled(s3_proxied: Proxied) -> None:
    proxy = s3_proxied.proxy
    name = f"made-{uuid.uuid4().hex[:12]}"
    proxy.inject(slow_down(), times=2, method="PUT", path=f"/{name}")
    s3dlio.create_bucket(f"s3://127.0.0.1:{proxy.port}/{name}")
    assert len(proxy.requests("PUT", f"/{name}")) == 3
    s3dlio.delete_bucket(f"s3://127.0.0.1:{proxy.port}/{name}")


# -- the policy itself (no storage involved) ----------------------------------------------------


def test_retry_policy_defaults_and_obstore_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "S3DLIO_MAX_RETRY_ATTEMPTS",
        "S3DLIO_RETRY_INITIAL_BACKOFF_MS",
        "S3DLIO_RETRY_MAX_BACKOFF_MS",
        "S3DLIO_RETRY_TIMEOUT_SECS",
    ):
        monkeypatch.delenv(name, raising=False)
    policy = config.retry_policy()
    assert (policy.max_attempts, policy.initial_backoff, policy.max_backoff, policy.timeout) == (
        5,
        0.1,
        10.0,
        30.0,
    )
    obstore_config = policy.obstore_config()
    assert obstore_config["max_retries"] == 4
    monkeypatch.setenv("S3DLIO_MAX_RETRY_ATTEMPTS", "0")
    monkeypatch.setenv("S3DLIO_RETRY_MAX_BACKOFF_MS", "1")  # below the initial: raised to it
    policy = config.retry_policy()
    assert policy.max_attempts == 1 and policy.max_backoff == policy.initial_backoff
    monkeypatch.setenv("S3DLIO_RETRY_TIMEOUT_SECS", "soon")
    with pytest.raises(s3dlio.InvalidArgumentError):
        config.retry_policy()


def test_backoff_is_jittered_exponential_and_capped() -> None:
    policy = RetryPolicy(max_attempts=50, initial_backoff=0.1, max_backoff=5.0, timeout=1e9)
    waits = []
    budget = RetryBudget(policy, rng=random.Random(1))
    while (wait := budget.next_wait()) is not None:
        waits.append(wait)
    assert len(waits) == 49 and budget.attempts == 50
    assert waits[0] == 0.1
    for previous, wait in itertools.pairwise(waits):
        assert 0.1 <= wait <= min(5.0, previous * policy.backoff_base)
    assert len(set(waits)) > 40  # drawn, not a fixed schedule
    assert max(waits) > 2.0  # it grows towards the cap


def test_budget_stops_at_timeout_and_reports_refused_retry_after() -> None:
    now = [0.0]
    policy = RetryPolicy(max_attempts=10, initial_backoff=1.0, max_backoff=1.0, timeout=3.0)
    budget = RetryBudget(policy, clock=lambda: now[0])
    assert budget.next_wait() == 1.0
    now[0] = 1.0
    assert budget.next_wait(server_wait=1.5) == 1.5  # a longer Retry-After wins
    now[0] = 2.5
    assert budget.next_wait() is None  # 2.5 + 1.0 would pass the 3 s budget
    assert budget.attempts == 3
    budget = RetryBudget(policy, clock=lambda: now[0])
    assert budget.next_wait(server_wait=60) is None
    assert "retry after 60 s" in budget.describe()


def test_retry_after_header_forms() -> None:
    assert retry_after({"retry-after": "2"}) == 2.0
    assert retry_after({"retry-after": " 0 "}) == 0.0
    assert retry_after({"retry-after": "-3"}) == 0.0
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, now=1445412500.0) == 10
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}) == 0.0  # past
    assert retry_after({"x-ms-retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({}) is None


def test_retryable_statuses() -> None:
    assert all(retryable_status(s) for s in (408, 429, 500, 502, 503, 504))
    assert not any(retryable_status(s) for s in (200, 301, 400, 401, 403, 404, 409, 412, 501))


def test_cloud_backends_are_all_covered() -> None:
    assert set(PART_MARKER) == set(CLOUD)


# -- payload signing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "signed"), [(None, True), ("1", False), ("0", True)], ids=["http", "on", "off"]
)
def test_s3_payload_signing(
    s3_proxied: Proxied, monkeypatch: pytest.MonkeyPatch, setting: str | None, signed: bool
) -> None:
    """Over plain http bodies are hashed into the signature unless S3DLIO_UNSIGNED_PAYLOAD=1
    (https endpoints default to unsigned: TLS protects the body, hashing costs CPU)."""
    if setting is not None:
        monkeypatch.setenv("S3DLIO_UNSIGNED_PAYLOAD", setting)
    s3dlio.stores.clear_cache()
    data = b"payload" * 1000
    s3dlio.put_bytes(s3_proxied.uri("signed.bin"), data)
    assert s3dlio.get(s3_proxied.uri("signed.bin")) == data
    (put,) = s3_proxied.proxy.requests("PUT", "/signed.bin")
    sha = put.headers["x-amz-content-sha256"]
    assert (sha != "UNSIGNED-PAYLOAD") is signed
    if signed:
        assert sha == hashlib.sha256(data).hexdigest()


# -- parallel range GETs ---------------------------------------------------------------------------

MiB = 1 << 20
# What marks a request sent to a presigned URL, on the backends whose store presigns.
PRESIGNED_MARKER = {"s3": "X-Amz-Signature=", "az": "sig="}


@pytest.fixture
def ranged(authed_proxied: Proxied, monkeypatch: pytest.MonkeyPatch) -> Proxied:
    """S3 and Azure behind the proxy; parallel GETs from 1 MiB on, in 1 MiB parts, 2 at once."""
    monkeypatch.setenv("S3DLIO_RANGE_THRESHOLD_MB", "1")
    monkeypatch.setenv("S3DLIO_RANGE_PART_SIZE_MB", "1")
    monkeypatch.setenv("S3DLIO_RANGE_CONCURRENCY", "2")
    return authed_proxied


SIZE = 3 * MiB + 5  # four parts: the open GET's, then three range requests


def _after_a_small_get(p: Proxied) -> None:
    """Read a small object, so the store's next whole-object GET opens through obstore (after
    a large one, or on a fresh store, it would be presigned); then forget the requests."""
    assert s3dlio.get(_seed(p, "small", b"s")) == b"s"
    p.proxy.clear()


@pytest.mark.parametrize("presigned", [True, False], ids=["presigned", "obstore"])
def test_parallel_get_parts_are_conditional_range_requests(
    ranged: Proxied, monkeypatch: pytest.MonkeyPatch, presigned: bool
) -> None:
    monkeypatch.setenv("S3DLIO_PRESIGNED_GET", "1" if presigned else "0")
    data = random.Random(7).randbytes(SIZE)
    uri = _seed(ranged, "big", data)
    _after_a_small_get(ranged)  # so the opening GET goes through obstore
    assert s3dlio.get(uri) == data
    gets = ranged.proxy.requests("GET", "/big")
    opening = [r for r in gets if "range" not in r.headers]
    parts = [r for r in gets if "range" in r.headers]
    assert len(opening) == 1 and len(gets) == 4
    assert sorted(r.headers["range"] for r in parts) == [
        f"bytes={s}-{min(s + MiB, SIZE) - 1}" for s in (MiB, 2 * MiB, 3 * MiB)
    ]
    # Every part is conditional on the version the first response came from.
    assert len({r.headers.get("if-match") for r in parts}) == 1
    assert parts[0].headers.get("if-match")
    marker = PRESIGNED_MARKER[ranged.scheme]
    assert all((marker in r.target) is presigned for r in parts)
    assert not any(secret in r.target for r in gets for secret in ranged.secrets)


def test_large_object_with_a_key_the_url_must_encode_is_read_whole(ranged: Proxied) -> None:
    data = random.Random(18).randbytes(SIZE)
    uri = _seed(ranged, "big dir/ü %?.bin", data)
    assert s3dlio.get(uri) == data  # its parts go through obstore, not a presigned URL
    assert not any(PRESIGNED_MARKER[ranged.scheme] in r.target for r in ranged.proxy.log)


@pytest.mark.parametrize("fault", ["503-slowdown", "500", "reset-before-reply", "reset-mid-body"])
def test_presigned_part_is_retried_after_transient_faults(ranged: Proxied, fault: str) -> None:
    data = random.Random(8).randbytes(SIZE)
    uri = _seed(ranged, "big", data)
    _after_a_small_get(ranged)
    marker = PRESIGNED_MARKER[ranged.scheme]
    ranged.proxy.inject(FAULTS[fault], times=2, method="GET", path=marker)
    assert s3dlio.get(uri) == data
    outcomes = [r.outcome for r in ranged.proxy.requests("GET", marker)]
    assert len(outcomes) == 5 and outcomes.count("forwarded") == 3, outcomes


def test_presigned_parts_survive_idle_connections_closed_by_the_server(
    ranged: Proxied, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = random.Random(13).randbytes(SIZE)
    uri = _seed(ranged, "big", data)
    assert s3dlio.get(uri) == data  # leaves kept-alive connections in the pool's threads
    ranged.proxy.close_idle_connections()
    # A connection the server closed while idle is replaced at once, spending no attempt.
    monkeypatch.setenv("S3DLIO_MAX_RETRY_ATTEMPTS", "1")
    for _ in range(3):
        assert s3dlio.get(uri) == data


def test_presigned_part_honours_retry_after(ranged: Proxied) -> None:
    data = random.Random(9).randbytes(SIZE)
    uri = _seed(ranged, "big", data)
    marker = PRESIGNED_MARKER[ranged.scheme]
    ranged.proxy.inject(slow_down(retry_after="1"), times=1, method="GET", path=marker)
    assert s3dlio.get(uri) == data
    parts = ranged.proxy.requests("GET", marker)
    (refused,) = [r for r in parts if r.outcome == "status 503"]
    # The other parts take milliseconds; the refused one is asked again a second later.
    assert max(r.at for r in parts) - refused.at >= 1.0


def test_presigned_part_gives_up_after_max_attempts(ranged: Proxied) -> None:
    uri = _seed(ranged, "big", random.Random(10).randbytes(SIZE))
    marker = PRESIGNED_MARKER[ranged.scheme]
    ranged.proxy.inject(slow_down(), times=100, method="GET", path=marker)
    with pytest.raises(s3dlio.ThrottledError) as info:
        s3dlio.get(uri)
    assert info.value.uri == uri and f"{ATTEMPTS} attempts" in str(info.value)
    assert not any(secret in str(info.value) for secret in ranged.secrets)


@pytest.mark.parametrize("mode", ["presigned-parts", "presigned-all", "obstore"])
def test_object_replaced_during_a_parallel_get_fails_instead_of_mixing_versions(
    ranged: Proxied, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("S3DLIO_PRESIGNED_GET", "0" if mode == "obstore" else "1")
    uri = _seed(ranged, "big", random.Random(11).randbytes(SIZE))
    if mode != "presigned-all":  # else the opening request is presigned too
        _after_a_small_get(ranged)
    newer = random.Random(12).randbytes(SIZE)
    seen: list[int] = []

    def replace_at_the_first_part() -> None:
        seen.append(1)
        if len(seen) == 2:  # the first GET is the open one; the second is a part
            s3dlio.put_bytes(uri, newer)

    ranged.proxy.inject(Fault("before", before=replace_at_the_first_part), times=2, method="GET")
    with pytest.raises(s3dlio.PreconditionFailedError) as info:
        s3dlio.get(uri)
    assert info.value.uri == uri
    assert s3dlio.get(uri) == newer


# -- whole-object GETs over presigned URLs -------------------------------------------------------


def test_whole_gets_go_presigned_while_the_objects_are_large(authed_proxied: Proxied) -> None:
    p = authed_proxied
    marker = PRESIGNED_MARKER[p.scheme]
    big = random.Random(14).randbytes(2 * MiB + 3)  # above the 1 MiB default
    small = random.Random(15).randbytes(3000)
    big_uri, small_uri = _seed(p, "big", big), _seed(p, "small", small)

    def last_get_presigned(key: str) -> bool:
        (last,) = p.proxy.requests("GET", f"/{key}")[-1:]
        assert "range" not in last.headers  # one whole-object request
        return marker in last.target

    # A fresh store guesses large objects: its first GET is presigned; after a small object
    # the next GET goes through obstore, after a large one the next is presigned again.
    assert s3dlio.get(small_uri) == small and last_get_presigned("small")
    assert s3dlio.get(small_uri) == small and not last_get_presigned("small")
    assert s3dlio.get(big_uri) == big and not last_get_presigned("big")
    assert s3dlio.get(big_uri) == big and last_get_presigned("big")
    assert s3dlio.get(small_uri) == small and last_get_presigned("small")
    assert not any(secret in r.target for r in p.proxy.log for secret in p.secrets)


def test_presigned_whole_get_edge_cases(
    authed_proxied: Proxied, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = authed_proxied
    monkeypatch.setenv("S3DLIO_PRESIGNED_GET_MIN_KB", "0")  # every whole-object GET
    empty_uri = _seed(p, "empty", b"")
    one_uri = _seed(p, "one", b"x")
    # Keys the URL must percent-encode go through obstore (Azurite rejects their SAS).
    odd_uri = _seed(p, "dir/a b%ü?.bin", b"odd")
    assert s3dlio.get(odd_uri) == b"odd"
    (odd,) = p.proxy.requests("GET")
    assert PRESIGNED_MARKER[p.scheme] not in odd.target
    delims_uri = _seed(p, "dir/a+b=c&d!e'f(g)*h,i;j:k@l$m~n_o-.bin", b"delims")
    assert s3dlio.get(delims_uri) == b"delims"  # presigned on Azure, not on S3 (encoded)
    p.proxy.clear()
    got = s3dlio.get(empty_uri)
    assert isinstance(got, s3dlio.BytesView) and got == b""
    assert s3dlio.get(one_uri) == b"x"
    missing = p.uri("missing")
    with pytest.raises(s3dlio.ObjectNotFoundError) as info:
        s3dlio.get(missing)
    assert info.value.uri == missing
    many = s3dlio.get_many([one_uri, empty_uri, one_uri], max_in_flight=3)
    assert [bytes(v) for _, v in many] == [b"x", b"", b"x"]
    marker = PRESIGNED_MARKER[p.scheme]
    gets = p.proxy.requests("GET")
    assert len(gets) == 6 and all(marker in r.target for r in gets)


@pytest.mark.parametrize("fault", ["503-slowdown", "reset-before-reply", "reset-mid-body"])
def test_presigned_whole_get_is_retried_after_transient_faults(
    authed_proxied: Proxied, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    p = authed_proxied
    monkeypatch.setenv("S3DLIO_PRESIGNED_GET_MIN_KB", "0")
    data = random.Random(16).randbytes(300_000)
    uri = _seed(p, "obj", data)
    marker = PRESIGNED_MARKER[p.scheme]
    p.proxy.inject(FAULTS[fault], times=2, method="GET", path=marker)
    assert s3dlio.get(uri) == data
    outcomes = [r.outcome for r in p.proxy.requests("GET", marker)]
    assert outcomes[-1] == "forwarded" and len(outcomes) == 3, outcomes


def test_presigned_whole_get_honours_retry_after(
    authed_proxied: Proxied, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = authed_proxied
    monkeypatch.setenv("S3DLIO_PRESIGNED_GET_MIN_KB", "0")
    uri = _seed(p, "obj", b"payload")
    p.proxy.inject(slow_down(retry_after="1", status=429), times=1, method="GET", path="/obj")
    assert s3dlio.get(uri) == b"payload"
    refused, served = p.proxy.requests("GET", "/obj")
    assert refused.outcome == "status 429" and served.outcome == "forwarded"
    assert served.at - refused.at >= 1.0  # the backoff alone would be milliseconds


def test_large_object_after_a_presigned_open_is_read_in_conditional_parts(
    ranged: Proxied, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S3DLIO_PRESIGNED_GET_MIN_KB", "0")
    data = random.Random(17).randbytes(SIZE)
    uri = _seed(ranged, "big", data)
    assert s3dlio.get(uri) == data
    gets = ranged.proxy.requests("GET", "/big")
    marker = PRESIGNED_MARKER[ranged.scheme]
    assert all(marker in r.target for r in gets)
    # The opening request only tells the size and ETag; all four parts are range requests.
    opening, *parts = gets
    assert "range" not in opening.headers and len(parts) == 4
    assert sorted(r.headers["range"] for r in parts) == [
        f"bytes={s}-{min(s + MiB, SIZE) - 1}" for s in (0, MiB, 2 * MiB, 3 * MiB)
    ]
    assert len({r.headers.get("if-match") for r in parts}) == 1 and parts[0].headers["if-match"]


def test_presigned_reads_only_without_a_proxy_in_the_way(monkeypatch: pytest.MonkeyPatch) -> None:
    from s3dlio.stores._http import direct_reachable

    for name in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert direct_reachable("http://127.0.0.1:9000/b/k?sig=x")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:3128")
    assert not direct_reachable("http://127.0.0.1:9000/b/k?sig=x")
    assert direct_reachable("https://127.0.0.1:9000/b/k?sig=x")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    assert direct_reachable("http://127.0.0.1:9000/b/k?sig=x")
