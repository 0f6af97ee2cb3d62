"""Settings as values: what a store and the transfer engine need to know, frozen and hashable.

Nothing here reads the environment. :func:`s3dlio.config.settings` builds a :class:`Settings`
from it (the default everywhere); a caller may build or ``dataclasses.replace`` one instead and
pass it in (``s3dlio.stores.store_for(uri, settings=...)``, ``Registry(settings=...)``), so
two clients with different credentials or retry policies can live in one process. Every field
has the default the environment would give when nothing is set. Secrets are kept out of
``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

__all__ = [
    "AwsSettings",
    "AzureSettings",
    "ClientOptions",
    "GcsSettings",
    "LocalSettings",
    "RETRY_BACKOFF_BASE",
    "RetryPolicy",
    "Settings",
    "TransferConfig",
]

_MiB = 1 << 20


@dataclass(frozen=True)
class AwsSettings:
    """Credentials and endpoint of ``s3://`` stores. Both keys are required to connect."""

    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    region: str | None = None
    endpoint_url: str | None = None
    ca_bundle: str | None = None
    unsigned_payload: bool | None = None  # None: decide by scheme (see sign_payload)

    @property
    def has_credentials(self) -> bool:
        return bool(self.access_key_id and self.secret_access_key)

    def sign_payload(self, endpoint: str | None) -> bool:
        """Whether request bodies are SHA-256-hashed into the SigV4 signature.

        ``unsigned_payload=True`` never, ``False`` always; ``None``: only over plain ``http``.
        Over TLS the transport already protects the body, and hashing costs about 0.5 s of
        CPU per GiB written (measured: 1 GiB PUT 0.67 s CPU signed, 0.19 s unsigned), so
        https endpoints (and AWS) send ``UNSIGNED-PAYLOAD``, as AWS SDKs do for S3 over TLS.
        """
        if self.unsigned_payload is not None:
            return not self.unsigned_payload
        return bool(endpoint and endpoint.startswith("http://"))


@dataclass(frozen=True)
class AzureSettings:
    """Credentials and endpoint of ``az://`` stores: an account key or a SAS token."""

    account: str | None = None
    account_key: str | None = field(default=None, repr=False)
    sas_token: str | None = field(default=None, repr=False)
    endpoint: str | None = None  # without the account: http://127.0.0.1:10000


@dataclass(frozen=True)
class GcsSettings:
    """Credentials and endpoint of ``gs://`` stores."""

    endpoint: str | None = None
    credentials_file: str | None = None
    project: str | None = None
    write_api: str | None = None  # "json", "xml", or None (json with an endpoint, else xml)


@dataclass(frozen=True)
class ClientOptions:
    """HTTP client behaviour shared by the cloud stores.

    Attributes:
        connect_timeout: seconds to wait for a connection.
        operation_timeout: seconds one request may take as a whole; s3dlio's own HTTP requests
            use it as the limit on any single wait for the server.
        tls_ports: ports for which an ``s3://host:port/...`` endpoint uses https.
    """

    connect_timeout: int = 5
    operation_timeout: int = 300
    tls_ports: frozenset[int] = frozenset({443})

    def obstore_options(self, allow_http: bool) -> dict[str, object]:
        """obstore's ``client_options``."""
        return {
            "allow_http": allow_http,
            "connect_timeout": f"{self.connect_timeout}s",
            "timeout": f"{self.operation_timeout}s",
        }


RETRY_BACKOFF_BASE = 3.0
"""Growth factor of the jittered backoff: each wait is drawn between the initial backoff and
this multiple of the previous wait ("decorrelated jitter"; must be > 1)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed request is retried. One policy serves every
    request: obstore's own retry loop is configured from it (:meth:`obstore_config`), and
    s3dlio's own HTTP requests follow it through :mod:`s3dlio.retry`.

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

    max_attempts: int = 5
    initial_backoff: float = 0.1
    max_backoff: float = 10.0
    timeout: float = 30.0
    backoff_base: float = RETRY_BACKOFF_BASE

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt."""
        return self.max_attempts - 1

    def obstore_config(self) -> dict[str, object]:
        """obstore's ``retry_config``: the same attempts, backoff and budget (obstore draws its
        waits with the same decorrelated-jitter formula)."""
        from datetime import timedelta

        return {
            "max_retries": self.max_retries,
            "retry_timeout": timedelta(seconds=self.timeout),
            "backoff": {
                "init_backoff": timedelta(seconds=self.initial_backoff),
                "max_backoff": timedelta(seconds=self.max_backoff),
                "base": self.backoff_base,
            },
        }


@dataclass(frozen=True)
class TransferConfig:
    """Sizes and concurrency of single transfers, and the memory bound of bulk ones.

    **Memory of bulk copies** (``upload``, ``download``, copies between stores): at most
    ``memory_budget`` bytes of object data are held at once, whatever the number and size of
    the objects. Each object reserves its cost before it starts and releases it when done:
    an object of at most ``copy_chunk`` bytes costs its size; a larger one is streamed in
    ``copy_chunk`` pieces, ``window`` pieces in flight, and costs ``window x copy_chunk``
    plus what its destination's streaming writer buffers (0 for ``file://``; ``direct://``
    uses its own bounded bounce pool, :class:`LocalSettings`; an object store's multipart
    writer ``(writer_concurrency + 1) x multipart part size``). ``window`` is
    ``range_concurrency`` for a lone object and shrinks (to 1) as more large objects run at
    once, so that ``objects in flight x window x copy_chunk <= memory_budget``. An object
    whose cost alone exceeds the budget runs by itself. ``get_many`` is not bounded by this:
    it returns every object, so it holds them all.

    Attributes:
        memory_budget: the bound above (``S3DLIO_TRANSFER_MEMORY_MB``, 512 MiB).
        copy_chunk: bytes per piece of a streamed copy (8 MiB).
        multipart_threshold: single ``put``s larger than this are uploaded in parts.
        multipart_part_size: the part size, raised by :meth:`part_size` so an object never
            needs more than 10,000 parts.
        writer_concurrency: parts a multipart streaming writer uploads at once.
        range_threshold: whole-object GETs of at least this many bytes are split into
            parallel range GETs; ``None`` disables that.
        range_part_size: bytes per range request of a parallel GET.
        range_concurrency: range requests in flight per parallel GET (and the largest
            ``window`` of a streamed copy).
        presigned_get: whether large GETs on S3 and Azure (account key) go to presigned URLs
            through s3dlio's own HTTP client, straight into the result buffer.
        presigned_get_min: objects of at least this many bytes are worth a presigned GET.
    """

    memory_budget: int = 512 * _MiB
    copy_chunk: int = 8 * _MiB
    multipart_threshold: int = 32 * _MiB
    multipart_part_size: int = 16 * _MiB
    writer_concurrency: int = 4
    range_threshold: int | None = 64 * _MiB
    range_part_size: int = 16 * _MiB
    range_concurrency: int = 8
    presigned_get: bool = True
    presigned_get_min: int = 1024 * 1024

    def part_size(self, object_size: int) -> int:
        """Part size for an object of ``object_size`` bytes: ``multipart_part_size``, raised so
        an object never needs more than 10,000 parts, and never below S3's 5 MiB minimum."""
        return max(self.multipart_part_size, -(-object_size // 10_000), 5 * _MiB)

    @property
    def writer_memory(self) -> int:
        """Bytes an object store's multipart streaming writer may hold."""
        return (self.writer_concurrency + 1) * self.part_size(0)


@dataclass(frozen=True)
class LocalSettings:
    """``file://`` and ``direct://`` behaviour.

    Attributes:
        fsync: ``fsync`` written data before the atomic rename (survives power loss).
        direct_io_strict: ``direct://`` raises when the filesystem refuses ``O_DIRECT`` instead
            of falling back to buffered I/O with a logged warning.
        direct_io_align: alignment (bytes) of ``O_DIRECT`` buffers, offsets and lengths.
        bounce_size, bounce_buffers: the bounded pool of aligned bounce buffers of
            ``direct://`` writes; their memory never exceeds the product.
    """

    fsync: bool = False
    direct_io_strict: bool = False
    direct_io_align: int = 4096
    bounce_size: int = 8 * _MiB
    bounce_buffers: int = 4


@dataclass(frozen=True)
class Settings:
    """Everything a store needs; one value per configuration. Hashable: the store registry
    caches one store per (bucket, settings)."""

    aws: AwsSettings = AwsSettings()
    azure: AzureSettings = AzureSettings()
    gcs: GcsSettings = GcsSettings()
    client: ClientOptions = ClientOptions()
    retry: RetryPolicy = RetryPolicy()
    transfer: TransferConfig = TransferConfig()
    local: LocalSettings = LocalSettings()

    # The registry looks a store up by its settings on every call: hash once, not per lookup
    # (hashing the nested values each time cost ~4 us a call). The cached hash is never
    # pickled (string hashes differ between processes).
    def __hash__(self) -> int:
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            cached = hash(tuple(getattr(self, f.name) for f in fields(self)))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __getstate__(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}

    def __setstate__(self, state: dict[str, object]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)
