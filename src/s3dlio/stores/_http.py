"""Plain HTTP requests with s3dlio errors and retries: for the few calls obstore does not offer
(bucket administration through presigned URLs, GCS JSON-API uploads to emulators) and for GETs of
large objects and the parts of parallel range GETs over presigned URLs, which :func:`get` and
:func:`read_into` receive straight into the caller's buffer (one copy, kernel to result: through
obstore a response arrives in buffers of its own that must then be copied again).

Retries follow the caller's :class:`~s3dlio.settings.RetryPolicy` through
:class:`s3dlio.retry.RetryBudget`, like obstore's, and in addition honour ``Retry-After``.
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..errors import (
    AlreadyExistsError,
    LengthMismatchError,
    NetworkError,
    ObjectNotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    S3dlioError,
    StorageTimeoutError,
    ThrottledError,
    redact,
)
from ..retry import RetryBudget, retry_after, retryable_status
from ..runtime import PerProcess
from ..settings import RetryPolicy, Settings

__all__ = [
    "content_length",
    "direct_reachable",
    "get",
    "read_available",
    "read_into",
    "receive_exactly",
    "request",
]

log = logging.getLogger("s3dlio.retry")

T = TypeVar("T")

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
    settings: Settings,
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
    ``AlreadyExistsError``, 412 ``PreconditionFailedError``, 429/503 ``ThrottledError``, else
    ``S3dlioError``; connection failures raise ``NetworkError`` (``StorageTimeoutError`` for
    timeouts). After retries the message says how many attempts were made. Messages name
    ``uri``, never ``url`` (it may be signed). ``settings`` give the retry policy and the
    operation timeout.
    """
    if idempotent is None:
        idempotent = method in _IDEMPOTENT
    timeout = settings.client.operation_timeout

    def attempt() -> tuple[int, dict[str, str], bytes] | _Reply:
        status, resp_headers, reply = _send(method, url, body, headers, timeout)
        if status in ok:
            return status, resp_headers, reply
        return _Reply(status, resp_headers, reply)

    return _retrying(
        attempt, uri=uri, operation=operation, idempotent=idempotent, policy=settings.retry
    )


@dataclass
class _Reply:
    """A response that is not the success an attempt waited for."""

    status: int
    headers: dict[str, str]
    body: bytes


def _retrying(
    attempt: Callable[[], T | _Reply],
    *,
    uri: str,
    operation: str,
    idempotent: bool,
    policy: RetryPolicy,
    after_failure: Callable[[], None] | None = None,
) -> T:
    """Run ``attempt`` until it returns a result (not a :class:`_Reply`) or the retry budget
    says stop; see :func:`request` for what is retried. ``after_failure`` runs after every
    connection-level failure (before any retry)."""
    budget = RetryBudget(policy)
    while True:
        try:
            outcome = attempt()
        except (OSError, http.client.HTTPException) as exc:
            if after_failure is not None:
                after_failure()
            wait = budget.next_wait() if idempotent else None
            if wait is None:
                cls = StorageTimeoutError if isinstance(exc, TimeoutError) else NetworkError
                note = f" ({budget.describe()})" if budget.attempts > 1 else ""
                raise cls(
                    f"{type(exc).__name__}: {exc}{note}", uri=uri, operation=operation
                ) from exc
            _pause(budget, wait, operation, uri, f"{type(exc).__name__}: {exc}")
            continue
        if not isinstance(outcome, _Reply):
            return outcome
        if retryable_status(outcome.status) and (idempotent or outcome.status in _REFUSED):
            wait = budget.next_wait(retry_after(outcome.headers))
            if wait is not None:
                _pause(budget, wait, operation, uri, f"HTTP {outcome.status}")
                continue
        raise _status_error(outcome.status, outcome.body, uri, operation, budget)


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
    method: str,
    url: str,
    body: memoryview | bytes,
    headers: dict[str, str] | None,
    timeout: float,
) -> tuple[int, dict[str, str], bytes]:
    parsed = urllib.parse.urlsplit(url)
    conn = _connect(parsed, timeout)
    try:
        conn.request(
            method,
            _target(parsed),
            body=body,
            headers={"Content-Length": str(len(body)), **(headers or {})},
        )
        resp = conn.getresponse()
        reply = resp.read()
        return resp.status, _lower_headers(resp), reply
    finally:
        conn.close()


def _lower_headers(resp: http.client.HTTPResponse) -> dict[str, str]:
    return {k.lower(): v for k, v in resp.getheaders()}


def _connect(parsed: urllib.parse.SplitResult, timeout: float) -> http.client.HTTPConnection:
    cls = http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
    return cls(parsed.netloc, timeout=timeout)


def _target(parsed: urllib.parse.SplitResult) -> str:
    return parsed.path + ("?" + parsed.query if parsed.query else "")


def direct_reachable(url: str) -> bool:
    """True when ``url`` is reached without a proxy (``http_proxy``/``https_proxy`` and
    ``no_proxy`` as usual): :func:`get` and :func:`read_into` connect directly, so callers use
    them only then."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in urllib.request.getproxies_environment():
        return True
    return bool(urllib.request.proxy_bypass(parsed.hostname or ""))


class _Connections(threading.local):
    """Each thread's keep-alive connections, by (scheme, host:port). Held per process (a
    forked child starts afresh: the parent's sockets are not its to use)."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, str, float], http.client.HTTPConnection] = {}

    def get(self, parsed: urllib.parse.SplitResult, timeout: float) -> http.client.HTTPConnection:
        key = (parsed.scheme, parsed.netloc, timeout)
        conn = self.open.get(key)
        if conn is None:
            conn = self.open[key] = _connect(parsed, timeout)
        return conn

    def discard(self, parsed: urllib.parse.SplitResult, timeout: float) -> None:
        conn = self.open.pop((parsed.scheme, parsed.netloc, timeout), None)
        if conn is not None:
            conn.close()


_per_process: PerProcess[_Connections] = PerProcess(_Connections)


def get(
    url: str,
    receive: Callable[[http.client.HTTPResponse], T],
    *,
    uri: str,
    operation: str,
    headers: dict[str, str] | None = None,
    settings: Settings,
    statuses: tuple[int, ...] = (200, 206),
) -> T:
    """GET ``url`` (a presigned URL) over a kept-alive connection of this thread and return
    ``receive(response)`` for a response whose status is in ``statuses`` (200/206);
    ``receive`` reads as much of the body as it wants (a connection whose body was not read to
    the end is closed, not reused).

    Retried like :func:`request` (a GET is idempotent: also after a dropped connection or a
    body cut short - ``receive`` is called again on the new response), honouring
    ``Retry-After``; other statuses raise as in :func:`request`. ``headers`` are sent as given
    (``If-Match`` makes a replaced object fail with ``PreconditionFailedError``, HTTP 412).
    """
    parsed = urllib.parse.urlsplit(url)
    target = _target(parsed)
    timeout = settings.client.operation_timeout

    def ask_on(conn: http.client.HTTPConnection) -> http.client.HTTPResponse:
        conn.request("GET", target, headers=headers or {})
        return conn.getresponse()

    def respond() -> http.client.HTTPResponse:
        conn = _per_process.get().get(parsed, timeout)
        if conn.sock is not None:  # kept alive: the server may have closed it while idle
            try:
                return ask_on(conn)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # Nothing was served. Ask again at once on a new connection: not a retry, no
                # backoff, no attempt spent.
                _per_process.get().discard(parsed, timeout)
                conn = _per_process.get().get(parsed, timeout)
        return ask_on(conn)

    def attempt() -> T | _Reply:
        resp = respond()
        if resp.status not in statuses:
            reply = resp.read()
            return _Reply(resp.status, _lower_headers(resp), reply)
        try:
            result = receive(resp)
        except BaseException:
            _per_process.get().discard(
                parsed, timeout
            )  # the rest of that body may still be on the wire
            raise
        if not resp.isclosed():  # body left unread: the connection cannot serve another
            _per_process.get().discard(parsed, timeout)
        return result

    return _retrying(
        attempt,
        uri=uri,
        operation=operation,
        idempotent=True,
        policy=settings.retry,
        after_failure=lambda: _per_process.get().discard(parsed, timeout),
    )


def read_into(
    url: str,
    dst: memoryview,
    start: int,
    *,
    uri: str,
    operation: str,
    headers: dict[str, str] | None = None,
    settings: Settings,
) -> None:
    """GET bytes ``[start, start + len(dst))`` of the object at ``url`` (a presigned URL) and
    write them into ``dst`` as they arrive (see :func:`get`: retries, ``headers``, statuses).

    Each attempt rewrites ``dst`` from its start. A response of another length than asked for
    raises ``LengthMismatchError``.
    """
    length = len(dst)
    ask = {"Range": f"bytes={start}-{start + length - 1}", **(headers or {})}

    def receive(resp: http.client.HTTPResponse) -> None:
        declared = content_length(resp)
        # A 200 is the whole object: right only if that is what was asked for.
        if (resp.status == 200 and start != 0) or declared != length:
            raise _range_mismatch(resp, start, length, declared, uri, operation)
        receive_exactly(resp, dst)

    get(url, receive, uri=uri, operation=operation, headers=ask, settings=settings)


def read_available(
    url: str,
    dst: memoryview,
    start: int,
    *,
    uri: str,
    operation: str,
    settings: Settings,
) -> int:
    """Like :func:`read_into`, but the object may end before ``dst`` is full: returns the
    bytes written into ``dst`` (0 when ``start`` is at or past the end: HTTP 416)."""
    length = len(dst)
    ask = {"Range": f"bytes={start}-{start + length - 1}"}

    def receive(resp: http.client.HTTPResponse) -> int:
        if resp.status == 416:
            resp.read()
            return 0
        declared = content_length(resp)
        if declared is None or (resp.status == 200 and start != 0):
            raise _range_mismatch(resp, start, length, declared, uri, operation)
        n = min(declared, length)  # a 200 (range ignored) may be longer: read what fits
        receive_exactly(resp, dst[:n])
        return n

    return get(
        url,
        receive,
        uri=uri,
        operation=operation,
        headers=ask,
        settings=settings,
        statuses=(200, 206, 416),
    )


def _range_mismatch(
    resp: http.client.HTTPResponse,
    start: int,
    length: int,
    declared: int | None,
    uri: str,
    operation: str,
) -> LengthMismatchError:
    return LengthMismatchError(
        f"asked for bytes {start}-{start + length - 1}, the server answered "
        f"HTTP {resp.status} with {declared if declared is not None else 'no'} Content-Length",
        uri=uri,
        operation=operation,
        expected=length,
        actual=declared,
    )


def content_length(resp: http.client.HTTPResponse) -> int | None:
    """The response's ``Content-Length`` (``None`` when absent or unreadable)."""
    declared = resp.getheader("Content-Length")
    try:
        return None if declared is None else int(declared)
    except ValueError:
        return None


def receive_exactly(resp: http.client.HTTPResponse, dst: memoryview) -> None:
    """Fill ``dst`` from the response body; a body that ends sooner raises
    ``http.client.IncompleteRead`` (retried by :func:`get`)."""
    length = len(dst)
    pos = 0
    while pos < length:
        n = resp.readinto(dst[pos:])
        if not n:
            raise http.client.IncompleteRead(b"", length - pos)
        pos += n


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
    if status == 412:
        return PreconditionFailedError(
            f"precondition failed (object changed?): {text}", uri=uri, operation=operation
        )
    if status == 409:
        return AlreadyExistsError(f"conflict: {text}", uri=uri, operation=operation)
    if status in (429, 503):
        return ThrottledError(f"HTTP {status}: {text}", uri=uri, operation=operation)
    return S3dlioError(f"HTTP {status}: {text}", uri=uri, operation=operation)
