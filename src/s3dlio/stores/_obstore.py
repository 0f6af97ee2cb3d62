"""The one door to obstore: a per-process module accessor, and error translation.

**Fork safety.** obstore (0.12) runs its requests on a Tokio runtime created on first use; a
forked child of a process that used it hangs on its first request, even with a new store
(measured here; the reference hangs the same way). Remedy: obstore's native module belongs to
the first process that uses it. Any other process (a forked child, a grandchild...) loads a
private copy of the native extension - the ``_obstore*.so`` file copied into an in-memory file
and loaded under the same module name - which brings its own fresh runtime. Every obstore call
in s3dlio goes through :func:`native`, and stores rebuild their native store objects when the
PID changes, so nothing from the parent's runtime is touched in the child.

Errors from either copy are recognised by class name (the copies have distinct classes) and
translated once, here, into the s3dlio hierarchy.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import re
from types import ModuleType
from typing import Any

from ..errors import (
    AlreadyExistsError,
    InvalidArgumentError,
    NetworkError,
    ObjectNotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    S3dlioError,
    StorageTimeoutError,
    ThrottledError,
    UnsupportedOperationError,
)
from ..runtime import PerProcess, keep_forever

__all__ = ["native", "translate"]

_owner_pid: int | None = None  # the process whose runtime the installed module carries


def _module_for_this_process() -> ModuleType:
    global _owner_pid
    import obstore._obstore as installed

    if _owner_pid is None:
        _owner_pid = os.getpid()
    if _owner_pid == os.getpid():
        return installed
    return _load_private_copy(installed)


# A grandchild keeps its parent's private copy alive: freeing a loaded runtime is not safe.
_module: PerProcess[ModuleType] = PerProcess(_module_for_this_process, on_fork=keep_forever)


def native() -> ModuleType:
    """obstore's native module for this process (``get``, ``put``, ``_store.S3Store``...)."""
    return _module.get()


def _load_private_copy(installed: ModuleType) -> ModuleType:
    source = installed.__file__
    assert source is not None
    fd = os.memfd_create("s3dlio-obstore", os.MFD_CLOEXEC)
    with open(source, "rb") as src:
        while chunk := src.read(8 << 20):
            os.write(fd, chunk)
    # The loader needs a path; /proc/self/fd/N names the in-memory copy (kept open for the
    # life of the process, as the mapped library needs nothing else).
    path = f"/proc/self/fd/{fd}"
    loader = importlib.machinery.ExtensionFileLoader(installed.__name__, path)
    spec = importlib.util.spec_from_file_location(installed.__name__, path, loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


_BY_NAME: dict[str, type[S3dlioError]] = {
    "NotFoundError": ObjectNotFoundError,
    "PermissionDeniedError": PermissionDeniedError,
    "UnauthenticatedError": PermissionDeniedError,
    "AlreadyExistsError": AlreadyExistsError,
    "PreconditionError": PreconditionFailedError,
    "NotModifiedError": PreconditionFailedError,
    "NotSupportedError": UnsupportedOperationError,
    "InvalidPathError": InvalidArgumentError,
    "UnknownConfigurationKeyError": InvalidArgumentError,
    # obstore also raises plain builtins
    "FileNotFoundError": ObjectNotFoundError,
    "PermissionError": PermissionDeniedError,
    "FileExistsError": AlreadyExistsError,
    "NotImplementedError": UnsupportedOperationError,
    "TimeoutError": StorageTimeoutError,
    "ConnectionError": NetworkError,
}

_THROTTLED = ("SlowDown", "TooManyRequests", "429 ", "503 ", "Service Unavailable", "throttl")
_TIMEOUT = ("timed out", "timeout", "Timeout", "deadline has elapsed")
_NETWORK = (
    "error sending request",
    "Connection refused",
    "connection reset",
    "Connection reset",
    "dispatch",
    "connect error",
    "tcp connect",
    "broken pipe",
    "hyper",
    "unexpected EOF",
    "body error",
)
_RETRIES = re.compile(r"after (\d+) retries")
_DENIED = (
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "AccessDenied",
    "403 Forbidden",
    "AuthorizationFailure",
    "AuthenticationFailed",
)


def translate(exc: BaseException, uri: str, operation: str) -> S3dlioError:
    """The s3dlio error for an exception raised by obstore (either module copy)."""
    if isinstance(exc, S3dlioError):
        return exc
    # obstore appends a "Debug source:" dump (retry settings, URLs); classify on the text above.
    message = str(exc).split("Debug source:", 1)[0].strip() or type(exc).__name__
    message = re.sub(r",?\s*max_retries: \d+, retry_timeout: \S+\s*", " ", message)
    # obstore counts retries; say how many attempts were made (config.retry_policy's unit).
    message = _RETRIES.sub(lambda m: f"gave up after {int(m[1]) + 1} attempts", message)
    short = message.splitlines()[0][:2000]
    for cls in type(exc).__mro__:
        target = _BY_NAME.get(cls.__name__)
        if target is not None:
            if target is ObjectNotFoundError and "NoSuchBucket" in message:
                short = "bucket does not exist (NoSuchBucket): " + short
            if target is PermissionDeniedError or not any(s in message for s in _DENIED):
                return target(short, uri=uri, operation=operation)
            return PermissionDeniedError(short, uri=uri, operation=operation)
    if isinstance(exc, ValueError):
        return InvalidArgumentError(short, uri=uri, operation=operation)
    if "NoSuchBucket" in message or "ContainerNotFound" in message:
        return ObjectNotFoundError("bucket does not exist: " + short, uri=uri, operation=operation)
    if "404 Not Found" in message:
        return ObjectNotFoundError(short, uri=uri, operation=operation)
    if any(s in message for s in _DENIED):
        return PermissionDeniedError(short, uri=uri, operation=operation)
    if any(s in message for s in _THROTTLED):
        return ThrottledError(short, uri=uri, operation=operation)
    if any(s in message for s in _TIMEOUT):
        return StorageTimeoutError(short, uri=uri, operation=operation)
    if any(s in message for s in _NETWORK):
        return NetworkError(short, uri=uri, operation=operation)
    return S3dlioError(short, uri=uri, operation=operation)


def call(uri: str, operation: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with obstore's errors translated."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        raise translate(exc, uri, operation) from exc
