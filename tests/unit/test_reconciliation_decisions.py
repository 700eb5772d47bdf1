"""Supervisors' decisions in the reconciliation: a pair declared one hazard is assigned whatever the matcher says,
a pair declared two is never proposed, and only confirmed pairs count in the confirmed reliability."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.hazards import HazardState
from server.domain.reconciliation import (
    Decisions,
    Finding,
    LedgerEntry,
    PairVerdict,
    match,
    rank_for_pairing,
    reconcile,
)
from tests.unit.test_reconciliation import (
    DUST,
    GAS_ALARM,
    TODAY,
    VENT,
    VENT_PARAPHRASE,
    entry,
    finding,
    records,
)

SAME, DIFFERENT, WITHDRAWN = PairVerdict.same, PairVerdict.different, PairVerdict.withdrawn


def test_a_pair_declared_the_same_is_assigned_whatever_the_matcher_says() -> None:
    findings = [finding("f1", VENT, place="除尘器"), finding("f2", GAS_ALARM, place="煤气柜")]
    entries = [entry("e1", VENT_PARAPHRASE, place="除尘器"), entry("e2", DUST, place="生产车间")]
    proposed = reconcile(findings, entries, TODAY)
    assert [(m.finding.id, m.entry.id, m.confirmed) for m in proposed.self_reported] == [("f1", "e1", False)]
    assert [f.id for f in proposed.missed] == ["f2"]
    # The supervisor knows better: the gas alarm is what the dust entry meant, and the vent pair is confirmed.
    decided = reconcile(findings, entries, TODAY, decisions={("f2", "e2"): SAME, ("f1", "e1"): SAME})
    assert [(m.finding.id, m.entry.id, m.confirmed) for m in decided.self_reported] == [
        ("f1", "e1", True),
        ("f2", "e2", True),
    ]
    assert not decided.missed and not decided.ledger_only
    assert not decided.self_reported[1].similarity.compatible, "the score is still shown as it is"
    assert decided.confirmed_reliability == decided.reliability == 1.0 and decided.awaiting_confirmation == 0


def test_a_confirmed_pair_takes_its_records_away_from_the_matcher() -> None:
    # The matcher would pair f with its paraphrase; the supervisor paired that entry with another finding.
    findings = [finding("f", VENT, place="除尘器"), finding("g", GAS_ALARM, place="煤气柜", day=1)]
    entries = [entry("e", VENT_PARAPHRASE, place="除尘器")]
    result = reconcile(findings, entries, TODAY, decisions={("g", "e"): SAME})
    assert [(m.finding.id, m.entry.id) for m in result.self_reported] == [("g", "e")]
    assert [f.id for f in result.missed] == ["f"]


def test_a_confirmed_pair_keeps_its_pass_and_the_claim_rule() -> None:
    findings = [finding("f1", VENT, place="除尘器"), finding("f2", GAS_ALARM, place="煤气柜")]
    entries = [
        entry("late", VENT_PARAPHRASE, place="除尘器", day=3),  # written after the finding: 补录
        entry("fixed", GAS_ALARM, place="煤气柜", state=HazardState.accepted, claimed=-1),
    ]
    result = reconcile(findings, entries, TODAY, decisions={("f1", "late"): SAME, ("f2", "fixed"): SAME})
    assert [(m.finding.id, m.entry.id, m.confirmed) for m in result.recorded_after] == [("f1", "late", True)]
    assert [(m.finding.id, m.confirmed) for m in result.claimed_fixed_but_present] == [("f2", True)]
    assert not result.self_reported and [f.id for f in result.missed] == ["f1"]
    assert result.confirmed_reliability == 0.0


def test_a_pair_declared_different_is_never_proposed_but_each_may_match_another() -> None:
    findings = [finding("f", VENT, place="除尘器")]
    entries = [
        entry("e1", VENT_PARAPHRASE, place="除尘器", day=-9),
        entry("e2", VENT, place="除尘器", day=-3),
    ]
    assert [m.entry.id for m in reconcile(findings, entries, TODAY).self_reported] == ["e2"]
    result = reconcile(findings, entries, TODAY, decisions={("f", "e2"): DIFFERENT})
    assert [(m.entry.id, m.confirmed) for m in result.self_reported] == [("e1", False)]
    alone = reconcile(findings, entries[1:], TODAY, decisions={("f", "e2"): DIFFERENT})
    assert [f.id for f in alone.missed] == ["f"] and [e.id for e in alone.ledger_only] == ["e2"]
    first, second = match(findings, entries[1:], decisions={("f", "e2"): DIFFERENT})
    assert first == second == []


def test_a_withdrawn_decision_hands_the_pair_back_to_the_matcher() -> None:
    findings = [finding("f", VENT, place="除尘器")]
    entries = [entry("e", VENT_PARAPHRASE, place="除尘器")]
    result = reconcile(findings, entries, TODAY, decisions={("f", "e"): WITHDRAWN})
    assert result == reconcile(findings, entries, TODAY)
    assert [(m.entry.id, m.confirmed) for m in result.self_reported] == [("e", False)]


def test_confirmed_reliability_counts_confirmed_pairs_only_and_proposals_await() -> None:
    findings = [
        finding("f1", VENT, place="除尘器"),
        finding("f2", GAS_ALARM, place="煤气柜"),
        finding("f3", DUST, place="生产车间"),
        finding("f4", "钢丝绳断丝超标未更换", place="炼钢车间"),
    ]
    entries = [
        entry("e1", VENT_PARAPHRASE, place="除尘器"),
        entry("e2", GAS_ALARM, place="煤气柜"),
        entry("e3", DUST, place="生产车间"),
    ]
    result = reconcile(findings, entries, TODAY, decisions={("f2", "e2"): SAME})
    assert len(result.self_reported) == 3 and result.reliability == 0.75
    assert result.confirmed_self_reported == 1 and result.confirmed_reliability == 0.25
    assert result.awaiting_confirmation == 2
    assert reconcile([], entries, TODAY, decisions={("f2", "e2"): SAME}).confirmed_reliability is None


def test_two_confirmations_claiming_one_record_keep_the_earlier_finding_whatever_the_order() -> None:
    findings = [finding("f1", VENT, place="除尘器"), finding("f2", VENT, place="除尘器", day=1)]
    entries = [entry("e", VENT_PARAPHRASE, place="除尘器")]
    forward: Decisions = {("f1", "e"): SAME, ("f2", "e"): SAME}
    backward: Decisions = {("f2", "e"): SAME, ("f1", "e"): SAME}
    for decisions in (forward, backward):
        result = reconcile(list(reversed(findings)), entries, TODAY, decisions=decisions)
        assert [(m.finding.id, m.confirmed) for m in result.self_reported] == [("f1", True)]
        assert [f.id for f in result.missed] == ["f2"]


@st.composite
def decided(draw: st.DrawFn) -> tuple[list[Finding], list[LedgerEntry], dict[tuple[str, str], PairVerdict]]:
    """Records and decisions on some of their pairs (and on records that are not there)."""
    findings, entries = draw(records())
    ids_f = [f.id for f in findings] + ["gone-f"]
    ids_e = [e.id for e in entries] + ["gone-e"]
    pairs = st.tuples(st.sampled_from(ids_f), st.sampled_from(ids_e))
    decisions = draw(st.dictionaries(pairs, st.sampled_from(list(PairVerdict)), max_size=6))
    return findings, entries, decisions


@given(decided(), st.randoms(use_true_random=False))
@settings(max_examples=150, deadline=None)  # a loaded machine must not fail it on time
def test_decisions_keep_matching_one_to_one_exact_and_independent_of_order(
    data: tuple[list[Finding], list[LedgerEntry], dict[tuple[str, str], PairVerdict]], rng: object
) -> None:
    findings, entries, decisions = data
    result = reconcile(findings, entries, TODAY, decisions=decisions)
    pairs = result.pairs
    assert len({m.finding.id for m in pairs}) == len(pairs) == len({m.entry.id for m in pairs})
    finding_ids = [m.finding.id for m in (*result.self_reported, *result.claimed_fixed_but_present)]
    assert sorted(finding_ids + [f.id for f in result.missed]) == sorted(f.id for f in findings)
    entry_ids = [m.entry.id for m in pairs] + [e.id for e in result.ledger_only]
    assert sorted(entry_ids) == sorted(e.id for e in entries)
    for m in pairs:
        verdict = decisions.get((m.finding.id, m.entry.id))
        assert verdict is not PairVerdict.different
        assert m.confirmed == (verdict is PairVerdict.same)
    assert result.confirmed_self_reported <= len(result.self_reported)
    shuffled_f, shuffled_e = list(findings), list(entries)
    rng.shuffle(shuffled_f)  # type: ignore[attr-defined]
    rng.shuffle(shuffled_e)  # type: ignore[attr-defined]
    shuffled_d = list(decisions.items())
    rng.shuffle(shuffled_d)  # type: ignore[attr-defined]
    assert reconcile(shuffled_f, shuffled_e, TODAY, decisions=dict(shuffled_d)) == result


def test_entries_to_pair_by_hand_are_offered_most_alike_first() -> None:
    """A supervisor pairing a missed finding by hand sees the ledger entries most like it first, whether or not the
    matcher would have paired them, and the order never depends on the input's."""
    missed = finding("f", "除尘器泄爆口朝向人员通道", place="抛光车间")
    dust = entry("e-dust", DUST, place="抛光车间", day=-9)
    vent = entry("e-vent", "抛光车间除尘器的泄爆片对着人走的过道", place="抛光车间", day=-2)
    gas = entry("e-gas", GAS_ALARM, place="煤气柜", day=-4)
    for order in ([dust, vent, gas], [gas, dust, vent], [vent, gas, dust]):
        ranked = rank_for_pairing(missed, order)
        assert ranked[0][0].id == "e-vent"
        assert [e.id for e, _ in ranked] == [e.id for e, _ in rank_for_pairing(missed, [dust, vent, gas])]
        assert [s.score for _, s in ranked] == sorted((s.score for _, s in ranked), reverse=True)
    assert rank_for_pairing(missed, []) == []
