"""The command line's grammar: global flags, every subcommand and its flags, help and examples.

Names and flags follow the reference ``s3-cli`` (``api-0.10.0.md`` section 14). Global flags
may be given before or after the subcommand (``s3-cli -v ls URI`` = ``s3-cli ls URI -v``).
Usage errors print one line, ``s3-cli: error: <command>: <problem>``, and exit with code 2.

``build_parser()`` makes the top-level parser and calls one ``_add_<command>`` function per
subcommand (the ``_COMMANDS`` table, in ``--help`` order); a flag that several subcommands
share (``-r``, ``-j``, ``-p``, ``-c``, ``--json``, ``--endpoints``) is added by one helper.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn, TypeAlias

from .._version import __version__
from .exits import EXIT_USAGE
from .sizes import parse_count, parse_size

__all__ = ["DEFAULT_TEMPLATE", "MAX_JOBS", "build_parser", "parse"]

MAX_JOBS = 4096  # the reference caps --jobs here
DEFAULT_TEMPLATE = "object_{}_of_{}.dat"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors and exit code 2."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("s3-cli").strip()
        where = f"{command}: " if command else ""
        self.exit(EXIT_USAGE, f"s3-cli: error: {where}{message} (see '{self.prog} --help')\n")


def _arg_type(parse: Callable[[str], int], minimum: int = 0) -> Callable[[str], int]:
    def convert(text: str) -> int:
        try:
            value = parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {text!r}")
        return value

    convert.__name__ = parse.__name__
    return convert


size_arg = _arg_type(parse_size)
count_arg = _arg_type(parse_count)
factor_arg = _arg_type(parse_count, minimum=1)


def jobs_arg(text: str) -> int:
    """A ``--jobs`` value: at least 1; values above ``MAX_JOBS`` are capped, as the reference."""
    return min(_arg_type(parse_count, minimum=1)(text), MAX_JOBS)


def _add_global_options(parser: argparse.ArgumentParser, *, sub: bool) -> None:
    # On subcommands the defaults are SUPPRESS, so a flag given after the subcommand overrides
    # one given before it and an absent one changes nothing; -v is counted separately and added.
    unset = argparse.SUPPRESS
    group = parser.add_argument_group("global options (before or after the command)")
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        dest="verbose_sub" if sub else "verbose",
        default=unset if sub else 0,
        help="-v: log at info level and show tracebacks of errors; -vv: debug",
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=unset if sub else False,
        help="no progress and no summary line on stderr (errors are still printed)",
    )
    group.add_argument(
        "--endpoint-url",
        "--endpoint",
        dest="endpoint_url",
        metavar="URL",
        default=unset if sub else None,
        help="S3 endpoint, e.g. http://127.0.0.1:9000 (overrides AWS_ENDPOINT_URL)",
    )
    group.add_argument(
        "--region",
        metavar="REGION",
        default=unset if sub else None,
        help="S3 region (overrides AWS_REGION)",
    )
    group.add_argument(
        "--ca-bundle",
        metavar="PATH",
        default=unset if sub else None,
        help="CA bundle for TLS: not available yet (exit code 2)",
    )
    group.add_argument(
        "--op-log",
        metavar="FILE",
        default=unset if sub else None,
        help="operation trace (.tsv.zst): not available yet (exit code 2)",
    )


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


# The ``add_subparsers()`` action of the top-level parser: each ``_add_<command>`` adds to it.
_Commands: TypeAlias = "argparse._SubParsersAction[_Parser]"


def _command(
    sub: _Commands, name: str, help: str, examples: list[str], aliases: tuple[str, ...] = ()
) -> argparse.ArgumentParser:
    p = sub.add_parser(
        name,
        aliases=list(aliases),
        help=help,
        description=help[0].upper() + help[1:] + ".",
        epilog=_examples(*examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    p.set_defaults(command=name)
    _add_global_options(p, sub=True)
    return p


# -- flags several commands share -------------------------------------------------------------


def _uri(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("uri", metavar="URI")


def _jobs(parser: argparse.ArgumentParser, default: int | None, what: str) -> None:
    """``-j/--jobs``; with a ``default``, ``what`` is followed by it and the cap, else alone."""
    parser.add_argument(
        "-j",
        "--jobs",
        type=jobs_arg,
        default=default,
        metavar="N",
        help=what if default is None else f"{what} (default {default}, at most {MAX_JOBS})",
    )


def _recursive(parser: argparse.ArgumentParser, below: str = "the URI") -> None:
    parser.add_argument("-r", "--recursive", action="store_true", help=f"everything below {below}")


def _pattern(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("-p", "--pattern", metavar="REGEX", help=help)


def _json(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--json", action="store_true", help=help)


def _create_bucket(
    parser: argparse.ArgumentParser, help: str = "create the bucket (or directory)"
) -> None:
    parser.add_argument("-c", "--create-bucket", action="store_true", help=help)


def _endpoints(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoints", metavar="HOST:PORT,...", help="not available yet (exit 2)")


# -- listing and metadata -----------------------------------------------------------------------


def _add_list(sub: _Commands) -> None:
    p = _command(
        sub,
        "list",
        "list objects under a URI (a prefix ending in '/', an object, or a glob)",
        [
            "s3-cli ls s3://bucket/prefix/",
            "s3-cli ls -r s3://bucket/data/ -p '\\.npz$'",
            "s3-cli ls -rc s3://bucket/prefix/     # Total objects: N (..s, rate: .. objects/s)",
            "s3-cli ls -r --json file:///data/ | head",
        ],
        aliases=("ls",),
    )
    _uri(p)
    _recursive(p)
    _pattern(p, "only keys (relative to the URI) this regex matches (re.search)")
    p.add_argument(
        "-c",
        "--count-only",
        action="store_true",
        help="print only 'Total objects: N (..s, rate: .. objects/s)'",
    )
    _json(p, "one JSON object per line: uri, size, last_modified, etag, is_prefix")


def _add_stat(sub: _Commands) -> None:
    p = _command(
        sub,
        "stat",
        "show one object's metadata",
        ["s3-cli stat s3://bucket/data/object_0_of_10.dat", "s3-cli stat --json file:///tmp/a"],
    )
    _uri(p)
    _json(p, "the full metadata dict as JSON")


def _add_list_buckets(sub: _Commands) -> None:
    p = _command(
        sub,
        "list-buckets",
        "list top-level containers (directories of a file:// or direct:// path)",
        ["s3-cli list-buckets file:///data/"],
    )
    p.add_argument("uri", metavar="URI", nargs="?", default="s3://", help="default: s3://")


def _add_create_bucket(sub: _Commands) -> None:
    p = _command(
        sub,
        "create-bucket",
        "create a bucket (s3://, gs://) or a directory (file://, direct://)",
        ["s3-cli create-bucket s3://new-bucket", "s3-cli create-bucket file:///data/new/"],
    )
    _uri(p)


def _add_delete_bucket(sub: _Commands) -> None:
    p = _command(
        sub,
        "delete-bucket",
        "delete an empty bucket (s3://, gs://) or empty directory (file://, direct://)",
        ["s3-cli delete-bucket s3://old-bucket"],
    )
    _uri(p)


def _add_mkdir(sub: _Commands) -> None:
    p = _command(
        sub,
        "mkdir",
        "create a directory and its parents (file://, direct://; no-op on object stores)",
        ["s3-cli mkdir file:///data/a/b/"],
    )
    _uri(p)


def _add_rmdir(sub: _Commands) -> None:
    p = _command(
        sub,
        "rmdir",
        "remove an empty directory (file://, direct://; no-op on object stores)",
        ["s3-cli rmdir file:///data/a/b/"],
    )
    _uri(p)


def _add_delete(sub: _Commands) -> None:
    p = _command(
        sub,
        "delete",
        "delete an object, or with -r everything under a URI",
        [
            "s3-cli rm s3://bucket/data/object_0_of_10.dat",
            "s3-cli rm -r s3://bucket/data/",
            "s3-cli rm -r s3://bucket/logs/ -p '\\.log$'",
        ],
        aliases=("rm",),
    )
    _uri(p)
    _jobs(p, None, "keys per delete batch; the library's is fixed at 1000, other values exit 2")
    _recursive(p)
    _pattern(p, "only keys (relative to the URI) it matches")


# -- data ---------------------------------------------------------------------------------------


def _add_get(sub: _Commands) -> None:
    p = _command(
        sub,
        "get",
        "read objects into memory and discard them; print objects, bytes, seconds and rate",
        [
            "s3-cli get s3://bucket/data/object_0_of_10.dat",
            "s3-cli get -r -j 128 s3://bucket/data/",
            "s3-cli get --keylist keys.txt s3://bucket/data/   # keys relative to the URI",
            "s3-cli get --offset 4096 --length 1MiB s3://bucket/big.bin",
        ],
    )
    p.add_argument(
        "uri",
        metavar="URI",
        nargs="?",
        help="an object, a prefix ending in '/', or a glob; with --keylist, the base of keys",
    )
    _jobs(p, 64, "objects read at once")
    p.add_argument(
        "--concurrent", type=count_arg, metavar="N", help="not available yet (exit code 2)"
    )
    p.add_argument(
        "--keylist",
        metavar="FILE",
        help="read the URIs (or keys relative to URI) listed in FILE, one per line; '-': stdin",
    )
    _recursive(p)
    p.add_argument("--offset", type=size_arg, metavar="BYTES", help="read from this offset")
    p.add_argument("--length", type=size_arg, metavar="BYTES", help="read this many bytes")
    _endpoints(p)


def _add_put(sub: _Commands) -> None:
    p = _command(
        sub,
        "put",
        "generate objects of random data under a prefix",
        [
            "s3-cli put -n 100 -s 8MiB s3://bucket/data/",
            "s3-cli put -c -n 10k -s 4KiB -t 'sample_{}.bin' s3://new-bucket/small/",
            "s3-cli put -n 1 -s 1_000_000 file:///tmp/gen/",
            "s3-cli put -n 8 -s 64MiB -d 4 -x 2 s3://bucket/reducible/",
            "s3-cli put -n 100 -s 1MiB -o npz -t 'sample_{}.npz' s3://bucket/npz/",
        ],
    )
    p.add_argument("uri", metavar="URI_PREFIX")
    _create_bucket(p)
    p.add_argument(
        "-d",
        "--dedup",
        type=factor_arg,
        default=1,
        metavar="N",
        help="dedup factor: about 1/N of the 1 MiB blocks are distinct (default 1)",
    )
    _jobs(p, 32, "objects written at once, capped at --num")
    p.add_argument(
        "-n",
        "--num",
        type=count_arg,
        default=1,
        metavar="N",
        help="number of objects (default 1; 10k, 2Ki, 1_000 accepted)",
    )
    p.add_argument(
        "-o",
        "--object-type",
        default="raw",
        choices=["raw", "npz", "tfrecord", "hdf5"],
        help="raw (default): generated bytes; npz, tfrecord, hdf5 (needs h5py): that format "
        "wrapping the generated bytes",
    )
    p.add_argument(
        "-s",
        "--size",
        type=size_arg,
        default=20 << 20,
        metavar="BYTES",
        help="bytes per object (default 20MiB; 8MB, 8MiB, 8m, 8g, 1_000 accepted)",
    )
    p.add_argument(
        "-t",
        "--template",
        default=DEFAULT_TEMPLATE,
        help="object names: the first {} is the index, the second the count "
        f"(default {DEFAULT_TEMPLATE})",
    )
    p.add_argument(
        "-x",
        "--compress",
        type=factor_arg,
        default=1,
        metavar="N",
        help="compression factor: zstd/zlib shrink the data about N times (default 1)",
    )
    p.add_argument(
        "--data-gen-mode",
        default="streaming",
        choices=["streaming", "single-pass"],
        help="streaming (default): write raw objects chunk by chunk while the next chunk is "
        "generated; single-pass: build each whole object first",
    )
    p.add_argument(
        "--chunk-size",
        type=size_arg,
        default=262144,
        metavar="BYTES",
        help="streaming chunk size (default 262144)",
    )
    _endpoints(p)


def _add_upload(sub: _Commands) -> None:
    p = _command(
        sub,
        "upload",
        "upload local files, directories (recursively) and globs under a destination prefix",
        [
            "s3-cli upload ./data/ s3://bucket/data/",
            "s3-cli upload '/logs/*.log' '/logs/**/*.json' s3://bucket/logs/",
        ],
    )
    p.add_argument("sources", metavar="SRC", nargs="+", help="file, directory or glob")
    p.add_argument("dest", metavar="DEST_URI", help="destination prefix (ends in '/')")
    _jobs(p, 32, "files uploaded at once")
    _create_bucket(p)


def _add_download(sub: _Commands) -> None:
    p = _command(
        sub,
        "download",
        "download objects into a local directory, keeping their layout",
        [
            "s3-cli download s3://bucket/data/object_0_of_10.dat ./out",
            "s3-cli download -r s3://bucket/data/ ./data",
        ],
    )
    p.add_argument("src", metavar="SRC_URI")
    p.add_argument("dest", metavar="DEST_DIR")
    _jobs(p, 64, "objects downloaded at once")
    _recursive(p, "SRC_URI")


def _add_cp(sub: _Commands) -> None:
    p = _command(
        sub,
        "cp",
        "copy: a local path to a URI (upload), a URI to a local path (download), or URI to URI",
        [
            "s3-cli cp ./model.bin s3://bucket/models/model.bin",
            "s3-cli cp -r ./data/ s3://bucket/data/",
            "s3-cli cp -r s3://bucket/data/ ./data/",
            "s3-cli cp -r s3://bucket/data/ gs://other/data/",
        ],
    )
    p.add_argument("src", metavar="SRC")
    p.add_argument("dst", metavar="DST")
    _jobs(p, 32, "objects copied at once")
    _recursive(p, "SRC")
    _create_bucket(p, "create the destination bucket")


# The subcommands, in the order of ``s3-cli --help``.
_COMMANDS: tuple[Callable[[_Commands], None], ...] = (
    _add_list,
    _add_stat,
    _add_list_buckets,
    _add_create_bucket,
    _add_delete_bucket,
    _add_mkdir,
    _add_rmdir,
    _add_delete,
    _add_get,
    _add_put,
    _add_upload,
    _add_download,
    _add_cp,
)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="s3-cli",
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="s3dlio command line: one URI interface to s3://, az://, gs://, file:// "
        "and direct:// storage.",
        epilog=_examples(
            "s3-cli put -n 100 -s 1MiB s3://bucket/data/",
            "s3-cli ls -r s3://bucket/data/",
            "s3-cli get -j 32 s3://bucket/data/",
            "s3-cli download -r s3://bucket/data/ ./data",
            "s3-cli rm -r s3://bucket/data/",
        )
        + "\n\nexit codes: 0 success, 1 the operation failed, 2 usage error.\n"
        "'s3-cli COMMAND --help' shows each command's flags and examples.",
    )
    parser.add_argument("--version", action="version", version=f"s3-cli (s3dlio) {__version__}")
    _add_global_options(parser, sub=False)
    sub = parser.add_subparsers(dest="command_used", metavar="COMMAND", title="commands")
    for add_command in _COMMANDS:
        add_command(sub)
    return parser


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse ``argv`` (default ``sys.argv[1:]``), merging global flags given after the command."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    args.verbose = getattr(args, "verbose", 0) + getattr(args, "verbose_sub", 0)
    return args
