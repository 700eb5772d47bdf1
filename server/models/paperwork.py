"""The campaign notice's paperwork: what enterprises must submit and what they did (every version kept), and the
stop-production orders with their legal review."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.domain.scoring import Metric
from server.domain.stop_orders import OrderState
from server.domain.submissions import Schedule, SubmissionKind

from .base import Base, SyncMixin, TimestampMixin, UTCDateTime, enum_column, new_uuid, utcnow

if TYPE_CHECKING:
    from .campaign import Campaign
    from .enterprise import Enterprise
    from .inspection import Inspection
    from .user import User


class SubmissionRequirement(TimestampMixin, Base):
    """One thing every enterprise of a campaign must hand in, due once or every month (data, admin-edited)."""

    __tablename__ = "submission_requirement"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[SubmissionKind] = mapped_column(enum_column(SubmissionKind, 16))
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    due_day: Mapped[int | None] = mapped_column(sa.SmallInteger)
    first_month: Mapped[date | None] = mapped_column(sa.Date)
    last_month: Mapped[date | None] = mapped_column(sa.Date)

    campaign: Mapped[Campaign] = relationship()

    @property
    def schedule(self) -> Schedule:
        """When it falls due."""
        return Schedule(self.due_on, self.due_day, self.first_month, self.last_month)


class EnterpriseSubmission(Base):
    """One version an enterprise handed in for one period (due date) of a requirement; never changed or deleted:
    a resubmission is a new version."""

    __tablename__ = "enterprise_submission"
    __table_args__ = (sa.UniqueConstraint("requirement_id", "enterprise_id", "period", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    requirement_id: Mapped[int] = mapped_column(sa.ForeignKey("submission_requirement.id"), index=True)
    enterprise_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    #: The due date this version answers (one period of the requirement).
    period: Mapped[date] = mapped_column(sa.Date)
    version: Mapped[int] = mapped_column(sa.Integer)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    #: The monthly progress figures as entered (progress kind).
    figures: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    #: The uploaded file (document kind): its bytes live in the blob store under this hash.
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    filename: Mapped[str | None] = mapped_column(sa.String(200))
    mime: Mapped[str | None] = mapped_column(sa.String(100))
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    note: Mapped[str | None] = mapped_column(sa.Text)

    requirement: Mapped[SubmissionRequirement] = relationship()
    enterprise: Mapped[Enterprise] = relationship()
    submitted_by: Mapped[User] = relationship()


stop_order_hazard = sa.Table(
    "stop_order_hazard",
    Base.metadata,
    sa.Column("order_id", sa.ForeignKey("stop_order.id"), primary_key=True),
    sa.Column("hazard_id", sa.ForeignKey("hazard.id"), primary_key=True),
)


class StopOrder(TimestampMixin, Base):
    """A 停产整顿指令书: its content is fixed once submitted for legal review and approved; its state moves only
    through server.domain.stop_orders.next_state, every step audited."""

    __tablename__ = "stop_order"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    enterprise_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    state: Mapped[OrderState] = mapped_column(enum_column(OrderState, 16), default=OrderState.draft)
    reasons: Mapped[str] = mapped_column(sa.Text)
    legal_basis: Mapped[str] = mapped_column(sa.Text)
    scope: Mapped[str] = mapped_column(sa.Text)
    resume_conditions: Mapped[str] = mapped_column(sa.Text)
    drafted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_comment: Mapped[str | None] = mapped_column(sa.Text)
    #: 文书编号, given when issued (unique).
    number: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: What the document printed when issued, frozen (the PDF and the /d/ check are made from it).
    issued_content: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resumed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    resume_comment: Mapped[str | None] = mapped_column(sa.Text)

    enterprise: Mapped[Enterprise] = relationship()
    drafted_by: Mapped[User] = relationship(foreign_keys=[drafted_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    hazards: Mapped[list[Any]] = relationship(
        "Hazard", secondary=stop_order_hazard, order_by="Hazard.found_at"
    )


class ScoringCriterion(TimestampMixin, Base):
    """One criterion the city scores its counties on: a metric and its weight (data, admin-edited)."""

    __tablename__ = "scoring_criterion"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    metric: Mapped[Metric] = mapped_column(enum_column(Metric, 16))
    weight: Mapped[int] = mapped_column(sa.Integer)

    campaign: Mapped[Campaign] = relationship()


class ExpertOpinion(SyncMixin, Base):
    """专家检查意见: written on the tablet during an inspection by an expert taking part, with its list of problems
    and rectification suggestions and the expert's signature; sealed with the inspection."""

    __tablename__ = "expert_opinion"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    inspection_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("inspection.id"), index=True)
    expert_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    expert_name: Mapped[str] = mapped_column(sa.String(100))
    opinion: Mapped[str] = mapped_column(sa.Text)
    #: [{item_code, hazard_id, problem, suggestion}]: the 问题隐患和整改建议清单.
    items: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    #: {sha256, at}: the handwritten signature's image in the blob store.
    signature: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))

    inspection: Mapped[Inspection] = relationship()
