"""What the application provides to the generic sync layer: auth, a session, handlers, a ledger, blobs."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from sync.blobs import BlobStore
    from sync.engine import DeviceLedger, HandlerRegistry


@dataclass(frozen=True)
class Principal:
    """Who is syncing: the device of the bearer token, its user, and what the user may see.

    ``scope`` is opaque to sync/: handlers read it to filter pulls. ``fingerprint`` changes whenever what
    the user may see changes, which makes the next pull a full resync.
    """

    device_id: uuid.UUID
    user_id: int
    fingerprint: str
    scope: Any = None
    #: A Problem when the device may no longer change anything (its token was revoked): every new mutation it
    #: pushes is kept in quarantine with this reason instead of applied, and it may not pull.
    held: Any = None


@dataclass(frozen=True)
class Limits:
    """Batch and upload limits (a clear error past each)."""

    max_mutations: int = 500
    max_push_bytes: int = 8 * 1024 * 1024
    max_blob_bytes: int = 20 * 1024 * 1024
    max_pull_limit: int = 2000
    #: A pull page stops at about this many bytes of JSON as well as at its count limit.
    max_pull_bytes: int = 1024 * 1024


@dataclass
class SyncBackend:
    """Everything the sync views need from the application, built once per app."""

    authenticate: Callable[[], Principal]
    session: Callable[[], Session]
    registry: HandlerRegistry
    ledger: DeviceLedger
    blobs: BlobStore
    cursor_secret: bytes
    #: Called inside the upload's transaction once a blob's bytes are complete and verified; it may
    #: raise a Problem (not an image, a bomb ...) to refuse the blob, which is then deleted.
    on_blob_complete: Callable[[Session, str], None]
    #: The hashes, among those given, whose acceptance (on_blob_complete's work) is committed. A blob is
    #: held only when its bytes are in the store AND it is accepted: a server killed between the two must
    #: not tell a device it may free its copy.
    accepted_blobs: Callable[[Session, Sequence[str]], set[str]]
    limits: Limits = field(default_factory=Limits)
    #: Held around each push: a single-writer database queues pushes fairly here (see sync.gate).
    push_gate: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext


class BackendGetter(Protocol):
    """How a view finds the app's backend (e.g. from ``current_app.extensions``)."""

    def __call__(self) -> SyncBackend: ...
