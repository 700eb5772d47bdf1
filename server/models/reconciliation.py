"""A supervisor's word on a reconciliation pair: this finding and this ledger entry are, or are not, one hazard."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from server.domain.reconciliation.decisions import PairVerdict

from .base import Base, UTCDateTime, enum_column, utcnow


class ReconciliationDecision(Base):
    """One supervisor decision on one (finding, ledger entry) pair; never changed or deleted. A later decision on
    the same pair replaces an earlier one (the latest by id wins), so the history of every pair is kept."""

    __tablename__ = "reconciliation_decision"
    __table_args__ = (sa.Index("ix_reconciliation_decision_pair", "finding_id", "entry_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The inspector's finding (a hazard from an inspection or a city sample).
    finding_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("hazard.id"))
    #: The enterprise's self-inspection ledger entry (a self_ledger hazard).
    entry_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("hazard.id"), index=True)
    #: The enterprise both belong to, so a phase's decisions are read per enterprise in one query.
    enterprise_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    #: The verdict; "withdrawn" takes back the pair's earlier decision (undo is a new row, never a deletion).
    verdict: Mapped[PairVerdict] = mapped_column(enum_column(PairVerdict, 16))
    #: Why (required for "different" and for a pair made by hand; optional when confirming a proposal).
    reason: Mapped[str | None] = mapped_column(sa.Text)
    decided_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
