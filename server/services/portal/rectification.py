"""The enterprise's side of the rectification loop: planning, reporting, and accepting its own hazards."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime

from server.domain.hazards import HazardEventKind, HazardLevel
from server.errors import (
    FormProblems,
    after_photo_required,
    field_required,
    field_too_many_chars,
    regulator_accepts,
)
from server.models import Hazard, HazardEvent, HazardSource, Photo, User
from server.services import DbSession, audit
from server.services.hazards import append_event

# --- the enterprise's side of the closed loop ---------------------------------------------------------------


def _next_at(hazard: Hazard, now: datetime) -> datetime:
    """The web's clock, never before the log's last event (a tablet's fast clock may have logged one 'later')."""
    last = max((e.at for e in hazard.events), default=None)
    return max(now, last) if last is not None else now


def _required(value: str | None, key: str, zh: str, en: str, max_len: int = 4000) -> str:
    text = (value or "").strip()
    if not text:
        raise FormProblems({key: field_required(label=zh, label_en=en)})
    if len(text) > max_len:
        raise FormProblems({key: field_too_many_chars(label=zh, label_en=en, limit=max_len)})
    return text


def plan_rectification(session: DbSession, user: User, hazard: Hazard, measures: str | None,
                       now: datetime) -> HazardEvent:  # fmt: skip
    """Record the enterprise's rectification plan (its measures); audited. 409 Problem if the state forbids it."""
    text = _required(measures, "measures", "整改措施", "The measures")
    event = append_event(
        session, hazard, HazardEventKind.rectification_planned, _next_at(hazard, now), comment=text, actor=user,
        data={"measures": text},
    )  # fmt: skip
    session.flush()
    audit.record(
        session, user, "hazard.plan", "hazard", hazard.id, {"event_id": str(event.id), "measures": text}
    )
    return event


def report_rectification(
    session: DbSession, user: User, hazard: Hazard, note: str | None, now: datetime,
    attach_photos: Callable[[uuid.UUID], list[Photo]],
) -> HazardEvent:  # fmt: skip
    """Report the rectification done, with 1–5 after-photos that ``attach_photos`` stores against the new event;
    audited. On own ledger entries the completion date is filled in when it is still empty."""
    text = _required(note, "note", "整改情况", "What was done")
    event = append_event(
        session,
        hazard,
        HazardEventKind.rectification_reported,
        _next_at(hazard, now),
        comment=text,
        actor=user,
    )
    photos = attach_photos(event.id)
    if not photos:
        raise FormProblems({"photos": after_photo_required()})
    if hazard.source == HazardSource.self_ledger and not (hazard.terms or {}).get("completed_on"):
        hazard.terms = {**(hazard.terms or {}), "completed_on": now.date().isoformat()}
    session.flush()
    audit.record(session, user, "hazard.report", "hazard", hazard.id, {
        "event_id": str(event.id), "note": text, "photos": [str(p.id) for p in photos],
        "sha256": [p.sha256 for p in photos],
    })  # fmt: skip
    return event


def may_accept_own(hazard: Hazard) -> bool:
    """An enterprise accepts only general hazards of its own ledger; a regulator's finding is accepted by one."""
    return hazard.source == HazardSource.self_ledger and hazard.level == HazardLevel.general


def accept_own(session: DbSession, user: User, hazard: Hazard, acceptor: str | None, opinion: str | None,
               now: datetime, today: date) -> HazardEvent:  # fmt: skip
    """The enterprise's own acceptance of a general ledger hazard's rectification (acceptor named); audited."""
    if not may_accept_own(hazard):
        raise regulator_accepts()
    who = _required(acceptor, "acceptor", "验收人", "The acceptor", max_len=100)
    view = (opinion or "").strip()
    comment = f"验收人：{who}" + (f"；验收意见：{view}" if view else "")
    event = append_event(
        session, hazard, HazardEventKind.accepted, _next_at(hazard, now), comment=comment, actor=user,
        data={"acceptor": who},
    )  # fmt: skip
    terms = dict(hazard.terms or {})
    terms.setdefault("accepted_by", who)
    terms["accepted_on"] = today.isoformat()
    if view:
        terms["acceptance"] = view
    hazard.terms = terms
    session.flush()
    audit.record(session, user, "hazard.accept_own", "hazard", hazard.id, {
        "event_id": str(event.id), "acceptor": who, "opinion": view or None,
    })  # fmt: skip
    return event
