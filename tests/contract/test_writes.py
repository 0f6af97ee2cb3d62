"""Writes: create-only puts, ``delete_many``, ``copy`` and streaming writers, on every store."""

from __future__ import annotations

import threading

import pytest

from s3dlio.errors import AlreadyExistsError, ObjectNotFoundError, S3dlioError
from s3dlio.stores.base import ObjectWriter

from ._support import Contract, listed, object_keys, payload

# -- create-only puts ---------------------------------------------------------------------


def test_put_create_only_creates_a_new_object(contract: Contract) -> None:
    key = contract.key("new.bin")
    contract.store.put(key, memoryview(b"created"), create_only=True)
    assert bytes(contract.store.get(key)) == b"created"


def test_put_create_only_refuses_an_existing_object(contract: Contract) -> None:
    key = contract.key("exists.bin")
    contract.store.put(key, memoryview(b"old content"))
    with pytest.raises(AlreadyExistsError):
        contract.store.put(key, memoryview(b"new"), create_only=True)
    assert bytes(contract.store.get(key)) == b"old content"


def test_concurrent_create_only_puts_have_exactly_one_winner(contract: Contract) -> None:
    key = contract.key("race.bin")
    threads = 8
    barrier = threading.Barrier(threads)
    outcomes: list[BaseException | str | None] = ["did not finish"] * threads

    def attempt(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            contract.store.put(key, memoryview(bytes([i]) * 64), create_only=True)
        except BaseException as exc:
            outcomes[i] = exc
        else:
            outcomes[i] = None

    workers = [threading.Thread(target=attempt, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(w.is_alive() for w in workers), "a create-only put did not return"
    winners = [i for i, outcome in enumerate(outcomes) if outcome is None]
    assert len(winners) == 1, outcomes
    assert bytes(contract.store.get(key)) == bytes([winners[0]]) * 64
    losers = [o for o in outcomes if o is not None]
    assert all(isinstance(o, AlreadyExistsError) for o in losers), losers


# -- delete_many --------------------------------------------------------------------------


def _put_all(contract: Contract, *names: str) -> list[str]:
    keys = [contract.key(name) for name in names]
    for key in keys:
        contract.store.put(key, memoryview(key.encode()))
    return keys


def test_delete_many_deletes_the_given_keys(contract: Contract) -> None:
    a, b, c, kept = _put_all(contract, "a.bin", "d/b.bin", "d/c.bin", "kept.bin")
    assert contract.store.delete_many([a, b, c]) == 3
    for key in (a, b, c):
        with pytest.raises(ObjectNotFoundError):
            contract.store.get(key)
    assert bytes(contract.store.get(kept)) == kept.encode()


def test_delete_many_ignores_missing_keys_and_counts_the_keys_that_existed(
    contract: Contract,
) -> None:
    missing = contract.key("missing.bin")
    for round_, order in enumerate(("missing last", "missing between")):
        a, b, kept = _put_all(contract, f"{round_}/a.bin", f"{round_}/b.bin", f"{round_}/kept")
        keys = [a, b, missing] if order == "missing last" else [a, missing, b]
        gone = contract.store.delete_many(keys)
        if contract.is_s3:
            # Documented: S3 answers a DELETE of a missing key with 204, so every key deleted
            # without error is counted.
            assert gone == len(keys), order
        elif contract.name in ("az", "gs"):
            # Documented: their batch fails on the missing key, possibly after deleting
            # others, so the count of a batch is a lower bound.
            assert 0 <= gone <= 2, order
        else:
            assert gone == 2, order
        for key in (a, b):
            with pytest.raises(ObjectNotFoundError):
                contract.store.head(key)
        assert bytes(contract.store.get(kept)) == kept.encode()


def test_delete_many_counts_one_key_exactly(contract: Contract) -> None:
    (there,) = _put_all(contract, "one.bin")
    assert contract.store.delete_many([there]) == 1
    assert contract.store.delete_many([there]) == (1 if contract.is_s3 else 0)  # now missing


def test_delete_many_of_only_missing_keys_deletes_nothing(contract: Contract) -> None:
    (kept,) = _put_all(contract, "kept.bin")
    keys = [contract.key("missing-1.bin"), contract.key("no/such/key.bin")]
    gone = contract.store.delete_many(keys)
    assert gone == (len(keys) if contract.is_s3 else 0)  # S3 counts them (see above)
    assert bytes(contract.store.get(kept)) == kept.encode()


def test_delete_many_of_no_keys_returns_zero(contract: Contract) -> None:
    assert contract.store.delete_many([]) == 0


# -- copy ---------------------------------------------------------------------------------


def test_copy_makes_an_exact_copy_and_keeps_the_source(contract: Contract) -> None:
    data = payload(300_001, seed=3)
    src, dst = contract.key("src.bin"), contract.key("copies/dst.bin")
    contract.store.put(src, memoryview(data))
    contract.store.copy(src, dst)
    assert bytes(contract.store.get(dst)) == data
    assert bytes(contract.store.get(src)) == data


def test_copy_of_a_missing_source_raises_object_not_found(contract: Contract) -> None:
    dst = contract.key("dst.bin")
    with pytest.raises(ObjectNotFoundError):
        contract.store.copy(contract.key("missing.bin"), dst)
    with pytest.raises(ObjectNotFoundError):
        contract.store.head(dst)


# -- streaming writers --------------------------------------------------------------------

# Sizes that are not multiples of any block size (direct:// rewrites partial blocks), and an
# empty write.
CHUNK_SIZES = (1, 4095, 0, 4097, 65_536, 12_345)


def _assert_missing(contract: Contract, key: str) -> None:
    with pytest.raises(ObjectNotFoundError):
        contract.store.get(key)
    with pytest.raises(ObjectNotFoundError):
        contract.store.head(key)
    assert key not in object_keys(listed(contract.store, contract.key()))


def test_writer_publishes_the_concatenation_of_its_chunks_on_close(contract: Contract) -> None:
    key = contract.key("w/streamed.bin")
    chunks = [payload(n, seed=n) for n in CHUNK_SIZES]
    writer = contract.store.open_writer(key)
    assert isinstance(writer, ObjectWriter)
    total = 0
    for chunk in chunks:
        assert writer.write(memoryview(chunk)) == len(chunk)
        total += len(chunk)
        assert writer.bytes_written == total
    writer.close()
    assert writer.bytes_written == total
    assert bytes(contract.store.get(key)) == b"".join(chunks)
    assert contract.store.head(key).size == total


def test_writer_publishes_nothing_before_close(contract: Contract) -> None:
    key = contract.key("w/pending.bin")
    writer = contract.store.open_writer(key)
    try:
        writer.write(memoryview(b"not yet"))
        _assert_missing(contract, key)
        writer.write(memoryview(b", still not"))
        _assert_missing(contract, key)
    except BaseException:
        writer.abort()
        raise
    writer.close()
    assert bytes(contract.store.get(key)) == b"not yet, still not"


def test_writer_replaces_an_existing_object_only_on_close(contract: Contract) -> None:
    key = contract.key("w/replaced.bin")
    contract.store.put(key, memoryview(b"old"))
    with contract.store.open_writer(key) as writer:
        writer.write(memoryview(b"new content"))
        assert bytes(contract.store.get(key)) == b"old"
    assert bytes(contract.store.get(key)) == b"new content"


def test_writer_with_block_publishes_on_normal_exit(contract: Contract) -> None:
    key = contract.key("w/with.bin")
    with contract.store.open_writer(key) as writer:
        writer.write(memoryview(b"ab"))
        writer.write(memoryview(b"cd"))
    assert bytes(contract.store.get(key)) == b"abcd"


def test_writer_abort_publishes_nothing(contract: Contract) -> None:
    key, existing = contract.key("w/aborted.bin"), contract.key("w/kept.bin")
    writer = contract.store.open_writer(key)
    writer.write(memoryview(payload(10_000)))
    writer.abort()
    writer.abort()  # idempotent
    _assert_missing(contract, key)
    # Aborting a writer over an existing object leaves that object as it was.
    contract.store.put(existing, memoryview(b"kept"))
    writer = contract.store.open_writer(existing)
    writer.write(memoryview(b"discarded"))
    writer.abort()
    assert bytes(contract.store.get(existing)) == b"kept"


class _Boom(Exception):
    pass


def test_writer_leaving_a_with_block_by_an_exception_publishes_nothing(
    contract: Contract,
) -> None:
    key = contract.key("w/failed.bin")
    with pytest.raises(_Boom), contract.store.open_writer(key) as writer:
        writer.write(memoryview(b"partial"))
        raise _Boom
    _assert_missing(contract, key)


def test_writer_write_or_close_after_close_raises(contract: Contract) -> None:
    key = contract.key("w/closed.bin")
    writer = contract.store.open_writer(key)
    writer.write(memoryview(b"done"))
    writer.close()
    with pytest.raises(S3dlioError):
        writer.write(memoryview(b"more"))
    with pytest.raises(S3dlioError):
        writer.close()
    writer.abort()  # a no-op after close
    assert bytes(contract.store.get(key)) == b"done"
    assert writer.bytes_written == 4


def test_writer_of_nothing_publishes_an_empty_object(contract: Contract) -> None:
    key = contract.key("w/empty.bin")
    contract.store.open_writer(key).close()
    assert len(contract.store.get(key)) == 0
    assert contract.store.head(key).size == 0
