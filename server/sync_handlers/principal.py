"""Who is syncing, and what they may see: built from the bearer token for each sync request."""

from __future__ import annotations

import dataclasses

from server.caches import scope_cache
from server.extensions import db
from server.security import bearer_device
from server.services.scope import Scope, principal_for
from sync import problems
from sync.principal import Principal

__all__ = ["Scope", "authenticate", "scope_of"]


def authenticate() -> Principal:
    """The principal of the request's bearer token (401 problems when missing or revoked)."""
    device = bearer_device(allow_revoked=True, with_scope_stamp=True)
    principal = principal_for(db.session, device, scope_cache())
    if device.revoked_at is not None:
        # A revoked tablet's pushes are kept for review, never applied (the engine quarantines them).
        principal = dataclasses.replace(principal, held=problems.device_revoked())
    return principal


def scope_of(principal: Principal) -> Scope:
    """The server's scope carried in a principal."""
    assert isinstance(principal.scope, Scope)
    return principal.scope
