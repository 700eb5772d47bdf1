"""Who is syncing, and what they may see: built from the bearer token for each sync request."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from server.api.access import bearer_device
from server.domain.roles import Role
from server.extensions import db
from server.services.scope import visible_region_ids
from sync.backend import Principal


@dataclass(frozen=True)
class Scope:
    """What the handlers filter on."""

    user_id: int
    role: Role
    #: None: every region (admin).
    region_ids: frozenset[int] | None
    enterprise_id: uuid.UUID | None

    def fingerprint(self) -> str:
        """Changes whenever what the user may see changes (role, regions, enterprise)."""
        regions = "*" if self.region_ids is None else ",".join(str(r) for r in sorted(self.region_ids))
        text = f"{self.user_id}|{self.role.value}|{regions}|{self.enterprise_id}"
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def authenticate() -> Principal:
    """The principal of the request's bearer token (401 problems when missing or revoked)."""
    device = bearer_device()
    user = device.user
    regions = visible_region_ids(db.session, user)
    scope = Scope(
        user_id=user.id,
        role=user.role,
        region_ids=None if regions is None else frozenset(regions),
        enterprise_id=user.enterprise_id,
    )
    return Principal(device_id=device.id, user_id=user.id, fingerprint=scope.fingerprint(), scope=scope)


def scope_of(principal: Principal) -> Scope:
    """The server's scope carried in a principal."""
    assert isinstance(principal.scope, Scope)
    return principal.scope
