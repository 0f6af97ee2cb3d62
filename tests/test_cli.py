"""The installed ``s3-cli``, run as a subprocess against every backend.

Fixture data is written with the library in-process (the servers' environment is in
``os.environ``, so the subprocesses inherit it); everything under test goes through the real
console script. Exit codes: 0 success, 1 failed operation, 2 usage error (bad flags, sizes,
URIs and unknown schemes, flags the library cannot honour yet).
"""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path

import pytest
from tests.conftest import BACKENDS, Backend

import s3dlio
from s3dlio.cli import render
from s3dlio.cli.sizes import parse_count, parse_size
from s3dlio.engine.progress import Progress

EXE = str(Path(sys.executable).parent / "s3-cli")
COMMANDS = [
    "list",
    "ls",
    "stat",
    "list-buckets",
    "create-bucket",
    "delete-bucket",
    "mkdir",
    "rmdir",
    "delete",
    "rm",
    "get",
    "put",
    "upload",
    "download",
    "cp",
]


def cli(
    *args: str, code: int = 0, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``s3-cli args...``; assert the exit code (and, on failure, one clean error line)."""
    out = subprocess.run([EXE, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60)
    assert out.returncode == code, f"s3-cli {' '.join(args)} -> {out.returncode}\n{out.stderr}"
    if code in (1, 2):
        lines = out.stderr.splitlines()
        assert len(lines) == 1, out.stderr
        assert lines[0].startswith("s3-cli: error: "), out.stderr
    return out


def lines(out: subprocess.CompletedProcess[str]) -> list[str]:
    return sorted(out.stdout.splitlines())


def seed(backend: Backend, files: dict[str, bytes]) -> None:
    s3dlio.put_many([(backend.uri(k), v) for k, v in files.items()])


TREE = {
    "a.bin": b"a" * 10,
    "b.txt": b"b" * 20,
    "sub/c.bin": b"c" * 30,
    "sub/deep/d.bin": b"d" * 40,
}


# -- per-backend behaviour ------------------------------------------------------------------


def test_put_ls_stat_get(backend: Backend) -> None:
    put = cli("put", "-n", "3", "-s", "1KiB", "-t", "obj_{}_of_{}.bin", backend.uri("gen/"))
    assert put.stdout == ""
    assert put.stderr.startswith("put: 3 objects, 3.0 KiB in ")
    expected = [backend.uri(f"gen/obj_{i}_of_3.bin") for i in range(3)]
    assert lines(cli("ls", backend.uri("gen/"))) == expected
    assert cli("ls", "-rc", backend.uri()).stdout.startswith("Total objects: 3 (")

    records = [
        json.loads(line) for line in cli("ls", "--json", backend.uri("gen/")).stdout.splitlines()
    ]
    assert sorted(r["uri"] for r in records) == expected
    assert all(r["size"] == 1024 and r["is_prefix"] is False for r in records)
    assert all(set(r) == {"uri", "size", "last_modified", "etag", "is_prefix"} for r in records)

    shown = cli("stat", expected[0]).stdout.splitlines()
    assert shown[:2] == [f"URI: {expected[0]}", "Size: 1024"]
    assert [line.split(":")[0] for line in shown] == [
        "URI",
        "Size",
        "LastModified",
        "ETag",
        "Content-Type",
    ]
    as_json = json.loads(cli("stat", "--json", expected[0]).stdout)
    assert as_json == s3dlio.stat(expected[0])

    got = cli("get", "-r", backend.uri("gen/")).stdout
    assert got.startswith("get: 3 objects, 3.0 KiB (3,072 bytes) in ")
    one = cli("get", expected[1]).stdout
    assert one.startswith("get: 1 object, 1.0 KiB (1,024 bytes) in ")
    # A range past the end is clipped: 1024 - 1000 = 24 bytes.
    ranged = cli("get", "--offset", "1000", "--length", "100", expected[2]).stdout
    assert "(24 bytes)" in ranged
    ranged_all = cli("get", "--length", "1_0", backend.uri("gen/")).stdout
    assert ranged_all.startswith("get: 3 objects, 30 B (30 bytes)")


def test_ls_recursive_pattern_and_prefixes(backend: Backend) -> None:
    seed(backend, TREE)
    top = lines(cli("ls", backend.uri()))
    assert top == [backend.uri("a.bin"), backend.uri("b.txt"), backend.uri("sub/")]
    everything = lines(cli("ls", "-r", backend.uri()))
    assert everything == sorted(backend.uri(k) for k in TREE)
    bins = lines(cli("ls", "-r", backend.uri(), "-p", r"\.bin$"))
    assert bins == [backend.uri(k) for k in ("a.bin", "sub/c.bin", "sub/deep/d.bin")]
    assert cli("ls", "-rc", "-p", "^sub/", backend.uri()).stdout.startswith("Total objects: 2 (")
    counted = json.loads(cli("ls", "-rc", "--json", backend.uri()).stdout)
    assert counted["total_objects"] == 4

    records = {
        r["uri"]: r for r in map(json.loads, cli("ls", "--json", backend.uri()).stdout.splitlines())
    }
    assert records[backend.uri("sub/")]["is_prefix"] is True
    assert records[backend.uri("sub/")]["size"] is None
    assert records[backend.uri("b.txt")]["size"] == 20
    # Nothing there is not an error; a bad regex is a usage error.
    assert cli("ls", backend.uri("nothing/")).stdout == ""
    cli("ls", "-r", "-p", "*.bin", backend.uri(), code=2)


def test_get_keylist_and_failure_counts(backend: Backend, tmp_path: Path) -> None:
    seed(backend, TREE)
    keylist = tmp_path / "keys.txt"
    keylist.write_text(f"# comment\na.bin\n\nsub/c.bin\n{backend.uri('sub/deep/d.bin')}\n")
    out = cli("get", "--keylist", str(keylist), backend.uri())
    assert out.stdout.startswith("get: 3 objects, 80 B (80 bytes) in ")

    # One worker reads in order: two objects are done when the missing one fails.
    keylist.write_text("a.bin\nb.txt\nmissing.bin\nsub/c.bin\n")
    failed = cli("get", "-j", "1", "--keylist", str(keylist), backend.uri(), code=1)
    assert backend.uri("missing.bin") in failed.stderr
    assert "2 of 4 objects done before the failure" in failed.stderr

    cli("get", "--keylist", str(tmp_path / "absent.txt"), backend.uri(), code=2)
    assert "no objects matched" in cli("get", "-r", backend.uri("nothing/"), code=1).stderr


def test_upload_globs_and_download(backend: Backend, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "nested").mkdir(parents=True)
    for name, data in {
        "a.bin": b"1",
        "b.bin": b"22",
        "c.txt": b"333",
        "nested/d.bin": b"4",
    }.items():
        (src / name).write_bytes(data)
    up = cli("upload", f"{src}/*.bin", str(src / "c.txt"), backend.uri("up/"))
    assert up.stderr.startswith("upload: 3 objects, 6 B in ")
    assert lines(cli("ls", "-r", backend.uri("up/"))) == [
        backend.uri(f"up/{n}") for n in ("a.bin", "b.bin", "c.txt")
    ]
    cli("upload", f"{src}/**/*.bin", backend.uri("deep/"))
    assert cli("ls", "-rc", backend.uri("deep/")).stdout.startswith("Total objects: 3 (")
    nothing = cli("upload", f"{src}/*.none", backend.uri("up/"), code=1)
    assert "no files matched" in nothing.stderr

    seed(backend, TREE)
    dest = tmp_path / "dl"
    out = cli("download", "-r", backend.uri("sub/"), str(dest))
    assert out.stderr.startswith("download: 2 objects, 70 B in ")
    assert (dest / "c.bin").read_bytes() == TREE["sub/c.bin"]
    assert (dest / "deep" / "d.bin").read_bytes() == TREE["sub/deep/d.bin"]
    flat = tmp_path / "flat"
    cli("download", backend.uri("sub/"), str(flat))  # without -r: only sub/'s own objects
    assert sorted(p.name for p in flat.rglob("*")) == ["c.bin"]


def test_cp_in_all_three_directions(backend: Backend, tmp_path: Path) -> None:
    local = tmp_path / "model.bin"
    local.write_bytes(b"weights" * 100)
    # local path -> URI (a new name, then into a "directory")
    cli("cp", str(local), backend.uri("models/renamed.bin"))
    cli("cp", str(local), backend.uri("models/"))
    assert s3dlio.get(backend.uri("models/renamed.bin")) == local.read_bytes()
    assert s3dlio.get(backend.uri("models/model.bin")) == local.read_bytes()
    # URI -> local path (a file name, then a directory)
    cli("cp", backend.uri("models/renamed.bin"), str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == local.read_bytes()
    (tmp_path / "into").mkdir()
    cli("cp", backend.uri("models/renamed.bin"), str(tmp_path / "into"))
    assert (tmp_path / "into" / "renamed.bin").read_bytes() == local.read_bytes()
    # URI -> URI, recursive, keeping the layout
    seed(backend, TREE)
    out = cli("cp", "-r", backend.uri("sub/"), backend.uri("copy/"))
    assert out.stderr.startswith("cp: 2 objects, 70 B in ")
    assert s3dlio.get(backend.uri("copy/deep/d.bin")) == TREE["sub/deep/d.bin"]
    # local directory -> URI needs -r for the subdirectories
    tree = tmp_path / "tree"
    (tree / "x").mkdir(parents=True)
    (tree / "top.bin").write_bytes(b"t")
    (tree / "x" / "under.bin").write_bytes(b"u")
    cli("cp", str(tree), backend.uri("flat/"))
    assert lines(cli("ls", "-r", backend.uri("flat/"))) == [backend.uri("flat/top.bin")]
    cli("cp", "-r", str(tree), backend.uri("tree/"))
    assert s3dlio.get(backend.uri("tree/x/under.bin")) == b"u"
    # missing source, and nothing local on either side
    missing = cli("cp", backend.uri("models/missing.bin"), str(tmp_path / "m"), code=1)
    assert backend.uri("models/missing.bin") in missing.stderr
    cli("cp", str(local), str(tmp_path / "other.bin"), code=2)


def test_delete_pattern_recursive_and_siblings(backend: Backend) -> None:
    seed(backend, {**TREE, "sub-old/keep.bin": b"k"})
    out = cli("rm", "-r", backend.uri(), "-p", r"\.txt$")
    assert out.stderr.startswith("delete: 1 object in ")
    assert not s3dlio.exists(backend.uri("b.txt"))
    assert s3dlio.exists(backend.uri("a.bin"))
    single = cli("delete", backend.uri("a.bin"))
    assert single.stderr == ""
    assert not s3dlio.exists(backend.uri("a.bin"))
    cli("rm", "-r", backend.uri("sub"))
    assert lines(cli("ls", "-r", backend.uri())) == [backend.uri("sub-old/keep.bin")]
    cli("rm", "-r", "-q", backend.uri())
    assert cli("ls", "-r", backend.uri()).stdout == ""


def test_missing_object_is_one_line_naming_the_uri(backend: Backend, tmp_path: Path) -> None:
    uri = backend.uri("no/such/object.bin")
    never = tmp_path / "never-created"
    for command in (["stat", uri], ["get", uri], ["download", uri, str(never)]):
        out = cli(*command, code=1)
        assert uri in out.stderr
        assert "Traceback" not in out.stderr
    assert not never.exists()


# -- local filesystems ----------------------------------------------------------------------


def test_mkdir_rmdir_and_directory_buckets(local_backend: Backend) -> None:
    assert local_backend.root is not None
    cli("mkdir", local_backend.uri("a/b/c"))
    assert (local_backend.root / "a" / "b" / "c").is_dir()
    cli("rmdir", local_backend.uri("a/b/c"))
    assert not (local_backend.root / "a" / "b" / "c").exists()
    (local_backend.root / "a" / "b" / "f").write_bytes(b"x")
    assert "not empty" in cli("rmdir", local_backend.uri("a/b"), code=1).stderr
    cli("create-bucket", local_backend.uri("bucket-dir"))
    assert (local_backend.root / "bucket-dir").is_dir()
    listed = cli("list-buckets", local_backend.uri()).stdout.splitlines()
    assert listed == [local_backend.uri("a"), local_backend.uri("bucket-dir")]
    cli("delete-bucket", local_backend.uri("bucket-dir"))
    assert not (local_backend.root / "bucket-dir").exists()


def test_put_sizes_counts_and_template(tmp_path: Path) -> None:
    base = f"file://{tmp_path}"
    cli("put", "-n", "2", "-s", "1.5k", "-t", "x_{}.bin", f"{base}/a/")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["x_0.bin", "x_1.bin"]
    assert (tmp_path / "a" / "x_0.bin").stat().st_size == 1500
    cli("put", "-s", "2KiB", f"{base}/b/")  # default -n 1 and the default template
    assert (tmp_path / "b" / "object_0_of_1.dat").stat().st_size == 2048
    cli("put", "-n", "1_000", "-s", "1,000", f"{base}/c/")
    assert (tmp_path / "c" / "object_999_of_1000.dat").stat().st_size == 1000
    cli("put", "-n", "2ki", "-s", "0", "-q", f"{base}/d/")
    assert cli("ls", "-rc", f"{base}/d/").stdout.startswith("Total objects: 2,048 (")


def test_broken_pipe_is_quiet(tmp_path: Path) -> None:
    s3dlio.put_many([(f"file://{tmp_path}/many/{i:05d}-{'x' * 40}", b"") for i in range(3000)])
    proc = subprocess.Popen(
        [EXE, "ls", "-r", f"file://{tmp_path}/many/"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # more than a pipe buffer is still to come: the next write fails
    err = proc.stderr.read()
    assert proc.wait(timeout=30) == 141
    assert err == b""


def test_progress_and_summary_only_where_wanted(tmp_path: Path) -> None:
    uri = f"file://{tmp_path}/p/"
    piped = cli("put", "-n", "50", "-s", "1KiB", uri)
    assert "\r" not in piped.stderr and "\x1b" not in piped.stderr  # not a terminal
    assert piped.stderr.startswith("put: 50 objects")
    assert cli("put", "-q", "-n", "50", "-s", "1KiB", uri).stderr == ""
    assert cli("get", "-q", "-r", uri).stdout.startswith("get: 50 objects")  # the result

    # On a terminal the summary is still one clean line after any live progress.
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [EXE, "put", "-n", "50", "-s", "1KiB", uri], stderr=follower, stdout=subprocess.PIPE
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.wait(timeout=30) == 0
    last = seen.replace(b"\r\n", b"\n").split(b"\r\x1b[K")[-1]
    assert last.startswith(b"put: 50 objects, 50.0 KiB in ")


# -- object-store administration and failures -----------------------------------------------

needs_s3 = pytest.mark.skipif("s3" not in BACKENDS, reason="s3 backend not selected")


@needs_s3
def test_create_and_delete_bucket_on_s3(servers: dict[str, str]) -> None:
    bucket = f"cli-{uuid.uuid4().hex[:10]}"
    cli("create-bucket", f"s3://{bucket}")
    cli("put", "-n", "2", "-s", "10", f"s3://{bucket}/p/")
    refused = cli("delete-bucket", f"s3://{bucket}", code=1)
    assert bucket in refused.stderr
    cli("rm", "-r", f"s3://{bucket}/")
    cli("delete-bucket", f"s3://{bucket}")
    gone = cli("ls", f"s3://{bucket}/", code=1)
    assert f"s3://{bucket}/" in gone.stderr and "does not exist" in gone.stderr
    cli("stat", f"s3://{bucket}/p/object_0_of_2.dat", code=1)
    # put -c creates the bucket first
    cli("put", "-c", "-n", "1", "-s", "1", f"s3://{bucket}-c/p/")
    cli("rm", "-r", f"s3://{bucket}-c/")
    cli("delete-bucket", f"s3://{bucket}-c")


@needs_s3
def test_list_buckets_on_object_stores_is_not_available(servers: dict[str, str]) -> None:
    for uri in ([], ["s3://"], [f"s3://{servers['S3DLIO_TEST_S3_BUCKET']}"]):
        out = cli("list-buckets", *uri, code=1)
        assert "not available yet" in out.stderr


@needs_s3
def test_missing_credentials_name_the_variable(servers: dict[str, str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    out = cli("ls", f"s3://{servers['S3DLIO_TEST_S3_BUCKET']}/", env=env, code=1)
    assert "AWS_ACCESS_KEY_ID" in out.stderr


@needs_s3
def test_endpoint_and_region_flags_override_the_environment(servers: dict[str, str]) -> None:
    bucket = servers["S3DLIO_TEST_S3_BUCKET"]
    key = f"t-{uuid.uuid4().hex[:12]}/x"
    s3dlio.put_bytes(f"s3://{bucket}/{key}", b"abc")
    unused = "http://127.0.0.1:9"  # discard port: nothing listens
    env = {**os.environ, "AWS_ENDPOINT_URL": unused, "AWS_ENDPOINT_URL_S3": unused}
    real = servers["AWS_ENDPOINT_URL"]
    out = cli(
        "--endpoint-url", real, "--region", "us-east-1", "stat", f"s3://{bucket}/{key}", env=env
    )
    assert "Size: 3" in out.stdout
    out = cli("stat", f"s3://{bucket}/{key}", "--endpoint", real, env=env)
    assert "Size: 3" in out.stdout


# -- usage errors and help ------------------------------------------------------------------


def test_bad_uris_and_unknown_schemes_are_usage_errors(tmp_path: Path) -> None:
    for uri in ("foo://bucket/key", str(tmp_path), "s3://", "file://"):
        out = cli("stat", uri, code=2)
        assert "Traceback" not in out.stderr
    assert "unsupported or missing scheme" in cli("ls", "nope://x/", code=2).stderr


def test_bad_sizes_and_counts_are_usage_errors(tmp_path: Path) -> None:
    uri = f"file://{tmp_path}/never/"
    assert "invalid size '8XB'" in cli("put", "-s", "8XB", uri, code=2).stderr
    cli("put", "-n", "1.5", uri, code=2)
    cli("put", "-n", "-3", uri, code=2)
    cli("get", "--offset", "lots", uri, code=2)
    cli("put", "-j", "0", uri, code=2)
    assert not (tmp_path / "never").exists()


def test_put_passes_object_type_and_ratios_to_the_library(tmp_path: Path) -> None:
    import zstandard

    cli("put", "-n", "2", "-s", "4MiB", "-d", "4", "-x", "2", f"file://{tmp_path}/r/")
    for path in sorted((tmp_path / "r").iterdir()):
        data = path.read_bytes()
        blocks = {data[i : i + (1 << 20)] for i in range(0, len(data), 1 << 20)}
        assert len(blocks) == 1  # 4 blocks, dedup 4
        # (one block: zstd's window spans this small object and would find the repeats too)
        ratio = (1 << 20) / len(zstandard.ZstdCompressor(level=3).compress(data[: 1 << 20]))
        assert ratio == pytest.approx(2, rel=0.1)
    cli("put", "-o", "npz", "-s", "1KiB", "-t", "a.npz", f"file://{tmp_path}/n/")
    assert s3dlio.read_npz(f"file://{tmp_path}/n/a.npz").shape == (1024,)
    cli("put", "-o", "tfrecord", "-s", "1KiB", "-t", "a.tfrecord", f"file://{tmp_path}/t/")
    assert s3dlio.get_tfrecord_index_entries((tmp_path / "t" / "a.tfrecord").read_bytes()) == [
        (0, 1040)
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--op-log", "trace.tsv.zst", "ls", "URI"], "op-log is not available yet"),
        (["ls", "URI", "--op-log", "trace.tsv.zst"], "op-log is not available yet"),
        (["--ca-bundle", "/etc/ssl/ca.pem", "ls", "URI"], "--ca-bundle"),
        (["get", "--endpoints", "a:1,b:2", "URI"], "--endpoints is not available yet"),
        (["put", "--endpoints", "a:1,b:2", "URI"], "--endpoints is not available yet"),
        (["get", "--concurrent", "4", "URI"], "--concurrent is not available yet"),
        (["put", "-d", "0", "URI"], "must be at least 1"),
        (["rm", "-j", "10", "URI"], "fixed at 1000"),
        (["put", "-o", "parquet", "URI"], "invalid choice"),
        (["ls", "--no-such-flag", "URI"], "unrecognized arguments"),
        (["frobnicate"], "invalid choice"),
        ([], "a command is required"),
    ],
)
def test_unsupported_flags_are_usage_errors(args: list[str], says: str, tmp_path: Path) -> None:
    uri = f"file://{tmp_path}/x/"
    out = cli(*[uri if a == "URI" else a for a in args], code=2, cwd=tmp_path)
    assert says in out.stderr
    assert not (tmp_path / "x").exists()
    assert not (tmp_path / "trace.tsv.zst").exists()


def test_verbose_shows_a_traceback(tmp_path: Path) -> None:
    uri = f"file://{tmp_path}/missing"
    for args in (["-v", "stat", uri], ["stat", uri, "-v"]):
        out = subprocess.run([EXE, *args], capture_output=True, text=True, timeout=60)
        assert out.returncode == 1
        assert "Traceback (most recent call last)" in out.stderr
        assert out.stderr.rstrip().splitlines()[-1].startswith("s3-cli: error: head " + uri)


def test_version_and_help_for_every_command() -> None:
    version = cli("--version").stdout
    assert version.strip() == f"s3-cli (s3dlio) {s3dlio.__version__}"
    top = cli("--help").stdout
    assert "usage: s3-cli" in top and "exit codes" in top
    for command in COMMANDS:
        helped = cli(command, "--help").stdout
        assert "examples:\n  s3-cli " in helped, command
        assert "--endpoint-url" in helped, command


# -- pure helpers (in-process) --------------------------------------------------------------


def test_size_and_count_grammar() -> None:
    assert parse_size("8MB") == 8_000_000
    assert parse_size("8MiB") == 8 << 20
    assert parse_size("8m") == 8_000_000
    assert parse_size("8g") == 8_000_000_000
    assert parse_size("1_048_576") == parse_size("1,048,576") == 1 << 20
    assert parse_count("10k") == 10_000
    assert parse_count("2Ki") == 2048
    assert parse_count("1gi") == 1 << 30
    for bad in ("8XB", "", "1.5", "k", "-1", "8mb"):
        with pytest.raises(ValueError):
            parse_count(bad)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_shows_objects_bytes_rate_and_eta() -> None:
    term = FakeTerminal()
    view = render.Console(quiet=False, stream=term).progress("put")
    view(Progress(25, 25 << 20, 0, 5.0, total_objects=100, total_bytes=100 << 20))
    assert "25/100 objects" in term.getvalue()
    assert "25.0 MiB of 100.0 MiB" in term.getvalue()
    assert "5.0 MiB/s" in term.getvalue() and "5 obj/s" in term.getvalue()
    assert "ETA 0:15" in term.getvalue()
    view(Progress(100, 100 << 20, 0, 20.0, 100, 100 << 20, done=True))
    assert term.getvalue().endswith("\r\x1b[K")  # the live line is erased at the end
    quiet = FakeTerminal()
    render.Console(quiet=True, stream=quiet).progress("put")(Progress(1, 1, 0, 1.0))
    assert quiet.getvalue() == ""


def test_global_flags_become_settings_and_leave_the_environment_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import s3dlio.stores
    from s3dlio.cli.main import main

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    monkeypatch.setenv("S3DLIO_MAX_RETRY_ATTEMPTS", "1")
    monkeypatch.setattr(s3dlio.stores, "_default", s3dlio.stores.Registry())
    before = dict(os.environ)
    # Port 1 refuses: the command fails, but only after the flags were applied.
    code = main(["--endpoint-url", "http://127.0.0.1:1", "--region", "eu-x-1", "stat", "s3://b/k"])
    assert code != 0
    assert dict(os.environ) == before
    aws = s3dlio.stores.default_registry().settings.aws  # type: ignore[union-attr]
    assert (aws.endpoint_url, aws.region) == ("http://127.0.0.1:1", "eu-x-1")
