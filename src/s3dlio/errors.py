"""One exception hierarchy for every backend and operation.

Every class derives from :class:`S3dlioError`, which is a :class:`RuntimeError`: the reference
package raised bare ``RuntimeError`` almost everywhere, so handlers written for it keep working.
Where a Python builtin exception fits, the class also derives from it (a missing object is a
:class:`FileNotFoundError`, a refused request a :class:`PermissionError`), so ordinary
``except`` clauses work too.

Each error carries the ``uri`` and the ``operation`` it concerns. Messages never contain
credentials: URIs are passed through :func:`redact` (query strings, which may carry SAS tokens or
signatures, are replaced) before they reach a message or ``repr``.
"""

from __future__ import annotations

import re

__all__ = [
    "AlreadyExistsError",
    "DirectIOUnsupportedError",
    "DirectoryNotEmptyError",
    "ExportStillReferencedError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "InvalidPayloadError",
    "InvalidURIError",
    "IsADirectoryObjectError",
    "LengthMismatchError",
    "NetworkError",
    "NotADirectoryObjectError",
    "ObjectNotFoundError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "S3dlioError",
    "StorageTimeoutError",
    "ThrottledError",
    "UnsafeKeyError",
    "UnsupportedOperationError",
    "UnsupportedSchemeError",
    "redact",
]

# A query string of a URL/URI (it may carry SAS tokens or presigned signatures).
_QUERY = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s?'\"<>]*)\?[^\s'\"<>]*")
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
# Signature-like parameters outside a URL (a SAS token on its own).
_SIGNATURE = re.compile(r"\b(sig|signature|X-Amz-Signature|X-Amz-Credential|se|sp|sv)=[^&\s'\"]+")


def redact(text: str) -> str:
    """Return ``text`` with URL query strings, ``user:password@`` parts and signature
    parameters removed."""
    text = _QUERY.sub(r"\1?<query redacted>", text)
    text = _SIGNATURE.sub(r"\1=<redacted>", text)
    return _USERINFO.sub("<redacted>@", text)


class S3dlioError(RuntimeError):
    """Base of every s3dlio error.

    Attributes:
        uri: the URI the failed operation addressed (redacted), or ``None``.
        operation: a short name of the operation (``"get"``, ``"put"``, ``"list"``...), or ``None``.
    """

    uri: str | None
    operation: str | None

    def __init__(
        self, message: str, *, uri: str | None = None, operation: str | None = None
    ) -> None:
        self.uri = redact(uri) if uri is not None else None
        self.operation = operation
        self.message = redact(message)
        prefix = ""
        if operation and self.uri:
            prefix = f"{operation} {self.uri}: "
        elif self.uri:
            prefix = f"{self.uri}: "
        elif operation:
            prefix = f"{operation}: "
        # Initialise every base with the one formatted message: OSError subclasses would
        # otherwise interpret a 2-tuple of args as (errno, strerror).
        super().__init__(prefix + self.message)
        self.args = (prefix + self.message,)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.args[0]!r})"

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.message, self.uri, self.operation))


def _rebuild(
    cls: type[S3dlioError], message: str, uri: str | None, operation: str | None
) -> S3dlioError:
    return cls(message, uri=uri, operation=operation)


class ObjectNotFoundError(S3dlioError, FileNotFoundError):
    """The object (or file, bucket, container) does not exist."""


class PermissionDeniedError(S3dlioError, PermissionError):
    """The store refused the request: bad or missing credentials, or no permission."""


class AlreadyExistsError(S3dlioError, FileExistsError):
    """The target exists and the operation does not overwrite, or a path component is a file."""


class IsADirectoryObjectError(S3dlioError, IsADirectoryError):
    """An object operation addressed a directory (``file://``/``direct://`` only)."""


class NotADirectoryObjectError(S3dlioError, NotADirectoryError):
    """A path component that must be a directory is a file."""


class PreconditionFailedError(S3dlioError):
    """A conditional request (ETag, generation, ``if-none-match``) did not hold."""


class ThrottledError(S3dlioError):
    """The store asked the client to slow down (HTTP 429/503, SlowDown). Retryable."""


class NetworkError(S3dlioError, ConnectionError):
    """The connection failed or was dropped. Retryable."""


class StorageTimeoutError(NetworkError, TimeoutError):
    """A connect or operation timeout expired. Retryable."""


class InvalidArgumentError(S3dlioError, ValueError):
    """An argument is out of range or malformed (other than a URI)."""


class InvalidArgumentTypeError(InvalidArgumentError, TypeError):
    """An argument has the wrong type (a bool or float where an integer count is required)."""


class InvalidURIError(InvalidArgumentError):
    """A URI is malformed for its scheme (empty bucket, missing container, ...)."""


class UnsupportedSchemeError(InvalidURIError):
    """A URI has no scheme or one s3dlio does not know."""


class UnsafeKeyError(InvalidArgumentError):
    """An object key would escape the local directory it is downloaded into."""


class LengthMismatchError(S3dlioError, ValueError):
    """A read returned a different number of bytes than expected.

    Attributes ``expected`` and ``actual`` hold the two lengths (``actual`` may be ``None``).
    """

    expected: int | None
    actual: int | None

    def __init__(
        self,
        message: str,
        *,
        uri: str | None = None,
        operation: str | None = None,
        expected: int | None = None,
        actual: int | None = None,
    ) -> None:
        super().__init__(message, uri=uri, operation=operation)
        self.expected = expected
        self.actual = actual


class UnsupportedOperationError(S3dlioError, NotImplementedError):
    """The backend cannot perform this operation (documented per backend in docs/api.md)."""


class DirectIOUnsupportedError(UnsupportedOperationError):
    """The filesystem refused ``O_DIRECT`` and strict direct I/O was requested."""


class ExportStillReferencedError(S3dlioError):
    """Kept for drop-in compatibility with the reference; s3dlio never raises it, because
    writes never borrow the caller's buffer beyond the call."""


class InvalidPayloadError(S3dlioError, TypeError):
    """Data given to a write is not bytes-like (``str``, ``int``, ``list``... are refused)."""


class DirectoryNotEmptyError(S3dlioError, OSError):
    """``rmdir`` of a directory that still has entries."""
