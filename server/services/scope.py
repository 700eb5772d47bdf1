"""What a user may see: the regions under their scope, and the enterprises in them."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from server.domain.roles import Role
from server.models import Enterprise, Hazard, Inspection, Region, User
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


def visible_enterprise_ids(session: DbSession, user: User) -> sa.Select[uuid.UUID]:
    """The ids of the enterprises ``user`` may see, as a subquery to filter other tables on."""
    return visible_enterprises(session, user).with_only_columns(Enterprise.id)


def visible_inspections(session: DbSession, user: User) -> sa.Select[Inspection]:
    """Inspections of enterprises in the user's scope (none for an enterprise: 四不两直)."""
    query = sa.select(Inspection).where(Inspection.deleted_at.is_(None))
    if user.role == Role.enterprise:
        return query.where(sa.false())
    return query.where(Inspection.enterprise_id.in_(visible_enterprise_ids(session, user)))


def visible_hazards(session: DbSession, user: User) -> sa.Select[Hazard]:
    """Hazards of enterprises in the user's scope."""
    query = sa.select(Hazard).where(Hazard.deleted_at.is_(None))
    return query.where(Hazard.enterprise_id.in_(visible_enterprise_ids(session, user)))


def find_visible(session: DbSession, query: sa.Select[Any], model: Any, row_id: object) -> Any:
    """The row of ``query`` with ``row_id``, or None when it does not exist or is out of scope."""
    return session.scalar(query.where(model.id == row_id))
