"""Recording hazards and appending to their event log; the state columns are projections of that log."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Concatenate, ParamSpec

from sqlalchemy.orm.attributes import set_committed_value

from server.domain import hazards as rules
from server.domain.hazards import HazardEventKind, HazardLevel
from server.errors import (
    acceptance_completed_by_required,
    acceptance_incomplete,
    event_reason_required,
    hazard_action_unknown,
    hazard_transition_illegal,
    rejection_reason_required,
    supervision_level_required,
)
from server.models import Device, Enterprise, Hazard, HazardEvent, HazardSource, User
from server.models.base import bare_row
from server.services import DbSession

P = ParamSpec("P")


def _domain_event(event: HazardEvent) -> rules.HazardEvent:
    return rules.HazardEvent(
        kind=event.kind, at=event.at, deadline=event.deadline, reason=event.comment or ""
    )


def project(hazard: Hazard, events: list[HazardEvent]) -> rules.HazardStatus:
    """Replay ``events`` through the state machine and write the projection columns of ``hazard``."""
    ordered = sorted(events, key=lambda e: e.at)
    try:
        status = rules.replay([_domain_event(e) for e in ordered], hazard.level)
    except rules.ReasonRequired as missing:
        if missing.kind is HazardEventKind.rejected:
            raise rejection_reason_required() from None
        raise event_reason_required(event=missing.kind.label_zh, event_en=missing.kind.value) from None
    except rules.IllegalTransition as illegal:
        raise hazard_transition_illegal(why_zh=illegal.why_zh, why_en=illegal.why_en) from None
    hazard.state = status.state
    hazard.deadline = status.deadline
    hazard.listed = status.listed
    return status


def new_hazard(
    *,
    enterprise: Enterprise,
    description: str,
    level: HazardLevel,
    found_at: datetime,
    deadline: date | None,
    source: HazardSource,
    hazard_id: uuid.UUID | None = None,
    found_event_id: uuid.UUID | None = None,
    actor: User | None = None,
    device: Device | None = None,
    **fields: Any,
) -> Hazard:
    """A new hazard and its 'found' event (``hazard.events``), made outside any session and without the ORM's
    per-attribute events (a push records hundreds and inserts them in bulk); record_hazard adds them. Their
    relationships are set as if loaded, so that they read right before any flush."""
    hazard: Hazard = bare_row(
        Hazard, id=hazard_id or uuid.uuid4(), enterprise_id=enterprise.id, description=description, level=level,
        found_at=found_at, source=source, **fields,
    )  # fmt: skip
    found: HazardEvent = bare_row(
        HazardEvent, id=found_event_id or uuid.uuid4(), hazard_id=hazard.id, kind=HazardEventKind.found,
        at=found_at, deadline=deadline, actor_id=actor.id if actor else None, device_id=device.id if device else None,
    )  # fmt: skip
    set_committed_value(hazard, "enterprise", enterprise)
    set_committed_value(hazard, "events", [found])
    set_committed_value(found, "hazard", hazard)
    project(hazard, [found])
    hazard.row_version = found.row_version = 1
    return hazard


def _added(make: Callable[P, Hazard]) -> Callable[Concatenate[DbSession, P], Hazard]:
    """``make`` taking the session first, the hazard it makes (and its 'found' event, by the events relationship's
    cascade) added to it."""

    def make_and_add(session: DbSession, /, *args: P.args, **kwargs: P.kwargs) -> Hazard:
        hazard = make(*args, **kwargs)
        session.add(hazard)
        return hazard

    return make_and_add


#: record_hazard(session, **what new_hazard takes): create a hazard together with its 'found' event, both added to
#: the session.
record_hazard = _added(new_hazard)


def append_event(
    session: DbSession,
    hazard: Hazard,
    kind: HazardEventKind,
    at: datetime,
    *,
    deadline: date | None = None,
    comment: str | None = None,
    actor: User | None = None,
    device: Device | None = None,
    data: dict[str, Any] | None = None,
    event_id: uuid.UUID | None = None,
) -> HazardEvent:
    """Append an event if the state machine allows it (409.5 otherwise) and refresh the projection."""
    event = HazardEvent(
        id=event_id or uuid.uuid4(), kind=kind, at=at, deadline=deadline, comment=comment,
        actor_id=actor.id if actor else None, device_id=device.id if device else None, data=data or {},
    )  # fmt: skip
    project(hazard, [*hazard.events, event])
    event.hazard = hazard
    event.hazard_id = hazard.id
    session.add(event)
    event.row_version = 1
    hazard.row_version += 1
    return event


#: What a supervisor may do to a hazard on the web, and the event each action appends.
SUPERVISOR_ACTIONS: dict[str, HazardEventKind] = {
    "accept": HazardEventKind.accepted,
    "reject": HazardEventKind.rejected,
    "extend": HazardEventKind.deadline_extended,
    "list": HazardEventKind.listed,
    "delist": HazardEventKind.delisted,
    "close": HazardEventKind.closed,
}


def supervise(
    session: DbSession,
    hazard: Hazard,
    actor: User,
    action: str,
    *,
    comment: str | None = None,
    deadline: date | None = None,
    supervision_level: str | None = None,
    supervision_no: str | None = None,
    completed_by: str | None = None,
    waiver: str | None = None,
) -> HazardEvent:
    """A supervisor's action on a hazard, appended as a hazard event and recorded in the audit log.

    Accepting a rectification names who did the work (``completed_by``) and, for a major hazard whose 五到位 is
    incomplete, records ``waiver``, the reason it is accepted anyway (server.domain.hazards.acceptance_refusal);
    the acceptor and the completer are then written into the hazard's 五定 terms."""
    from server.models.base import utcnow
    from server.services import audit

    kind = SUPERVISOR_ACTIONS.get(action)
    if kind is None:
        raise hazard_action_unknown(value=action)
    comment = (comment or "").strip() or None
    if kind is HazardEventKind.listed and not (supervision_level or "").strip():
        raise supervision_level_required()
    # The web's clock is the server's; a tablet with a fast clock may have logged the last event "later",
    # and the log must stay in order, so the new event is never placed before it.
    last = max((e.at for e in hazard.events), default=None)
    now = utcnow()
    at = max(now, last) if last is not None else now
    data: dict[str, Any] = {}
    current = rules.replay(
        [_domain_event(e) for e in sorted(hazard.events, key=lambda e: e.at)], hazard.level
    )
    if kind is HazardEventKind.accepted and kind in rules.allowed_events(current):
        done_by, why = (
            (completed_by or hazard.terms.get("completed_by") or "").strip(),
            (waiver or "").strip(),
        )
        refusal = rules.acceptance_refusal(
            hazard.level, hazard.five_in_place, waiver=why, completed_by=done_by
        )
        if refusal is not None and refusal[0] == "completed_by":
            raise acceptance_completed_by_required()
        if refusal is not None:
            labels = [rules.FIVE_IN_PLACE[key] for key in refusal[1]]
            raise acceptance_incomplete(
                missing="、".join(zh for zh, _ in labels), missing_en=", ".join(en for _, en in labels),
                min_chars=rules.MIN_WAIVER_CHARS,
            )  # fmt: skip
        missing = rules.five_in_place_missing(hazard.level, hazard.five_in_place)
        data = {
            "accepted_by": actor.display_name, "accepted_by_id": actor.id, "completed_by": done_by,
            "five_in_place_missing": list(missing), "waiver": why if missing else None,
        }  # fmt: skip
    if kind is HazardEventKind.listed:
        data = {
            "supervision_level": supervision_level,
            "supervision_no": (supervision_no or "").strip() or None,
        }
    event = append_event(
        session, hazard, kind, at, deadline=deadline if kind is HazardEventKind.deadline_extended else None,
        comment=comment, actor=actor, data=data,
    )  # fmt: skip
    if kind is HazardEventKind.listed:
        hazard.supervision_level = data["supervision_level"]
        hazard.supervision_no = data["supervision_no"]
    if kind is HazardEventKind.accepted:
        # 五定: who accepted and who did the work, as the acceptance recorded them (a new dict: JSON is replaced).
        hazard.terms = {
            **(hazard.terms or {}),
            "accepted_by": data["accepted_by"],
            "completed_by": data["completed_by"],
        }
    session.flush()
    audit.record(session, actor, f"hazard.{action}", "hazard", hazard.id, {
        "event_id": str(event.id), "comment": comment, "deadline": deadline.isoformat() if deadline else None,
        "state": hazard.state.value, **data,
    })  # fmt: skip
    return event
