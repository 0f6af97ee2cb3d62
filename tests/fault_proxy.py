"""A fault-injecting HTTP proxy for tests: a real server behind, chosen failures in front.

:class:`FaultProxy` listens on ``127.0.0.1`` (a free port) and forwards every HTTP/1.1 request to
one upstream server (SeaweedFS, Azurite, fake-gcs-server), relaying the real response - unless a
:class:`Fault` rule matches the request, in which case the proxy answers it itself (``503
SlowDown``, ``429`` with ``Retry-After``, ``500``...) or resets the TCP connection, before the
request reaches the server or in the middle of the server's response body.

Every request is recorded (:attr:`FaultProxy.log`: monotonic arrival time, method, path, what
was done), so tests can assert how many attempts a client made and how long it waited between
them without depending on the backend's own logs.

The ``Host`` header is forwarded unchanged (S3 SigV4 signs it), unless ``rewrite_host`` is set
(fake-gcs-server routes XML-API requests by host and checks nothing else). Standard library only.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import socketserver
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

__all__ = ["Fault", "FaultProxy", "Record"]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
}


@dataclass
class Fault:
    """One injection rule: the next ``times`` requests matching ``method`` and ``path`` get
    ``action`` instead of (or, for ``reset_body``, in the middle of) the real response.

    ``action``: ``"status"`` (answer ``status`` with ``headers`` and ``body``), ``"reset"``
    (close the connection with a TCP RST before answering), ``"reset_body"`` (forward, send
    the real status line, headers and half of the body, then RST) or ``"before"`` (call
    ``before()``, e.g. to change the object, then forward the request as usual).
    ``method`` ``None`` matches any method; ``path`` matches as a substring of the request target
    (path and query).
    """

    action: str
    times: int = 1
    method: str | None = None
    path: str = ""
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    before: Callable[[], None] | None = None

    def matches(self, method: str, target: str) -> bool:
        return (
            self.times > 0
            and (self.method is None or self.method == method)
            and self.path in urllib.parse.unquote(target)
        )


@dataclass(frozen=True)
class Record:
    """One request the proxy received: ``outcome`` is ``"forwarded"`` or the fault's
    description (``"status 503"``, ``"reset"``, ``"reset_body"``)."""

    at: float  # time.monotonic() when the request head was read
    method: str
    target: str
    outcome: str
    upstream_status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # request headers, names lower-case


def slow_down(retry_after: str | None = None, status: int = 503) -> Fault:
    """An S3-style throttling reply (XML ``SlowDown`` body), optionally with ``Retry-After``."""
    headers = {"Content-Type": "application/xml"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    code = "SlowDown" if status == 503 else "TooManyRequests"
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
        f"<Message>Please reduce your request rate.</Message></Error>"
    ).encode()
    return Fault("status", status=status, headers=headers, body=body)


class FaultProxy:
    """A threaded forwarding proxy on ``127.0.0.1``; use as a context manager.

    ``upstream`` is the real server's base URL (``http://127.0.0.1:PORT``). :attr:`url` is the
    proxy's base URL. Add rules with :meth:`inject`; they are consumed in order of addition.
    """

    def __init__(self, upstream: str, *, rewrite_host: bool = False) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        assert parsed.scheme == "http" and parsed.hostname and parsed.port
        self.upstream_host = parsed.hostname
        self.upstream_port = parsed.port
        self.rewrite_host = rewrite_host
        self.log: list[Record] = []
        self._faults: list[Fault] = []
        self._clients: set[socket.socket] = set()
        self._lock = threading.Lock()
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                with proxy._lock:
                    proxy._clients.add(self.connection)
                try:
                    proxy._serve_connection(self.connection, self.rfile)
                finally:
                    with proxy._lock:
                        proxy._clients.discard(self.connection)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port: int = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- rules and records -------------------------------------------------------------------

    def inject(
        self,
        fault: Fault,
        *,
        times: int | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> Fault:
        """Add ``fault`` (optionally overriding its ``times``, ``method``, ``path``)."""
        if times is not None:
            fault.times = times
        if method is not None:
            fault.method = method
        if path is not None:
            fault.path = path
        with self._lock:
            self._faults.append(fault)
        return fault

    def close_idle_connections(self) -> None:
        """Close every client connection (as servers do with idle keep-alive connections)."""
        with self._lock:
            clients = list(self._clients)
        for conn in clients:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def clear(self) -> None:
        """Drop every pending rule and the request log."""
        with self._lock:
            self._faults.clear()
            self.log.clear()

    def requests(self, method: str | None = None, path: str = "") -> list[Record]:
        """The recorded requests matching ``method`` (any if ``None``) and ``path`` substring."""
        with self._lock:
            return [
                r
                for r in self.log
                if (method is None or r.method == method) and path in urllib.parse.unquote(r.target)
            ]

    def _take(self, method: str, target: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, target):
                    fault.times -= 1
                    return fault
        return None

    def _record(self, record: Record) -> None:
        with self._lock:
            self.log.append(record)

    # -- serving -------------------------------------------------------------------------------

    def _serve_connection(self, conn: socket.socket, rfile: BinaryIO) -> None:
        while True:
            head = _read_head(rfile)
            if head is None:
                return
            at = time.monotonic()
            method, target, headers = head
            body = _read_body(rfile, headers)
            fault = self._take(method, target)
            if fault is not None and fault.action == "status":
                self._record(Record(at, method, target, f"status {fault.status}"))
                _send(
                    conn,
                    fault.status,
                    http.client.responses.get(fault.status, ""),
                    list(fault.headers.items()),
                    fault.body,
                    method,
                )
                continue
            if fault is not None and fault.action == "reset":
                self._record(Record(at, method, target, "reset"))
                _reset(conn)
                return
            if fault is not None and fault.action == "before":
                assert fault.before is not None
                fault.before()
                fault = None
            try:
                status, reason, resp_headers, resp_body = self._forward(
                    method, target, headers, body
                )
            except OSError:
                self._record(Record(at, method, target, "upstream failed"))
                _reset(conn)
                return
            if fault is not None and fault.action == "reset_body":
                self._record(Record(at, method, target, "reset_body", status))
                headers_out = [(k, v) for k, v in resp_headers if k.lower() != "content-length"]
                headers_out.append(("Content-Length", str(len(resp_body))))
                conn.sendall(_head_bytes(status, reason, headers_out))
                conn.sendall(resp_body[: len(resp_body) // 2])
                _reset(conn)
                return
            sent = {k.lower(): v for k, v in headers}
            self._record(Record(at, method, target, "forwarded", status, sent))
            _send(conn, status, reason, resp_headers, resp_body, method)

    def _forward(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            upstream.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                lower = name.lower()
                if lower in _HOP_BY_HOP or lower == "content-length":
                    continue
                if lower == "host" and self.rewrite_host:
                    value = f"{self.upstream_host}:{self.upstream_port}"
                upstream.putheader(name, value)
            if body or method in ("PUT", "POST", "PATCH"):
                upstream.putheader("Content-Length", str(len(body)))
            upstream.endheaders(body)
            resp = upstream.getresponse()
            data = resp.read()
            out: list[tuple[str, str]] = []
            for name, value in resp.getheaders():
                lower = name.lower()
                if lower in _HOP_BY_HOP:
                    continue
                if lower == "location" and self.rewrite_host:
                    value = value.replace(
                        f"{self.upstream_host}:{self.upstream_port}", f"127.0.0.1:{self.port}"
                    )
                out.append((name, value))
            return resp.status, resp.reason, out, data
        finally:
            upstream.close()


def _read_head(rfile: BinaryIO) -> tuple[str, str, list[tuple[str, str]]] | None:
    try:
        line = rfile.readline(65537)
    except OSError:
        return None
    if not line or not line.strip():
        return None
    method, target, _version = line.decode("latin-1").split(" ", 2)
    headers: list[tuple[str, str]] = []
    while True:
        raw = rfile.readline(65537)
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    return method, target, headers


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _read_body(rfile: BinaryIO, headers: list[tuple[str, str]]) -> bytes:
    if (_header(headers, "transfer-encoding") or "").lower() == "chunked":
        parts: list[bytes] = []
        while True:
            size = int(rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(rfile.read(size))
            rfile.readline()
    length = int(_header(headers, "content-length") or 0)
    return rfile.read(length) if length else b""


def _head_bytes(status: int, reason: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _send(
    conn: socket.socket,
    status: int,
    reason: str,
    headers: list[tuple[str, str]],
    body: bytes,
    method: str,
) -> None:
    out = list(headers)
    if method != "HEAD":
        # The body was read whole; its length replaces whatever framing upstream used. A HEAD
        # reply keeps upstream's Content-Length (the object's size) and carries no body.
        out = [(k, v) for k, v in out if k.lower() != "content-length"]
        if status not in (204, 304):
            out.append(("Content-Length", str(len(body))))
    conn.sendall(_head_bytes(status, reason, out) + (b"" if method == "HEAD" else body))


def _reset(conn: socket.socket) -> None:
    # SO_LINGER with a zero timeout makes close() send a TCP RST: a "connection reset by peer".
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
