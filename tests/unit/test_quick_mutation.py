"""The push's quick path loads the usual mutations without marshmallow's machinery: whatever a device sends, a
mutation it accepts is one MutationSchema accepts, loaded to the same values (anything else takes the schema's
path, and its messages)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from sync.protocol import MutationSchema, _quick_mutation

TIMES = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat()),
    st.datetimes().map(lambda t: t.isoformat()),  # no zone: refused
    st.sampled_from(["2026-06-10T08:00:00+08:00", "2026-06-10T08:00:00Z", "2026-06-10 08:00:00+08:00",
                     "2026-06-10T08:00+08:00", "2026-06-10", "20260610T080000Z", "2026-13-10T08:00:00Z",
                     "2026-06-10T08:00:00.123456789+08:00", "", "now", "2026-06-10T08:00:00+0800"]),
)  # fmt: skip
VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=40))
MUTATIONS = st.fixed_dictionaries(
    {},
    optional={
        "seq": st.one_of(
            st.integers(min_value=-2, max_value=2**63), st.booleans(), st.floats(), st.text(max_size=3)
        ),
        "entity": st.one_of(st.text(max_size=40), st.integers()),
        "id": st.one_of(st.uuids().map(str), st.uuids().map(lambda u: u.hex), st.text(max_size=40)),
        "op": st.one_of(st.sampled_from(["upsert", "delete", "UPSERT", ""]), st.integers()),
        "base_version": st.one_of(st.none(), st.integers(min_value=-2, max_value=2**32), st.booleans()),
        "data": st.one_of(
            st.dictionaries(st.text(max_size=8), VALUES, max_size=3), st.lists(VALUES, max_size=2)
        ),
        "at": st.one_of(TIMES, st.integers(), st.none()),
        "extra": VALUES,
    },
)


@settings(max_examples=1500, deadline=None)
@given(mutation=MUTATIONS)
def test_a_mutation_the_quick_path_takes_loads_as_the_schema_loads_it(mutation: dict[str, Any]) -> None:
    quick = _quick_mutation(mutation)
    try:
        loaded = MutationSchema().load(mutation)
    except ValidationError:
        assert quick is None, (mutation, quick)
        return
    if quick is not None:
        assert quick == loaded
        assert {k: type(v) for k, v in quick.items()} == {k: type(v) for k, v in loaded.items()}


def test_the_usual_mutation_takes_the_quick_path() -> None:
    usual = {"seq": 7, "entity": "item_result", "id": "0b7d29e0-94c7-4db9-987a-3073b38aa0c7", "op": "upsert",
             "base_version": None, "data": {"result": "compliant"}, "at": "2026-06-10T08:00:00+08:00"}  # fmt: skip
    assert _quick_mutation(usual) == MutationSchema().load(usual)
