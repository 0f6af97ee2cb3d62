"""One plain HTTP request with s3dlio errors: for the few calls obstore does not offer
(bucket administration through presigned URLs, GCS JSON-API uploads to emulators)."""

from __future__ import annotations

import http.client
import urllib.parse

from ..errors import (
    AlreadyExistsError,
    NetworkError,
    ObjectNotFoundError,
    PermissionDeniedError,
    S3dlioError,
    ThrottledError,
)

__all__ = ["request"]


def request(
    method: str,
    url: str,
    body: memoryview | bytes,
    *,
    uri: str,
    operation: str,
    headers: dict[str, str] | None = None,
    ok: tuple[int, ...] = (200, 201, 204),
) -> tuple[int, dict[str, str], bytes]:
    """Send one request; return ``(status, lower-cased headers, body)`` for a status in ``ok``.

    Other statuses raise: 404 ``ObjectNotFoundError``, 401/403 ``PermissionDeniedError``,
    409 ``AlreadyExistsError``, 429/503 ``ThrottledError``, else ``S3dlioError``; connection
    failures raise ``NetworkError``. Messages name ``uri``, never ``url`` (it may be signed).
    """
    parsed = urllib.parse.urlsplit(url)
    conn_cls = (
        http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
    )
    conn = conn_cls(parsed.netloc, timeout=60)
    try:
        conn.request(
            method,
            parsed.path + ("?" + parsed.query if parsed.query else ""),
            body=body,
            headers={"Content-Length": str(len(body)), **(headers or {})},
        )
        resp = conn.getresponse()
        reply = resp.read()
        status = resp.status
        resp_headers = {k.lower(): v for k, v in resp.getheaders()}
    except OSError as exc:
        raise NetworkError(f"{type(exc).__name__}: {exc}", uri=uri, operation=operation) from exc
    finally:
        conn.close()
    if status in ok:
        return status, resp_headers, reply
    text = reply[:500].decode("utf-8", "replace")
    if status == 404:
        raise ObjectNotFoundError(f"not found: {text}", uri=uri, operation=operation)
    if status in (401, 403):
        raise PermissionDeniedError(text, uri=uri, operation=operation)
    if status == 409:
        raise AlreadyExistsError(f"conflict: {text}", uri=uri, operation=operation)
    if status in (429, 503):
        raise ThrottledError(f"HTTP {status}: {text}", uri=uri, operation=operation)
    raise S3dlioError(f"HTTP {status}: {text}", uri=uri, operation=operation)
