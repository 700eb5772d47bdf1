"""What the application provides to the generic sync layer: auth, a session, handlers, a ledger, blobs."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sync.principal import Principal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from sync.blobs import BlobStore
    from sync.engine import DeviceLedger, HandlerRegistry

__all__ = ["BackendGetter", "Limits", "Principal", "SyncBackend"]


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
