"""Reference data devices receive but never write: enterprises, the catalogue, review decisions, sampling assignments, colleagues."""

from __future__ import annotations

from typing import Any, ClassVar, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from server.domain.inspections import InspectionKind
from server.domain.roles import Role
from server.models import Catalogue, Enterprise, Inspection, QrToken, ReviewDecision, SamplingAssignment, User
from server.sync_handlers.common import enterprise_visible, inspection_visible, row_changes
from server.sync_handlers.principal import scope_of
from server.sync_handlers.pull_rows import PulledColumns, named
from sync import problems
from sync.engine import Change, Mutation
from sync.principal import Principal


class _ReadOnly:
    """Entities devices receive but never write."""

    writable_fields: ClassVar[frozenset[str]] = frozenset()

    def apply(self, session: Session, principal: Principal, mutation: Mutation) -> int:
        """Devices may not change reference data."""
        raise problems.forbidden()


# --- reference data ----------------------------------------------------------------------------------


class EnterpriseHandler(_ReadOnly):
    """Enterprises of the user's region, with their current and revoked QR tokens (for offline checks)."""

    entity = "enterprise"
    #: The table whose rows alone changes() returns (a pull skips this handler when it has none in range).
    change_table = Enterprise.__table__

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """Enterprises in scope."""
        return row_changes(session, Enterprise, self.entity, enterprise_visible(scope_of(principal)), after, upto,
                           limit, lambda e: self._data(session, e))  # fmt: skip

    @staticmethod
    def _data(session: Session, e: Enterprise) -> dict[str, Any]:
        revoked = session.scalars(
            sa.select(QrToken.token).where(QrToken.enterprise_id == e.id, QrToken.revoked_at.is_not(None))
        ).all()
        return {
            "name": e.name, "credit_code": e.credit_code, "address": e.address, "region_id": e.region_id,
            "region_name": e.region.name, "lat": e.lat, "lon": e.lon, "sectors": sorted(s.value for s in e.sectors),
            "dust_workers": e.dust_workers, "main_person": e.main_person, "main_person_phone": e.main_person_phone,
            "qr_token": e.qr_token, "revoked_qr_tokens": sorted(revoked),
        }  # fmt: skip


class CatalogueHandler(_ReadOnly):
    """Every catalogue version with its items (they are the same for everyone)."""

    entity = "catalogue"
    #: The table whose rows alone changes() returns (a pull skips this handler when it has none in range).
    change_table = Catalogue.__table__

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """All catalogue versions."""
        return row_changes(session, Catalogue, self.entity, None, after, upto, limit, self._data)

    @staticmethod
    def _data(c: Catalogue) -> dict[str, Any]:
        # The bureau's zone travels with the catalogue: the tablet counts "today" and overdue in it, offline.
        return {
            "code": c.code, "version": c.version, "title": c.title, "effective_from": c.effective_from,
            "effective_to": c.effective_to, "five_terms": c.five_terms, "timezone": current_app.config["TIMEZONE"],
            "items": [
                {"code": i.code, "ordinal": i.ordinal, "section": i.section, "sector": i.sector, "text": i.text,
                 "legal_basis": i.legal_basis, "default_level": i.default_level, "applies_when": i.applies_when,
                 "verification": i.verification}
                for i in c.items
            ],
        }  # fmt: skip


class ReviewDecisionHandler(_ReadOnly):
    """Supervisors' decisions, flowing back to the inspector whose inspection they concern."""

    entity = "review_decision"
    #: The table whose rows alone changes() returns (a pull skips this handler when it has none in range).
    change_table = ReviewDecision.__table__

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """Decisions on inspections the user may see."""
        visible = ReviewDecision.inspection_id.in_(
            sa.select(Inspection.id).where(inspection_visible(scope_of(principal)))
        )
        return row_changes(session, ReviewDecision, self.entity, visible, after, upto, limit, lambda d: {
            "inspection_id": d.inspection_id, "outcome": d.outcome, "comment": d.comment,
            "decided_at": d.decided_at, "reviewer": d.reviewer.display_name,
        })  # fmt: skip


class AssignmentHandler(_ReadOnly):
    """双随机 assignments, pulled only by the inspector assigned (never by an enterprise: 四不两直)."""

    entity = "assignment"
    #: The table whose rows alone changes() returns (a pull skips this handler when it has none in range).
    change_table = SamplingAssignment.__table__

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """The principal's own assignments."""
        scope = scope_of(principal)
        visible = (
            sa.false() if scope.role == Role.enterprise else SamplingAssignment.inspector_id == scope.user_id
        )
        return row_changes(session, SamplingAssignment, self.entity, visible, after, upto, limit, lambda a: {
            "draw_id": a.draw_id, "drawn_at": a.draw.drawn_at, "enterprise_id": a.enterprise_id,
            "enterprise_name": a.enterprise.name, "enterprise_address": a.enterprise.address,
            "region_name": a.enterprise.region.name, "kind": InspectionKind.city_sampling,
            "co_inspectors": [o.inspector.display_name for o in a.draw.assignments
                              if o.enterprise_id == a.enterprise_id and o.id != a.id and o.deleted_at is None],
        })  # fmt: skip


class ColleagueHandler(_ReadOnly):
    """The inspectors of the user's regions (names, badge numbers), so a tablet picks the team offline."""

    entity = "colleague"
    #: The table whose rows alone changes() returns (a pull skips this handler when it has none in range).
    change_table = User.__table__

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """Inspectors of the scope's regions; none for an enterprise account."""
        scope = scope_of(principal)

        def visible() -> Any:
            if scope.role == Role.enterprise:
                return sa.false()
            if scope.region_ids is None:
                return User.role == Role.inspector
            return sa.and_(User.role == Role.inspector, User.region_id.in_(scope.region_ids))

        return _COLLEAGUE_PULL.changes(
            session, self.entity, visible, after, upto, limit, key=(self.entity, scope)
        )


_USER_TABLE = cast(sa.Table, User.__table__)
_COLLEAGUE_PULL = PulledColumns(_USER_TABLE, [
    ("user_id", _USER_TABLE.c.id), *named(_USER_TABLE, ("display_name", "badge_no", "region_id", "active")),
])  # fmt: skip
