"""``s3://``: Amazon S3 and S3-compatible servers through obstore.

Configuration (read by :mod:`s3dlio.config`): ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``
are required (as in the reference; this also keeps the client from probing instance metadata),
``AWS_SESSION_TOKEN``, ``AWS_REGION`` (default ``us-east-1``), and the endpoint from the URI
(``s3://host:port/bucket/key``: https on ports in ``S3DLIO_S3_ENDPOINT_TLS_PORTS``, else http)
or ``AWS_ENDPOINT_URL``. Requests are path-style.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..errors import AlreadyExistsError, PermissionDeniedError
from ..settings import AwsSettings, ClientOptions, Settings
from ..uri import ObjectURI
from ._http import request
from .objstore import ObstoreStore

__all__ = ["S3Store"]


def endpoint_url(
    uri_endpoint: str | None, settings: AwsSettings, client: ClientOptions
) -> str | None:
    if uri_endpoint:
        port = uri_endpoint.rsplit(":", 1)[-1]
        tls = port.isdigit() and int(port) in client.tls_ports
        return f"{'https' if tls else 'http'}://{uri_endpoint}"
    return settings.endpoint_url


class S3Store(ObstoreStore):
    scheme = "s3"
    can_presign = True  # SigV4 from the configured keys: no request needed

    def __init__(
        self, bucket: str, uri_endpoint: str | None = None, settings: Settings | None = None
    ) -> None:
        root = f"s3://{uri_endpoint + '/' if uri_endpoint else ''}{bucket}/"
        super().__init__(root, settings)
        aws = self.settings.aws
        if not aws.has_credentials:
            raise PermissionDeniedError(
                "missing S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                uri=root,
                operation="connect",
            )
        self.bucket = bucket
        self.endpoint = endpoint_url(uri_endpoint, aws, self.settings.client)

    @classmethod
    def from_uri(cls, uri: ObjectURI, settings: Settings) -> S3Store:
        return cls(uri.bucket, uri.endpoint, settings)

    def _build(self, mod: Any) -> Any:
        s = self.settings.aws
        options: dict[str, Any] = {
            "access_key_id": s.access_key_id,
            "secret_access_key": s.secret_access_key,
            "region": s.region or "us-east-1",
            "virtual_hosted_style_request": False,
        }
        if s.session_token:
            options["session_token"] = s.session_token
        # obstore also reads AWS_* from the process environment, and AWS_ENDPOINT_URL_S3 there
        # beats a plain ``endpoint``: the settings' values are passed in the keys that win.
        options["unsigned_payload"] = not s.sign_payload(self.endpoint)
        if self.endpoint:
            options["aws_endpoint_url_s3"] = self.endpoint
        return mod._store.S3Store(
            self.bucket,
            client_options=self.settings.client.obstore_options(
                allow_http=bool(self.endpoint and self.endpoint.startswith("http://"))
            ),
            retry_config=self.settings.retry.obstore_config(),
            **options,
        )

    # Bucket administration: obstore has no API for it, but it signs any request; a presigned
    # URL for the bucket root ("/bucket/") is a CreateBucket / DeleteBucket request.
    def _bucket_request(self, method: str, operation: str) -> None:
        mod, store = self._native()
        url = mod.sign(store, method, "", timedelta(minutes=5))
        # Not retried after a dropped connection: a repeat of a create/delete that took effect
        # would report "exists"/"missing" instead of success.
        request(
            method,
            url,
            b"",
            uri=self.root,
            operation=operation,
            ok=(200, 204),
            idempotent=False,
            settings=self.settings,
        )

    def create_bucket(self) -> bool:
        """Create the bucket; False if it already existed (and is accessible)."""
        try:
            self._bucket_request("PUT", "create_bucket")
        except AlreadyExistsError:
            return False
        return True

    def delete_bucket(self) -> None:
        """Delete the empty bucket; one with objects raises ``DirectoryNotEmptyError``."""
        self._require_empty()
        self._bucket_request("DELETE", "delete_bucket")
