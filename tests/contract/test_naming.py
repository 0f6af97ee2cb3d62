"""Identity of keys and stores: unusual keys, ``uri()``, pickling, on every store."""

from __future__ import annotations

import pickle

import s3dlio
from s3dlio.errors import ObjectNotFoundError
from s3dlio.stores.base import ObjectStore
from s3dlio.stores.layers import StoreLayer

from ._support import Contract, listed, object_keys

UNUSUAL = ("dir/a b é.bin", "dir/ünï cødé/日本語 ファイル.txt")


def test_store_implements_the_protocol(contract: Contract) -> None:
    assert isinstance(contract.store, ObjectStore)
    assert contract.store.scheme in ("file", "direct", "s3", "az", "gs", "memory")


def test_keys_with_spaces_and_non_ascii_characters_round_trip(contract: Contract) -> None:
    store = contract.store
    keys = [contract.key(name) for name in UNUSUAL]
    for key in keys:
        store.put(key, memoryview(key.encode()))
    for key in keys:
        assert bytes(store.get(key)) == key.encode()
        assert store.head(key).size == len(key.encode())
    assert sorted(object_keys(listed(store, contract.key("dir/")))) == sorted(keys)
    assert store.delete_many(keys) == len(keys)
    for key in keys:
        try:
            store.get(key)
        except ObjectNotFoundError:
            continue
        raise AssertionError(f"{key!r} still readable after delete_many")


def test_uri_names_the_object_for_the_flat_api(contract: Contract) -> None:
    for name in ("plain.bin", *UNUSUAL):
        key = contract.key(name)
        data = f"through the flat API: {name}".encode()
        contract.store.put(key, memoryview(data))
        uri = contract.store.uri(key)
        assert bytes(s3dlio.get(uri)) == data, uri
    if isinstance(contract.store, StoreLayer):  # a pass-through layer names objects alike
        assert contract.store.uri(key) == contract.store.inner.uri(key)


def test_a_pickled_store_reads_and_writes_the_same_objects(contract: Contract) -> None:
    key, other = contract.key("pickled.bin"), contract.key("from-clone.bin")
    contract.store.put(key, memoryview(b"before pickling"))
    clone = pickle.loads(pickle.dumps(contract.store))
    assert clone is not contract.store
    assert type(clone) is type(contract.store)
    assert clone.uri(key) == contract.store.uri(key)
    assert bytes(clone.get(key)) == b"before pickling"
    clone.put(other, memoryview(b"written by the clone"))
    assert bytes(contract.store.get(other)) == b"written by the clone"
    if isinstance(contract.store, StoreLayer):
        assert isinstance(clone, StoreLayer)
        assert type(clone.inner) is type(contract.store.inner)
