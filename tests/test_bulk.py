"""get_many, put_many, put (generated), upload and download, over every backend."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from tests.conftest import Backend

import s3dlio
from s3dlio.engine.transfer import safe_local_path


def test_get_many_keeps_input_order_and_duplicates(backend: Backend) -> None:
    uris = [backend.uri(f"g/{i}") for i in range(50)]
    s3dlio.put_many([(u, str(i).encode() * (i + 1)) for i, u in enumerate(uris)])
    order = [*reversed(uris), uris[3], uris[3]]
    got = s3dlio.get_many(order, max_in_flight=7)
    assert [u for u, _ in got] == order
    for u, data in got:
        i = int(u.rsplit("/", 1)[1])
        assert data == str(i).encode() * (i + 1)
        assert isinstance(data, s3dlio.BytesView)


def test_get_many_names_the_missing_object(backend: Backend) -> None:
    s3dlio.put_bytes(backend.uri("here"), b"x")
    missing = backend.uri("not-here")
    with pytest.raises(s3dlio.ObjectNotFoundError) as info:
        s3dlio.get_many([backend.uri("here"), missing, backend.uri("here")])
    assert missing in str(info.value)


def test_get_many_empty_and_bad_concurrency(backend: Backend) -> None:
    assert s3dlio.get_many([]) == []
    with pytest.raises(ValueError, match="max_in_flight"):
        s3dlio.get_many([backend.uri("x")], max_in_flight=0)


def test_get_many_stats(backend: Backend) -> None:
    s3dlio.put_many([(backend.uri(f"s/{i}"), b"ab" * i) for i in range(10)])
    events: list[s3dlio.Progress] = []
    uris = [backend.uri(f"s/{i}") for i in range(10)]
    assert s3dlio.get_many_stats(uris, progress=events.append) == (10, 90)
    assert events[-1].done and events[-1].objects == 10 and events[-1].bytes == 90


def test_put_many_checks_every_payload_before_writing(backend: Backend) -> None:
    items = [(backend.uri("p/ok"), b"fine"), (backend.uri("p/bad"), "a str is not bytes")]
    with pytest.raises(TypeError, match="item 1"):
        s3dlio.put_many(items)
    assert not s3dlio.exists(backend.uri("p/ok"))


def test_put_many_rejects_non_tuples(backend: Backend) -> None:
    with pytest.raises(ValueError, match="tuples"):
        s3dlio.put_many([backend.uri("x")])  # type: ignore[list-item]


def test_put_generates_templated_objects(backend: Backend) -> None:
    s3dlio.put(
        backend.uri("gen"),
        num=4,
        size=3000,
        template="obj-{}-of-{}.bin",
        max_in_flight=2,
        object_type="random",
    )
    got = sorted(s3dlio.list(backend.uri("gen/")))
    assert got == [backend.uri(f"gen/obj-{i}-of-4.bin") for i in range(4)]
    blobs = [bytes(s3dlio.get(u)) for u in got]
    assert all(len(b) == 3000 for b in blobs)
    assert len(set(blobs)) == 4  # each object has its own content


def test_put_default_names_and_num_zero(backend: Backend) -> None:
    s3dlio.put(backend.uri("d/"), 2, size=10)
    assert sorted(s3dlio.list_keys(backend.uri("d/"))) == ["object-0", "object-1"]
    s3dlio.put(backend.uri("none/"), 0, size=10)
    assert s3dlio.list(backend.uri("none/")) == []


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"object_type": "bogus"}, ValueError),
        ({"data_gen_mode": "sideways"}, ValueError),
        ({"data_gen_algorithm": "magic"}, ValueError),
        ({"max_in_flight": 0}, ValueError),
        ({"dedup_factor": 0}, ValueError),
        ({"compress_factor": -1}, ValueError),
    ],
)
def test_put_rejects_junk_before_writing(
    backend: Backend, kwargs: dict[str, object], error: type
) -> None:
    with pytest.raises(error):
        s3dlio.put(backend.uri("junk/"), 2, size=10, **kwargs)  # type: ignore[arg-type]
    assert s3dlio.list(backend.uri("junk/")) == []


# -- upload / download ---------------------------------------------------------------------


@pytest.fixture
def local_tree(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "sub" / "deep").mkdir(parents=True)
    for rel, body in {
        "a.txt": b"A",
        "b.log": b"B",
        "sub/c.txt": b"C",
        "sub/deep/d.txt": b"D",
    }.items():
        (src / rel).write_bytes(body)
    return src


def test_upload_files_globs_and_directories(backend: Backend, local_tree: Path) -> None:
    s3dlio.upload([str(local_tree / "a.txt"), str(local_tree / "*.log")], backend.uri("up1"))
    assert sorted(s3dlio.list_keys(backend.uri("up1/"))) == ["a.txt", "b.log"]
    s3dlio.upload([str(local_tree)], backend.uri("up2/"))
    got = sorted(
        u[len(backend.uri("up2/")) :] for u in s3dlio.list(backend.uri("up2/"), recursive=True)
    )
    assert got == ["a.txt", "b.log", "sub/c.txt", "sub/deep/d.txt"]
    assert s3dlio.get(backend.uri("up2/sub/deep/d.txt")) == b"D"
    s3dlio.upload(str(local_tree / "**" / "*.txt"), backend.uri("up3/"))
    assert sorted(s3dlio.list_keys(backend.uri("up3/"))) == ["a.txt", "c.txt", "d.txt"]


def test_upload_nothing_matched(backend: Backend, tmp_path: Path) -> None:
    with pytest.raises(s3dlio.ObjectNotFoundError, match="no files matched"):
        s3dlio.upload([str(tmp_path / "nothing*")], backend.uri("up/"))


def test_download_keeps_layout(backend: Backend, local_tree: Path, tmp_path: Path) -> None:
    s3dlio.upload([str(local_tree)], backend.uri("ds/"))
    dest = tmp_path / "dl"
    s3dlio.download(backend.uri("ds/"), str(dest))
    found = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert found == ["a.txt", "b.log", "sub/c.txt", "sub/deep/d.txt"]
    assert (dest / "sub" / "deep" / "d.txt").read_bytes() == b"D"


def test_download_non_recursive_and_single_object(
    backend: Backend, local_tree: Path, tmp_path: Path
) -> None:
    s3dlio.upload([str(local_tree)], backend.uri("ds/"))
    top = tmp_path / "top"
    s3dlio.download(backend.uri("ds/"), str(top), recursive=False)
    assert sorted(p.name for p in top.iterdir()) == ["a.txt", "b.log"]
    one = tmp_path / "one"
    s3dlio.download(backend.uri("ds/sub/c.txt"), str(one))
    assert (one / "c.txt").read_bytes() == b"C"


def test_download_to_file_uri_destination(
    backend: Backend, local_tree: Path, tmp_path: Path
) -> None:
    s3dlio.upload([str(local_tree / "a.txt")], backend.uri("ds/"))
    dest = tmp_path / "as-uri"
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        s3dlio.download(backend.uri("ds/"), f"file://{dest}")
        assert not (tmp_path / "file:").exists()  # the reference created a literal 'file:' dir
    finally:
        os.chdir(cwd)
    assert (dest / "a.txt").read_bytes() == b"A"


def test_download_missing_prefix_creates_nothing(backend: Backend, tmp_path: Path) -> None:
    dest = tmp_path / "never"
    with pytest.raises(s3dlio.ObjectNotFoundError, match="no objects matched"):
        s3dlio.download(backend.uri("missing/"), str(dest))
    assert not dest.exists()


@pytest.mark.parametrize(
    "key", ["../evil", "a/../../evil", "/etc/passwd", "..", "a/./b", "a\\..\\b", "sub/.."]
)
def test_download_refuses_keys_that_escape(tmp_path: Path, key: str) -> None:
    with pytest.raises(s3dlio.UnsafeKeyError) as info:
        safe_local_path(str(tmp_path), key, "s3://b/" + key)
    assert isinstance(info.value, ValueError)


def test_download_accepts_ordinary_nested_keys(tmp_path: Path) -> None:
    assert safe_local_path(str(tmp_path), "a/b..c/d", "s3://b/x") == str(
        tmp_path / "a" / "b..c" / "d"
    )
    assert safe_local_path(str(tmp_path), "a//b", "s3://b/x") == str(tmp_path / "a" / "b")


def test_bulk_calls_report_progress(backend: Backend, local_tree: Path, tmp_path: Path) -> None:
    events: list[s3dlio.Progress] = []
    items = [(backend.uri(f"pr/{i}"), b"x" * 100) for i in range(30)]
    s3dlio.put_many(items, max_in_flight=4, progress=events.append)
    last = events[-1]
    assert last.done and last.objects == 30 and last.bytes == 3000 and last.errors == 0
    assert last.total_objects == 30 and last.total_bytes == 3000
    assert all(not e.done for e in events[:-1])

    events.clear()
    s3dlio.get_many([u for u, _ in items], progress=events.append)
    assert events[-1].objects == 30 and events[-1].bytes == 3000

    events.clear()
    s3dlio.download(backend.uri("pr/"), str(tmp_path / "dl"), progress=events.append)
    assert events[-1].objects == 30 and events[-1].bytes == 3000

    events.clear()
    s3dlio.delete(backend.uri("pr/"), recursive=True, progress=events.append)
    assert events[-1].done and events[-1].objects == 30


def test_progress_counts_errors(backend: Backend) -> None:
    events: list[s3dlio.Progress] = []
    s3dlio.put_bytes(backend.uri("e/ok"), b"x")
    with pytest.raises(s3dlio.ObjectNotFoundError):
        s3dlio.get_many([backend.uri("e/ok"), backend.uri("e/missing")], 1, progress=events.append)
    assert events[-1].done and events[-1].errors == 1 and events[-1].objects == 1


def test_list_stream_gives_sizes_and_prefixes(backend: Backend) -> None:
    s3dlio.put_many([(backend.uri("ls/a.bin"), b"abc"), (backend.uri("ls/sub/b.bin"), b"")])
    entries = sorted(s3dlio.list_stream(backend.uri("ls/")), key=lambda e: e.uri)
    assert [(e.uri, e.size, e.is_prefix) for e in entries] == [
        (backend.uri("ls/a.bin"), 3, False),
        (backend.uri("ls/sub/"), None, True),
    ]
    assert entries[0].last_modified and entries[0].last_modified.endswith("Z")
    deep = [e.uri for e in s3dlio.list_stream(backend.uri("ls/"), recursive=True)]
    assert sorted(deep) == sorted(s3dlio.list(backend.uri("ls/"), recursive=True))


def test_list_count_counts_objects_only(backend: Backend) -> None:
    s3dlio.put_many([(backend.uri(f"cnt/{d}/o{i}"), b"x") for d in "ab" for i in range(3)], 8)
    s3dlio.put_bytes(backend.uri("cnt-sibling/o"), b"x")
    assert s3dlio.list_count(backend.uri("cnt/")) == 6
    assert s3dlio.list_count(backend.uri("cnt/"), recursive=False) == 0  # only sub-directories
    assert s3dlio.list_count(backend.uri("cnt/"), pattern=r"^a/") == 3
    assert s3dlio.list_count(backend.uri("missing/")) == 0


def test_list_stream_async_pages(backend: Backend) -> None:
    uris = [backend.uri(f"pages/o{i:02d}") for i in range(7)]
    s3dlio.put_many([(u, b"y") for u in uris], 8)

    async def collect() -> list[list[s3dlio.ListEntry]]:
        return [p async for p in s3dlio.list_stream_async(backend.uri("pages/"), page_size=3)]

    pages = asyncio.run(collect())
    assert [len(p) for p in pages] == [3, 3, 1]
    assert sorted(e.uri for p in pages for e in p) == uris
    assert all(e.size == 1 for p in pages for e in p)
