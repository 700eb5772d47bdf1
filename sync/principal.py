"""Who is syncing: the one type the engine, the views and the application's handlers share.

The application builds it (from a bearer token, say) and hands it to the engine; sync/ reads only the
device, the user and the fingerprint, and passes ``scope`` through to the handlers untouched.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any


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
