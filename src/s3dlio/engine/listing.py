"""What a URI selects, written once over the store protocol.

A URI's key selects, on every backend alike:

* ``""`` or a key ending in ``/``: everything under that prefix (a directory).
* a key containing ``*`` or ``?``: a glob; ``*`` and ``?`` stay within one path segment,
  ``**`` crosses ``/``. With ``recursive=True`` a glob also selects everything under a
  matching directory.
* any other key ``K``: the object ``K`` itself, plus everything under ``K/`` - never a sibling
  such as ``K-old`` or ``Kbar`` (use ``K*`` for that).

Non-recursive selections also yield the immediate sub-directories (common prefixes).
``pattern`` is a regular expression searched (``re.search``) in each key relative to the
selection's base (``^sub/`` matches ``<base>/sub/x``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import InvalidArgumentError, IsADirectoryObjectError, ObjectNotFoundError
from ..stores.base import ObjectMeta, ObjectStore
from ..uri import ObjectURI

__all__ = ["Entry", "compile_pattern", "has_glob", "select"]

_GLOB_CHARS = ("*", "?")


@dataclass(slots=True)
class Entry:
    """A selected object (``meta`` set) or sub-directory (``meta`` is ``None``, key ends ``/``).

    ``relative`` is the key relative to the selection base, used for patterns and for the
    layout of downloads.
    """

    key: str
    relative: str
    meta: ObjectMeta | None


def has_glob(key: str) -> bool:
    return any(c in key for c in _GLOB_CHARS)


def compile_pattern(pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None or pattern == "":
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InvalidArgumentError(
            f"invalid regex pattern {pattern!r}: {exc}", operation="list"
        ) from None


def _glob_regex(glob: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(glob):
        c = glob[i]
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def select(
    store: ObjectStore,
    uri: ObjectURI,
    *,
    recursive: bool,
    pattern: str | None = None,
    with_prefixes: bool = True,
    metadata: bool = True,
) -> Iterator[Entry]:
    """Stream the entries ``uri`` selects (see the module docstring), filtered by ``pattern``.

    ``metadata=False`` is for callers that need names only: sizes may then be
    ``UNKNOWN_SIZE`` (a filesystem skips its ``stat`` per file).
    """
    regex = compile_pattern(pattern)
    key = uri.key
    for entry in _select(
        store, key, recursive=recursive, with_prefixes=with_prefixes, metadata=metadata
    ):
        if regex is None or regex.search(entry.relative):
            yield entry


def _select(
    store: ObjectStore, key: str, *, recursive: bool, with_prefixes: bool, metadata: bool
) -> Iterator[Entry]:
    if has_glob(key):
        first = min(key.index(c) for c in _GLOB_CHARS if c in key)
        base = key[: key.rfind("/", 0, first) + 1]
        regex = _glob_regex(key)
        for page in store.list(base, recursive=True, metadata=metadata):
            for meta in page.objects:
                if regex.fullmatch(meta.key) or (recursive and _dir_matches(regex, meta.key, base)):
                    yield Entry(meta.key, meta.key[len(base) :], meta)
        return
    if key == "" or key.endswith("/"):
        yield from _under(store, key, recursive, with_prefixes, metadata)
        return
    try:
        meta = store.head(key)
    except (ObjectNotFoundError, IsADirectoryObjectError):
        pass
    else:
        yield Entry(key, key.rsplit("/", 1)[-1], meta)
    yield from _under(store, key + "/", recursive, with_prefixes, metadata)


def _dir_matches(regex: re.Pattern[str], key: str, base: str) -> bool:
    pos = key.find("/", len(base))
    while pos >= 0:
        if regex.fullmatch(key[:pos]):
            return True
        pos = key.find("/", pos + 1)
    return False


def _under(
    store: ObjectStore, base: str, recursive: bool, with_prefixes: bool, metadata: bool
) -> Iterator[Entry]:
    n = len(base)
    for page in store.list(base, recursive=recursive, metadata=metadata):
        for meta in page.objects:
            yield Entry(meta.key, meta.key[n:], meta)
        if with_prefixes:
            for prefix in page.prefixes:
                yield Entry(prefix, prefix[n:], None)
