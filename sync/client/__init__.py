"""The reference sync client: a durable SQLite outbox and replica, and push / pull / photo upload over HTTP.

Usable as a library (tests, tools) and as a command that simulates an inspector's day::

    python -m sync.client simulate --base-url http://127.0.0.1:8000 --username xx_insp1 --password … \
        --inspections 3 --photos-per-hazard 2

It follows DESIGN §4: outbox entries are frozen once written and numbered without gaps; nothing is dropped
before a validated reply for this very device acknowledges it; a bad record never blocks the queue.

Its parts: ``transport`` (HTTP and the errors replies turn into), ``outbox`` (the device's SQLite file),
``sync_client`` (the client), ``simulate`` (the simulated day and the command); this package re-exports them.
"""

from __future__ import annotations

from sync.client.outbox import LOCAL_FILE_CHANGED, LOCAL_FILE_MISSING, BlobRecord, Outbox
from sync.client.simulate import (
    CHINA_TIME,
    DEFAULT_POSITION,
    INSPECTORS,
    MEASURES,
    PLACES,
    RESPONSIBLE,
    SimulatedInspection,
    TransportFactory,
    applicable_items,
    current_catalogue,
    item_applies,
    main,
    make_jpeg,
    simulate_inspection,
    submits_inspection,
)
from sync.client.sync_client import MAX_BLOBS_PER_QUERY, PushSummary, SyncClient, SyncSummary, cut_batch
from sync.client.transport import (
    AuthError,
    Headers,
    Response,
    RetriesExhausted,
    SyncError,
    Transport,
    TransportError,
    UrllibTransport,
)

__all__ = [
    "CHINA_TIME",
    "DEFAULT_POSITION",
    "INSPECTORS",
    "LOCAL_FILE_CHANGED",
    "LOCAL_FILE_MISSING",
    "MAX_BLOBS_PER_QUERY",
    "MEASURES",
    "PLACES",
    "RESPONSIBLE",
    "AuthError",
    "BlobRecord",
    "Headers",
    "Outbox",
    "PushSummary",
    "Response",
    "RetriesExhausted",
    "SimulatedInspection",
    "SyncClient",
    "SyncError",
    "SyncSummary",
    "Transport",
    "TransportError",
    "TransportFactory",
    "UrllibTransport",
    "applicable_items",
    "current_catalogue",
    "cut_batch",
    "item_applies",
    "main",
    "make_jpeg",
    "simulate_inspection",
    "submits_inspection",
]
