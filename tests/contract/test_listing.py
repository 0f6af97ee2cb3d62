"""Listings: key-prefix semantics, delimited listings, metadata, and paging, on every store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from s3dlio.stores.base import UNKNOWN_SIZE, ListPage

from ._support import (
    Contract,
    listed,
    object_keys,
    objects_of,
    prefixes_of,
)

TREE = ("a/b.bin", "a/bc/x", "a/bc/y/z", "a/c", "ab.bin", "a-old/x")


@pytest.fixture
def tree(contract: Contract) -> Contract:
    for name in TREE:
        contract.store.put(contract.key(name), memoryview(name.encode()))
    return contract


def _rel(contract: Contract, keys: list[str]) -> list[str]:
    return sorted(contract.rel(k) for k in keys)


def test_list_prefix_selects_every_key_that_starts_with_it(tree: Contract) -> None:
    pages = listed(tree.store, tree.key("a/b"))
    assert _rel(tree, object_keys(pages)) == ["a/b.bin", "a/bc/x", "a/bc/y/z"]


def test_list_delimited_prefix_selects_names_that_start_with_it(tree: Contract) -> None:
    pages = listed(tree.store, tree.key("a/b"), recursive=False)
    assert _rel(tree, object_keys(pages)) == ["a/b.bin"]
    assert _rel(tree, prefixes_of(pages)) == ["a/bc/"]


def test_list_recursive_returns_everything_below_a_directory_prefix(tree: Contract) -> None:
    pages = listed(tree.store, tree.key("a/"))
    assert _rel(tree, object_keys(pages)) == ["a/b.bin", "a/bc/x", "a/bc/y/z", "a/c"]
    assert prefixes_of(pages) == []
    assert _rel(tree, object_keys(listed(tree.store, tree.key()))) == sorted(TREE)


def test_list_non_recursive_returns_immediate_objects_and_common_prefixes(tree: Contract) -> None:
    pages = listed(tree.store, tree.key("a/"), recursive=False)
    assert _rel(tree, object_keys(pages)) == ["a/b.bin", "a/c"]
    assert _rel(tree, prefixes_of(pages)) == ["a/bc/"]
    top = listed(tree.store, tree.key(), recursive=False)
    assert _rel(tree, object_keys(top)) == ["ab.bin"]
    assert _rel(tree, prefixes_of(top)) == ["a-old/", "a/"]
    assert all(p.endswith("/") for p in prefixes_of(top))


def test_list_with_metadata_reports_sizes_and_times(tree: Contract) -> None:
    metas = objects_of(listed(tree.store, tree.key()))
    assert {tree.rel(m.key): m.size for m in metas} == {name: len(name) for name in TREE}
    assert all(isinstance(m.mtime_ns, int) for m in metas)


def test_list_without_metadata_returns_the_keys(tree: Contract) -> None:
    metas = objects_of(listed(tree.store, tree.key(), metadata=False))
    assert _rel(tree, [m.key for m in metas]) == sorted(TREE)
    for meta in metas:  # a size may be left unknown, never wrong
        assert meta.size in (UNKNOWN_SIZE, len(tree.rel(meta.key))), meta


def test_list_of_a_missing_prefix_lists_nothing(contract: Contract) -> None:
    contract.store.put(contract.key("present.bin"), memoryview(b"x"))
    for prefix in ("nothing/", "nothing", "no/such/dir/"):
        for recursive in (True, False):
            pages = listed(contract.store, contract.key(prefix), recursive=recursive)
            assert object_keys(pages) == [], (prefix, recursive)
            assert prefixes_of(pages) == [], (prefix, recursive)


def test_list_streams_pages_of_at_most_1000_entries(contract: Contract) -> None:
    # More than one page only where it is cheap to make (in process and file://).
    many = contract.name in ("memory", "file", "layer-memory", "layer-file")
    count = 1_100 if many else 20
    names = [f"p/{i:05d}.bin" for i in range(count)]
    for name in names:
        contract.store.put(contract.key(name), memoryview(b"."))
    for recursive in (True, False):
        stream = contract.store.list(contract.key("p/"), recursive)
        assert isinstance(stream, Iterator)  # a stream of pages, not a list
        pages = listed(contract.store, contract.key("p/"), recursive)
        assert all(isinstance(page, ListPage) for page in pages)
        assert all(len(page.objects) + len(page.prefixes) <= 1000 for page in pages)
        if many:
            assert len(pages) >= 2
        keys = object_keys(pages)
        assert len(keys) == len(set(keys)) == count  # every object once
        assert _rel(contract, keys) == names
