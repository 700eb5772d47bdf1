"""Photos as devices sync them: their metadata, what they may be attached to, who sees them."""

from __future__ import annotations

import uuid
from typing import Any, cast

import sqlalchemy as sa
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from server.media.ingest import facts_for_photo, facts_for_photos
from server.models import Device, Hazard, HazardEvent, Inspection, ItemResult, Photo
from server.models.base import utcnow
from server.sync_handlers.common import (
    LAT,
    LON,
    POSITIVE,
    bump_version,
    cached,
    find,
    load_data,
    own_inspection,
    prefetch_rows,
    require_draft,
    visible_enterprise,
)
from server.sync_handlers.common import created as created_row
from server.sync_handlers.hazards import _may_see_hazard, check_own_draft_hazard
from server.sync_handlers.principal import scope_of
from server.sync_handlers.pull_rows import PulledColumns, named
from sync import problems
from sync.engine import Change, Mutation
from sync.principal import Principal
from sync.protocol import SHA256_RE

# --- photos --------------------------------------------------------------------------------------------

PHOTO_TARGETS = {
    "inspection": Inspection,
    "item_result": ItemResult,
    "hazard": Hazard,
    "hazard_event": HazardEvent,
}


class PhotoDataSchema(Schema):
    """A photo's metadata; its bytes travel separately, before or after."""

    sha256 = fields.String(required=True, validate=validate.Regexp(SHA256_RE))
    original_sha256 = fields.String(allow_none=True, validate=validate.Regexp(SHA256_RE))
    captured_at = fields.AwareDateTime(allow_none=True)
    lat = fields.Float(allow_none=True, validate=LAT)
    lon = fields.Float(allow_none=True, validate=LON)
    accuracy_m = fields.Float(allow_none=True, validate=POSITIVE)
    fix_at = fields.AwareDateTime(allow_none=True)
    entity_type = fields.String(required=True, validate=validate.OneOf(sorted(PHOTO_TARGETS)))
    entity_id = fields.UUID(required=True)
    mime = fields.String(allow_none=True, validate=validate.Length(max=64))
    size = fields.Integer(allow_none=True, validate=POSITIVE)
    width = fields.Integer(allow_none=True, validate=POSITIVE)
    height = fields.Integer(allow_none=True, validate=POSITIVE)


class PhotoHandler:
    """Photo records are immutable evidence: the same record twice is a no-op, a changed one is refused."""

    entity = "photo"
    #: The table whose rows alone changes() returns (a pull skips this handler when it has none in range).
    change_table = Photo.__table__
    writable_fields = frozenset(PhotoDataSchema().fields)
    schema = PhotoDataSchema()

    def prefetch(self, session: Session, mutations: list[Mutation]) -> None:
        """Load the batch's existing rows in one query."""
        prefetch_rows(session, Photo, mutations)
        shas = {str(m.data["sha256"]) for m in mutations if isinstance(m.data.get("sha256"), str)}

        known = facts_for_photos(session, shas)
        for sha in shas:
            cached(session, ("blob_facts", sha), lambda sha=sha: known.get(sha))

    def apply(self, session: Session, principal: Principal, mutation: Mutation) -> int:
        """Record a photo linked to something the user may add evidence to (or take back a draft's photo)."""
        if mutation.op == "delete":
            return self._take_back(session, principal, mutation.id)
        data = load_data(self.schema, mutation.data, creating=True)
        existing = find(session, Photo, mutation.id)
        if existing is not None:
            if (existing.sha256, existing.entity_type, existing.entity_id) != (
                data["sha256"],
                data["entity_type"],
                data["entity_id"],
            ):
                raise problems.invalid_mutation(reason="a photo record cannot change once recorded")
            return existing.row_version
        self._check_target(session, principal, data["entity_type"], data["entity_id"])
        photo = Photo(id=mutation.id, device_id=principal.device_id, received_at=utcnow(), **data)

        facts = cached(
            session, ("blob_facts", data["sha256"]), lambda: facts_for_photo(session, data["sha256"])
        )
        for key, value in (facts or {}).items():
            setattr(photo, key, value)
        session.add(photo)
        created_row(session, photo)
        return photo.row_version

    @staticmethod
    def _take_back(session: Session, principal: Principal, photo_id: uuid.UUID) -> int:
        """A photo deleted (or retaken) by the device that took it, while what it shows is still the author's draft:
        the row stays, marked deleted, so the record shows it was taken back; evidence already submitted or of a
        hazard's follow-up can never be deleted from a device."""
        photo = find(session, Photo, photo_id)
        if photo is None:
            raise problems.missing_reference(entity="photo", id=photo_id)
        if photo.deleted_at is not None:
            return photo.row_version
        if photo.device_id != principal.device_id:
            raise problems.owned_elsewhere()
        scope = scope_of(principal)
        target = find(session, PHOTO_TARGETS[photo.entity_type], photo.entity_id)
        if isinstance(target, Inspection | ItemResult):
            own = target.id if isinstance(target, Inspection) else target.inspection_id
            require_draft(own_inspection(session, scope, own))
        elif isinstance(target, Hazard):
            check_own_draft_hazard(session, scope, target)
        else:
            raise problems.invalid_mutation(
                reason="photo evidence of a hazard's follow-up cannot be deleted from a device"
            )
        photo.deleted_at = utcnow()
        return bump_version(photo, False)

    @staticmethod
    def _check_target(session: Session, principal: Principal, entity_type: str, entity_id: uuid.UUID) -> None:
        """Evidence goes only to the user's own draft inspection (or its answers), or to a hazard in scope."""
        scope = scope_of(principal)
        target = find(session, PHOTO_TARGETS[entity_type], entity_id)
        if target is None:
            raise problems.missing_reference(entity=entity_type, id=entity_id)
        if isinstance(target, Inspection | ItemResult):
            own = target.id if isinstance(target, Inspection) else target.inspection_id
            require_draft(own_inspection(session, scope, own))
            return
        hazard = target if isinstance(target, Hazard) else cast(HazardEvent, target).hazard
        if not _may_see_hazard(session, scope, hazard):
            raise problems.missing_reference(entity=entity_type, id=entity_id)
        visible_enterprise(session, scope, hazard.enterprise_id)

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """Photos taken with the user's own devices."""
        user_id = scope_of(principal).user_id

        def visible() -> Any:
            return Photo.device_id.in_(sa.select(Device.id).where(Device.user_id == user_id))

        return _PHOTO_PULL.changes(
            session, self.entity, visible, after, upto, limit, key=(self.entity, user_id)
        )


_PHOTO_PULL = PulledColumns(cast(sa.Table, Photo.__table__), named(cast(sa.Table, Photo.__table__), (
    "sha256", "original_sha256", "captured_at", "received_at", "lat", "lon", "accuracy_m", "fix_at", "entity_type",
    "entity_id", "mime", "size", "width", "height",
)))  # fmt: skip
