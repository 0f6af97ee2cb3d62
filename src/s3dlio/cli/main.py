"""``s3-cli``: parse the command line, apply the global flags, run the command, and turn
failures into one line on stderr and an exit code (see :mod:`.exits`).

Global flags become settings (``--endpoint-url`` the S3 endpoint, ``--region`` the region,
over what the environment says): the CLI builds one :class:`~s3dlio.settings.Settings` value
before the first storage call and installs it in the default store registry; it never writes
``os.environ``. The CLI reads no ``.env`` file, as the library.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import traceback
from collections.abc import Callable, Sequence

import s3dlio

from .. import config, stores
from ..errors import S3dlioError
from . import commands, transfers
from .exits import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CommandFailed,
    PartialFailure,
    UsageError,
    exit_code_for,
    one_line,
)
from .parser import parse
from .render import Console

__all__ = ["main"]

Handler = Callable[[argparse.Namespace, Console], int]

HANDLERS: dict[str, Handler] = {
    "list": commands.ls,
    "stat": commands.stat,
    "list-buckets": commands.list_buckets,
    "create-bucket": commands.create_bucket,
    "delete-bucket": commands.delete_bucket,
    "mkdir": commands.mkdir,
    "rmdir": commands.rmdir,
    "delete": commands.delete,
    "get": transfers.get,
    "put": transfers.put,
    "upload": transfers.upload,
    "download": transfers.download,
    "cp": transfers.cp,
}


def _configure(args: argparse.Namespace) -> None:
    """Apply the global flags; refuse the ones the library cannot honour yet."""
    if args.op_log is not None:
        raise UsageError(
            f"--op-log {args.op_log}: op-log is not available yet (the library has no "
            "operation trace writer); nothing was run"
        )
    if args.ca_bundle is not None:
        raise UsageError(
            f"--ca-bundle {args.ca_bundle} is not available yet: the library's S3 client "
            "does not load custom CA bundles; nothing was run"
        )
    if args.endpoint_url or args.region:
        settings = config.settings()
        aws = dataclasses.replace(
            settings.aws,
            endpoint_url=args.endpoint_url or settings.aws.endpoint_url,
            region=args.region or settings.aws.region,
        )
        stores.configure(settings=dataclasses.replace(settings, aws=aws))
    if args.verbose:
        s3dlio.init_logging("info" if args.verbose == 1 else "debug")


def _report(exc: BaseException, verbose: int) -> int:
    if verbose:
        traceback.print_exception(exc)
    message = one_line(str(exc)) or type(exc).__name__
    if not isinstance(exc, (S3dlioError, UsageError, CommandFailed, PartialFailure)):
        message = f"unexpected {type(exc).__name__}: {message}"
        if not verbose:
            message += " (run with -v for the traceback)"
    print(f"s3-cli: error: {message}", file=sys.stderr, flush=True)
    return exit_code_for(exc)


def _stdout_closed() -> int:
    # The reader went away (``s3-cli ls ... | head``): stop quietly, and keep the interpreter
    # from complaining when it flushes stdout at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(None if argv is None else list(argv))
    if getattr(args, "command", None) is None:
        print("s3-cli: error: a command is required (see 's3-cli --help')", file=sys.stderr)
        return EXIT_USAGE
    console = Console(quiet=args.quiet)
    try:
        _configure(args)
        code = HANDLERS[args.command](args, console)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _stdout_closed()
    except KeyboardInterrupt:
        print("s3-cli: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        return _report(exc, args.verbose)


if __name__ == "__main__":
    raise SystemExit(main())
