"""Hazard (事故隐患) state machine: the status is derived by replaying an append-only event log."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class HazardLevel(StrEnum):
    """Hazard level per 安监总局令第16号."""

    general = "general"
    major = "major"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return {"general": "一般事故隐患", "major": "重大事故隐患"}[self.value]


class HazardState(StrEnum):
    """Where a hazard stands in its rectification."""

    found = "found"
    planned = "planned"
    reported = "reported"
    rejected = "rejected"
    accepted = "accepted"
    closed = "closed"
    #: Recorded by mistake and withdrawn by its inspector before the inspection was submitted: no hazard.
    withdrawn = "withdrawn"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return _STATE_ZH[self]


_STATE_ZH = {
    HazardState.found: "待整改",
    HazardState.planned: "整改中",
    HazardState.reported: "已报整改待验收",
    HazardState.rejected: "验收未通过",
    HazardState.accepted: "已验收",
    HazardState.closed: "已销号",
    HazardState.withdrawn: "已撤回（误报）",
}


class HazardEventKind(StrEnum):
    """What happened to a hazard; one entry of its append-only log."""

    found = "found"
    rectification_planned = "rectification_planned"
    rectification_reported = "rectification_reported"
    accepted = "accepted"
    rejected = "rejected"
    deadline_extended = "deadline_extended"
    closed = "closed"
    listed = "listed"
    delisted = "delisted"
    withdrawn = "withdrawn"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return _EVENT_ZH[self]


_EVENT_ZH = {
    HazardEventKind.found: "发现隐患",
    HazardEventKind.rectification_planned: "制定整改措施",
    HazardEventKind.rectification_reported: "报告整改完成",
    HazardEventKind.accepted: "验收通过",
    HazardEventKind.rejected: "验收不通过",
    HazardEventKind.deadline_extended: "延长整改期限",
    HazardEventKind.closed: "销号",
    HazardEventKind.listed: "挂牌督办",
    HazardEventKind.delisted: "摘牌",
    HazardEventKind.withdrawn: "撤回（检查结论已改）",
}

OPEN_STATES: frozenset[HazardState] = frozenset(
    {HazardState.found, HazardState.planned, HazardState.reported, HazardState.rejected}
)
RESOLVED_STATES: frozenset[HazardState] = frozenset({HazardState.accepted, HazardState.closed})
#: Neither open nor resolved: a hazard withdrawn by its inspector before submission counts nowhere.
VOID_STATES: frozenset[HazardState] = frozenset({HazardState.withdrawn})

# Only these kinds carry a deadline; a deadline on any other event would be silently meaningless.
_DEADLINE_KINDS = frozenset({HazardEventKind.found, HazardEventKind.deadline_extended})
_REASON_KINDS = frozenset({HazardEventKind.deadline_extended, HazardEventKind.rejected})

# Pure state moves: kind -> (states it may start from, state it leads to).
_MOVES: dict[HazardEventKind, tuple[frozenset[HazardState], HazardState]] = {
    HazardEventKind.rectification_planned: (
        frozenset({HazardState.found, HazardState.rejected}),
        HazardState.planned,
    ),
    # A general hazard fixed on the spot (立查立改) is reported straight from found.
    HazardEventKind.rectification_reported: (
        frozenset({HazardState.found, HazardState.planned, HazardState.rejected}),
        HazardState.reported,
    ),
    HazardEventKind.accepted: (frozenset({HazardState.reported}), HazardState.accepted),
    HazardEventKind.rejected: (frozenset({HazardState.reported}), HazardState.rejected),
}


def is_overdue(state: HazardState, deadline: date | None, today: date) -> bool:
    """True when rectification is still the enterprise's to do (open, and not reported fixed: a reported
    rectification awaits the regulator, whose delay is not the enterprise's) and `today` is past the deadline."""
    return (
        state in OPEN_STATES and state != HazardState.reported and deadline is not None and today > deadline
    )


@dataclass(frozen=True)
class HazardEvent:
    """One entry of a hazard's log; `deadline` for found/deadline_extended, `reason` for those needing one."""

    kind: HazardEventKind
    at: datetime
    deadline: date | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        # Rows read back from storage may carry the kind as a plain string.
        object.__setattr__(self, "kind", HazardEventKind(self.kind))


@dataclass(frozen=True)
class HazardStatus:
    """The status derived from a hazard's events; `events` counts the events applied so far."""

    state: HazardState
    level: HazardLevel
    deadline: date | None
    listed: bool
    ever_listed: bool
    events: int
    # Kept so the next event can be refused when it goes back in time.
    last_event_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        """Return True while the hazard still needs work or acceptance."""
        return self.state in OPEN_STATES

    @property
    def is_resolved(self) -> bool:
        """Return True once the rectification has been accepted (or the hazard closed)."""
        return self.state in RESOLVED_STATES

    def is_overdue(self, today: date) -> bool:
        """True when rectification is still the enterprise's to do and `today` is past the deadline.

        A reported rectification awaits the regulator's acceptance: its delay is not the enterprise's.
        """
        return is_overdue(self.state, self.deadline, today)


class IllegalTransition(ValueError):
    """An event that may not be applied; `index` is its 0-based position in the log, `state` None before found."""

    def __init__(
        self, index: int, kind: HazardEventKind, state: HazardState | None, why_zh: str, why_en: str
    ) -> None:
        self.index = index
        self.kind = kind
        self.state = state
        self.why_zh = why_zh
        self.why_en = why_en
        state_zh = state.label_zh if state is not None else "（尚无事件）"
        state_en = state.value if state is not None else "(no events)"
        super().__init__(
            f"第 {index + 1} 个事件“{kind.label_zh}”在状态“{state_zh}”下不允许：{why_zh} / "
            f"event {index + 1} (index {index}) {kind.value!r} not allowed in state {state_en}: {why_en}"
        )


class ReasonRequired(IllegalTransition):
    """An event that needs a written reason (a rejection, a deadline extension) came without one: the state is
    not at fault, the form is."""


def allowed_events(status: HazardStatus | None) -> frozenset[HazardEventKind]:
    """Return the event kinds whose state preconditions hold (payload checks aside)."""
    if status is None:
        return frozenset({HazardEventKind.found})
    kinds = {kind for kind, (sources, _) in _MOVES.items() if status.state in sources}
    if status.events == 1:
        # Withdrawn only while nothing but its finding happened: once anyone acted on it, it is a real record.
        kinds.add(HazardEventKind.withdrawn)
    if status.state in (HazardState.found, HazardState.planned, HazardState.rejected):
        kinds.add(HazardEventKind.deadline_extended)
    if status.state is HazardState.accepted and not status.listed:
        kinds.add(HazardEventKind.closed)
    if (
        status.level is HazardLevel.major
        and not status.listed
        and status.state not in (HazardState.closed, HazardState.withdrawn)
    ):
        kinds.add(HazardEventKind.listed)
    if status.listed and status.state is HazardState.accepted:
        kinds.add(HazardEventKind.delisted)
    return frozenset(kinds)


def _state_refusal(status: HazardStatus | None, kind: HazardEventKind) -> tuple[str, str]:
    """Explain, in Chinese and English, why `kind` is not allowed in `status`."""
    if status is None:
        return "第一个事件必须是“发现隐患”", "the first event must be 'found'"
    if kind is HazardEventKind.found:
        return "“发现隐患”只能是第一个事件", "'found' may only be the first event"
    if kind is HazardEventKind.deadline_extended:
        return "只有未报整改的未关闭隐患可以延期", "only an open hazard not yet reported may be extended"
    if kind is HazardEventKind.closed:
        if status.listed:
            return "挂牌督办中的隐患须先摘牌才能销号", "a listed hazard must be delisted before closing"
        return "只有已验收的隐患可以销号", "only an accepted hazard may be closed"
    if kind is HazardEventKind.listed:
        if status.level is not HazardLevel.major:
            return "只有重大事故隐患可以挂牌督办", "only a major hazard may be listed"
        if status.listed:
            return "隐患已在挂牌督办中", "the hazard is already listed"
        return "已销号的隐患不能挂牌", "a closed hazard cannot be listed"
    if kind is HazardEventKind.delisted:
        if not status.listed:
            return "隐患未挂牌督办", "the hazard is not listed"
        return "须在验收通过后摘牌", "delisting requires acceptance first"
    if kind in (HazardEventKind.accepted, HazardEventKind.rejected):
        return "只能对已报整改的隐患验收", "only a reported rectification can be accepted or rejected"
    if kind is HazardEventKind.withdrawn:
        return (
            "只有尚未整改、未被处理过的隐患可以撤回",
            "only a hazard still as found, with nothing done to it, may be withdrawn",
        )
    if status.state is HazardState.withdrawn:
        return "隐患已撤回，不能再处理", "the hazard was withdrawn"
    return "当前状态不允许该事件", "not allowed from this state"


def apply_event(status: HazardStatus | None, event: HazardEvent, level: HazardLevel) -> HazardStatus:
    """Return the status after `event`, or raise IllegalTransition (index = position in the log)."""
    level = HazardLevel(level)
    index = 0 if status is None else status.events
    state = None if status is None else status.state

    def refuse(why_zh: str, why_en: str) -> IllegalTransition:
        return IllegalTransition(index, event.kind, state, why_zh, why_en)

    if event.kind not in allowed_events(status):
        raise refuse(*_state_refusal(status, event.kind))
    if status is not None and status.last_event_at is not None:
        previous = status.last_event_at
        if (previous.tzinfo is None) != (event.at.tzinfo is None):
            raise refuse("事件时间混用了带时区和不带时区的时间", "event times mix naive and aware datetimes")
        if event.at < previous:
            raise refuse(
                f"事件时间 {event.at.isoformat()} 早于上一个事件 {previous.isoformat()}",
                f"event time {event.at.isoformat()} is before the previous event {previous.isoformat()}",
            )
    if event.deadline is not None and event.kind not in _DEADLINE_KINDS:
        raise refuse("该事件不应带整改期限", "this kind of event carries no deadline")
    if event.kind in _REASON_KINDS and not event.reason.strip():
        raise ReasonRequired(
            index, event.kind, state, "该事件必须说明理由", "this kind of event requires a reason"
        )

    if status is None:
        return HazardStatus(
            state=HazardState.found,
            level=level,
            deadline=event.deadline,
            listed=False,
            ever_listed=False,
            events=1,
            last_event_at=event.at,
        )

    new_state = status.state
    deadline = status.deadline
    listed = status.listed
    if event.kind in _MOVES:
        new_state = _MOVES[event.kind][1]
    elif event.kind is HazardEventKind.deadline_extended:
        if event.deadline is None:
            raise refuse("延期必须给出新的整改期限", "an extension needs a new deadline")
        if deadline is not None and event.deadline <= deadline:
            raise refuse(
                f"新期限 {event.deadline.isoformat()} 须晚于原期限 {deadline.isoformat()}",
                f"new deadline {event.deadline.isoformat()} must be later than {deadline.isoformat()}",
            )
        deadline = event.deadline
    elif event.kind is HazardEventKind.closed:
        new_state = HazardState.closed
    elif event.kind is HazardEventKind.withdrawn:
        new_state = HazardState.withdrawn
    elif event.kind is HazardEventKind.listed:
        listed = True
    elif event.kind is HazardEventKind.delisted:
        listed = False
    return HazardStatus(
        state=new_state,
        level=status.level,
        deadline=deadline,
        listed=listed,
        ever_listed=status.ever_listed or listed,
        events=status.events + 1,
        last_event_at=event.at,
    )


def replay(events: Iterable[HazardEvent], level: HazardLevel) -> HazardStatus:
    """Return the status after all `events`; raise IllegalTransition naming the first bad one, or
    ValueError for an empty log."""
    status: HazardStatus | None = None
    for event in events:
        status = apply_event(status, event, level)
    if status is None:
        raise ValueError("a hazard needs at least its 'found' event")
    return status


#: 五到位 of a major hazard: measures, responsibility, funds, time limit and contingency plan in place.
FIVE_IN_PLACE: dict[str, tuple[str, str]] = {
    "measures": ("整改措施到位", "measures"),
    "responsibility": ("责任到位", "responsibility"),
    "funds": ("资金到位", "funds"),
    "time_limit": ("时限到位", "time limit"),
    "contingency_plan": ("应急预案到位", "contingency plan"),
}
#: A recorded reason for accepting a major hazard whose 五到位 is incomplete must say at least this much.
MIN_WAIVER_CHARS = 10


def five_in_place_missing(level: HazardLevel, five_in_place: dict[str, object] | None) -> tuple[str, ...]:
    """The 五到位 keys not yet in place (only a major hazard has 五到位; a general one misses none)."""
    if level is not HazardLevel.major:
        return ()
    done = five_in_place or {}
    return tuple(key for key in FIVE_IN_PLACE if not done.get(key))


def acceptance_refusal(
    level: HazardLevel, five_in_place: dict[str, object] | None, *, waiver: str, completed_by: str
) -> tuple[str, tuple[str, ...]] | None:
    """Why accepting a rectification is refused, or None: who did the work must be named (五定's 整改完成人),
    and a major hazard needs its 五到位 complete or a recorded reason of at least MIN_WAIVER_CHARS why not.

    Returns ("completed_by", ()) or ("five_in_place", missing keys)."""
    if not completed_by.strip():
        return "completed_by", ()
    missing = five_in_place_missing(level, five_in_place)
    if missing and len(waiver.strip()) < MIN_WAIVER_CHARS:
        return "five_in_place", missing
    return None
