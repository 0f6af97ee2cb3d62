"""One plain HTTP request with s3dlio errors and retries: for the few calls obstore does not
offer (bucket administration through presigned URLs, GCS JSON-API uploads to emulators).

Retries follow :func:`s3dlio.config.retry_policy` through :class:`s3dlio.retry.RetryBudget`,
like obstore's, and in addition honour ``Retry-After``.
"""

from __future__ import annotations

import http.client
import logging
import time
import urllib.parse

from ..errors import (
    AlreadyExistsError,
    NetworkError,
    ObjectNotFoundError,
    PermissionDeniedError,
    S3dlioError,
    StorageTimeoutError,
    ThrottledError,
    redact,
)
from ..retry import RetryBudget, retry_after, retryable_status

__all__ = ["request"]

log = logging.getLogger("s3dlio.retry")

# Methods whose repetition has the effect of one request (RFC 9110 9.2.2).
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Statuses by which a server says it did not act on the request: safe to resend anything.
_REFUSED = frozenset({408, 429, 503})


def request(
    method: str,
    url: str,
    body: memoryview | bytes,
    *,
    uri: str,
    operation: str,
    headers: dict[str, str] | None = None,
    ok: tuple[int, ...] = (200, 201, 204),
    idempotent: bool | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Send a request; return ``(status, lower-cased headers, body)`` for a status in ``ok``.

    Retries (see docs/configuration.md, "Retries") wait the jittered backoff, or the
    response's ``Retry-After`` if that is longer. A response by which the server refused the
    request (408, 429, 503) is always retried. Other 5xx (except 501/505), a dropped connection
    and a timeout - after which the server may have acted - are retried only for an
    ``idempotent`` request (default: by method - GET, HEAD, PUT, DELETE, OPTIONS; callers pass
    ``False`` for a PUT that must not be repeated, ``True`` for a POST that may be). Anything
    else fails at once.

    Final statuses raise: 404 ``ObjectNotFoundError``, 401/403 ``PermissionDeniedError``, 409
    ``AlreadyExistsError``, 429/503 ``ThrottledError``, else ``S3dlioError``; connection failures
    raise ``NetworkError`` (``StorageTimeoutError`` for timeouts). After retries the message
    says how many attempts were made. Messages name ``uri``, never ``url`` (it may be signed).
    """
    if idempotent is None:
        idempotent = method in _IDEMPOTENT
    budget = RetryBudget()
    while True:
        try:
            status, resp_headers, reply = _send(method, url, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            wait = budget.next_wait() if idempotent else None
            if wait is None:
                cls = StorageTimeoutError if isinstance(exc, TimeoutError) else NetworkError
                note = f" ({budget.describe()})" if budget.attempts > 1 else ""
                raise cls(
                    f"{type(exc).__name__}: {exc}{note}", uri=uri, operation=operation
                ) from exc
            _pause(budget, wait, operation, uri, f"{type(exc).__name__}: {exc}")
            continue
        if status in ok:
            return status, resp_headers, reply
        if retryable_status(status) and (idempotent or status in _REFUSED):
            wait = budget.next_wait(retry_after(resp_headers))
            if wait is not None:
                _pause(budget, wait, operation, uri, f"HTTP {status}")
                continue
        raise _status_error(status, reply, uri, operation, budget)


def _pause(budget: RetryBudget, wait: float, operation: str, uri: str, why: str) -> None:
    log.debug(
        "%s %s: %s; attempt %d of %d in %.3f s",
        operation,
        redact(uri),
        redact(why),
        budget.attempts,
        budget.policy.max_attempts,
        wait,
    )
    time.sleep(wait)


def _send(
    method: str, url: str, body: memoryview | bytes, headers: dict[str, str] | None
) -> tuple[int, dict[str, str], bytes]:
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
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, reply
    finally:
        conn.close()


def _status_error(
    status: int, reply: bytes, uri: str, operation: str, budget: RetryBudget
) -> S3dlioError:
    text = reply[:500].decode("utf-8", "replace")
    if budget.attempts > 1 or budget.refused_retry_after is not None:
        text = f"{text} ({budget.describe()})"
    if status == 404:
        return ObjectNotFoundError(f"not found: {text}", uri=uri, operation=operation)
    if status in (401, 403):
        return PermissionDeniedError(text, uri=uri, operation=operation)
    if status == 409:
        return AlreadyExistsError(f"conflict: {text}", uri=uri, operation=operation)
    if status in (429, 503):
        return ThrottledError(f"HTTP {status}: {text}", uri=uri, operation=operation)
    return S3dlioError(f"HTTP {status}: {text}", uri=uri, operation=operation)
