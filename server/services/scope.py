"""What a user may see: the regions under their scope, and the enterprises in them."""

from __future__ import annotations

import sqlalchemy as sa

from server.domain.roles import Role
from server.models import Enterprise, Region, User
from server.services import DbSession


def region_subtree_ids(session: DbSession, root_id: int) -> set[int]:
    """``root_id`` and the ids of every region below it."""
    ids = {root_id}
    frontier = {root_id}
    while frontier:
        children = set(session.scalars(sa.select(Region.id).where(Region.parent_id.in_(frontier))))
        frontier = children - ids
        ids |= frontier
    return ids


def visible_region_ids(session: DbSession, user: User) -> set[int] | None:
    """Regions the user may see; None means every region (admin)."""
    if user.role == Role.admin:
        return None
    if user.region_id is None:
        return set()
    return region_subtree_ids(session, user.region_id)


def visible_enterprises(session: DbSession, user: User) -> sa.Select[Enterprise]:
    """A query for the enterprises the user may see: their own for an enterprise user, else by region."""
    query = sa.select(Enterprise).where(Enterprise.deleted_at.is_(None))
    if user.role == Role.enterprise:
        return query.where(Enterprise.id == user.enterprise_id)
    regions = visible_region_ids(session, user)
    if regions is not None:
        query = query.where(Enterprise.region_id.in_(regions))
    return query
