"""load_data deserializes a mutation's fields without marshmallow's per-load bookkeeping: whatever the data, it
returns exactly what the schema loads, and refuses exactly what the schema refuses, with the schema's message."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, fields, validate

from server.sync_handlers.common import _load_fields, _plain, load_data, load_with_schema
from server.sync_handlers.expert_opinions import ExpertOpinionDataSchema
from server.sync_handlers.hazards import HazardDataSchema, HazardEventDataSchema
from server.sync_handlers.inspections import InspectionDataSchema, ItemResultDataSchema
from server.sync_handlers.photos import PhotoDataSchema
from sync.problems import Problem

SCHEMAS = [InspectionDataSchema(), HazardDataSchema(), HazardEventDataSchema(), ItemResultDataSchema(),
           PhotoDataSchema(), ExpertOpinionDataSchema()]  # fmt: skip

#: Values of every kind a device might send, good and bad: ids, times, dates, codes, numbers out of range,
#: long texts, nested participants and signatures, wrong types.
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.uuids().map(str),
    st.sampled_from(
        [
            "",
            "x",
            "inspector",
            "expert",
            "enterprise_rep",
            "unannounced",
            "routine",
            "draft",
            "submitted",
            "compliant",
            "non_compliant",
            "not_checked",
            "major",
            "general",
            "found",
            "withdrawn",
            "rectification_planned",
            "2026-06-10T01:30:00+00:00",
            "2026-06-10T01:30:00",
            "2026-06-10",
            "not a date",
            "ab" * 32,
            "AB" * 32,
            "1.5",
            "NaN",
            "1e400",
            "12345678901234567",
        ]
    ),
    st.text(max_size=40),
    st.text(min_size=101, max_size=130),
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
)
PARTICIPANT = st.fixed_dictionaries(
    {"role": st.sampled_from(["inspector", "expert", "boss"]), "name": st.sampled_from(["张建国", "", "x" * 120])},
    optional={"user_id": st.none() | st.integers(-5, 10**12), "badge_no": st.none() | st.text(max_size=40),
              "extra": st.just(1)},
)  # fmt: skip
VALUES = st.one_of(
    SCALARS,
    st.lists(PARTICIPANT, max_size=3),
    st.lists(st.dictionaries(st.text(max_size=5), SCALARS, max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=70), SCALARS, max_size=3),
    st.lists(SCALARS, max_size=3),
)


def plausible(field: fields.Field) -> st.SearchStrategy[Any]:
    """Values of the field's type, mostly valid, so that many examples take the quick path to the end."""
    choices = [v.choices for v in field.validators if isinstance(v, validate.OneOf)]
    if choices:
        return st.sampled_from(list(choices[0]))
    if isinstance(field, fields.UUID):
        return st.uuids().map(str)
    if isinstance(field, fields.AwareDateTime):
        return st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
    if isinstance(field, fields.Date):
        return st.dates().map(lambda d: d.isoformat())
    if isinstance(field, fields.Float | fields.Decimal | fields.Integer):
        return st.integers(-200, 200) | st.floats(-200, 200)
    if isinstance(field, fields.Boolean):
        return st.booleans()
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        return st.lists(PARTICIPANT, max_size=3)
    if isinstance(field, fields.List | fields.Dict):
        return st.lists(
            st.dictionaries(st.text(max_size=5), SCALARS, max_size=3), max_size=3
        ) | st.dictionaries(st.text(max_size=10), SCALARS, max_size=3)
    if isinstance(field, fields.String):
        return st.text(min_size=1, max_size=20) | st.just("ab" * 32)
    return VALUES


@st.composite
def mutation_data(draw: st.DrawFn) -> tuple[Schema, dict[str, Any], bool]:
    """A schema, data for it (its own keys with any values, sometimes a key it does not know) and the mode."""
    schema = draw(st.sampled_from(SCHEMAS))
    keys = draw(st.lists(st.sampled_from(sorted(schema.fields)), unique=True, max_size=len(schema.fields)))
    if draw(st.booleans()):  # every required field, as a new row's data has them
        keys += [k for k, f in schema.fields.items() if f.required and k not in keys]
    if draw(st.integers(0, 9)) == 0:
        keys.append(draw(st.sampled_from(["unknown", "id", "seq"])))
    data = {
        key: draw(
            VALUES
            if draw(st.integers(0, 4)) == 0
            else plausible(schema.fields[key])
            if key in schema.fields
            else VALUES
        )
        for key in keys
    }
    return schema, data, draw(st.booleans())


def _outcome(load: Any, schema: Schema, data: dict[str, Any], creating: bool) -> Any:
    try:
        return ("loaded", load(schema, data, creating=creating))
    except Problem as problem:
        return ("refused", problem.code, problem.message("en"), problem.message("zh"))


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: type(s).__name__)
def test_the_sync_schemas_are_only_their_fields_loop(schema: Schema) -> None:
    """Every mutation schema takes the quick path (no hooks, no renamed field): the property below covers them."""
    assert _plain(schema)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutation_data())
def test_load_data_returns_and_refuses_exactly_what_the_schema_does(
    case: tuple[Schema, dict[str, Any], bool],
) -> None:
    schema, data, creating = case
    assert _outcome(load_data, schema, data, creating) == _outcome(load_with_schema, schema, data, creating)


def test_a_usual_inspection_and_a_refused_one() -> None:
    """The quick path loads a realistic inspection; a bad value is left to the schema, which names every problem."""
    schema = InspectionDataSchema()
    data = {"enterprise_id": "6f1c2a5e-3b7d-4c1a-9e2f-0a1b2c3d4e5f", "catalogue_id": "0a1b2c3d-4e5f-4a1b-8c2d-3e4f5a6b7c8d",
            "kind": "unannounced", "started_at": "2026-06-10T01:30:00+00:00", "start_lat": 38.47, "start_lon": 111.15,
            "participants": [{"role": "inspector", "name": "张建国", "badge_no": "14112301001"}]}  # fmt: skip
    loaded = _load_fields(schema, data, partial=False)
    assert loaded is not None and loaded == load_with_schema(schema, data, creating=True)
    assert loaded["participants"] == [
        {"role": "inspector", "name": "张建国", "badge_no": "14112301001", "user_id": None}
    ]
    bad = {**data, "start_lat": 91, "kind": "weekly"}
    assert _load_fields(schema, bad, partial=False) is None
    with pytest.raises(Problem) as refused:
        load_data(schema, bad, creating=True)
    assert "start_lat" in refused.value.message("en") and "kind" in refused.value.message("en")


def test_participants_are_loaded_row_by_row_without_a_schema_load_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An inspection's participants go through the same loop as its fields (Nested ran a whole schema.load per row,
    a twentieth of a push's CPU), with the same results: defaults when creating, none on a partial update, and a
    bad row left to the schema, which names it."""
    schema = InspectionDataSchema()
    header = {"enterprise_id": "6f1c2a5e-3b7d-4c1a-9e2f-0a1b2c3d4e5f", "catalogue_id": "0a1b2c3d-4e5f-4a1b-8c2d-3e4f5a6b7c8d",
              "kind": "unannounced", "started_at": "2026-06-10T01:30:00+00:00"}  # fmt: skip
    rows = [
        {"role": "inspector", "name": "张建国"},
        {"role": "expert", "name": "李四", "user_id": 7, "badge_no": None},
    ]
    created, updated = {**header, "participants": rows}, {"participants": [{"name": "王五"}]}
    participant_schema = type(schema.fields["participants"].inner.schema)
    loads: list[Any] = []
    original = participant_schema.load
    monkeypatch.setattr(
        participant_schema, "load", lambda self, *a, **k: loads.append(a) or original(self, *a, **k)
    )
    loaded = _load_fields(schema, created, partial=False)
    assert loaded is not None and loads == []
    assert loaded["participants"] == [{"role": "inspector", "name": "张建国", "user_id": None, "badge_no": None},
                                      {"role": "expert", "name": "李四", "user_id": 7, "badge_no": None}]  # fmt: skip
    assert _load_fields(schema, updated, partial=True) == {"participants": [{"name": "王五"}]}
    assert loads == []
    monkeypatch.undo()
    for data, partial in ((created, False), (updated, True)):
        assert _load_fields(schema, data, partial=partial) == dict(schema.load(data, partial=partial))
    assert (
        _load_fields(schema, {**header, "participants": [{"role": "boss", "name": "x"}]}, partial=False)
        is None
    )
    with pytest.raises(Problem) as refused:
        load_data(schema, {"participants": [rows[0], {"role": "boss", "name": "x"}]}, creating=False)
    assert "participants" in refused.value.message("en") and "role" in refused.value.message("en")
