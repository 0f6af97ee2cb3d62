"""Object operations, parametrized over every backend (see conftest.BACKENDS)."""

from __future__ import annotations

import os

import pytest
from tests.conftest import Backend

import s3dlio


def names(uris: list[str], backend: Backend) -> list[str]:
    return sorted(u[len(backend.uri()) :] for u in uris)


def test_put_get_round_trip(backend: Backend) -> None:
    data = os.urandom(100_003)
    s3dlio.put_bytes(backend.uri("dir/obj.bin"), data)
    assert s3dlio.get(backend.uri("dir/obj.bin")) == data
    assert s3dlio.get_object(backend.uri("dir/obj.bin")) == data


def test_put_overwrites(backend: Backend) -> None:
    s3dlio.put_bytes(backend.uri("o"), b"first version, longer")
    s3dlio.put_bytes(backend.uri("o"), b"second")
    assert s3dlio.get(backend.uri("o")) == b"second"


def test_empty_object(backend: Backend) -> None:
    s3dlio.put_bytes(backend.uri("empty"), b"")
    got = s3dlio.get(backend.uri("empty"))
    assert len(got) == 0 and got == b""
    assert s3dlio.stat(backend.uri("empty"))["size"] == 0
    assert s3dlio.exists(backend.uri("empty"))


@pytest.mark.parametrize("key", ["with space/a b.bin", "ünï cødé/ファイル.bin", "x%20y.bin"])
def test_keys_with_spaces_and_unicode(backend: Backend, key: str) -> None:
    s3dlio.put_bytes(backend.uri(key), key.encode())
    assert s3dlio.get(backend.uri(key)) == key.encode()
    assert backend.uri(key) in s3dlio.list(backend.uri(), recursive=True)


def test_get_range_edges(backend: Backend) -> None:
    data = bytes(range(256)) * 40
    u = backend.uri("r.bin")
    s3dlio.put_bytes(u, data)
    assert s3dlio.get_range(u, 100, 50) == data[100:150]
    assert s3dlio.get_range(u, offset=5000) == data[5000:]
    assert s3dlio.get_range(u, len(data)) == b""  # at the end: empty, not an error
    assert s3dlio.get_range(u, len(data) + 10, 5) == b""
    assert s3dlio.get_range(u, len(data) - 3, 100) == data[-3:]  # clipped
    assert s3dlio.get_range(u, 7, 0) == b""
    with pytest.raises(ValueError):
        s3dlio.get_range(u, -1, 5)


def test_missing_object_errors_name_the_uri(backend: Backend) -> None:
    u = backend.uri("nope/missing.bin")
    for call in (s3dlio.get, s3dlio.stat, lambda x: s3dlio.get_range(x, 0, 1)):
        with pytest.raises(s3dlio.ObjectNotFoundError) as info:
            call(u)
        assert u in str(info.value)
        assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, RuntimeError)


def test_stat_dict_matches_reference_shape(backend: Backend) -> None:
    s3dlio.put_bytes(backend.uri("s.bin"), b"12345")
    st = s3dlio.stat(backend.uri("s.bin"))
    assert len(st) == 16
    assert st["size"] == 5
    assert st["last_modified"].endswith("Z") and "T" in st["last_modified"]
    if backend.is_local:
        assert st["etag"].startswith("file-5-")
        assert st["storage_class"] == ("DIRECT_IO" if backend.scheme == "direct" else "STANDARD")
    else:
        assert st["etag"]
    assert st["metadata"] == {}
    assert s3dlio.stat_object(backend.uri("s.bin")) == st


def test_exists_is_true_only_for_objects(backend: Backend) -> None:
    s3dlio.put_bytes(backend.uri("d/f"), b"x")
    assert s3dlio.exists(backend.uri("d/f"))
    assert not s3dlio.exists(backend.uri("d/missing"))
    assert not s3dlio.exists(backend.uri("d"))  # a directory is not an object


def test_exists_raises_on_malformed_uri_instead_of_false() -> None:
    with pytest.raises(s3dlio.UnsupportedSchemeError):
        s3dlio.exists("bogus://x/y")


def test_exists_does_not_turn_a_failure_into_false(local_backend: Backend) -> None:
    # A symlink loop makes stat fail with ELOOP: a real failure, not "missing".
    # (Object stores: see test_cloud.py for denied and unreachable.)
    assert local_backend.root is not None
    os.symlink("loop", local_backend.root / "loop")
    with pytest.raises(s3dlio.S3dlioError) as info:
        s3dlio.exists(local_backend.uri("loop"))
    assert not isinstance(info.value, FileNotFoundError)
    assert local_backend.uri("loop") in str(info.value)


def test_directory_where_object_expected(local_backend: Backend) -> None:
    b = local_backend
    s3dlio.put_bytes(b.uri("d/f"), b"x")
    with pytest.raises(s3dlio.IsADirectoryObjectError):
        s3dlio.get(b.uri("d"))
    with pytest.raises(IsADirectoryError):
        s3dlio.put_bytes(b.uri("d"), b"y")
    with pytest.raises(IsADirectoryError):
        s3dlio.put_bytes(b.uri("d/"), b"y")
    assert s3dlio.get(b.uri("d/f")) == b"x"


def test_prefix_is_not_an_object_on_object_stores(cloud_backend: Backend) -> None:
    b = cloud_backend
    s3dlio.put_bytes(b.uri("d/f"), b"x")
    with pytest.raises(s3dlio.ObjectNotFoundError):
        s3dlio.get(b.uri("d"))
    s3dlio.put_bytes(b.uri("d"), b"an object beside the prefix")  # legal on object stores
    assert s3dlio.get(b.uri("d")) == b"an object beside the prefix"
    assert s3dlio.get(b.uri("d/f")) == b"x"


def test_put_under_a_file_is_refused(local_backend: Backend) -> None:
    b = local_backend
    s3dlio.put_bytes(b.uri("plain"), b"x")
    with pytest.raises(s3dlio.S3dlioError):
        s3dlio.put_bytes(b.uri("plain/child"), b"y")
    assert s3dlio.get(b.uri("plain")) == b"x"


# -- listing ------------------------------------------------------------------------------


TREE = ["a/1.bin", "a/2.bin", "a/sub/3.bin", "a/sub/deep/4.bin", "a-old/5.bin", "ab.bin"]


def make_tree(b: Backend) -> Backend:
    s3dlio.put_many([(b.uri(key), key.encode()) for key in TREE])
    return b


@pytest.fixture
def tree(backend: Backend) -> Backend:
    return make_tree(backend)


def test_list_non_recursive_includes_subdirectories(tree: Backend) -> None:
    got = names(s3dlio.list(tree.uri("a/")), tree)
    assert got == ["a/1.bin", "a/2.bin", "a/sub/"]
    assert names(s3dlio.list(tree.uri("a")), tree) == got  # U/a and U/a/ list the same


def test_list_recursive_lists_objects_only(tree: Backend) -> None:
    got = names(s3dlio.list(tree.uri("a/"), recursive=True), tree)
    assert got == ["a/1.bin", "a/2.bin", "a/sub/3.bin", "a/sub/deep/4.bin"]


def test_list_exact_name_never_matches_siblings(tree: Backend) -> None:
    assert names(s3dlio.list(tree.uri("a"), recursive=True), tree) == [
        "a/1.bin",
        "a/2.bin",
        "a/sub/3.bin",
        "a/sub/deep/4.bin",
    ]
    assert names(s3dlio.list(tree.uri("ab.bin")), tree) == ["ab.bin"]


def test_list_glob(tree: Backend) -> None:
    assert names(s3dlio.list(tree.uri("a*")), tree) == ["ab.bin"]
    assert names(s3dlio.list(tree.uri("a/*.bin")), tree) == ["a/1.bin", "a/2.bin"]
    assert names(s3dlio.list(tree.uri("a/**.bin")), tree) == [
        "a/1.bin",
        "a/2.bin",
        "a/sub/3.bin",
        "a/sub/deep/4.bin",
    ]
    assert names(s3dlio.list(tree.uri("a-*"), recursive=True), tree) == ["a-old/5.bin"]


def test_list_pattern_is_relative_regex(tree: Backend) -> None:
    got = names(s3dlio.list(tree.uri("a/"), recursive=True, pattern="^sub"), tree)
    assert got == ["a/sub/3.bin", "a/sub/deep/4.bin"]
    assert s3dlio.list(tree.uri("a/"), recursive=True, pattern="^3\\.bin") == []
    with pytest.raises(s3dlio.InvalidArgumentError, match="regex"):
        s3dlio.list(tree.uri("a/"), pattern="*.bin")


def test_list_missing_prefix_is_empty(backend: Backend) -> None:
    assert s3dlio.list(backend.uri("nothing/here/")) == []
    assert s3dlio.list(backend.uri("nothing"), recursive=True) == []


def test_list_keys_and_full_uris(tree: Backend) -> None:
    assert sorted(s3dlio.list_keys(tree.uri("a/"))) == ["1.bin", "2.bin", "sub/"]
    assert sorted(s3dlio.list_full_uris(tree.uri("a/"))) == sorted(s3dlio.list(tree.uri("a/")))


def test_list_pages_past_one_thousand(backend: Backend) -> None:
    items = [(backend.uri(f"many/{i:05d}"), b"") for i in range(2345)]
    s3dlio.put_many(items, max_in_flight=32)
    got = s3dlio.list(backend.uri("many/"), recursive=True)
    assert sorted(got) == [u for u, _ in items]


def test_list_containers(local_backend: Backend) -> None:
    tree = make_tree(local_backend)
    got = s3dlio.list_containers(tree.uri())
    assert [c["name"] for c in got] == ["a", "a-old"]
    assert got[0]["uri"] == tree.uri("a") and got[0]["creation_date"] is None


# -- delete ------------------------------------------------------------------------------


def test_delete_single_object(tree: Backend) -> None:
    s3dlio.delete(tree.uri("a/1.bin"))
    assert not s3dlio.exists(tree.uri("a/1.bin"))
    assert s3dlio.exists(tree.uri("a/2.bin"))
    s3dlio.delete(tree.uri("a/1.bin"))  # deleting a missing object is not an error


def test_delete_directory_without_recursive_deletes_nothing(tree: Backend) -> None:
    if tree.is_local:
        with pytest.raises(s3dlio.IsADirectoryObjectError, match="recursive"):
            s3dlio.delete(tree.uri("a"))
    else:
        s3dlio.delete(tree.uri("a"))  # deletes the object "a", which does not exist
    assert len(s3dlio.list(tree.uri("a/"), recursive=True)) == 4


def test_delete_recursive_never_touches_sibling_prefix(tree: Backend) -> None:
    s3dlio.delete(tree.uri("a"), recursive=True)
    assert s3dlio.list(tree.uri("a/"), recursive=True) == []
    assert names(s3dlio.list(tree.uri(), recursive=True), tree) == ["a-old/5.bin", "ab.bin"]


def test_delete_recursive_removes_emptied_directories(local_backend: Backend) -> None:
    tree = make_tree(local_backend)
    assert tree.root is not None
    s3dlio.delete(tree.uri("a/"), recursive=True)
    assert not (tree.root / "a").exists()
    assert (tree.root / "a-old").is_dir()


def test_delete_with_pattern(tree: Backend) -> None:
    s3dlio.delete(tree.uri("a/"), recursive=True, pattern=r"^sub/")
    assert names(s3dlio.list(tree.uri("a/"), recursive=True), tree) == ["a/1.bin", "a/2.bin"]


def test_delete_glob(tree: Backend) -> None:
    s3dlio.delete(tree.uri("a/*.bin"))
    assert names(s3dlio.list(tree.uri("a/"), recursive=True), tree) == [
        "a/sub/3.bin",
        "a/sub/deep/4.bin",
    ]


def test_delete_many_objects_in_batches(backend: Backend) -> None:
    s3dlio.put_many([(backend.uri(f"bulk/{i}"), b"x") for i in range(2500)])
    s3dlio.delete(backend.uri("bulk/"), recursive=True)
    assert s3dlio.list(backend.uri("bulk/"), recursive=True) == []


# -- directories ---------------------------------------------------------------------------


def test_mkdir_and_rmdir_on_object_stores_are_no_ops(cloud_backend: Backend) -> None:
    s3dlio.mkdir(cloud_backend.uri("x/y/z"))
    s3dlio.rmdir(cloud_backend.uri("x/y/z"))
    assert s3dlio.list(cloud_backend.uri(), recursive=True) == []


def test_mkdir_and_rmdir(local_backend: Backend) -> None:
    backend = local_backend
    s3dlio.mkdir(backend.uri("x/y/z"))
    s3dlio.mkdir(backend.uri("x/y/z"))  # existing is fine
    assert backend.uri("x/y/") in s3dlio.list(backend.uri("x/"))
    with pytest.raises(s3dlio.DirectoryNotEmptyError):
        s3dlio.rmdir(backend.uri("x/y"))
    s3dlio.rmdir(backend.uri("x/y/z/"))
    assert s3dlio.list(backend.uri("x/y/")) == []
    with pytest.raises(s3dlio.ObjectNotFoundError):
        s3dlio.rmdir(backend.uri("x/y/z"))


def test_mkdir_over_a_file_is_refused(local_backend: Backend) -> None:
    s3dlio.put_bytes(local_backend.uri("f"), b"x")
    with pytest.raises(FileExistsError):
        s3dlio.mkdir(local_backend.uri("f"))


@pytest.mark.parametrize("metadata", [True, False], ids=["with-metadata", "names-only"])
def test_store_listing_streams_in_bounded_pages(backend: Backend, metadata: bool) -> None:
    from s3dlio.stores import store_for
    from s3dlio.uri import parse_uri

    s3dlio.put_many([(backend.uri(f"pages/d{i % 3}/{i:04d}"), b"") for i in range(2600)])
    parsed = parse_uri(backend.uri("pages/"))
    pages = store_for(parsed).list(parsed.key, recursive=True, metadata=metadata)
    first = next(pages)  # a generator: the first page arrives before the walk is finished
    sizes = [len(first.objects)] + [len(p.objects) for p in pages]
    assert max(sizes) <= 1000 and sum(sizes) == 2600


def test_non_recursive_listing_pages_sub_directories_too(backend: Backend) -> None:
    from s3dlio.stores import store_for
    from s3dlio.uri import parse_uri

    s3dlio.put_many([(backend.uri(f"wide/d{i:04d}/k"), b"") for i in range(1050)])
    s3dlio.put_bytes(backend.uri("wide/top"), b"")
    parsed = parse_uri(backend.uri("wide/"))
    pages = list(store_for(parsed).list(parsed.key, recursive=False))
    assert max(len(p.objects) + len(p.prefixes) for p in pages) <= 1000
    assert sum(len(p.prefixes) for p in pages) == 1050
    assert [m.key for p in pages for m in p.objects] == [parsed.key + "top"]


def test_large_object_round_trip(backend: Backend) -> None:
    import hashlib

    import numpy as np

    data = np.random.default_rng(7).bytes(100 * (1 << 20) + 12345)  # > multipart threshold
    s3dlio.put_bytes(backend.uri("big/obj.bin"), data)
    got = s3dlio.get(backend.uri("big/obj.bin"))
    assert len(got) == len(data)
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    assert (
        s3dlio.get_range(backend.uri("big/obj.bin"), 50 << 20, 1000)
        == data[50 << 20 : (50 << 20) + 1000]
    )
    assert s3dlio.stat(backend.uri("big/obj.bin"))["size"] == len(data)
