"""Who is syncing, and what they may see: built from the bearer token for each sync request."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from server.api.access import bearer_device
from server.domain.roles import Role
from server.extensions import db
from server.models import SamplingAssignment
from server.services.scope import visible_region_ids
from sync import problems
from sync.backend import Principal


@dataclass(frozen=True)
class Scope:
    """What the handlers filter on."""

    user_id: int
    role: Role
    #: None: every region (admin).
    region_ids: frozenset[int] | None
    enterprise_id: uuid.UUID | None
    #: Enterprises outside the regions that a 双随机 draw assigned to this inspector.
    assigned_enterprise_ids: frozenset[uuid.UUID] = frozenset()

    def fingerprint(self) -> str:
        """Changes whenever what the user may see changes (role, regions, enterprise, assignments): the
        device then resyncs from zero, which is how rows older than its cursor reach it."""
        regions = "*" if self.region_ids is None else ",".join(str(r) for r in sorted(self.region_ids))
        assigned = ",".join(sorted(str(e) for e in self.assigned_enterprise_ids))
        text = f"{self.user_id}|{self.role.value}|{regions}|{self.enterprise_id}"
        if assigned:
            text += f"|{assigned}"
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def authenticate() -> Principal:
    """The principal of the request's bearer token (401 problems when missing or revoked)."""
    device = bearer_device(allow_revoked=True)
    user = device.user
    regions = visible_region_ids(db.session, user)
    assigned: frozenset[uuid.UUID] = frozenset()
    if user.role == Role.inspector:
        assigned = frozenset(
            db.session.scalars(
                sa.select(SamplingAssignment.enterprise_id).where(
                    SamplingAssignment.inspector_id == user.id, SamplingAssignment.deleted_at.is_(None)
                )
            )
        )
    scope = Scope(
        user_id=user.id,
        role=user.role,
        region_ids=None if regions is None else frozenset(regions),
        enterprise_id=user.enterprise_id,
        assigned_enterprise_ids=assigned,
    )
    held = problems.device_revoked() if device.revoked_at is not None else None
    return Principal(
        device_id=device.id, user_id=user.id, fingerprint=scope.fingerprint(), scope=scope, held=held
    )


def scope_of(principal: Principal) -> Scope:
    """The server's scope carried in a principal."""
    assert isinstance(principal.scope, Scope)
    return principal.scope
