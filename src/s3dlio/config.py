"""Configuration: every environment variable s3dlio reads is read in this module.

Values are read when asked for (not cached at import), so a process may change its environment
before the first call. Cloud credentials are returned in objects whose ``repr`` hides secrets.

Local I/O knobs (defaults in brackets):

``S3DLIO_RT_THREADS`` [max(32, 8 x CPUs)]
    Size of the per-process worker pool that runs blocking I/O.
``S3DLIO_FSYNC`` [off]
    ``1`` makes ``file://``/``direct://`` writes ``fsync`` the data before the atomic rename
    (survives power loss, costs a disk flush per object).
``S3DLIO_DIRECT_IO_STRICT`` [off]
    ``1`` makes ``direct://`` raise when the filesystem refuses ``O_DIRECT`` (tmpfs, some
    overlays) instead of falling back to buffered I/O with a logged warning.
``S3DLIO_DIRECT_IO_ALIGN`` [4096]
    Alignment (bytes) of ``O_DIRECT`` buffers, offsets and lengths.
``S3DLIO_DIRECT_IO_BOUNCE_SIZE_MB`` [8] and ``S3DLIO_DIRECT_IO_BOUNCE_BUFFERS`` [4]
    Size and count of the bounded pool of aligned bounce buffers used by ``direct://`` writes;
    memory used by direct writes never exceeds their product.
``S3DLIO_DATAGEN_PURE`` [off]
    ``1`` makes data generation use its numpy code even when the C kernel ``s3dlio._fastgen``
    is built (same bytes, more CPU). Read once, when :mod:`s3dlio.datagen` is imported.

Retries (:func:`retry_policy`): ``S3DLIO_MAX_RETRY_ATTEMPTS`` [5],
``S3DLIO_RETRY_INITIAL_BACKOFF_MS`` [100], ``S3DLIO_RETRY_MAX_BACKOFF_MS`` [10000],
``S3DLIO_RETRY_TIMEOUT_SECS`` [30].
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

__all__ = [
    "AwsSettings",
    "AzureSettings",
    "GcsSettings",
    "RetryPolicy",
    "aws",
    "azure",
    "direct_io_align",
    "direct_io_bounce_buffers",
    "direct_io_bounce_size",
    "datagen_pure",
    "direct_io_strict",
    "env_flag",
    "fsync_writes",
    "gcs",
    "retry_policy",
    "retry_settings",
    "runtime_threads",
]

_TRUE = {"1", "true", "yes", "on"}


def _get(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def env_flag(name: str, default: bool = False) -> bool:
    """A boolean variable: ``1/true/yes/on`` (any case) is true, anything else set is false."""
    value = _get(name)
    if value is None:
        return default
    return value.strip().lower() in _TRUE


def _int(name: str, default: int, minimum: int = 1) -> int:
    value = _get(name)
    if value is None:
        return default
    try:
        parsed = int(value.strip())
    except ValueError:
        from .errors import InvalidArgumentError

        raise InvalidArgumentError(
            f"environment variable {name}={value!r} is not an integer", operation="config"
        ) from None
    return max(parsed, minimum)


_runtime_threads_override: int | None = None


def set_runtime_threads(n: int | None) -> None:
    """Programmatic override of ``S3DLIO_RT_THREADS`` (used by ``configure_tokio_threads``)."""
    global _runtime_threads_override
    _runtime_threads_override = n if n and n > 0 else None


def runtime_threads() -> int:
    if _runtime_threads_override is not None:
        return _runtime_threads_override
    return _int("S3DLIO_RT_THREADS", max(32, 8 * (os.cpu_count() or 1)))


def fsync_writes() -> bool:
    return env_flag("S3DLIO_FSYNC")


def direct_io_strict() -> bool:
    return env_flag("S3DLIO_DIRECT_IO_STRICT")


def datagen_pure() -> bool:
    """``S3DLIO_DATAGEN_PURE``: generate with numpy even when the C kernel is available."""
    return env_flag("S3DLIO_DATAGEN_PURE")


def direct_io_align() -> int:
    return _int("S3DLIO_DIRECT_IO_ALIGN", 4096, minimum=512)


def direct_io_bounce_size() -> int:
    return _int("S3DLIO_DIRECT_IO_BOUNCE_SIZE_MB", 8) << 20


def direct_io_bounce_buffers() -> int:
    return _int("S3DLIO_DIRECT_IO_BOUNCE_BUFFERS", 4)


_MiB = 1 << 20


def multipart_threshold() -> int:
    """Objects larger than this are uploaded in parts (``S3DLIO_MULTIPART_THRESHOLD_MB``, 32)."""
    return _int("S3DLIO_MULTIPART_THRESHOLD_MB", 32, minimum=0) * _MiB


def multipart_part_size(object_size: int) -> int:
    """Part size for an object of ``object_size`` bytes: ``S3DLIO_MULTIPART_PART_SIZE_MB``
    (default 16 MiB), raised so an object never needs more than 10,000 parts."""
    base = _int("S3DLIO_MULTIPART_PART_SIZE_MB", 16) * _MiB
    return max(base, -(-object_size // 10_000), 5 * _MiB)


def range_get_threshold() -> int | None:
    """Whole-object GETs of at least this many bytes are split into parallel range GETs
    (``S3DLIO_RANGE_THRESHOLD_MB``, 64); ``None`` when ``S3DLIO_ENABLE_RANGE_OPTIMIZATION`` is
    set false. The size comes from the GET's own response: no extra HEAD request."""
    if not env_flag("S3DLIO_ENABLE_RANGE_OPTIMIZATION", True):
        return None
    return _int("S3DLIO_RANGE_THRESHOLD_MB", 64) * _MiB


def range_get_part_size() -> int:
    """Bytes per range request of a parallel GET (``S3DLIO_RANGE_PART_SIZE_MB``, 16)."""
    return _int("S3DLIO_RANGE_PART_SIZE_MB", 16) * _MiB


def range_get_concurrency() -> int:
    """Range requests in flight per parallel GET (``S3DLIO_RANGE_CONCURRENCY``, 8)."""
    return _int("S3DLIO_RANGE_CONCURRENCY", 8)


# -- retries -----------------------------------------------------------------------------------
# One policy for every request s3dlio sends: obstore's own retry loop is configured from it
# (retry_settings), and s3dlio's own HTTP requests (stores/_http.py) follow it through
# s3dlio.retry. docs/configuration.md, "Retries", states what is retried and what is not.

RETRY_BACKOFF_BASE = 3.0
"""Growth factor of the jittered backoff: each wait is drawn between the initial backoff and
this multiple of the previous wait ("decorrelated jitter"; must be > 1)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed request is retried.

    Attributes:
        max_attempts: attempts per request, the first included (``1`` disables retries).
        initial_backoff: seconds before the first retry; later waits are drawn uniformly
            between this and ``backoff_base`` times the previous wait.
        max_backoff: upper bound (seconds) of one computed wait. A server's ``Retry-After``
            may ask for longer; it is bounded by ``timeout`` instead.
        timeout: seconds after the first attempt beyond which no retry starts (a retry whose
            wait would end later is not made).
        backoff_base: see :data:`RETRY_BACKOFF_BASE`.
    """

    max_attempts: int
    initial_backoff: float
    max_backoff: float
    timeout: float
    backoff_base: float = RETRY_BACKOFF_BASE

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt."""
        return self.max_attempts - 1


def retry_policy() -> RetryPolicy:
    """The retry policy from the environment (defaults in brackets):

    ``S3DLIO_MAX_RETRY_ATTEMPTS`` [5] attempts per request, the first included (as in the
    reference, where ``1`` means no retry); ``S3DLIO_RETRY_INITIAL_BACKOFF_MS`` [100];
    ``S3DLIO_RETRY_MAX_BACKOFF_MS`` [10000]; ``S3DLIO_RETRY_TIMEOUT_SECS`` [30].
    """
    initial_ms = _int("S3DLIO_RETRY_INITIAL_BACKOFF_MS", 100)
    max_ms = max(_int("S3DLIO_RETRY_MAX_BACKOFF_MS", 10_000), initial_ms)
    return RetryPolicy(
        max_attempts=_int("S3DLIO_MAX_RETRY_ATTEMPTS", 5),
        initial_backoff=initial_ms / 1000,
        max_backoff=max_ms / 1000,
        timeout=float(_int("S3DLIO_RETRY_TIMEOUT_SECS", 30)),
    )


def retry_settings() -> dict[str, object]:
    """obstore's ``retry_config`` for :func:`retry_policy` (the same attempts, backoff and
    budget; obstore draws its waits with the same decorrelated-jitter formula)."""
    policy = retry_policy()
    return {
        "max_retries": policy.max_retries,
        "retry_timeout": timedelta(seconds=policy.timeout),
        "backoff": {
            "init_backoff": timedelta(seconds=policy.initial_backoff),
            "max_backoff": timedelta(seconds=policy.max_backoff),
            "base": policy.backoff_base,
        },
    }


def connect_timeout() -> int:
    """Seconds to wait for a connection (``S3DLIO_CONNECT_TIMEOUT_SECS``, 5)."""
    return _int("S3DLIO_CONNECT_TIMEOUT_SECS", 5)


def operation_timeout() -> int:
    """Seconds one request may take as a whole (``S3DLIO_OPERATION_TIMEOUT_SECS``, 300); s3dlio's
    own HTTP requests use it as the limit on any single wait for the server."""
    return _int("S3DLIO_OPERATION_TIMEOUT_SECS", 300)


def client_options(allow_http: bool) -> dict[str, object]:
    """obstore's HTTP client options: :func:`connect_timeout` and :func:`operation_timeout`."""
    return {
        "allow_http": allow_http,
        "connect_timeout": f"{connect_timeout()}s",
        "timeout": f"{operation_timeout()}s",
    }


def presigned_get() -> bool:
    """Whether GETs of large objects on S3 and Azure (account key) go to presigned URLs through
    s3dlio's own HTTP client, straight into the result buffer (``S3DLIO_PRESIGNED_GET``, on):
    the parts of every parallel range GET, and whole-object GETs when the store's previous one
    (if any) was at least :func:`presigned_get_min` bytes. ``0`` sends them all through obstore."""
    return env_flag("S3DLIO_PRESIGNED_GET", True)


def presigned_get_min() -> int:
    """Objects of at least this many bytes are worth a presigned GET
    (``S3DLIO_PRESIGNED_GET_MIN_KB``, 1024; ``0``: every GET). Below about 512 KiB obstore's
    per-request cost is the lower one (measured: 400 x 64 KiB 0.07-0.10 s of CPU through
    obstore, 0.10-0.13 s presigned; 100 x 1 MiB 0.10-0.12 s against 0.09-0.10 s)."""
    return _int("S3DLIO_PRESIGNED_GET_MIN_KB", 1024, minimum=0) * 1024


def tls_ports() -> set[int]:
    """Ports for which an ``s3://host:port/...`` endpoint uses https
    (``S3DLIO_S3_ENDPOINT_TLS_PORTS``, comma-separated; default 443)."""
    raw = _get("S3DLIO_S3_ENDPOINT_TLS_PORTS") or "443"
    return {int(p) for p in raw.replace(" ", "").split(",") if p.isdigit()}


# -- cloud credentials and endpoints (consumed by the cloud backends) -------------------------


@dataclass(frozen=True)
class AwsSettings:
    access_key_id: str | None
    secret_access_key: str | None = field(repr=False)
    session_token: str | None = field(repr=False)
    region: str | None
    endpoint_url: str | None
    ca_bundle: str | None
    unsigned_payload: bool | None = None  # S3DLIO_UNSIGNED_PAYLOAD; None: decide by scheme

    @property
    def has_credentials(self) -> bool:
        return bool(self.access_key_id and self.secret_access_key)

    def sign_payload(self, endpoint: str | None) -> bool:
        """Whether request bodies are SHA-256-hashed into the SigV4 signature.

        ``S3DLIO_UNSIGNED_PAYLOAD=1`` never, ``=0`` always; unset: only over plain ``http``.
        Over TLS the transport already protects the body, and hashing costs about 0.5 s of
        CPU per GiB written (measured: 1 GiB PUT 0.67 s CPU signed, 0.19 s unsigned), so
        https endpoints (and AWS) send ``UNSIGNED-PAYLOAD``, as AWS SDKs do for S3 over TLS.
        """
        if self.unsigned_payload is not None:
            return not self.unsigned_payload
        return bool(endpoint and endpoint.startswith("http://"))


def aws() -> AwsSettings:
    return AwsSettings(
        access_key_id=_get("AWS_ACCESS_KEY_ID"),
        secret_access_key=_get("AWS_SECRET_ACCESS_KEY"),
        session_token=_get("AWS_SESSION_TOKEN"),
        region=_get("AWS_REGION") or _get("AWS_DEFAULT_REGION"),
        endpoint_url=_get("AWS_ENDPOINT_URL_S3") or _get("AWS_ENDPOINT_URL"),
        ca_bundle=_get("AWS_CA_BUNDLE"),
        unsigned_payload=(
            None if _get("S3DLIO_UNSIGNED_PAYLOAD") is None else env_flag("S3DLIO_UNSIGNED_PAYLOAD")
        ),
    )


@dataclass(frozen=True)
class AzureSettings:
    account: str | None
    account_key: str | None = field(repr=False)
    sas_token: str | None = field(repr=False)
    endpoint: str | None


def azure() -> AzureSettings:
    return AzureSettings(
        account=_get("AZURE_STORAGE_ACCOUNT") or _get("AZURE_STORAGE_ACCOUNT_NAME"),
        account_key=_get("AZURE_STORAGE_ACCOUNT_KEY") or _get("AZURE_STORAGE_KEY"),
        sas_token=_get("S3DLIO_AZURE_SAS_TOKEN") or _get("AZURE_STORAGE_SAS_TOKEN"),
        endpoint=_get("AZURE_STORAGE_ENDPOINT") or _get("AZURE_BLOB_ENDPOINT_URL"),
    )


@dataclass(frozen=True)
class GcsSettings:
    endpoint: str | None
    credentials_file: str | None
    project: str | None
    write_api: str | None  # S3DLIO_GCS_WRITE_API: "json", "xml", or None (automatic)


def gcs() -> GcsSettings:
    endpoint = _get("GCS_ENDPOINT_URL")
    if endpoint is None and (host := _get("STORAGE_EMULATOR_HOST")) is not None:
        endpoint = host if "://" in host else f"http://{host}"
    return GcsSettings(
        endpoint=endpoint,
        credentials_file=_get("GOOGLE_APPLICATION_CREDENTIALS"),
        project=_get("GOOGLE_CLOUD_PROJECT"),
        write_api=(_get("S3DLIO_GCS_WRITE_API") or "").lower() or None,
    )
