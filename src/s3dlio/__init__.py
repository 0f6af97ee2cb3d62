"""s3dlio: one URI API for S3, Azure Blob, GCS, ``file://`` and ``direct://`` storage.

A drop-in for the reference ``s3dlio`` 0.10.0 Python API (same names, arguments and return
types), with typed errors that still subclass ``RuntimeError``. See ``docs/api.md``.
"""

from __future__ import annotations

from . import api as _api
from . import errors as _errors
from ._version import __version__
from .api import *  # noqa: F403 - the flat API; api.__all__ is the list
from .api import list as list  # drop-in name; kept out of __all__ below
from .buffers import BytesView
from .errors import *  # noqa: F403 - the exception classes
from .uri import expand_template, parse_s3_uri_full

# ``from s3dlio import *`` must not shadow the builtin ``list`` (the reference's did).
__all__ = [
    *(name for name in _api.__all__ if name != "list"),
    *(name for name in _errors.__all__ if name[0].isupper()),
    "BytesView",
    "__version__",
    "expand_template",
    "parse_s3_uri_full",
]
