"""Exit codes, and which failure gets which.

* ``0`` success.
* ``1`` the operation failed: every :class:`~s3dlio.errors.S3dlioError` not listed below
  (not found, denied, missing credentials, network, a bucket that is not empty, ...).
* ``2`` usage error: bad arguments (argparse), bad sizes or counts, malformed URIs and unknown
  schemes, invalid regexes, and flags the library cannot honour yet. All of these are found
  before any I/O.
* ``130`` interrupted (Ctrl-C); ``141`` stdout closed early (``s3-cli ls ... | head``).
"""

from __future__ import annotations

from ..errors import InvalidArgumentError, UnsafeKeyError

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CommandFailed",
    "PartialFailure",
    "UsageError",
    "exit_code_for",
    "one_line",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class UsageError(Exception):
    """A command line the CLI cannot run: exit code 2, nothing was done."""


class CommandFailed(Exception):
    """A failure the CLI itself detects (for example a selection that matched nothing)."""


class PartialFailure(Exception):
    """A bulk command failed after some objects were done: ``cause`` plus how many."""

    def __init__(self, cause: BaseException, done: str) -> None:
        super().__init__(f"{cause}; {done}")
        self.cause = cause


def exit_code_for(exc: BaseException) -> int:
    """The exit code for an exception that ended a command."""
    if isinstance(exc, PartialFailure):
        return exit_code_for(exc.cause)
    if isinstance(exc, UsageError):
        return EXIT_USAGE
    # Malformed URIs, unknown schemes, bad regexes and out-of-range arguments are rejected by
    # the library before any I/O: the command line is wrong. A key that would escape the
    # download directory is data found during the operation, so it is a failure.
    if isinstance(exc, InvalidArgumentError) and not isinstance(exc, UnsafeKeyError):
        return EXIT_USAGE
    return EXIT_FAILED


def one_line(text: str) -> str:
    """``text`` with line breaks folded, so an error is always one line."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())
