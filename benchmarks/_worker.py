"""One timed s3dlio operation in a fresh interpreter; prints a JSON line.

Run with either this project's Python or the reference's venv Python: whichever ``s3dlio`` that
interpreter imports is the one measured. Only calls that exist, with the same signature, in
both are used.

    python _worker.py OP BASE_URI NUM SIZE CONCURRENCY

OP (objects are ``BASE_URI/obj-NNNNNN.bin``, see ``_timing.object_keys``):

- ``get_many`` / ``put_many``: ``NUM`` objects of ``SIZE`` bytes, ``max_in_flight=CONCURRENCY``;
- ``get`` / ``put``: one object of ``SIZE`` bytes (``get``/``put_bytes``; the buffer to put is
  made before the clock starts);
- ``list``: ``list(BASE_URI/, recursive=True)``, which must return ``NUM`` URIs;
- ``delete``: ``delete(BASE_URI/, recursive=True)`` of a prefix holding ``NUM`` objects.

Before the clock starts each op makes one small request (a stat, or a tiny put) so that both
implementations have built their runtime and client. After it stops the result is checked
(sizes, sampled bytes, counts) so a broken implementation cannot look fast.
"""

from __future__ import annotations

from typing import Any

from _timing import check_payload, measure, object_keys, payload, report, worker_args


def n_objects(s3dlio: Any, base: str) -> int:
    return sum("/obj-" in u for u in s3dlio.list(base + "/", recursive=True))


def main() -> None:
    op, base, num, size, conc = worker_args()
    import s3dlio

    uris = [f"{base}/{k}" for k in object_keys(num)]
    if op == "get_many":
        s3dlio.stat(uris[0])
        out, stats = measure(lambda: s3dlio.get_many(uris, max_in_flight=conc))
        assert [u for u, _ in out] == uris and all(len(v) == size for _, v in out)
        check_payload(out[0][1], size)
        check_payload(out[-1][1], size)
    elif op == "put_many":
        data = payload(size)
        items = [(u, data) for u in uris]
        s3dlio.put_bytes(f"{base}/warm.bin", b"x")
        _, stats = measure(lambda: s3dlio.put_many(items, max_in_flight=conc))
        assert n_objects(s3dlio, base) == num
        assert s3dlio.stat(uris[-1])["size"] == size
    elif op == "get":
        s3dlio.stat(uris[0])
        got, stats = measure(lambda: s3dlio.get(uris[0]))
        check_payload(got, size)
    elif op == "put":
        data = payload(size)
        s3dlio.put_bytes(f"{base}/warm.bin", b"x")
        _, stats = measure(lambda: s3dlio.put_bytes(uris[0], data))
        assert s3dlio.stat(uris[0])["size"] == size
    elif op == "list":
        s3dlio.stat(uris[0])
        listed, stats = measure(lambda: s3dlio.list(base + "/", recursive=True))
        assert len(listed) == num and listed[-1].startswith(base + "/"), len(listed)
    elif op == "delete":
        s3dlio.stat(uris[0])
        _, stats = measure(lambda: s3dlio.delete(base + "/", recursive=True))
        assert n_objects(s3dlio, base) == 0
    else:
        raise SystemExit(f"unknown op {op}")
    report(stats, s3dlio.__version__)


if __name__ == "__main__":
    main()
