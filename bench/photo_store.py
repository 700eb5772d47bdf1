"""The two photo stores side by side: a photo's chunked upload (as the PUTs do: append per chunk, then the
hash-checked completion), a HEAD (received), and reading it back, on the local folder and on S3 (a real
SeaweedFS on this machine, started here). Prints the times and the ratio S3/local (no assertions).

    .venv/bin/python bench/photo_store.py [--photos 20] [--size-mb 3] [--chunk-kb 256]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.media.store import build_blob_store
from sync.blobs import BlobStore
from tests.seaweed import start_seaweed


def measure(store: BlobStore, photos: list[bytes], chunk: int) -> dict[str, float]:
    """Median milliseconds per photo of upload, HEAD and read."""
    times: dict[str, list[float]] = {"upload": [], "head": [], "read": []}

    def timed(kind: str, action: Callable[[], object]) -> None:
        started = time.perf_counter()
        action()
        times[kind].append((time.perf_counter() - started) * 1000)

    for data in photos:
        sha = hashlib.sha256(data).hexdigest()

        def upload(data: bytes = data, sha: str = sha) -> None:
            for start in range(0, len(data), chunk):
                store.append(sha, start, io.BytesIO(data[start : start + chunk]), len(data))
            store.complete(sha)

        def read(sha: str = sha) -> bytes:
            with store.open(sha) as handle:
                return handle.read()

        timed("upload", upload)
        timed("head", lambda sha=sha: store.received(sha))
        timed("read", read)
    return {kind: statistics.median(values) for kind, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--size-mb", type=float, default=3.0)
    parser.add_argument("--chunk-kb", type=int, default=256)
    args = parser.parse_args()
    size, chunk = int(args.size_mb * 1024 * 1024), args.chunk_kb * 1024
    photos = [os.urandom(size) for _ in range(args.photos)]
    with tempfile.TemporaryDirectory() as folder:
        local = build_blob_store({"PHOTO_STORE": "local", "MEDIA_ROOT": str(Path(folder) / "media")})
        seaweed = start_seaweed(Path(folder) / "seaweed")
        try:
            s3 = build_blob_store(seaweed.settings())
            s3.create_bucket()  # type: ignore[attr-defined]
            local_ms, s3_ms = measure(local, photos, chunk), measure(s3, photos, chunk)
        finally:
            seaweed.stop()
    print(f"{args.photos} photos of {args.size_mb} MB in {args.chunk_kb} KiB chunks; median ms per photo")
    for kind in ("upload", "head", "read"):
        print(
            f"  {kind:<6}  local {local_ms[kind]:8.1f}   S3 {s3_ms[kind]:8.1f}   S3/local {s3_ms[kind] / local_ms[kind]:6.1f}"
        )
    rate = args.size_mb / (s3_ms["upload"] / 1000)
    print(
        f"  S3 upload throughput {rate:.1f} MB/s; local {args.size_mb / (local_ms['upload'] / 1000):.1f} MB/s"
    )


if __name__ == "__main__":
    main()
