"""The one URI parser.

Every public function takes URI strings; they are turned into :class:`ObjectURI` here and nowhere
else. Accepted forms (only lower-case schemes, as the reference):

* ``s3://bucket/key`` and the endpoint form ``s3://host:port/bucket/key`` (also ``[v6]:port``).
  A first segment is an endpoint when it contains ``:`` or is a bracketed IPv6 literal.
* ``az://account/container/key``
* ``gs://bucket/key`` and ``gcs://bucket/key``
* ``file:///abs/path``, ``file://relative/path`` (the path is used literally, no ``%`` decoding)
* ``direct:///abs/path`` (the same paths, read and written with ``O_DIRECT``)
* ``memory://bucket/key`` (objects in this process's memory: :mod:`s3dlio.stores.memory`)

Malformed URIs raise :class:`~s3dlio.errors.InvalidURIError`; a missing or unknown scheme raises
:class:`~s3dlio.errors.UnsupportedSchemeError`. Both are ``ValueError`` and ``RuntimeError``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Literal

from .errors import InvalidArgumentError, InvalidURIError, UnsupportedSchemeError

__all__ = [
    "ObjectURI",
    "Scheme",
    "expand_template",
    "format_object_name",
    "parse_s3_uri_full",
    "parse_uri",
    "same_store",
]

Scheme = Literal["s3", "az", "gs", "file", "direct", "memory"]

_SCHEMES: dict[str, Scheme] = {
    "s3": "s3",
    "az": "az",
    "gs": "gs",
    "gcs": "gs",
    "file": "file",
    "direct": "direct",
    "memory": "memory",
}
_SCHEME_RE = re.compile(r"^([a-z0-9]+)://")


@dataclass(frozen=True, slots=True)
class ObjectURI:
    """A parsed URI.

    Attributes:
        scheme: the canonical scheme (``gcs`` is ``gs``).
        bucket: S3/GCS bucket or Azure container; ``""`` for ``file``/``direct``.
        key: the object key, or the filesystem path for ``file``/``direct``; may be ``""``.
        endpoint: ``host:port`` from an ``s3://host:port/bucket/key`` URI, else ``None``.
        account: the Azure storage account, else ``None``.
        spelling: the scheme as written (``gcs`` stays ``gcs`` in URIs built from this one).
    """

    scheme: Scheme
    bucket: str
    key: str
    endpoint: str | None = None
    account: str | None = None
    spelling: str = ""

    @property
    def root(self) -> str:
        """The URI up to the key: ``s3://b/``, ``s3://h:9/b/``, ``az://acct/c/``, ``file://``."""
        head = f"{self.spelling or self.scheme}://"
        if self.scheme in ("file", "direct"):
            return head
        if self.endpoint:
            head += self.endpoint + "/"
        if self.account:
            head += self.account + "/"
        return f"{head}{self.bucket}/"

    def with_key(self, key: str) -> str:
        """The full URI of ``key`` in the same bucket/container/filesystem."""
        return self.root + key

    def __str__(self) -> str:
        return self.with_key(self.key)

    @property
    def is_local(self) -> bool:
        return self.scheme in ("file", "direct")


def same_store(a: ObjectURI, b: ObjectURI) -> bool:
    """True when both URIs address the same bucket/container on the same endpoint."""
    return (a.scheme, a.bucket, a.endpoint, a.account) == (
        b.scheme,
        b.bucket,
        b.endpoint,
        b.account,
    )


def _is_endpoint(segment: str) -> bool:
    return ":" in segment or (segment.startswith("[") and segment.endswith("]"))


def parse_uri(uri: str) -> ObjectURI:
    """Parse ``uri`` into an :class:`ObjectURI`.

    ``s3://bucket`` (no slash) is accepted as the bucket root; ``file://`` and ``direct://``
    need a non-empty path.
    """
    if not isinstance(uri, str):
        raise InvalidArgumentError(f"URI must be a str, got {type(uri).__name__}")
    m = _SCHEME_RE.match(uri)
    if m is None or m.group(1) not in _SCHEMES:
        raise UnsupportedSchemeError(
            "unsupported or missing scheme; expected one of s3://, az://, gs://, gcs://, "
            "file://, direct://, memory://",
            uri=uri,
        )
    spelling = m.group(1)
    scheme = _SCHEMES[spelling]
    rest = uri[m.end() :]
    if scheme in ("file", "direct"):
        if not rest:
            raise InvalidURIError("empty path", uri=uri)
        return ObjectURI(scheme, "", rest, spelling=spelling)
    first, sep, tail = rest.partition("/")
    if not first:
        raise InvalidURIError("empty bucket name", uri=uri)
    if scheme == "az":
        container, _, key = tail.partition("/")
        if not container:
            raise InvalidURIError(
                "missing container; Azure URIs are az://account/container/key", uri=uri
            )
        return ObjectURI("az", container, key, account=first, spelling=spelling)
    if scheme == "s3" and _is_endpoint(first):
        bucket, _, key = tail.partition("/")
        if not bucket:
            raise InvalidURIError(f"missing bucket after server {first!r}", uri=uri)
        return ObjectURI("s3", bucket, key, endpoint=first, spelling=spelling)
    return ObjectURI(scheme, first, tail if sep else "", spelling=spelling)


def parse_s3_uri_full(uri: str) -> dict[str, str | None]:
    """Split an S3 URI into ``{"endpoint", "bucket", "key"}`` exactly as the reference does.

    Unlike :func:`parse_uri`, ``s3://bucket`` without a ``/`` is rejected (the reference's
    contract), and only ``s3://`` is accepted.
    """
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise InvalidURIError("URI must start with s3://", uri=str(uri))
    rest = uri[5:]
    first, sep, _ = rest.partition("/")
    if not first:
        raise InvalidURIError("empty first segment (expected bucket or host:port)", uri=uri)
    if not sep and not _is_endpoint(first):
        raise InvalidURIError("URI must contain '/' after bucket", uri=uri)
    parsed = parse_uri(uri)
    return {"endpoint": parsed.endpoint, "bucket": parsed.bucket, "key": parsed.key}


_RANGE_RE = re.compile(r"\{(\d+)\.\.\.(\d+)\}")


def expand_template(template: str) -> list[str]:
    """Expand ``{N...M}`` ranges (inclusive, three dots) into every combination, in order.

    ``host{1...2}/x{1...2}`` gives four strings. A start written with leading zeros keeps its
    width (``{01...03}`` gives ``01``, ``02``, ``03``; the reference dropped the padding).
    A range whose start exceeds its end raises :class:`~s3dlio.errors.InvalidArgumentError`.
    The two-dot form ``{1..3}`` is left literal.
    """
    ranges: list[list[str]] = []
    for m in _RANGE_RE.finditer(template):
        lo_text, hi_text = m.group(1), m.group(2)
        lo, hi = int(lo_text), int(hi_text)
        if lo > hi:
            raise InvalidArgumentError(
                f"template expansion failed: invalid range: start ({lo}) > end ({hi})",
                operation="expand_template",
            )
        width = len(lo_text) if lo_text.startswith("0") and len(lo_text) > 1 else 0
        ranges.append([str(i).zfill(width) for i in range(lo, hi + 1)])
    if not ranges:
        return [template]
    pieces = _RANGE_RE.split(template)[::3]
    out = []
    for combo in itertools.product(*ranges):
        parts = [pieces[0]]
        for value, piece in zip(combo, pieces[1:], strict=True):
            parts.append(value)
            parts.append(piece)
        out.append("".join(parts))
    return out


def format_object_name(template: str, index: int, total: int) -> str:
    """Fill a ``put`` name template: the first ``{}`` is ``index``, the second ``total``.

    Further ``{}`` are left as they are; a template without ``{}`` names every object the same.
    """
    first = template.find("{}")
    if first < 0:
        return template
    out = template[:first] + str(index)
    rest = template[first + 2 :]
    second = rest.find("{}")
    if second < 0:
        return out + rest
    return out + rest[:second] + str(total) + rest[second + 2 :]
