"""Tests for the hazard state machine."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.hazards import (
    OPEN_STATES,
    RESOLVED_STATES,
    VOID_STATES,
    HazardEvent,
    HazardEventKind,
    HazardLevel,
    HazardState,
    HazardStatus,
    IllegalTransition,
    allowed_events,
    apply_event,
    replay,
)

K = HazardEventKind
S = HazardState
T0 = datetime(2022, 6, 1, 9, 0, tzinfo=UTC)
D0 = date(2022, 6, 30)


def ev(kind: HazardEventKind, minutes: int = 0, **kw: object) -> HazardEvent:
    return HazardEvent(kind, T0 + timedelta(minutes=minutes), **kw)  # type: ignore[arg-type]


def good_event(kind: HazardEventKind, status: HazardStatus | None) -> HazardEvent:
    """An event of `kind` whose payload is valid, one minute after the status's last event."""
    minutes = 0 if status is None else status.events
    if kind is K.found:
        return ev(kind, minutes, deadline=D0)
    if kind is K.deadline_extended:
        base = status.deadline if status is not None and status.deadline else D0
        return ev(kind, minutes, deadline=base + timedelta(days=7), reason="设备到货延迟")
    if kind is K.rejected:
        return ev(kind, minutes, reason="联锁未投用")
    return ev(kind, minutes)


def build(kinds: list[HazardEventKind], level: HazardLevel = HazardLevel.major) -> HazardStatus:
    status: HazardStatus | None = None
    for kind in kinds:
        status = apply_event(status, good_event(kind, status), level)
    assert status is not None
    return status


PATHS: dict[HazardState, list[HazardEventKind]] = {
    S.found: [K.found],
    S.planned: [K.found, K.rectification_planned],
    S.reported: [K.found, K.rectification_reported],
    S.rejected: [K.found, K.rectification_reported, K.rejected],
    S.accepted: [K.found, K.rectification_reported, K.accepted],
    S.closed: [K.found, K.rectification_reported, K.accepted, K.closed],
    S.withdrawn: [K.found, K.withdrawn],
}


def reachable() -> list[tuple[HazardLevel, HazardState, bool]]:
    combos = []
    for level in HazardLevel:
        for state in HazardState:
            combos.append((level, state, False))
            if level is HazardLevel.major and state not in (S.closed, S.withdrawn):
                combos.append((level, state, True))
    return combos


def status_for(level: HazardLevel, state: HazardState, listed: bool) -> HazardStatus:
    kinds = list(PATHS[state])
    if listed:
        kinds.insert(1, K.listed)
    return build(kinds, level)


def expected_legal(kind: HazardEventKind, level: HazardLevel, state: HazardState, listed: bool) -> bool:
    """The rule as the brief states it, written independently of the implementation."""
    return {
        K.found: False,
        K.rectification_planned: state in (S.found, S.rejected),
        K.rectification_reported: state in (S.found, S.planned, S.rejected),
        K.accepted: state is S.reported,
        K.rejected: state is S.reported,
        K.deadline_extended: state in (S.found, S.planned, S.rejected),
        K.closed: state is S.accepted and not listed,
        K.listed: level is HazardLevel.major and not listed and state not in (S.closed, S.withdrawn),
        K.delisted: listed and state is S.accepted,
        K.withdrawn: state is S.found and not listed,
    }[kind]


@pytest.mark.parametrize(("level", "state", "listed"), reachable())
@pytest.mark.parametrize("kind", list(HazardEventKind))
def test_every_transition(
    kind: HazardEventKind, level: HazardLevel, state: HazardState, listed: bool
) -> None:
    status = status_for(level, state, listed)
    assert (status.state, status.listed) == (state, listed)
    legal = expected_legal(kind, level, state, listed)
    assert (kind in allowed_events(status)) is legal
    event = good_event(kind, status)
    if legal:
        after = apply_event(status, event, level)
        assert after.events == status.events + 1
    else:
        with pytest.raises(IllegalTransition) as err:
            apply_event(status, event, level)
        assert err.value.index == status.events
        assert err.value.kind is kind
        assert err.value.state is state


def test_plain_strings_from_storage_are_accepted() -> None:
    event = HazardEvent("found", T0, deadline=D0)  # type: ignore[arg-type]
    assert event.kind is K.found
    assert apply_event(None, event, "major").level is HazardLevel.major  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        HazardEvent("lost", T0)  # type: ignore[arg-type]


def test_first_event_must_be_found() -> None:
    assert allowed_events(None) == {K.found}
    for kind in HazardEventKind:
        if kind is not K.found:
            with pytest.raises(IllegalTransition, match="第一个事件") as err:
                apply_event(None, good_event(kind, None), HazardLevel.general)
            assert err.value.index == 0
            assert err.value.state is None


def test_found_sets_deadline_and_level() -> None:
    status = apply_event(None, ev(K.found, deadline=D0), HazardLevel.general)
    assert status == HazardStatus(S.found, HazardLevel.general, D0, False, False, 1, T0)
    assert status.is_open and not status.is_resolved


def test_found_without_deadline_is_allowed() -> None:
    assert apply_event(None, ev(K.found), HazardLevel.general).deadline is None


def test_resulting_states() -> None:
    for state, kinds in PATHS.items():
        assert build(kinds).state is state


def test_on_the_spot_fix_for_general_hazard() -> None:
    # 立查立改: found, reported fixed, accepted, closed.
    status = replay(
        [ev(K.found), ev(K.rectification_reported, 5), ev(K.accepted, 6), ev(K.closed, 7)],
        HazardLevel.general,
    )
    assert status.state is S.closed and status.is_resolved and not status.is_open


def test_rejected_then_planned_again_then_reported() -> None:
    status = build([K.found, K.rectification_planned, K.rectification_reported, K.rejected])
    assert status.state is S.rejected and status.is_open
    status = build(
        [K.found, K.rectification_planned, K.rectification_reported, K.rejected, K.rectification_planned]
    )
    assert status.state is S.planned


def test_listed_major_hazard_full_cycle() -> None:
    status = build([K.found, K.listed, K.rectification_planned, K.rectification_reported, K.accepted])
    assert status.listed and status.ever_listed
    assert K.closed not in allowed_events(status)
    with pytest.raises(IllegalTransition, match="摘牌"):
        apply_event(status, good_event(K.closed, status), HazardLevel.major)
    status = apply_event(status, good_event(K.delisted, status), HazardLevel.major)
    assert not status.listed and status.ever_listed
    status = apply_event(status, good_event(K.closed, status), HazardLevel.major)
    assert status.state is S.closed and status.ever_listed


def test_relisting_after_delisting_before_close_is_allowed() -> None:
    status = build([K.found, K.listed, K.rectification_reported, K.accepted, K.delisted, K.listed])
    assert status.listed


def test_general_hazard_cannot_be_listed() -> None:
    status = build([K.found], HazardLevel.general)
    with pytest.raises(IllegalTransition, match="only a major hazard"):
        apply_event(status, good_event(K.listed, status), HazardLevel.general)


def test_level_comes_from_the_first_event() -> None:
    status = build([K.found], HazardLevel.general)
    # A later call with another level does not reclassify: level changes are not events.
    assert apply_event(status, good_event(K.rectification_planned, status), HazardLevel.major).level is (
        HazardLevel.general
    )


def test_listing_twice_is_refused() -> None:
    status = build([K.found, K.listed])
    with pytest.raises(IllegalTransition, match="already listed"):
        apply_event(status, good_event(K.listed, status), HazardLevel.major)


def test_delisting_before_acceptance_is_refused() -> None:
    status = build([K.found, K.listed, K.rectification_reported])
    with pytest.raises(IllegalTransition, match="requires acceptance"):
        apply_event(status, good_event(K.delisted, status), HazardLevel.major)


def test_deadline_extension_needs_reason() -> None:
    status = build([K.found])
    with pytest.raises(IllegalTransition, match="requires a reason"):
        apply_event(status, ev(K.deadline_extended, 1, deadline=date(2022, 7, 30), reason="  "), status.level)


def test_deadline_extension_needs_later_deadline() -> None:
    status = build([K.found])
    for bad in (D0, D0 - timedelta(days=1)):
        with pytest.raises(IllegalTransition, match="must be later"):
            apply_event(status, ev(K.deadline_extended, 1, deadline=bad, reason="r"), status.level)
    after = apply_event(
        status, ev(K.deadline_extended, 1, deadline=D0 + timedelta(days=1), reason="r"), status.level
    )
    assert after.deadline == D0 + timedelta(days=1)


def test_deadline_extension_needs_a_deadline() -> None:
    status = build([K.found])
    with pytest.raises(IllegalTransition, match="needs a new deadline"):
        apply_event(status, ev(K.deadline_extended, 1, reason="r"), status.level)


def test_deadline_extension_sets_a_first_deadline() -> None:
    status = apply_event(None, ev(K.found), HazardLevel.general)
    after = apply_event(status, ev(K.deadline_extended, 1, deadline=D0, reason="补定期限"), status.level)
    assert after.deadline == D0


def test_deadline_extension_while_reported_is_refused() -> None:
    status = build([K.found, K.rectification_reported])
    with pytest.raises(IllegalTransition, match="not yet reported"):
        apply_event(status, good_event(K.deadline_extended, status), status.level)


def test_rejection_needs_reason() -> None:
    status = build([K.found, K.rectification_reported])
    with pytest.raises(IllegalTransition, match="requires a reason"):
        apply_event(status, ev(K.rejected, 5), status.level)


def test_deadline_on_other_event_is_refused() -> None:
    status = build([K.found])
    with pytest.raises(IllegalTransition, match="carries no deadline"):
        apply_event(status, ev(K.rectification_planned, 1, deadline=D0), status.level)


def test_events_must_not_go_back_in_time() -> None:
    with pytest.raises(IllegalTransition, match=r"earlier|before") as err:
        replay(
            [ev(K.found, 10), ev(K.rectification_planned, 20), ev(K.rectification_reported, 15)],
            HazardLevel.general,
        )
    assert err.value.index == 2
    assert err.value.kind is K.rectification_reported
    assert err.value.state is S.planned


def test_same_instant_is_allowed() -> None:
    status = replay([ev(K.found, 10), ev(K.rectification_reported, 10)], HazardLevel.general)
    assert status.state is S.reported


def test_mixing_naive_and_aware_times_is_refused() -> None:
    naive = HazardEvent(K.rectification_planned, datetime(2022, 6, 2, 9, 0))
    with pytest.raises(IllegalTransition, match="naive"):
        replay([ev(K.found), naive], HazardLevel.general)


def test_replay_names_the_bad_event_index() -> None:
    events = [ev(K.found), ev(K.rectification_planned, 1), ev(K.accepted, 2)]
    with pytest.raises(IllegalTransition) as err:
        replay(events, HazardLevel.general)
    assert err.value.index == 2
    assert "第 3 个事件" in str(err.value)
    assert "event 3 (index 2) 'accepted'" in str(err.value)
    assert "整改中" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_replay_of_empty_log_is_refused() -> None:
    with pytest.raises(ValueError, match="found"):
        replay([], HazardLevel.general)


def test_found_twice_is_refused() -> None:
    with pytest.raises(IllegalTransition, match="只能是第一个事件"):
        replay([ev(K.found), ev(K.found, 1)], HazardLevel.general)


def test_nothing_after_closed() -> None:
    status = build(PATHS[S.closed])
    assert allowed_events(status) == frozenset()


def test_open_and_resolved_states_partition() -> None:
    assert set(HazardState) == OPEN_STATES | RESOLVED_STATES | VOID_STATES
    assert not OPEN_STATES & RESOLVED_STATES and not (OPEN_STATES | RESOLVED_STATES) & VOID_STATES
    assert {S.accepted, S.closed} == RESOLVED_STATES


def test_is_overdue() -> None:
    status = build([K.found])
    assert not status.is_overdue(D0)
    assert status.is_overdue(D0 + timedelta(days=1))
    reported = build([K.found, K.rectification_reported])
    assert not reported.is_overdue(D0 + timedelta(days=1))  # awaiting acceptance, not the enterprise's delay
    rejected = build([K.found, K.rectification_reported, K.rejected])
    assert rejected.is_overdue(D0 + timedelta(days=1))
    accepted = build(PATHS[S.accepted])
    assert not accepted.is_overdue(D0 + timedelta(days=100))
    no_deadline = apply_event(None, ev(K.found), HazardLevel.general)
    assert not no_deadline.is_overdue(date(2099, 1, 1))


def test_labels() -> None:
    assert [s.label_zh for s in HazardState] == [
        "待整改",
        "整改中",
        "已报整改待验收",
        "验收未通过",
        "已验收",
        "已销号",
        "已撤回（误报）",
    ]
    assert HazardLevel.major.label_zh == "重大事故隐患"
    assert all(k.label_zh for k in HazardEventKind)


@settings(max_examples=300)
@given(st.sampled_from(list(HazardLevel)), st.lists(st.integers(min_value=0, max_value=1000), max_size=30))
def test_walks_through_allowed_events_replay(level: HazardLevel, choices: list[int]) -> None:
    status: HazardStatus | None = None
    events: list[HazardEvent] = []
    for choice in choices:
        allowed = sorted(allowed_events(status))
        if not allowed:
            break
        event = good_event(allowed[choice % len(allowed)], status)
        status = apply_event(status, event, level)
        events.append(event)
    if status is None:
        status = apply_event(None, good_event(K.found, None), level)
        events.append(good_event(K.found, None))
    assert replay(events, level) == status
    assert status.events == len(events)
    assert not (status.listed and level is HazardLevel.general)
    assert status.ever_listed or not status.listed


def test_a_hazard_withdrawn_before_any_follow_up_is_closed_to_everything() -> None:
    """Issue 15 item 1: the inspector changed the answer away from 不符合 and withdrew the draft hazard."""
    found = apply_event(None, ev(K.found, deadline=D0), HazardLevel.major)
    assert K.withdrawn in allowed_events(found)
    withdrawn = apply_event(found, ev(K.withdrawn, 1), HazardLevel.major)
    assert withdrawn.state is S.withdrawn
    assert (
        not withdrawn.is_open
        and not withdrawn.is_resolved
        and not withdrawn.is_overdue(D0 + timedelta(days=9))
    )
    assert allowed_events(withdrawn) == frozenset()
    with pytest.raises(IllegalTransition):
        apply_event(withdrawn, ev(K.rectification_planned, 2), HazardLevel.major)


def test_only_a_hazard_still_as_found_can_be_withdrawn() -> None:
    found = apply_event(None, ev(K.found, deadline=D0), HazardLevel.general)
    planned = apply_event(found, ev(K.rectification_planned, 1), HazardLevel.general)
    with pytest.raises(IllegalTransition) as refused:
        apply_event(planned, ev(K.withdrawn, 2), HazardLevel.general)
    assert "撤回" in str(refused.value)
