"""``gs://`` / ``gcs://``: Google Cloud Storage through obstore, with a JSON-API write path.

Reads, listings, heads and deletes always go through obstore (GCS's XML API). Writes go either
through obstore too, or through GCS's JSON upload API (``uploadType=media`` for small objects,
resumable sessions in 8 MiB chunks for large ones and for streaming writers, ``rewriteTo`` for
copies). Choice: ``S3DLIO_GCS_WRITE_API=json|xml``; by default ``json`` when an emulator or
custom endpoint is configured (``STORAGE_EMULATOR_HOST`` / ``GCS_ENDPOINT_URL``), because
fake-gcs-server does not implement XML uploads, and ``xml`` against Google itself. The JSON
path sends no credentials (emulators need none) and so requires an endpoint.

Credentials for Google itself: ``GOOGLE_APPLICATION_CREDENTIALS`` (a service-account file).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import urllib.parse
from typing import Any

from ..errors import (
    AlreadyExistsError,
    InvalidArgumentError,
    PermissionDeniedError,
    PreconditionFailedError,
    S3dlioError,
    UnsupportedOperationError,
)
from ..settings import Settings
from ..uri import ObjectURI
from ._http import request
from .base import WriterBase
from .objstore import ObstoreStore

__all__ = ["GCSStore", "JsonUploadWriter"]

CHUNK = 8 << 20  # resumable chunks must be multiples of 256 KiB


class GCSStore(ObstoreStore):
    scheme = "gs"

    def __init__(self, bucket: str, spelling: str = "gs", settings: Settings | None = None) -> None:
        root = f"{spelling}://{bucket}/"
        super().__init__(root, settings)
        gcs = self.settings.gcs
        self.bucket = bucket
        self.endpoint = gcs.endpoint.rstrip("/") if gcs.endpoint else None
        self.credentials_file = gcs.credentials_file
        if self.endpoint is None and self.credentials_file is None:
            raise PermissionDeniedError(
                "missing GCS credentials: set GOOGLE_APPLICATION_CREDENTIALS, or "
                "STORAGE_EMULATOR_HOST / GCS_ENDPOINT_URL for an emulator",
                uri=root,
                operation="connect",
            )
        api = gcs.write_api or ("json" if self.endpoint else "xml")
        if api not in ("json", "xml"):
            raise InvalidArgumentError(f"S3DLIO_GCS_WRITE_API={api!r}: use json or xml")
        if api == "json" and self.endpoint is None:
            raise InvalidArgumentError(
                "S3DLIO_GCS_WRITE_API=json needs an emulator endpoint (GCS_ENDPOINT_URL)"
            )
        self.json_writes = api == "json"

    @classmethod
    def from_uri(cls, uri: ObjectURI, settings: Settings) -> GCSStore:
        return cls(uri.bucket, uri.spelling or "gs", settings)

    def _build(self, mod: Any) -> Any:
        options: dict[str, Any] = {}
        if self.endpoint:
            # An emulator: no OAuth, base URL from the key (never the metadata server).
            options["service_account_key"] = json.dumps(
                {
                    "gcs_base_url": self.endpoint,
                    "disable_oauth": True,
                    "client_email": "",
                    "private_key": "",
                    "private_key_id": "",
                }
            )
        else:
            options["application_credentials"] = self.credentials_file
        return mod._store.GCSStore(
            self.bucket,
            client_options=self.settings.client.obstore_options(
                allow_http=bool(self.endpoint and self.endpoint.startswith("http://"))
            ),
            retry_config=self.settings.retry.obstore_config(),
            **options,
        )

    # -- JSON-API writes -----------------------------------------------------------------

    def put(self, key: str, data: memoryview, *, create_only: bool = False) -> None:
        if not self.json_writes:
            super().put(key, data, create_only=create_only)
            return
        self._checked(key, "put")
        if create_only:
            self._put_if_absent(key, data)
            return
        if len(data) <= CHUNK:
            self._json(
                "POST",
                f"/upload/storage/v1/b/{self._q(self.bucket)}/o",
                {"uploadType": "media", "name": key},
                data,
                key,
                "put",
                idempotent=True,  # the whole object, under its name: repeating is harmless
            )
            return
        with JsonUploadWriter(self, key) as writer:
            writer.write(data)

    def _put_if_absent(self, key: str, data: memoryview) -> None:
        """A create-only write: a multipart upload with ``ifGenerationMatch=0`` (GCS fails it
        with 412 when the object exists; fake-gcs-server honours the condition on multipart
        uploads only, measured). The whole object is one request body."""
        boundary = f"s3dlio-{os.urandom(12).hex()}"
        head = (
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
            f"{json.dumps({'name': key})}\r\n--{boundary}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        body = b"".join((head, data, f"\r\n--{boundary}--\r\n".encode()))
        try:
            self._json(
                "POST",
                f"/upload/storage/v1/b/{self._q(self.bucket)}/o",
                {"uploadType": "multipart", "ifGenerationMatch": "0"},
                body,
                key,
                "put",
                headers={"Content-Type": f"multipart/related; boundary={boundary}"},
                # Not repeated after a dropped connection: a first attempt that took effect
                # would make the repeat fail as "exists".
                idempotent=False,
            )
        except PreconditionFailedError:
            raise AlreadyExistsError(
                "an object exists under this name (create-only put; nothing was written)",
                uri=self.uri(key),
                operation="put",
            ) from None

    def open_writer(self, key: str) -> Any:
        if not self.json_writes:
            return super().open_writer(key)
        return JsonUploadWriter(self, self._checked(key, "open_writer"))

    def copy(self, src_key: str, dst_key: str) -> None:
        if not self.json_writes:
            super().copy(src_key, dst_key)
            return
        b = self._q(self.bucket)
        path = f"/storage/v1/b/{b}/o/{self._q(src_key)}/rewriteTo/b/{b}/o/{self._q(dst_key)}"
        params: dict[str, str] = {}
        while True:
            _status, _, body = self._json(
                "POST", path, params, b"", src_key, "copy", idempotent=True
            )
            reply = json.loads(body or b"{}")
            if reply.get("done", True):
                return
            params["rewriteToken"] = reply["rewriteToken"]

    @staticmethod
    def _q(text: str) -> str:
        return urllib.parse.quote(text, safe="")

    def _json(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        body: memoryview | bytes,
        key: str,
        operation: str,
        headers: dict[str, str] | None = None,
        url: str | None = None,
        ok: tuple[int, ...] = (200, 201),
        idempotent: bool | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        target = url or (
            f"{self.endpoint}{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
        )
        return request(
            method,
            target,
            body,
            uri=self.uri(key),
            operation=operation,
            headers=headers,
            ok=ok,
            idempotent=idempotent,
            settings=self.settings,
        )

    def create_bucket(self) -> bool:
        """Create this bucket on the emulator (JSON API); False if it already existed."""
        if not self.json_writes:
            raise UnsupportedOperationError(
                "creating GCS buckets is supported on emulators (JSON API) only",
                uri=self.root,
                operation="create_bucket",
            )
        try:
            self._json(
                "POST",
                "/storage/v1/b",
                {},
                json.dumps({"name": self.bucket}).encode(),
                "",
                "create_bucket",
                headers={"Content-Type": "application/json"},
            )
        except AlreadyExistsError:
            return False
        return True

    def delete_bucket(self) -> None:
        if not self.json_writes:
            raise UnsupportedOperationError(
                "deleting GCS buckets is supported on emulators (JSON API) only",
                uri=self.root,
                operation="delete_bucket",
            )
        self._require_empty()
        self._json("DELETE", f"/storage/v1/b/{self._q(self.bucket)}", {}, b"", "", "delete_bucket")


class JsonUploadWriter(WriterBase):
    """A resumable JSON-API upload: data is sent in ``CHUNK`` pieces; the object appears only
    when the last piece is accepted. :meth:`abort` cancels the session."""

    def __init__(self, store: GCSStore, key: str) -> None:
        super().__init__(store.uri(key))
        self._store = store
        self._key = key
        self._buffer = bytearray()
        self._sent = 0
        self._lock = threading.Lock()
        _, headers, _ = store._json(
            "POST",
            f"/upload/storage/v1/b/{store._q(store.bucket)}/o",
            {"uploadType": "resumable", "name": key},
            b"",
            key,
            "open_writer",
            headers={"Content-Type": "application/json"},
            idempotent=True,  # a duplicate session is never used and never becomes an object
        )
        session = headers.get("location")
        if not session:
            raise S3dlioError(
                "no resumable session URL in the reply", uri=store.uri(key), operation="open_writer"
            )
        self._session = session

    def _write(self, data: memoryview) -> None:
        with self._lock:
            self._buffer += data
            while len(self._buffer) > CHUNK:
                self._send(bytes(self._buffer[:CHUNK]), final=False)
                del self._buffer[:CHUNK]

    def _send(self, chunk: bytes, *, final: bool) -> None:
        start, end = self._sent, self._sent + len(chunk) - 1
        total = str(self._sent + len(chunk)) if final else "*"
        rng = f"bytes {start}-{end}/{total}" if chunk else f"bytes */{total}"
        try:
            self._store._json(
                "PUT",
                "",
                {},
                chunk,
                self._key,
                "write",
                url=self._session,
                headers={"Content-Range": rng},
                ok=(200, 201, 308),
                # Resending a chunk the server already stored appends it again on
                # fake-gcs-server (measured): retry only when the server refused it.
                idempotent=False,
            )
        except BaseException:
            self.abort()
            raise
        self._sent += len(chunk)

    def _close(self) -> None:
        with self._lock:
            # _done only after the last piece: a failure while sending it still aborts.
            self._send(bytes(self._buffer), final=True)
            self._buffer.clear()
            self._done = True

    def _abort(self) -> None:
        # Best effort: an unfinished session never becomes an object anyway.
        with contextlib.suppress(S3dlioError):
            self._store._json(
                "DELETE", "", {}, b"", self._key, "abort", url=self._session, ok=(200, 204, 499)
            )
