"""``s3-cli``: the command line.

This version answers ``--version`` and ``--help``; the subcommands of the reference's CLI
(ls, stat, get, put, upload, download, rm, cp, ...) are not implemented yet and are refused
with exit code 2 and a message saying so.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._version import __version__

PLANNED = [
    "list-buckets",
    "create-bucket",
    "delete-bucket",
    "stat",
    "delete",
    "rm",
    "get",
    "put",
    "upload",
    "download",
    "cp",
    "list",
    "ls",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s3-cli",
        description="s3dlio command line: one URI interface to s3://, az://, gs://, file:// "
        "and direct:// storage.",
        epilog="Subcommands (not implemented in this version yet): " + ", ".join(PLANNED),
    )
    parser.add_argument("--version", action="version", version=f"s3-cli (s3dlio) {__version__}")
    parser.add_argument("command", nargs="?", help="subcommand (see below)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    if ns.command is None:
        parser.print_help()
        return 0
    print(
        f"s3-cli: subcommand {ns.command!r} is not implemented in s3dlio {__version__} yet; "
        "use the Python API (import s3dlio)",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
