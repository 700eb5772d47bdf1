"""The server's side of sync: entity handlers, the device ledger, change numbering and the backend."""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from flask import Flask

from server.extensions import current_backend, db
from sync.backend import Limits, SyncBackend
from sync.engine import HandlerRegistry


def init_app(app: Flask, api: Any) -> SyncBackend:
    """Build the backend, number synced rows in commit order, and register /api/sync."""
    from server.media.ingest import accepted_blobs, on_blob_complete
    from server.media.store import build_blob_store
    from server.sync_handlers import changes
    from server.sync_handlers.common import install_cache_reset
    from server.sync_handlers.ledger import SqlDeviceLedger
    from server.sync_handlers.principal import authenticate
    from server.sync_handlers.registry import all_handlers
    from sync.gate import PushGate
    from sync.views import create_blueprint

    changes.install()
    install_cache_reset()
    registry = HandlerRegistry()
    for handler in all_handlers():
        registry.register(handler)
    store = build_blob_store(app.config)
    limits = Limits(
        max_mutations=app.config["SYNC_MAX_MUTATIONS"],
        max_push_bytes=app.config["SYNC_MAX_PUSH_BYTES"],
        max_blob_bytes=app.config["SYNC_MAX_PHOTO_BYTES"],
        max_pull_bytes=app.config["SYNC_PULL_PAGE_BYTES"],
    )
    backend = SyncBackend(
        authenticate=authenticate,
        session=lambda: db.session(),
        registry=registry,
        ledger=SqlDeviceLedger(),
        blobs=store,
        cursor_secret=hashlib.sha256(b"sync-cursor|" + app.config["SECRET_KEY"].encode()).digest(),
        on_blob_complete=functools.partial(
            on_blob_complete, store=store, max_pixels=app.config["MAX_PHOTO_PIXELS"]
        ),
        accepted_blobs=accepted_blobs,
        limits=limits,
    )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        backend.push_gate = PushGate(app.config["SYNC_PUSH_QUEUE_SECONDS"], app.config["RETRY_AFTER_SECONDS"])
    app.extensions["sync"] = backend
    api.register_blueprint(create_blueprint(current_backend))
    return backend
