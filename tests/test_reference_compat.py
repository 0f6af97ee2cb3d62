"""Differential tests: the same script of API calls under our package and the reference.

The script below runs once under our interpreter (``sys.executable``) and once under the
reference ``s3dlio==0.10.0`` interpreter, each in a subprocess with a fresh temp directory, and
each area's normalised JSON result is compared key by key.

The reference interpreter comes from ``S3DLIO_REF_PYTHON``; when that is unset it is created
with ``scripts/ref-venv``. If the reference cannot be had the tests fail, unless
``S3DLIO_SKIP_REFERENCE=1`` is set, in which case they are skipped.

Results are normalised so our deliberate differences do not count: the temp dir becomes
``<D>``, lists are sorted, payloads become hex, and errors are recorded only as "error" plus
whether they are RuntimeErrors. Only ``file://`` and ``direct://`` under the temp dir are used
(plus pure URI parsing for ``s3://``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REF_VENV_SCRIPT = REPO_ROOT / "scripts" / "ref-venv"
SCRIPT_TIMEOUT = 120  # seconds for one run of the script
INSTALL_TIMEOUT = 300  # seconds for scripts/ref-venv

# The first test's setup may install the reference: allow for that beyond the default timeout.
pytestmark = pytest.mark.timeout(INSTALL_TIMEOUT + 2 * SCRIPT_TIMEOUT + 60)

# --------------------------------------------------------------------------------------------
# The script. argv: <data dir> <json output file>. It writes JSON to the output file, not to
# stdout (the reference logs to stdout). It must use only ``s3dlio`` and the standard library.
# --------------------------------------------------------------------------------------------
SCRIPT = r'''
import json
import os
import sys

import s3dlio

D = os.path.realpath(sys.argv[1])
OUT = sys.argv[2]
R = {}
ERROR = "error"


def norm(x):
    """JSON-able, temp-dir free, order-insensitive form of a result."""
    if x is None or isinstance(x, (bool, int, float)):
        return x
    if isinstance(x, str):
        return x.replace(D, "<D>")
    if isinstance(x, (bytes, bytearray, memoryview)):
        return "hex:" + bytes(x).hex()
    if isinstance(x, dict):
        return {norm(k): norm(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [norm(i) for i in x]
    return "hex:" + bytes(x).hex()  # BytesView


def call(fn, *args, **kwargs):
    """Result of fn(...), or an error record (errors compare only by kind)."""
    try:
        return fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001
        return {ERROR: True, "RuntimeError": isinstance(e, RuntimeError)}


def slist(uri, **kwargs):
    """Sorted listing, or an error record."""
    out = call(s3dlio.list, uri, **kwargs)
    return sorted(out) if isinstance(out, list) else out


def walk(root):
    """Sorted (relative path, size) of every file and directory under a local path."""
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            entries.append([os.path.relpath(os.path.join(dirpath, d), root) + "/", None])
        for f in filenames:
            p = os.path.join(dirpath, f)
            entries.append([os.path.relpath(p, root), os.path.getsize(p)])
    return sorted(entries)


def make_tree(base):
    """A small tree: two top-level files and one in sub/."""
    files = {"a.bin": b"alpha", "b.txt": b"bravo!", "sub/c.bin": b"charlie"}
    for rel, data in files.items():
        path = os.path.join(base, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return files


SECTIONS = []


def section(fn):
    SECTIONS.append(fn)
    return fn


@section
def put_get(U, P):
    out = {}
    for name, data in [
        ("plain.bin", b"hello world"),
        ("empty.bin", b""),
        ("\u00fcn\u00ef c\u00f8d\u00e9.bin", b"unicode key"),
        ("with space/and more spaces.bin", bytes(range(256))),
    ]:
        uri = f"{U}/{name}"
        put = call(s3dlio.put_bytes, uri, data)
        got = call(s3dlio.get, uri)
        out[name] = {"put": put, "get": got, "len": None if isinstance(got, dict) else len(got)}
    out["overwrite"] = [
        call(s3dlio.put_bytes, f"{U}/plain.bin", b"again"),
        call(s3dlio.get, f"{U}/plain.bin"),
    ]
    out["get_missing"] = call(s3dlio.get, f"{U}/missing.bin")
    out["listing"] = slist(U + "/", recursive=True)
    return out


@section
def get_range(U, P):
    uri = f"{U}/r.bin"
    s3dlio.put_bytes(uri, b"0123456789")
    return {
        "middle": call(s3dlio.get_range, uri, 3, 4),
        "len_none": call(s3dlio.get_range, uri, 4, None),
        "len_default": call(s3dlio.get_range, uri, 6),
        "kw": call(s3dlio.get_range, uri, offset=2, length=2),
        "offset_at_end": call(s3dlio.get_range, uri, 10, 5),
        "offset_past_end": call(s3dlio.get_range, uri, 50, 5),
        "offset_past_end_none": call(s3dlio.get_range, uri, 50),
        "length_past_end": call(s3dlio.get_range, uri, 7, 100),
        "length_zero": call(s3dlio.get_range, uri, 2, 0),
        "missing": call(s3dlio.get_range, f"{U}/missing.bin", 0, 1),
    }


@section
def stat(U, P):
    uri = f"{U}/s.bin"
    s3dlio.put_bytes(uri, b"x" * 1234)
    st = s3dlio.stat(uri)
    empty = f"{U}/empty.bin"
    s3dlio.put_bytes(empty, b"")
    st0 = s3dlio.stat(empty)
    return {
        "keys": sorted(st),
        "size": st["size"],
        "storage_class": st["storage_class"],
        "etag_prefix": st["etag"].startswith("file-"),
        "etag_has_size": st["etag"].startswith("file-1234-"),
        "metadata": st["metadata"],
        "empty_size": st0["size"],
        "missing": call(s3dlio.stat, f"{U}/missing.bin"),
        "directory": call(s3dlio.stat, U),
    }


@section
def exists(U, P):
    uri = f"{U}/e.bin"
    s3dlio.put_bytes(uri, b"e")
    s3dlio.put_bytes(f"{U}/dir/inner.bin", b"i")
    return {
        "existing": call(s3dlio.exists, uri),
        "missing": call(s3dlio.exists, f"{U}/missing.bin"),
        "missing_parent": call(s3dlio.exists, f"{U}/nope/missing.bin"),
        "directory": call(s3dlio.exists, f"{U}/dir"),
    }


@section
def list_tree(U, P):
    """Listings whose results hold files only (no subdirectory entries)."""
    make_tree(P)
    return {
        "recursive": slist(U + "/", recursive=True),
        "recursive_noslash": slist(U, recursive=True),
        "sub": slist(U + "/sub/"),
        "sub_noslash": slist(U + "/sub"),
        "file": slist(U + "/a.bin"),
        "missing": slist(U + "/missing/"),
        "missing_recursive": slist(U + "/missing/", recursive=True),
    }


@section
def list_dirs(U, P):
    """Non-recursive listings of a directory that has a subdirectory (file:// lists `sub/`)."""
    make_tree(P)
    s3dlio.mkdir(U + "/made/deeper")
    keys = {}
    for suffix in ("/", ""):
        got = call(s3dlio.list_keys, U + suffix)
        keys[f"slash={suffix == '/'}"] = sorted(got) if isinstance(got, list) else got
    full = call(s3dlio.list_full_uris, U + "/")
    return {
        "nonrec_slash": slist(U + "/"),
        "nonrec_noslash": slist(U),
        "nonrec_pattern_b": slist(U + "/", pattern="b"),
        "list_keys": keys,
        "list_full_uris": sorted(full) if isinstance(full, list) else full,
        "mkdir_parent": slist(U + "/made/"),
    }


@section
def list_pattern(U, P):
    make_tree(P)
    return {
        "rec_sub": slist(U + "/", recursive=True, pattern="^sub"),
        "rec_bin": slist(U + "/", recursive=True, pattern=r"\.bin$"),
        "rec_c_anchored": slist(U + "/", recursive=True, pattern=r"^c\.bin"),
        "rec_b_anchored": slist(U + "/", recursive=True, pattern="^b"),
        "nonrec_txt": slist(U + "/", pattern=r"\.txt$"),
        "invalid_regex": slist(U + "/", pattern="*.bin"),
    }


@section
def list_keys(U, P):
    """list_keys of a directory holding files only."""
    make_tree(P)
    out = {}
    for suffix in ("/sub/", "/sub"):
        keys = call(s3dlio.list_keys, U + suffix)
        out[suffix] = sorted(keys) if isinstance(keys, list) else keys
    return out


@section
def get_many(U, P):
    uris = [f"{U}/m{i}.bin" for i in range(4)]
    for i, uri in enumerate(uris):
        s3dlio.put_bytes(uri, bytes([i]) * (i + 1))
    order = [uris[2], uris[0], uris[3], uris[1]]
    return {
        "ordered": call(s3dlio.get_many, order),
        "single": call(s3dlio.get_many, [uris[1]]),
        "max_in_flight_1": call(s3dlio.get_many, order, max_in_flight=1),
        "empty_object": [
            call(s3dlio.put_bytes, f"{U}/zero.bin", b""),
            call(s3dlio.get_many, [f"{U}/zero.bin", uris[0]]),
        ],
        "missing": call(s3dlio.get_many, [uris[0], f"{U}/missing.bin"]),
    }


@section
def get_many_dups(U, P):
    """get_many with repeated URIs that are not adjacent in the input."""
    uris = [f"{U}/m{i}.bin" for i in range(4)]
    for i, uri in enumerate(uris):
        s3dlio.put_bytes(uri, bytes([i]) * (i + 1))
    order = [uris[2], uris[0], uris[3], uris[0], uris[1], uris[2]]
    return {
        "adjacent": call(s3dlio.get_many, [uris[1], uris[1], uris[0]]),
        "apart": call(s3dlio.get_many, order),
    }


@section
def put_many(U, P):
    items = [(f"{U}/pm/{i}.bin", bytes([65 + i]) * (i * 3)) for i in range(4)]
    items.append((f"{U}/pm/deep/x.bin", bytearray(b"bytearray")))
    items.append((f"{U}/pm/mv.bin", memoryview(b"memoryview")))
    return {
        "result": call(s3dlio.put_many, items),
        "empty": call(s3dlio.put_many, []),
        "contents": [[u, call(s3dlio.get, u)] for u, _ in items],
        "listing": slist(U + "/pm/", recursive=True),
    }


@section
def put_template(U, P):
    prefix = f"{U}/gen"
    res = call(s3dlio.put, prefix, num=3, size=1000, template="obj-{}-of-{}.bin")
    listing = slist(prefix + "/", recursive=True)
    sizes = {}
    if isinstance(listing, list):
        sizes = {u: s3dlio.stat(u)["size"] for u in listing}
    res_default = call(s3dlio.put, f"{U}/gen2/", num=2, size=10)
    return {
        "result": res,
        "listing": listing,
        "sizes": sizes,
        "default_names": slist(f"{U}/gen2/", recursive=True),
        "default_result": res_default,
    }


@section
def delete_single(U, P):
    uri = f"{U}/d.bin"
    s3dlio.put_bytes(uri, b"delete me")
    s3dlio.put_bytes(f"{U}/keep.bin", b"keep")
    return {
        "before": call(s3dlio.exists, uri),
        "delete": call(s3dlio.delete, uri),
        "after": call(s3dlio.exists, uri),
        "listing": slist(U + "/", recursive=True),
        "delete_missing": call(s3dlio.delete, f"{U}/missing.bin"),
        "delete_missing_parent": call(s3dlio.delete, f"{U}/nope/missing.bin"),
    }


@section
def delete_recursive(U, P):
    make_tree(os.path.join(P, "t"))
    s3dlio.put_bytes(f"{U}/outside.bin", b"o")
    return {
        "before": slist(U + "/t/", recursive=True),
        "delete": call(s3dlio.delete, U + "/t/", recursive=True),
        "after": slist(U + "/t/", recursive=True),
        "outside": slist(U + "/", recursive=True),
        "missing_prefix": call(s3dlio.delete, U + "/missing/", recursive=True),
    }


@section
def mkdir(U, P):
    res = {
        "mkdir": call(s3dlio.mkdir, U + "/newdir/deeper"),
        "again": call(s3dlio.mkdir, U + "/newdir/deeper"),
        "trailing_slash": call(s3dlio.mkdir, U + "/other/"),
        "isdir": os.path.isdir(os.path.join(P, "newdir", "deeper")),
        "isdir_other": os.path.isdir(os.path.join(P, "other")),
        "empty_recursive": slist(U + "/", recursive=True),
    }
    s3dlio.put_bytes(U + "/file.bin", b"f")
    res["over_file"] = call(s3dlio.mkdir, U + "/file.bin")
    res["put_into"] = call(s3dlio.put_bytes, U + "/newdir/deeper/x.bin", b"x")
    res["recursive"] = slist(U + "/", recursive=True)
    return res


@section
def upload(U, P):
    src = os.path.join(P, "src")
    os.makedirs(src)
    paths = []
    for name, data in [("u1.bin", b"upload one"), ("u2.txt", b"upload two!")]:
        path = os.path.join(src, name)
        with open(path, "wb") as f:
            f.write(data)
        paths.append(path)
    dest = U + "/dest/"
    res = call(s3dlio.upload, paths, dest)
    listing = slist(dest, recursive=True)
    contents = []
    if isinstance(listing, list):
        contents = [[u, call(s3dlio.get, u)] for u in listing]
    return {"result": res, "listing": listing, "contents": contents}


@section
def download(U, P):
    make_tree(os.path.join(P, "srcdir"))
    out = {}
    for label, kwargs in [("recursive", {}), ("top_only", {"recursive": False})]:
        dest = os.path.join(P, "dl-" + label)
        out[label] = call(s3dlio.download, U + "/srcdir/", dest, **kwargs)
        out[label + "_walk"] = walk(dest) if os.path.isdir(dest) else None
    dest = os.path.join(P, "dl-single")
    out["single"] = call(s3dlio.download, U + "/srcdir/sub/c.bin", dest)
    out["single_walk"] = walk(dest) if os.path.isdir(dest) else None
    return out


def parse_s3_uri_full():
    out = {}
    for uri in [
        "s3://mybucket/data.bin",
        "s3://192.168.100.1:9001/mybucket/data.bin",
        "s3://localhost:9000/b/k",
        "s3://[::1]:9000/b/k",
        "s3://host.example.com/b/k",
        "s3://bucket/",
        "s3://host:9000/bucket",
        "s3://b//k",
        "s3://b/k?x=1#frag",
        "s3://Bucket_Name/k",
        "s3://b/deep/nested/key.bin",
    ]:
        out[uri] = call(s3dlio.parse_s3_uri_full, uri)
    return out


def object_capabilities():
    out = {}
    for uri in [f"file://{D}/x.bin", f"direct://{D}/x.bin", "s3://bucket/key"]:
        caps = call(s3dlio.object_capabilities, uri)
        out[uri] = caps.get("provider") if isinstance(caps, dict) and ERROR not in caps else caps
    return out


def formats():
    """Data generation and format helpers (file:// only: several are S3-only or local-path-only
    in the reference). Compares shapes, counts and indexes, never the random bytes."""
    base = os.path.join(D, "formats")
    os.makedirs(base)
    U = f"file://{base}"
    out = {}
    data = s3dlio.generate_data(3 << 20, 2, 2)
    out["generate_data_len"] = len(data)
    out["generate_data_differs"] = bytes(data) != bytes(s3dlio.generate_data(3 << 20, 2, 2))
    gens = [s3dlio.Generator(10000, seed=5), s3dlio.Generator(10000, seed=5)]
    chunks = []
    for g in gens:
        buf = bytearray(4096)
        calls, blob = [], b""
        while not g.is_complete():
            n = g.fill_chunk(buf)
            calls.append(n)
            blob += bytes(buf[:n])
        calls.append(g.fill_chunk(buf))
        chunks.append((calls, blob))
    out["generator_calls"] = chunks[0][0]
    out["generator_seeded_equal"] = chunks[0][1] == chunks[1][1]
    out["generator_chunk_size"] = gens[0].chunk_size
    buf = bytearray(5000)
    out["into_buffer"] = s3dlio.generate_into_buffer(buf)
    call(s3dlio.put, f"{U}/tf", 2, size=4096, object_type="tfrecord")
    tf = bytes(s3dlio.get(f"{U}/tf/object-0"))
    out["tf_len"] = len(tf)
    out["tf_index"] = s3dlio.index_tfrecord_bytes(tf)
    out["tf_entries"] = s3dlio.get_tfrecord_index_entries(tf)
    out["tf_garbage"] = call(s3dlio.index_tfrecord_bytes, b"not a tfrecord at all")
    out["tf_create"] = s3dlio.create_tfrecord_index(os.path.join(base, "tf", "object-1"))
    out["tf_read"] = s3dlio.read_tfrecord_index(os.path.join(base, "tf", "object-1.idx"))
    s3dlio.generate_and_write_parquet(f"{U}/p.parquet", 3, 10, 4)
    s3dlio.generate_and_write_parquet_schema(f"{U}/q.parquet", [("img", 4), ("y", 1)], 7, 3)
    out["pq_offsets"] = s3dlio.parquet_rg_row_offsets(f"{U}/p.parquet")
    idx = s3dlio.PyParquetIndex()
    idx.ensure_indexed([f"{U}/p.parquet", f"{U}/q.parquet"])
    out["pq_index"] = [
        len(idx),
        idx.file_count(),
        idx.file_rg_count(f"{U}/q.parquet"),
        idx.rg_for_sample(f"{U}/q.parquet", 15),
        idx.check_and_mark(f"{U}/p.parquet", 1, 1),
        idx.check_and_mark(f"{U}/p.parquet", 1, 1),
        repr(idx),
    ]
    out["pq_rg_out_of_range"] = call(s3dlio.parquet_get_rg, f"{U}/p.parquet", 99)
    out["pq_magic"] = bytes(s3dlio.generate_parquet_bytes(2, 5, 1))[:4].decode()
    return out


for fn in SECTIONS:
    for scheme in ("file", "direct"):
        key = f"{fn.__name__}[{scheme}]"
        base = os.path.join(D, fn.__name__, scheme)
        os.makedirs(base)
        try:
            R[key] = norm(fn(f"{scheme}://{base}", base))
        except Exception as e:  # noqa: BLE001 - a crash of the script itself is a result too
            R[key] = norm({"crash": f"{type(e).__name__}: {e}"})
for fn in (parse_s3_uri_full, object_capabilities, formats):
    try:
        R[fn.__name__] = norm(fn())
    except Exception as e:  # noqa: BLE001
        R[fn.__name__] = norm({"crash": f"{type(e).__name__}: {e}"})

with open(OUT, "w", encoding="utf-8") as f:
    json.dump(R, f, sort_keys=True, ensure_ascii=True)
'''

SCHEMED_AREAS = [
    "put_get",
    "get_range",
    "stat",
    "exists",
    "list_tree",
    "list_dirs",
    "list_pattern",
    "list_keys",
    "get_many",
    "get_many_dups",
    "put_many",
    "put_template",
    "delete_single",
    "delete_recursive",
    "mkdir",
    "upload",
    "download",
]
KEYS = [f"{area}[{scheme}]" for area in SCHEMED_AREAS for scheme in ("file", "direct")]
KEYS += ["parse_s3_uri_full", "object_capabilities", "formats"]


def _drop_dirs(value: object) -> object:
    """Remove directory entries (strings ending in '/') from every list inside ``value``."""
    if isinstance(value, list):
        return [_drop_dirs(v) for v in value if not (isinstance(v, str) and v.endswith("/"))]
    if isinstance(value, dict):
        return {k: _drop_dirs(v) for k, v in value.items()}
    return value


def _sorted_lists(value: object) -> object:
    """Sort every list inside ``value`` (order-insensitive comparison)."""
    if isinstance(value, list):
        return sorted((_sorted_lists(v) for v in value), key=lambda v: json.dumps(v))
    if isinstance(value, dict):
        return {k: _sorted_lists(v) for k, v in value.items()}
    return value


# Deliberate differences found by this comparison (documented in docs/api.md): the results are
# compared after removing exactly that difference, so anything else still fails.
# - get_many with repeated URIs: the reference groups every repeat after its first occurrence
#   ([c, a, b, a, d] -> [c, a, a, b, d]); ours keeps strict input order (tests/test_bulk.py).
# - non-recursive direct:// listings: the reference omits sub-directories (file:// has them);
#   ours lists them on both schemes alike.
DELIBERATE: dict[str, Callable[[object], object]] = {
    "get_many_dups[file]": _sorted_lists,
    "get_many_dups[direct]": _sorted_lists,
    "list_dirs[direct]": _drop_dirs,
}


class _Unavailable(Exception):
    """The reference (or a run of the script) could not be had: the tests fail with this."""


def _reference_python() -> str:
    env_python = os.environ.get("S3DLIO_REF_PYTHON")
    if env_python:
        return env_python
    hint = (
        "set S3DLIO_REF_PYTHON to an interpreter that has s3dlio==0.10.0, "
        "or S3DLIO_SKIP_REFERENCE=1 to skip these tests"
    )
    try:
        proc = subprocess.run(
            ["bash", str(REF_VENV_SCRIPT)],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise _Unavailable(
            f"could not install the reference s3dlio==0.10.0 with {REF_VENV_SCRIPT}: {e!r}; {hint}"
        ) from e
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise _Unavailable(
            f"could not install the reference s3dlio==0.10.0 with {REF_VENV_SCRIPT} "
            f"(exit {proc.returncode}); {hint}.\nstderr:\n{proc.stderr[-4000:]}"
        )
    return lines[-1]


def _run_script(python: str, workdir: Path) -> dict[str, object]:
    data = workdir / "data"
    data.mkdir()
    out = workdir / "result.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("S3DLIO_")}
    try:
        proc = subprocess.run(
            [python, "-c", SCRIPT, str(data), str(out)],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise _Unavailable(f"could not run the comparison script under {python}: {e!r}") from e
    if proc.returncode != 0 or not out.exists():
        raise _Unavailable(
            f"the comparison script failed under {python} (exit {proc.returncode}):\n"
            f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
        )
    result: dict[str, object] = json.loads(out.read_text(encoding="utf-8"))
    return result


@pytest.fixture(scope="session")
def ref_python() -> str | _Unavailable:
    """Path of the reference interpreter, or why there is none (then each test fails)."""
    if os.environ.get("S3DLIO_SKIP_REFERENCE") == "1":
        pytest.skip("S3DLIO_SKIP_REFERENCE=1: comparison with reference s3dlio==0.10.0 disabled")
    try:
        return _reference_python()
    except _Unavailable as e:
        return e


Results = tuple[dict[str, object], dict[str, object]]


@pytest.fixture(scope="module")
def results(
    ref_python: str | _Unavailable, tmp_path_factory: pytest.TempPathFactory
) -> Results | _Unavailable:
    """(ours, reference) results of one run of the script each, or why there are none."""
    if isinstance(ref_python, _Unavailable):
        return ref_python
    try:
        ours = _run_script(sys.executable, tmp_path_factory.mktemp("ours"))
        ref = _run_script(ref_python, tmp_path_factory.mktemp("ref"))
    except _Unavailable as e:
        return e
    return ours, ref


def _get(results: Results | _Unavailable) -> Results:
    # Fail inside the test (not as a fixture error), so the outcome is a plain FAILED.
    if isinstance(results, _Unavailable):
        pytest.fail(str(results), pytrace=False)
    return results


@pytest.mark.parametrize("key", KEYS)
def test_matches_reference(key: str, results: Results | _Unavailable) -> None:
    ours, ref = _get(results)
    assert key in ref, f"the script produced no {key!r} result under the reference"
    assert key in ours, f"the script produced no {key!r} result under ours"
    if key in DELIBERATE:
        assert ours[key] != ref[key], f"{key}: the documented difference is gone; update DELIBERATE"
        normalise = DELIBERATE[key]
        assert normalise(ours[key]) == normalise(ref[key]), f"{key}: differs beyond the known way"
        return
    assert ours[key] == ref[key], (
        f"{key}: ours differs from reference s3dlio 0.10.0\n"
        f"ours: {json.dumps(ours[key], indent=1, sort_keys=True)}\n"
        f"ref:  {json.dumps(ref[key], indent=1, sort_keys=True)}"
    )


def test_script_covers_every_key(results: Results | _Unavailable) -> None:
    ours, ref = _get(results)
    assert sorted(ours) == sorted(KEYS)
    assert sorted(ref) == sorted(KEYS)
