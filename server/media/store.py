"""The photo store the configuration asks for: a local folder (the embedded default) or an S3 bucket."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sync.blobs import BlobStore, FilesystemBlobStore


class PhotoStoreConfigError(ValueError):
    """PHOTO_STORE or its S3 settings are wrong; raised when the app is built, never on a request."""


def build_blob_store(config: Mapping[str, Any]) -> BlobStore:
    """A BlobStore from PHOTO_STORE (local|s3), MEDIA_ROOT and the S3_* settings."""
    kind = str(config.get("PHOTO_STORE") or "local")
    if kind == "local":
        return FilesystemBlobStore(Path(config["MEDIA_ROOT"]) / "blobs")
    if kind == "s3":
        from sync.s3blobs import S3BlobStore

        if not config.get("S3_BUCKET"):
            raise PhotoStoreConfigError("PHOTO_STORE=s3 needs S3_BUCKET (and S3_ENDPOINT unless AWS itself)")
        prefix = str(config.get("S3_PREFIX") or "")
        return S3BlobStore(
            bucket=config["S3_BUCKET"],
            endpoint_url=config.get("S3_ENDPOINT") or None,
            access_key=config.get("S3_ACCESS_KEY") or None,
            secret_key=config.get("S3_SECRET_KEY") or None,
            region=config.get("S3_REGION") or None,
            prefix=prefix if not prefix or prefix.endswith("/") else prefix + "/",
        )
    raise PhotoStoreConfigError(f"PHOTO_STORE must be 'local' or 's3', not {kind!r}")


def thumbnail_of(store: BlobStore, sha256: str) -> bytes:
    """The blob's web thumbnail, made again (and kept) when lost or never made: it is derived data."""
    from server.media.images import thumbnail_jpeg

    jpeg = store.read_thumbnail(sha256)
    if jpeg is None:
        with store.open(sha256) as handle:
            jpeg = thumbnail_jpeg(handle)
        store.write_thumbnail(sha256, jpeg)
    return jpeg
