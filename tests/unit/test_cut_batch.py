"""cut_batch: a full push ends after its last submission when at least half of it stays; any other batch goes whole."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sync.client import cut_batch, submits_inspection


def _mutation(seq: int, kind: str) -> dict[str, Any]:
    if kind == "submit":
        return {"seq": seq, "entity": "inspection", "op": "upsert", "data": {"status": "submitted"}}
    if kind == "draft":
        return {"seq": seq, "entity": "inspection", "op": "upsert", "data": {"status": "draft"}}
    return {"seq": seq, "entity": kind, "op": "upsert", "data": {"status": "submitted"}}


@given(
    st.lists(st.sampled_from(["submit", "draft", "item_result", "hazard"]), max_size=40), st.integers(1, 40)
)
def test_the_cut_is_the_longest_prefix_ending_in_a_submission_of_at_least_half(
    kinds: list[str], limit: int
) -> None:
    batch = [_mutation(seq, kind) for seq, kind in enumerate(kinds[:limit], start=1)]
    cut = cut_batch(batch, limit, submits_inspection)
    assert cut == batch[: len(cut)]  # a prefix: the seqs stay in order, nothing skipped
    assert cut or not batch
    if len(batch) < limit:
        assert cut == batch  # the outbox's last mutations: nothing waits behind them
        return
    ends = [i + 1 for i, m in enumerate(batch) if submits_inspection(m) and i + 1 >= (limit + 1) // 2]
    assert len(cut) == (max(ends) if ends else len(batch))


def test_only_an_inspection_submission_ends_a_record() -> None:
    assert submits_inspection(_mutation(1, "submit"))
    assert not submits_inspection(_mutation(1, "draft"))
    assert not submits_inspection(_mutation(1, "hazard"))  # another entity's "status" is not a submission
    assert not submits_inspection({"seq": 1, "entity": "inspection", "op": "delete", "data": None})


def test_a_batch_with_no_submission_in_its_second_half_goes_whole() -> None:
    batch = [_mutation(1, "submit"), *(_mutation(seq, "item_result") for seq in range(2, 11))]
    assert cut_batch(batch, 10, submits_inspection) == batch
    submitted_sixth = [*batch[:5], _mutation(6, "submit"), *batch[6:]]
    assert cut_batch(submitted_sixth, 10, submits_inspection) == submitted_sixth[:6]
