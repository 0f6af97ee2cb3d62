"""Configuration: every environment variable s3dlio reads is read in this module.

:func:`settings` builds the :class:`~s3dlio.settings.Settings` value stores and the engine use
from the environment; callers may pass their own instead (see :mod:`s3dlio.settings`). It is
read when asked for (not cached at import), so a process may change its environment before any
call, and a change gives new stores rather than silently reusing old ones. Cloud credentials
are held in values whose ``repr`` hides secrets.

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

Transfers (:class:`~s3dlio.settings.TransferConfig`): ``S3DLIO_TRANSFER_MEMORY_MB`` [512],
``S3DLIO_MULTIPART_THRESHOLD_MB`` [32], ``S3DLIO_MULTIPART_PART_SIZE_MB`` [16],
``S3DLIO_ENABLE_RANGE_OPTIMIZATION`` [on], ``S3DLIO_RANGE_THRESHOLD_MB`` [64],
``S3DLIO_RANGE_PART_SIZE_MB`` [16], ``S3DLIO_RANGE_CONCURRENCY`` [8], ``S3DLIO_PRESIGNED_GET``
[on], ``S3DLIO_PRESIGNED_GET_MIN_KB`` [1024]. Clients: ``S3DLIO_CONNECT_TIMEOUT_SECS`` [5],
``S3DLIO_OPERATION_TIMEOUT_SECS`` [300], ``S3DLIO_S3_ENDPOINT_TLS_PORTS`` [443].

Retries (:class:`~s3dlio.settings.RetryPolicy`): ``S3DLIO_MAX_RETRY_ATTEMPTS`` [5],
``S3DLIO_RETRY_INITIAL_BACKOFF_MS`` [100], ``S3DLIO_RETRY_MAX_BACKOFF_MS`` [10000],
``S3DLIO_RETRY_TIMEOUT_SECS`` [30].
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any, cast

from .settings import (
    AwsSettings,
    AzureSettings,
    ClientOptions,
    GcsSettings,
    LocalSettings,
    RetryPolicy,
    Settings,
    TransferConfig,
)

__all__ = [
    "datagen_pure",
    "env_flag",
    "retry_policy",
    "runtime_threads",
    "set_runtime_threads",
    "settings",
]

_TRUE = {"1", "true", "yes", "on"}
_MiB = 1 << 20

# Every variable a Settings value depends on: settings() looks these up on each call and builds
# a new value only when one changed. Reading a name not listed here is a bug (see _Env.get).
_SETTINGS_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "AWS_CA_BUNDLE",
    "S3DLIO_UNSIGNED_PAYLOAD",
    "AZURE_STORAGE_ACCOUNT",
    "AZURE_STORAGE_ACCOUNT_NAME",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_KEY",
    "S3DLIO_AZURE_SAS_TOKEN",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_STORAGE_ENDPOINT",
    "AZURE_BLOB_ENDPOINT_URL",
    "GCS_ENDPOINT_URL",
    "STORAGE_EMULATOR_HOST",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
    "S3DLIO_GCS_WRITE_API",
    "S3DLIO_CONNECT_TIMEOUT_SECS",
    "S3DLIO_OPERATION_TIMEOUT_SECS",
    "S3DLIO_S3_ENDPOINT_TLS_PORTS",
    "S3DLIO_MAX_RETRY_ATTEMPTS",
    "S3DLIO_RETRY_INITIAL_BACKOFF_MS",
    "S3DLIO_RETRY_MAX_BACKOFF_MS",
    "S3DLIO_RETRY_TIMEOUT_SECS",
    "S3DLIO_TRANSFER_MEMORY_MB",
    "S3DLIO_MULTIPART_THRESHOLD_MB",
    "S3DLIO_MULTIPART_PART_SIZE_MB",
    "S3DLIO_ENABLE_RANGE_OPTIMIZATION",
    "S3DLIO_RANGE_THRESHOLD_MB",
    "S3DLIO_RANGE_PART_SIZE_MB",
    "S3DLIO_RANGE_CONCURRENCY",
    "S3DLIO_PRESIGNED_GET",
    "S3DLIO_PRESIGNED_GET_MIN_KB",
    "S3DLIO_FSYNC",
    "S3DLIO_DIRECT_IO_STRICT",
    "S3DLIO_DIRECT_IO_ALIGN",
    "S3DLIO_DIRECT_IO_BOUNCE_SIZE_MB",
    "S3DLIO_DIRECT_IO_BOUNCE_BUFFERS",
)
_LISTED = frozenset(_SETTINGS_VARS)


class _Env:
    """Typed reads of a snapshot of the environment (empty values count as unset)."""

    def __init__(self, values: Mapping[str, str], *, snapshot: bool = False) -> None:
        self._values = values
        self._snapshot = snapshot

    def get(self, name: str) -> str | None:
        if self._snapshot and name not in _LISTED:  # it would never be seen to change
            raise AssertionError(f"{name} is read into Settings but not in _SETTINGS_VARS")
        value = self._values.get(name)
        return value if value not in (None, "") else None

    def flag(self, name: str, default: bool = False) -> bool:
        """``1/true/yes/on`` (any case) is true, anything else set is false."""
        value = self.get(name)
        if value is None:
            return default
        return value.strip().lower() in _TRUE

    def int(self, name: str, default: int, minimum: int = 1) -> int:
        value = self.get(name)
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


def _process_env() -> _Env:
    return _Env(os.environ)


def env_flag(name: str, default: bool = False) -> bool:
    """A boolean variable: ``1/true/yes/on`` (any case) is true, anything else set is false."""
    return _process_env().flag(name, default)


# -- process-wide knobs (not per store) ---------------------------------------------------------

_runtime_threads_override: int | None = None


def set_runtime_threads(n: int | None) -> None:
    """Programmatic override of ``S3DLIO_RT_THREADS`` (used by ``configure_tokio_threads``)."""
    global _runtime_threads_override
    _runtime_threads_override = n if n and n > 0 else None


def runtime_threads() -> int:
    if _runtime_threads_override is not None:
        return _runtime_threads_override
    return _process_env().int("S3DLIO_RT_THREADS", max(32, 8 * (os.cpu_count() or 1)))


def datagen_pure() -> bool:
    """``S3DLIO_DATAGEN_PURE``: generate with numpy even when the C kernel is available."""
    return env_flag("S3DLIO_DATAGEN_PURE")


# -- settings values ---------------------------------------------------------------------------


# The raw mapping behind os.environ (bytes on POSIX), read directly: settings() runs on every
# call that resolves a URI, and 43 lookups through os.environ's encoding wrapper take ~27 us
# there, ~1 us here. Writes through os.environ (and monkeypatch.setenv) update it.
_RAW: Mapping[object, object] | None = getattr(os.environ, "_data", None)
_RAW_KEYS: tuple[object, ...] = tuple(
    os.environ.encodekey(n) if _RAW is not None else n for n in _SETTINGS_VARS
)


def settings() -> Settings:
    """The :class:`~s3dlio.settings.Settings` the environment gives now (the same value, not
    rebuilt, while none of its variables changed)."""
    raw: Mapping[Any, Any] = _RAW if _RAW is not None else os.environ
    return _settings_for(tuple(map(raw.get, _RAW_KEYS)))


@functools.lru_cache(maxsize=16)
def _settings_for(snapshot: tuple[object, ...]) -> Settings:
    values = {
        k: v if isinstance(v, str) else os.fsdecode(cast(bytes, v))
        for k, v in zip(_SETTINGS_VARS, snapshot, strict=True)
        if v is not None
    }
    env = _Env(values, snapshot=True)
    return Settings(
        aws=_aws(env),
        azure=_azure(env),
        gcs=_gcs(env),
        client=_client(env),
        retry=_retry(env),
        transfer=_transfer(env),
        local=_local(env),
    )


def retry_policy() -> RetryPolicy:
    """The retry policy from the environment (defaults in brackets):

    ``S3DLIO_MAX_RETRY_ATTEMPTS`` [5] attempts per request, the first included (as in the
    reference, where ``1`` means no retry); ``S3DLIO_RETRY_INITIAL_BACKOFF_MS`` [100];
    ``S3DLIO_RETRY_MAX_BACKOFF_MS`` [10000]; ``S3DLIO_RETRY_TIMEOUT_SECS`` [30].
    """
    return settings().retry


def _retry(env: _Env) -> RetryPolicy:
    initial_ms = env.int("S3DLIO_RETRY_INITIAL_BACKOFF_MS", 100)
    max_ms = max(env.int("S3DLIO_RETRY_MAX_BACKOFF_MS", 10_000), initial_ms)
    return RetryPolicy(
        max_attempts=env.int("S3DLIO_MAX_RETRY_ATTEMPTS", 5),
        initial_backoff=initial_ms / 1000,
        max_backoff=max_ms / 1000,
        timeout=float(env.int("S3DLIO_RETRY_TIMEOUT_SECS", 30)),
    )


def _client(env: _Env) -> ClientOptions:
    raw = env.get("S3DLIO_S3_ENDPOINT_TLS_PORTS") or "443"
    return ClientOptions(
        connect_timeout=env.int("S3DLIO_CONNECT_TIMEOUT_SECS", 5),
        operation_timeout=env.int("S3DLIO_OPERATION_TIMEOUT_SECS", 300),
        tls_ports=frozenset(int(p) for p in raw.replace(" ", "").split(",") if p.isdigit()),
    )


def _transfer(env: _Env) -> TransferConfig:
    ranged = env.flag("S3DLIO_ENABLE_RANGE_OPTIMIZATION", True)
    return TransferConfig(
        memory_budget=env.int("S3DLIO_TRANSFER_MEMORY_MB", 512) * _MiB,
        multipart_threshold=env.int("S3DLIO_MULTIPART_THRESHOLD_MB", 32, minimum=0) * _MiB,
        multipart_part_size=env.int("S3DLIO_MULTIPART_PART_SIZE_MB", 16) * _MiB,
        range_threshold=env.int("S3DLIO_RANGE_THRESHOLD_MB", 64) * _MiB if ranged else None,
        range_part_size=env.int("S3DLIO_RANGE_PART_SIZE_MB", 16) * _MiB,
        range_concurrency=env.int("S3DLIO_RANGE_CONCURRENCY", 8),
        presigned_get=env.flag("S3DLIO_PRESIGNED_GET", True),
        presigned_get_min=env.int("S3DLIO_PRESIGNED_GET_MIN_KB", 1024, minimum=0) * 1024,
    )


def _local(env: _Env) -> LocalSettings:
    return LocalSettings(
        fsync=env.flag("S3DLIO_FSYNC"),
        direct_io_strict=env.flag("S3DLIO_DIRECT_IO_STRICT"),
        direct_io_align=env.int("S3DLIO_DIRECT_IO_ALIGN", 4096, minimum=512),
        bounce_size=env.int("S3DLIO_DIRECT_IO_BOUNCE_SIZE_MB", 8) * _MiB,
        bounce_buffers=env.int("S3DLIO_DIRECT_IO_BOUNCE_BUFFERS", 4),
    )


def _aws(env: _Env) -> AwsSettings:
    unsigned = env.get("S3DLIO_UNSIGNED_PAYLOAD")
    return AwsSettings(
        access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        session_token=env.get("AWS_SESSION_TOKEN"),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        endpoint_url=env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL"),
        ca_bundle=env.get("AWS_CA_BUNDLE"),
        unsigned_payload=None if unsigned is None else env.flag("S3DLIO_UNSIGNED_PAYLOAD"),
    )


def _azure(env: _Env) -> AzureSettings:
    return AzureSettings(
        account=env.get("AZURE_STORAGE_ACCOUNT") or env.get("AZURE_STORAGE_ACCOUNT_NAME"),
        account_key=env.get("AZURE_STORAGE_ACCOUNT_KEY") or env.get("AZURE_STORAGE_KEY"),
        sas_token=env.get("S3DLIO_AZURE_SAS_TOKEN") or env.get("AZURE_STORAGE_SAS_TOKEN"),
        endpoint=env.get("AZURE_STORAGE_ENDPOINT") or env.get("AZURE_BLOB_ENDPOINT_URL"),
    )


def _gcs(env: _Env) -> GcsSettings:
    endpoint = env.get("GCS_ENDPOINT_URL")
    if endpoint is None and (host := env.get("STORAGE_EMULATOR_HOST")) is not None:
        endpoint = host if "://" in host else f"http://{host}"
    return GcsSettings(
        endpoint=endpoint,
        credentials_file=env.get("GOOGLE_APPLICATION_CREDENTIALS"),
        project=env.get("GOOGLE_CLOUD_PROJECT"),
        write_api=(env.get("S3DLIO_GCS_WRITE_API") or "").lower() or None,
    )
