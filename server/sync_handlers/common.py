"""Pieces every entity handler uses: JSON-safe rows, validation of mutation data, visibility queries."""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from marshmallow import RAISE, Schema, ValidationError, missing, validate
from marshmallow import fields as ma_fields
from sqlalchemy import event
from sqlalchemy.orm import Session, joinedload

from server.caches import catalogue_items_cache
from server.domain.inspections import InspectionKind, is_sealed
from server.domain.limits import TEXT_LIMITS
from server.domain.roles import Role
from server.errors import field_too_long
from server.models import Catalogue, CatalogueItem, Enterprise, Inspection, InspectionParticipant, ItemResult
from server.models.base import Base, SyncMixin, lists_as_arrays, one_of
from server.sync_handlers.bulk import insert_tables
from server.sync_handlers.changes import CHANGE_NUMBERS
from server.sync_handlers.principal import Scope
from server.sync_handlers.pull_rows import json_ready
from sync import problems
from sync.engine import Change
from sync.protocol import canonical_json


def jsonable(value: Any) -> Any:
    """A value as it travels in JSON: enums by value, ids and decimals as text, dates in ISO 8601, mappings
    and sequences converted throughout (pull_rows.json_ready decides the conversion once per type)."""
    return json_ready(value)


def load_data(schema: Schema, data: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """Validate a mutation's data (all required fields when creating, any subset when updating)."""
    quick = _load_fields(schema, data, partial=not creating) if _plain(schema) else None
    return quick if quick is not None else load_with_schema(schema, data, creating=creating)


def load_with_schema(schema: Schema, data: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """load_data through ``schema.load`` itself: the refusal's message is the schema's."""
    try:
        return dict(schema.load(dict(data), partial=not creating))
    except ValidationError as error:
        raise problems.invalid_mutation(reason=_flatten(error.messages)) from None


def _load_fields(schema: Schema, data: Mapping[str, Any], *, partial: bool) -> dict[str, Any] | None:
    """What ``schema.load(data, partial=partial)`` returns for data it accepts, each field deserialized as the
    schema's own loop does it, without its error bookkeeping (a tenth of a push's CPU); None for data with an
    unknown key or a refused value, which load_with_schema then refuses with the schema's own message."""
    fields = schema.load_fields
    if not data.keys() <= fields.keys():
        return None
    loaded: dict[str, Any] = {}
    try:
        for name, field in fields.items():
            raw = data.get(name, missing)
            if raw is missing and partial:
                continue
            nested = _nested_list_schema(field) if type(raw) is list else None
            if nested is not None:
                # A list of plain nested rows (an inspection's participants: a twentieth of a push's CPU through
                # Nested, which loads each row with a whole schema.load): each row by this same loop.
                rows = [
                    _load_fields(nested, row, partial=partial) if type(row) is dict else None for row in raw
                ]
                if None in rows:
                    return None
                loaded[name] = rows
                continue
            value = field.deserialize(raw, name, data, partial=partial)
            if value is not missing:
                loaded[name] = value
    except ValidationError:
        return None
    return loaded


@functools.lru_cache(maxsize=64)
def _nested_list_schema(field: Any) -> Schema | None:
    """The schema of a ``List(Nested(schema))`` field that deserializes a list as its rows' loop alone (no
    validator on the list or its rows, rows neither null nor renamed, the schema plain); None otherwise."""
    inner = getattr(field, "inner", None)
    if not isinstance(field, ma_fields.List) or not isinstance(inner, ma_fields.Nested):
        return None
    if field.validators or inner.validators or inner.many or inner.only or inner.exclude:
        return None
    if inner.unknown not in (None, RAISE) or inner.allow_none:
        return None
    schema = inner.schema
    return schema if isinstance(schema, Schema) and _plain(schema) and schema.unknown == RAISE else None


@functools.lru_cache(maxsize=64)
def _plain(schema: Schema) -> bool:
    """Whether ``schema.load`` is only its fields' loop: no hooks, no renamed field, unknown keys refused."""
    return (
        not any(schema._hooks.values())
        and schema.unknown == RAISE
        and not schema.many
        and all(f.data_key is None and f.attribute is None for f in schema.load_fields.values())
    )


def _flatten(messages: Any, prefix: str = "") -> str:
    if isinstance(messages, Mapping):
        return "; ".join(_flatten(v, f"{prefix}{k}.") for k, v in messages.items())
    if isinstance(messages, list):
        return f"{prefix.rstrip('.')}: {' '.join(str(m) for m in messages)}"
    return f"{prefix.rstrip('.')}: {messages}"


def row_changes(
    session: Session,
    model: Any,
    entity: str,
    visible: Any,
    after: int,
    upto: int,
    limit: int,
    to_data: Any,
    *options: Any,
) -> list[Change]:
    """Rows of ``model`` matching ``visible`` with a change number in (after, upto], lowest first (``options``:
    loader options, e.g. the collections ``to_data`` reads, loaded for the whole page at once)."""
    query = sa.select(model).options(*options).where(model.change_no > after, model.change_no <= upto)
    if visible is not None:
        query = query.where(visible)
    rows = session.scalars(query.order_by(model.change_no).limit(limit)).all()
    return [to_change(entity, row, to_data) for row in rows]


def to_change(entity: str, row: SyncMixin, to_data: Any) -> Change:
    """A row as a pull change; deleted rows become tombstones."""
    deleted = row.deleted_at is not None
    return Change(
        change_no=row.change_no, entity=entity, id=str(row.id), version=row.row_version,  # type: ignore[attr-defined]
        deleted=deleted, data=None if deleted else jsonable(to_data(row)),
    )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class EnterpriseReach:
    """Which enterprises a scope sees, decided once (``enterprise_reach``) for both of its forms: the SQL condition
    of lists and pulls (``enterprise_visible``) and the check of a row already read (``sees``), with which a push
    reads its enterprises by one statement built once instead of writing the scope's regions into it."""

    everyone: bool
    region_ids: frozenset[int] = frozenset()
    enterprise_ids: frozenset[uuid.UUID] = frozenset()

    def sees(self, enterprise: Enterprise) -> bool:
        """Whether the scope sees this enterprise row."""
        return (
            self.everyone or enterprise.region_id in self.region_ids or enterprise.id in self.enterprise_ids
        )


def enterprise_reach(scope: Scope) -> EnterpriseReach:
    """The one place deciding which enterprises a sync scope sees: an enterprise account its own, an admin every
    one, anyone else those of their regions and those a 双随机 draw sent them to."""
    if scope.role == Role.enterprise:
        own = frozenset() if scope.enterprise_id is None else frozenset({scope.enterprise_id})
        return EnterpriseReach(False, enterprise_ids=own)
    if scope.region_ids is None:
        return EnterpriseReach(True)
    # A city sampling visit (双随机) may send an inspector to another county's enterprise.
    return EnterpriseReach(False, scope.region_ids, scope.assigned_enterprise_ids)


def enterprise_visible(scope: Scope) -> Any:
    """SQL condition: the enterprise row is in the scope (``enterprise_reach``)."""
    reach = enterprise_reach(scope)
    if reach.everyone:
        return sa.true()
    conditions = []
    if reach.region_ids:
        conditions.append(Enterprise.region_id.in_(reach.region_ids))
    if reach.enterprise_ids:
        conditions.append(Enterprise.id.in_(reach.enterprise_ids))
    return sa.or_(*conditions) if conditions else sa.false()


@functools.lru_cache(maxsize=2)
def _enterprises_by_id(arrays: bool) -> Any:
    """The enterprises among the list parameter ``ids`` (built once per kind of list, see ``one_of``)."""
    return sa.select(Enterprise).where(one_of(Enterprise.id, "ids", arrays=arrays))


def prefetch_enterprises(session: Session, mutations: list[Any]) -> None:
    """Note the enterprises the batch's mutations name, so that the first visible_enterprise reads them all in one
    statement (a value that is no UUID is left to the mutation's own validation, which refuses it)."""
    noted = session.info.setdefault(ENTERPRISES, set())
    for mutation in mutations:
        value = (mutation.data or {}).get("enterprise_id")
        if isinstance(value, str):
            try:
                noted.add(uuid.UUID(value))
            except ValueError:
                continue


def visible_enterprise(session: Session, scope: Scope, enterprise_id: uuid.UUID) -> Enterprise:
    """The enterprise if the scope may see it (missing_reference otherwise); the batch's noted enterprises are
    read with it, in one statement, and each is asked once per batch."""
    known: dict[uuid.UUID, Enterprise | None] = cached(session, ("enterprises", scope.fingerprint()), dict)
    if enterprise_id not in known:
        wanted = ({enterprise_id} | session.info.pop(ENTERPRISES, set())) - known.keys()
        query, reach = _enterprises_by_id(lists_as_arrays(session)), enterprise_reach(scope)
        found = {row.id: row for row in session.scalars(query, {"ids": list(wanted)}) if reach.sees(row)}
        known.update((wanted_id, found.get(wanted_id)) for wanted_id in wanted)
    enterprise = known[enterprise_id]
    if enterprise is None or enterprise.deleted_at is not None:
        raise problems.missing_reference(entity="enterprise", id=enterprise_id)
    return enterprise


def inspection_visible(scope: Scope) -> Any:
    """SQL condition on Inspection: an inspector's or expert's own inspections, a supervisor's region's.

    Enterprise accounts see none here (四不两直: nothing about an inspection reaches the enterprise
    through sync)."""
    if scope.role in (Role.inspector, Role.expert):
        participant = sa.select(InspectionParticipant.inspection_id).where(
            InspectionParticipant.user_id == scope.user_id
        )
        return sa.or_(Inspection.created_by_id == scope.user_id, Inspection.id.in_(participant))
    if scope.role == Role.enterprise:
        return sa.false()
    if scope.region_ids is None:
        return sa.true()
    in_region = sa.select(Enterprise.id).where(Enterprise.region_id.in_(scope.region_ids))
    return Inspection.enterprise_id.in_(in_region)


def of_visible_inspection(column: Any, scope: Scope) -> Any:
    """SQL condition: ``column`` (a row's inspection id) names an inspection the scope may see."""
    return column.in_(sa.select(Inspection.id).where(inspection_visible(scope)))


def own_inspection(session: Session, scope: Scope, inspection_id: uuid.UUID) -> Inspection:
    """An inspection the principal's user created (the only ones a device may add to)."""
    inspection = find(session, Inspection, inspection_id)
    if inspection is None or inspection.deleted_at is not None:
        raise problems.missing_reference(entity="inspection", id=inspection_id)
    if inspection.created_by_id != scope.user_id:
        raise problems.owned_elsewhere()
    return inspection


# Per-transaction caches a push builds, kept in session.info and dropped with the transaction.
ABSENT = "sync_absent_ids"
CREATED = "sync_created_rows"
CACHE = "sync_cache"
STAGED = "sync_staged_rows"
STAGED_IDS = "sync_staged_ids"
STAGING = "sync_staging"
PREFETCH = "sync_prefetch_ids"
ENTERPRISES = "sync_enterprise_ids"
IN_USE = "sync_catalogue_versions_in_use"


def require_draft(inspection: Inspection) -> Inspection:
    """``inspection`` itself, if it may still change from a device; record_sealed (quarantined) once it is sealed."""
    if is_sealed(inspection.status):
        raise problems.record_sealed()
    return inspection


def prefetch_rows(session: Session, model: Any, mutations: list[Any]) -> None:
    """Note the batch's ids of ``model``; the first lookup then finds which ids of every model noted exist in one
    statement, and loads only those rows, so that applying each mutation needs no lookup query of its own."""
    session.info.setdefault(PREFETCH, {}).setdefault(model, set()).update(m.id for m in mutations)


def absent_ids(session: Session) -> set[tuple[Any, uuid.UUID]]:
    """(model, id) of the batch's rows the prefetch found not to exist yet (new rows)."""
    if PREFETCH in session.info:
        _load_prefetched(session)
    return cast(set[tuple[Any, uuid.UUID]], session.info.get(ABSENT, set()))


def _load_prefetched(session: Session) -> None:
    """Which of the noted ids exist, in one statement for every model; the rows found loaded (a batch of new
    rows loads none) and held for the batch (the identity map holds them only weakly), so that find() gets them
    without a query."""
    wanted: dict[Any, set[uuid.UUID]] = session.info.pop(PREFETCH)
    models = tuple(wanted)
    found: dict[int, set[uuid.UUID]] = {}
    params = {f"ids_{index}": list(wanted[model]) for index, model in enumerate(models)}
    arrays = lists_as_arrays(session)
    for index, row_id in session.execute(_existing_ids(models, arrays), params):
        found.setdefault(index, set()).add(row_id)
    absent = session.info.setdefault(ABSENT, set())
    for index, model in enumerate(models):
        existing = found.get(index, set())
        if existing:
            query = sa.select(model).where(model.id.in_(existing)).options(*_WITH_PREFETCHED.get(model, ()))
            rows = session.scalars(query).unique().all()
            session.info.setdefault(CACHE, {}).setdefault(("prefetched", model), []).extend(rows)
        absent.update((model, i) for i in wanted[model] - existing)


#: What a stored row that a batch changes is loaded with: an inspection's mutation in a later push is mostly its
#: submission, which reads its participants and its enterprise's profile (two more statements each, lazily).
_WITH_PREFETCHED: dict[Any, tuple[Any, ...]] = {
    Inspection: (joinedload(Inspection.participants), joinedload(Inspection.enterprise))
}


@functools.lru_cache(maxsize=32)
def _existing_ids(models: tuple[Any, ...], arrays: bool) -> Any:
    """(position of the model, id) of the rows of each model among its ids (built once per set of models)."""
    return sa.union_all(
        *(
            sa.select(sa.literal(index, sa.Integer), model.id).where(
                one_of(model.id, f"ids_{index}", arrays=arrays)
            )
            for index, model in enumerate(models)
        )
    )


def find(session: Session, model: Any, row_id: uuid.UUID) -> Any:
    """The row with this id, or None: rows this batch created (not yet flushed) first, then no query
    for ids the batch's prefetch found to be new, else the identity map or one lookup."""
    made = session.info.get(CREATED, {}).get((model, row_id))
    if made is not None:
        return made
    if (model, row_id) in absent_ids(session):
        return None
    return session.get(model, row_id)


def load_rows(session: Session, model: Any, ids: Iterable[uuid.UUID]) -> list[Any]:
    """The rows among ``ids`` that find() would look up one by one (not made by the batch, not known to be new, not
    in the session), loaded in one query; the caller holds the list while it uses find(), because the identity
    map keeps rows only weakly. Rows the session holds are not refreshed: the batch's changes stay."""
    made = session.info.get(CREATED, {})
    absent = absent_ids(session)
    identity_key = sa.inspect(model).identity_key_from_primary_key
    wanted = [
        row_id for row_id in ids
        if (model, row_id) not in made and (model, row_id) not in absent
        and session.identity_map.get(identity_key((row_id,))) is None
    ]  # fmt: skip
    if not wanted:
        return []
    return list(session.scalars(sa.select(model).where(model.id.in_(wanted))))


def created(session: Session, obj: Any) -> None:
    """Note that a new row now exists, so that find() sees it before any flush."""
    absent_ids(session).discard((type(obj), obj.id))
    session.info.setdefault(CREATED, {})[(type(obj), obj.id)] = obj
    obj.row_version = 1


def made_in_batch(session: Session, obj: Any) -> bool:
    """Whether this transaction's batch created ``obj`` (so nothing of it was stored before)."""
    return session.info.get(CREATED, {}).get((type(obj), obj.id)) is obj


def stage_insert(session: Session, obj: SyncMixin) -> None:
    """Keep a new row (a transient object, never added to the session) to be written with the other new rows
    of its table in one INSERT by write_staged; find() returns it meanwhile, and later mutations of the
    batch may still change it."""
    session.info.setdefault(STAGED, {}).setdefault(type(obj), []).append(obj)
    session.info.setdefault(STAGED_IDS, set()).add(id(obj))  # the lists above keep each object alive
    created(session, obj)


def is_staged(session: Session, obj: Any) -> bool:
    """Whether ``obj`` is a new row kept aside for write_staged (not yet written)."""
    return id(obj) in session.info.get(STAGED_IDS, ())


def stored_or_staged(session: Session, obj: Any) -> bool:
    """Whether a row may be referred to by a staged row: stored already, or staged itself (write_staged runs
    before the batch's flush, so a row only the session holds is not in the database yet)."""
    return obj is not None and (sa.inspect(obj).persistent or is_staged(session, obj))


def staging(session: Session) -> bool:
    """Whether the handler now applying may keep its new rows aside (inside apply_many, see stage_runs)."""
    return bool(session.info.get(STAGING))


def stage_runs(session: Session, apply: Any, principal: Any, mutations: list[Any]) -> list[int]:
    """``apply`` for each mutation in turn, its new rows kept aside for write_staged instead of added to the
    session (the set-based path of apply_many; apply() alone, one mutation at a time, adds them as usual)."""
    session.info[STAGING] = True
    try:
        return [apply(session, principal, mutation) for mutation in mutations]
    finally:
        session.info.pop(STAGING, None)


def unstage(session: Session, *objs: Any) -> None:
    """Take rows the session picked up (``session.add`` of a related row cascades) back out of it and keep
    them aside instead: written by write_staged, not by the flush."""
    for obj in objs:
        if obj in session:
            session.expunge(obj)
        if not is_staged(session, obj):
            stage_insert(session, obj)


#: Tables in the order their foreign keys allow them to be inserted.
_TABLE_ORDER = {table.name: index for index, table in enumerate(Base.metadata.sorted_tables)}


def write_staged(session: Session) -> None:
    """Insert the rows stage_insert kept: one statement (server.sync_handlers.bulk), parents first,
    numbered for pull in one reservation; called before the batch's flush, so that rows the session writes may
    refer to them.

    A staged row some cascade took into the session after all is left to the flush with every other staged
    row (the ORM then orders and numbers them), rather than inserted twice."""
    staged: dict[Any, list[Any]] = session.info.pop(STAGED, {})
    session.info.pop(STAGED_IDS, None)
    if not staged:
        return
    if any(obj in session for rows in staged.values() for obj in rows):
        for rows in staged.values():
            session.add_all(rows)
        return

    made = session.info.get(CREATED, {})
    writes: list[tuple[sa.Table, dict[str, list[Any]]]] = []
    numbered: list[tuple[list[Any], list[Any]]] = []
    for model in sorted(staged, key=lambda m: _TABLE_ORDER[m.__tablename__]):
        rows = staged[model]
        for row in rows:
            made.pop((model, row.id), None)  # written: a later find() loads the stored row
        # Column by column, as the statement sends them (no dict per row).
        columns = {
            column.key: [_value_or_default(row, attr.key, column) for row in rows]
            for attr in sa.inspect(model).column_attrs
            for column in attr.columns[:1]
        }
        _check_lengths(model.__tablename__, columns)
        numbered.append((rows, columns["change_no"]))
        writes.append((model.__table__, columns))
        if model is Inspection:
            writes.append(_participant_columns(rows))
    # The counter stays locked until the commit, and every other push waits for it: it is taken only once
    # everything else of the statement is ready (on PostgreSQL by the statement itself).
    insert_tables(session.connection(), writes, CHANGE_NUMBERS)
    for rows, change_numbers in numbered:
        for row, number in zip(rows, change_numbers, strict=True):
            row.change_no = number


def _participant_columns(inspections: list[Inspection]) -> tuple[sa.Table, dict[str, list[Any]]]:
    """The participants of staged inspections (kept in each one's list, their ids left to the database)."""
    people = [(inspection.id, p) for inspection in inspections for p in inspection.participants]
    columns = {
        "inspection_id": [inspection_id for inspection_id, _p in people],
        **{
            key: [getattr(p, key) for _id, p in people]
            for key in ("ordinal", "role", "user_id", "name", "badge_no")
        },
    }
    _check_lengths(InspectionParticipant.__tablename__, columns)
    return cast(sa.Table, InspectionParticipant.__table__), columns


def _check_lengths(table: str, columns: Mapping[str, list[Any]]) -> None:
    """The text limits the session's flush would check (server.models.limits), for rows written without it."""
    for (limited, column), limit in TEXT_LIMITS.items():
        if limited == table:
            for text in columns.get(column, ()):
                if isinstance(text, str) and len(text) > limit:
                    raise field_too_long(field=f"{table}.{column}", limit=limit, length=len(text))


def _value_or_default(row: Any, key: str, column: Any) -> Any:
    """The value set on a transient row, else its column's Python-side default (as the ORM would insert)."""
    if key in row.__dict__:
        return row.__dict__[key]
    default = column.default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg


def cached(session: Session, key: Any, load: Any) -> Any:
    """A value computed once per transaction (e.g. the item codes of a catalogue)."""
    cache = session.info.setdefault(CACHE, {})
    if key not in cache:
        cache[key] = load()
    return cache[key]


def forget_batch_state(session: Session) -> None:
    """Drop the per-transaction caches (a rolled-back attempt may have filled them)."""
    session.info.pop(ABSENT, None)
    session.info.pop(PREFETCH, None)
    session.info.pop(CACHE, None)
    session.info.pop(CREATED, None)
    session.info.pop(STAGED, None)
    session.info.pop(STAGING, None)
    session.info.pop(STAGED_IDS, None)
    session.info.pop(ENTERPRISES, None)
    session.info.pop(IN_USE, None)


def _forget_on_rollback(session: Session, _previous: Any) -> None:
    forget_batch_state(session)


def install_cache_reset(session_class: type[Session] = Session) -> None:
    """Any rollback (a savepoint's included) drops the caches: they may describe rows that are gone. A commit
    hands the worker the catalogue versions found in use."""
    if not event.contains(session_class, "after_soft_rollback", _forget_on_rollback):
        event.listen(session_class, "after_soft_rollback", _forget_on_rollback)
    if not event.contains(session_class, "after_commit", _keep_versions_in_use):
        event.listen(session_class, "after_commit", _keep_versions_in_use)


# --- what the entity handlers share: who writes, size limits, catalogue lookups, row versions -------------------

#: Roles whose devices record a regulator's inspection, its answers and its hazards.
REGULATOR_ROLES = frozenset({Role.inspector, Role.expert, Role.admin})
#: Inspection kinds a regulator's device may record: a self-assessment (自评) is only ever the enterprise's own,
#: made on the portal.
REGULATOR_KINDS = frozenset(k.value for k in InspectionKind if k != InspectionKind.self_check)

#: Bytes of canonical JSON a small structured field (terms, 五到位, an event's data) may take, and all of an
#: inspection's signatures (each a small signature image).
SMALL_JSON = 20_000
SIGNATURES_JSON = 2_000_000


def json_size(limit: int) -> Any:
    """A validator refusing a structured value whose JSON is longer than ``limit`` bytes."""

    def check(value: Any) -> None:
        size = len(canonical_json(value))
        if size > limit:
            raise ValidationError(f"too large: {size} bytes of JSON, at most {limit}")

    return check


LAT = validate.Range(min=-90, max=90)
LON = validate.Range(min=-180, max=180)
POSITIVE = validate.Range(min=0)


#: Whether an inspection uses the catalogue version (committed, or written by this transaction): read with its
#: items, it decides whether the worker may keep them (``_hold_items``).
_IN_USE = (
    sa.exists()
    .where(Inspection.catalogue_id == sa.bindparam("catalogue_id", type_=Catalogue.id.type))
    .label("in_use")
)

#: The columns of a catalogue item a push reads (its code, default level and applicability rule), not its texts.
_ITEMS = (
    sa.select(CatalogueItem.code, CatalogueItem.default_level, CatalogueItem.applies_when, _IN_USE)
    .where(CatalogueItem.catalogue_id == sa.bindparam("catalogue_id", type_=Catalogue.id.type))
    .order_by(CatalogueItem.ordinal)  # the catalogue's order: "items not answered: …" lists them so
)


def catalogue_items(session: Session, catalogue_id: uuid.UUID) -> dict[str, Any]:
    """Code → item (a row of code, default_level and applies_when) of a catalogue version (immutable once used,
    so safe to keep for the batch, and the worker's copy once an inspection uses it)."""
    held = _held_items(session, catalogue_id)
    if held is None:
        held = _hold_items(
            session, catalogue_id, session.execute(_ITEMS, {"catalogue_id": catalogue_id}).all()
        )
    return held


def _held_items(session: Session, catalogue_id: uuid.UUID) -> dict[str, Any] | None:
    """The version's items the batch holds, taken from the worker's copy if need be; None if neither has them."""
    cache = session.info.setdefault(CACHE, {})
    if ("items", catalogue_id) not in cache:
        kept = catalogue_items_cache().get(catalogue_id)
        if kept is None:
            return None
        cache["items", catalogue_id] = kept
    return cast(dict[str, Any], cache["items", catalogue_id])


def _hold_items(session: Session, catalogue_id: uuid.UUID, rows: Sequence[Any]) -> dict[str, Any]:
    """Hold a catalogue version's items (``rows``, read with ``_IN_USE``) for the batch; when an inspection uses
    the version, the worker keeps them too once the transaction commits (``_keep_versions_in_use``): the inspection
    may be this transaction's own, and a version is immutable only once its inspection is committed."""
    items = {row.code: row for row in rows if row.code is not None}
    session.info.setdefault(CACHE, {})["items", catalogue_id] = items
    if rows and rows[0].in_use:
        session.info.setdefault(IN_USE, {})[catalogue_id] = (catalogue_items_cache(), items)
    return items


def _keep_versions_in_use(session: Session) -> None:
    for catalogue_id, (kept, items) in session.info.pop(IN_USE, {}).items():
        kept.keep(catalogue_id, items)


#: A catalogue version's id with the same columns of its items: a new inspection checks its catalogue exists, and
#: its answers and submission are then checked against the items (one read instead of two; the catalogue's own
#: columns are not needed, and repeated on every item's row they cost more than the read they save).
_CATALOGUE_WITH_ITEMS = (
    sa.select(Catalogue.id, *_ITEMS.selected_columns)
    .outerjoin(CatalogueItem, CatalogueItem.catalogue_id == Catalogue.id)
    .where(Catalogue.id == sa.bindparam("catalogue_id", type_=Catalogue.id.type))
    .order_by(CatalogueItem.ordinal)
)


def catalogue_exists(session: Session, catalogue_id: uuid.UUID) -> bool:
    """Whether a catalogue version exists; its items are kept for the batch as ``catalogue_items`` gives them,
    from the same read (none when the worker keeps the version: one in use exists for good)."""
    if _held_items(session, catalogue_id) is not None:
        return True
    rows = session.execute(_CATALOGUE_WITH_ITEMS, {"catalogue_id": catalogue_id}).all()
    if rows:
        _hold_items(session, catalogue_id, rows)
    return bool(rows)


def catalogue_codes(session: Session, catalogue_id: uuid.UUID) -> frozenset[str]:
    """The item codes of a catalogue version."""
    return frozenset(catalogue_items(session, catalogue_id))


def answer_rows(session: Session, inspection_id: uuid.UUID) -> tuple[dict[str, uuid.UUID], list[ItemResult]]:
    """answer_ids and the stored answers find() would look up one by one, for the caller to hold while it uses
    find(): in one read when the batch has not asked for the inspection's answers yet (its submission, pushed after
    its answers), else as answer_ids and load_rows."""
    key = ("answers", inspection_id)
    cache = session.info.setdefault(CACHE, {})
    if key in cache or (Inspection, inspection_id) in session.info.get(CREATED, {}):
        answers = answer_ids(session, inspection_id)
        return answers, load_rows(session, ItemResult, answers.values())
    # Rows the session holds come back as they are (the batch's changes stay); none is new, or the key were cached.
    rows = list(session.scalars(sa.select(ItemResult).where(ItemResult.inspection_id == inspection_id)))
    cache[key] = {row.item_code: row.id for row in rows}
    return cache[key], rows


def answer_ids(session: Session, inspection_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """Item code → answer id of an inspection, loaded once per batch and kept current by the handler."""
    if (Inspection, inspection_id) in session.info.get(CREATED, {}):
        # Made by this batch: its answers are all the batch's own, recorded here as they are made.
        return cast(dict[str, uuid.UUID], cached(session, ("answers", inspection_id), dict))
    return cached(session, ("answers", inspection_id), lambda: {
        row.item_code: row.id for row in session.execute(_ANSWER_IDS, {"inspection_id": inspection_id})})  # fmt: skip


#: Item code and id of an inspection's answers (built once: a push asks it for every stored inspection it changes).
_ANSWER_IDS = sa.select(ItemResult.item_code, ItemResult.id).where(
    ItemResult.inspection_id == sa.bindparam("inspection_id")
)


def bump_version(row: Any, created: bool) -> int:
    """A row's version counts its writes: 1 when created, one more for each later change."""
    if not created:
        row.row_version += 1
    return int(row.row_version)
