"""``az://account/container/key``: Azure Blob Storage (and Azurite) through obstore.

Credentials: ``AZURE_STORAGE_ACCOUNT_KEY`` (shared key) or a SAS token
(``S3DLIO_AZURE_SAS_TOKEN`` / ``AZURE_STORAGE_SAS_TOKEN``); one is required. The account is the
URI's. ``AZURE_STORAGE_ENDPOINT`` / ``AZURE_BLOB_ENDPOINT_URL`` name a custom endpoint the
way the reference reads them, **without** the account (``http://127.0.0.1:10000``); requests
then go path-style to ``<endpoint>/<account>/<container>/<blob>``.
"""

from __future__ import annotations

from typing import Any

from ..errors import PermissionDeniedError
from ..settings import Settings
from ..uri import ObjectURI
from .objstore import ObstoreStore

__all__ = ["AzureStore"]


class AzureStore(ObstoreStore):
    scheme = "az"

    def __init__(self, account: str, container: str, settings: Settings | None = None) -> None:
        root = f"az://{account}/{container}/"
        super().__init__(root, settings)
        azure = self.settings.azure
        if not (azure.account_key or azure.sas_token):
            raise PermissionDeniedError(
                "missing Azure credentials: set AZURE_STORAGE_ACCOUNT_KEY or "
                "S3DLIO_AZURE_SAS_TOKEN",
                uri=root,
                operation="connect",
            )
        self.account = account
        self.container = container
        self.endpoint = f"{azure.endpoint.rstrip('/')}/{account}" if azure.endpoint else None
        # obstore presigns (a service SAS) from a shared key without any request.
        self.can_presign = bool(azure.account_key)

    @classmethod
    def from_uri(cls, uri: ObjectURI, settings: Settings) -> AzureStore:
        assert uri.account is not None  # the parser requires one for az://
        return cls(uri.account, uri.bucket, settings)

    def _build(self, mod: Any) -> Any:
        s = self.settings.azure
        options: dict[str, Any] = {"account_name": self.account}
        if s.account_key:
            options["account_key"] = s.account_key
        else:
            options["sas_key"] = (s.sas_token or "").lstrip("?")
        if self.endpoint:
            options["endpoint"] = self.endpoint
        return mod._store.AzureStore(
            self.container,
            client_options=self.settings.client.obstore_options(
                allow_http=bool(self.endpoint and self.endpoint.startswith("http://"))
            ),
            retry_config=self.settings.retry.obstore_config(),
            **options,
        )
