"""What a user may see: the regions under their scope, and the enterprises in them."""

from __future__ import annotations

import functools
import hashlib
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session

from server.domain.roles import Role
from server.models import (
    Device,
    Enterprise,
    Hazard,
    Inspection,
    Region,
    RegionVersion,
    SamplingAssignment,
    User,
)
from server.services import DbSession
from sync.principal import Principal


@dataclass(frozen=True)
class Scope:
    """Who is asking and what they may see, as sync handlers filter on it."""

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
        return self._fingerprint

    @functools.cached_property
    def _fingerprint(self) -> str:
        """fingerprint, worked out once per scope: a cached scope serves every sync request of its user, and
        hashing the sorted ids of a province's 10,000 regions cost each of them ~3 ms."""
        regions = "*" if self.region_ids is None else ",".join(str(r) for r in sorted(self.region_ids))
        assigned = ",".join(sorted(str(e) for e in self.assigned_enterprise_ids))
        text = f"{self.user_id}|{self.role.value}|{regions}|{self.enterprise_id}"
        if assigned:
            text += f"|{assigned}"
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def scope_for(session: DbSession, user: User) -> Scope:
    """The one way to build a user's scope: regions, own enterprise and 双随机 assignments (every path uses it:
    sync requests and the re-application of quarantined mutations alike)."""
    regions = visible_region_ids(session, user)
    assigned: frozenset[uuid.UUID] = frozenset()
    if user.role == Role.inspector:
        assigned = frozenset(
            session.scalars(
                sa.select(SamplingAssignment.enterprise_id).where(
                    SamplingAssignment.inspector_id == user.id, SamplingAssignment.deleted_at.is_(None)
                )
            )
        )
    return Scope(
        user_id=user.id,
        role=user.role,
        region_ids=None if regions is None else frozenset(regions),
        enterprise_id=user.enterprise_id,
        assigned_enterprise_ids=assigned,
    )


#: The region tree's stamp: one row the database renews on every write to the tree (server.models.RegionVersion).
_TREE_VERSION = sa.select(RegionVersion.value).where(RegionVersion.id == 1)


def _stamp_columns(inspector_id: Any) -> tuple[Any, ...]:
    """What the database holds of a scope's stamp (``scope_stamp``), as columns for the user ``inspector_id``."""
    assigned = sa.select(SamplingAssignment).where(SamplingAssignment.inspector_id == inspector_id)
    return (
        assigned.with_only_columns(sa.func.count()).scalar_subquery(),
        assigned.with_only_columns(sa.func.max(SamplingAssignment.change_no)).scalar_subquery(),
        _TREE_VERSION.scalar_subquery(),
    )


# Built once: every sync request reads it, and building it anew cost ~2,000 Python calls each time.
_SCOPE_STAMP = sa.select(*_stamp_columns(sa.bindparam("inspector_id", type_=sa.Integer)))
#: The same columns for the user of the device row a query reads: a sync request finds its device and reads its
#: user's stamp in one statement (``remember_scope_stamp``).
DEVICE_USER_SCOPE_STAMP = _stamp_columns(Device.user_id)
#: session.info key: the stamp read with the device, with the transaction it was read in.
_READ_WITH_DEVICE = "scope stamp read with the device"


def remember_scope_stamp(session: DbSession, user_id: int, columns: tuple[Any, ...]) -> None:
    """Keep the ``DEVICE_USER_SCOPE_STAMP`` columns read with a device for this transaction's ``scope_stamp``."""
    session.info[_READ_WITH_DEVICE] = (_transaction_of(session), user_id, tuple(columns))


def _transaction_of(session: DbSession) -> Any:
    """The session's current transaction (a scoped session's too)."""
    return (session() if isinstance(session, scoped_session) else session).get_transaction()


def scope_stamp(session: DbSession, user: User) -> tuple[Any, ...]:
    """What ``user``'s scope is built from, in one query: their role, region and enterprise (from the row
    loaded this request), their 双随机 assignments (count and highest change number: every write numbers
    the row anew, in commit order) and the region tree's version (one row, renewed by the database on every
    added, removed or moved region, whoever writes it)."""
    read = session.info.pop(_READ_WITH_DEVICE, None)
    if read is not None and read[0] is _transaction_of(session) and read[1] == user.id:
        # Read with the device, in this transaction: a stamp read earlier only leaves a newer scope rebuilt.
        return (user.role, user.region_id, user.enterprise_id, *read[2])
    row = session.execute(_SCOPE_STAMP, {"inspector_id": user.id}).one()
    return (user.role, user.region_id, user.enterprise_id, *tuple(row))


class ScopeCache:
    """Users' scopes, each kept with the stamp it was built at (``scope_stamp``): a sync request then
    reads one stamp instead of walking the region tree and the assignments. Per worker; as the stamp is
    read from the database, a change made through any server is seen by every worker on its next request."""

    #: Past this many users the cache starts again (a province has a few thousand).
    LIMIT = 10_000

    def __init__(self) -> None:
        self._entries: dict[int, tuple[tuple[Any, ...], Scope]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: int, stamp: tuple[Any, ...]) -> Scope | None:
        """The scope stored for ``user_id`` if it was built at ``stamp``."""
        with self._lock:
            found = self._entries.get(user_id)
        return found[1] if found is not None and found[0] == stamp else None

    def put(self, user_id: int, stamp: tuple[Any, ...], scope: Scope) -> None:
        """Keep ``scope``, built at ``stamp``."""
        with self._lock:
            if len(self._entries) >= self.LIMIT:
                self._entries.clear()
            self._entries[user_id] = (stamp, scope)


def cached_scope_for(session: DbSession, user: User, cache: ScopeCache) -> Scope:
    """``scope_for`` through ``cache``: the stamp is read before the scope is built, so a change committed
    in between only leaves a scope newer than its stamp, which the next request rebuilds."""
    stamp = scope_stamp(session, user)
    scope = cache.get(user.id, stamp)
    if scope is None:
        scope = scope_for(session, user)
        cache.put(user.id, stamp, scope)
    return scope


def principal_for(session: DbSession, device: Device, cache: ScopeCache | None = None) -> Principal:
    """The principal a device syncs as (its user's scope as of now): for sync requests (through the app's
    ``cache``) and for the re-application of its quarantined mutations alike."""
    scope = (
        scope_for(session, device.user) if cache is None else cached_scope_for(session, device.user, cache)
    )
    return Principal(
        device_id=device.id, user_id=device.user_id, fingerprint=scope.fingerprint(), scope=scope
    )


def region_subtree_ids(session: DbSession, root_id: int) -> set[int]:
    """``root_id`` and the ids of every region below it."""
    children = _region_children(session)
    ids = {root_id}
    frontier = [root_id]
    while frontier:
        below = [c for r in frontier for c in children.get(r, ()) if c not in ids]
        ids.update(below)
        frontier = below
    return ids


class _RegionTree:
    """The region tree (parent → children) as of its stamp (``region_tree_stamp``), kept per worker: the pages
    ask for a scope's regions ~15 times per request, and walking the tree costs a query per level each time."""

    def __init__(self) -> None:
        self.stamp: tuple[Any, ...] | None = None
        self.children: dict[int, tuple[int, ...]] = {}
        self.lock = threading.Lock()


_REGION_TREE = _RegionTree()
#: Where a session keeps the tree it read (until its next flush or the end of its transaction).
_SESSION_TREE = "region_tree_children"


def region_tree_stamp(session: DbSession) -> tuple[Any, ...]:
    """The region tree's version (as scope_stamp reads it), renewed by every added, removed or moved region."""
    return (session.scalar(_TREE_VERSION),)


def _region_children(session: DbSession) -> dict[int, tuple[int, ...]]:
    """The tree's children by parent: read once per transaction (a stamp query), rebuilt when its stamp moved."""
    found: dict[int, tuple[int, ...]] | None = session.info.get(_SESSION_TREE)
    if found is not None:
        return found
    stamp = region_tree_stamp(session)
    tree = _REGION_TREE
    with tree.lock:
        children = tree.children if tree.stamp == stamp else None
    if children is None:
        grouped: dict[int, list[int]] = {}
        for region_id, parent_id in session.execute(sa.select(Region.id, Region.parent_id)):
            if parent_id is not None:
                grouped.setdefault(parent_id, []).append(region_id)
        children = {parent: tuple(ids) for parent, ids in grouped.items()}
        with tree.lock:
            tree.stamp, tree.children = stamp, children
    session.info[_SESSION_TREE] = children
    return children


def _forget_tree(session: Any, *_: Any) -> None:
    """A write (or a new transaction) may move regions: the session reads the tree's stamp again."""
    session.info.pop(_SESSION_TREE, None)


sa.event.listen(Session, "after_flush", _forget_tree)
sa.event.listen(Session, "after_transaction_end", _forget_tree)


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
