"""The five-minute tour: generate a dataset, upload it to a store, list, download, verify.

Runs entirely on the local machine (``file://`` and ``direct://``), printing throughput for
each step. ``python scripts/demo.py --help`` for options.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import s3dlio

T = TypeVar("T")


def timed(label: str, nbytes: int, count: int, fn: Callable[[], T]) -> T:
    t0 = time.perf_counter()
    result = fn()
    dt = time.perf_counter() - t0
    print(
        f"  {label:<34} {count:>6} objects {nbytes / 2**20:>9.1f} MiB "
        f"{dt:>7.3f} s {nbytes / 2**20 / dt:>9.1f} MiB/s {count / dt:>9.0f} obj/s"
    )
    return result


def digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", help="work directory (default: a new temp dir, removed at the end)")
    ap.add_argument("--small", type=int, default=2000, help="number of small objects (64 KiB)")
    ap.add_argument("--large", type=int, default=16, help="number of large objects (16 MiB)")
    ap.add_argument(
        "--store",
        choices=["file", "direct"],
        default="direct",
        help="scheme of the store the dataset is uploaded to",
    )
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()

    work = Path(args.dir or tempfile.mkdtemp(prefix="s3dlio-demo-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    generated, restored = work / "generated", work / "restored"
    store = f"{args.store}://{work}/store/dataset/"
    small, large = args.small, args.large
    small_size, large_size = 64 << 10, 16 << 20
    total = small * small_size + large * large_size
    print(f"s3dlio {s3dlio.__version__} demo in {work} (store: {store})")
    try:
        print("1. generate a dataset on file://")
        timed(
            "put small (64 KiB)",
            small * small_size,
            small,
            lambda: s3dlio.put(
                f"file://{generated}/small",
                small,
                template="sample-{}.bin",
                size=small_size,
                object_type="random",
            ),
        )
        timed(
            "put large (16 MiB)",
            large * large_size,
            large,
            lambda: s3dlio.put(
                f"file://{generated}/large",
                large,
                template="shard-{}-of-{}.bin",
                size=large_size,
                object_type="random",
            ),
        )

        print(f"2. upload it to {args.store}://")
        timed(
            "upload (recursive directory)",
            total,
            small + large,
            lambda: s3dlio.upload([str(generated)], store, max_in_flight=32),
        )

        print("3. list it")
        uris = timed(
            "list (recursive)", 0, small + large, lambda: s3dlio.list(store, recursive=True)
        )
        assert len(uris) == small + large, f"listed {len(uris)} objects, expected {small + large}"

        print("4. read it back")
        got = timed("get_many", total, len(uris), lambda: s3dlio.get_many(uris, max_in_flight=32))
        assert sum(len(v) for _, v in got) == total
        del got

        print("5. download it and verify every byte")
        timed("download", total, len(uris), lambda: s3dlio.download(store, str(restored)))
        want, have = digest_tree(generated), digest_tree(restored)
        if want != have:
            bad = sorted(k for k in want.keys() | have.keys() if want.get(k) != have.get(k))
            print(f"VERIFY FAILED: {len(bad)} files differ, e.g. {bad[:5]}", file=sys.stderr)
            return 1
        print(f"  verified {len(want)} files, sha256 identical")

        print("6. delete it")
        timed("delete (recursive)", 0, len(uris), lambda: s3dlio.delete(store, recursive=True))
        assert s3dlio.list(store, recursive=True) == []
        print("demo OK")
        return 0
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
