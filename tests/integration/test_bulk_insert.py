"""server.sync_handlers.bulk writes a batch's new rows as one array per column on PostgreSQL: whatever the values,
the rows it stores read back exactly as the executemany's do, and a text too long for its column is refused,
never cut (an explicit cast to varchar(n) would cut it silently)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.domain.hazards import HazardLevel, HazardState
from server.domain.limits import NOTE
from server.extensions import BinaryArray, db
from server.models import Enterprise, Hazard, HazardEvent, Inspection, InspectionParticipant, ItemResult
from server.models.sync_state import ChangeCounter
from server.sync_handlers.bulk import insert_tables
from server.sync_handlers.changes import CHANGE_NUMBERS
from server.sync_handlers.common import _check_lengths
from sync.problems import Problem
from tests.integration.sync_helpers import Device, enterprise_and_catalogue, inspection_batch

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))])
MOMENTS = st.builds(
    lambda at, zone: at.replace(tzinfo=UTC).astimezone(zone),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)),
    ZONES,
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
RELAXED = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _stored_inspection(app: Flask) -> tuple[uuid.UUID, uuid.UUID]:
    """A stored inspection's id and its enterprise's, for rows that refer to them."""
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=False)
    assert {r["status"] for r in device.push(batch[:1]).get_json()["results"]} == {"applied"}
    return uuid.UUID(inspection_id), uuid.UUID(enterprise_id)


def insert_rows(connection: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """insert_tables fed row by row for one table, as the executemany it stands for is."""
    insert_tables(connection, [(table, {key: [row[key] for row in rows] for key in rows[0]})])


def _both_ways(table: sa.Table, rows: list[dict[str, Any]], vary: str) -> None:
    """Insert ``rows`` by executemany and, with new ids and ``vary`` changed, by insert_rows; both read back equal."""
    twins = [{**row, "id": uuid.uuid4(), vary: f"{row[vary]}~"} for row in rows]
    connection = db.session.connection()
    connection.execute(sa.insert(table), rows)
    insert_rows(connection, table, twins)
    columns = [c for c in table.columns if c.key not in ("id", vary)]
    read = {
        row.id: row._mapping
        for row in connection.execute(sa.select(table).where(table.c.id.in_([r["id"] for r in rows + twins])))
    }
    for row, twin in zip(rows, twins, strict=True):
        for column in columns:
            assert read[row["id"]][column.key] == read[twin["id"]][column.key], column.key
            assert type(read[row["id"]][column.key]) is type(read[twin["id"]][column.key]), column.key
        assert read[twin["id"]][vary] == f"{read[row['id']][vary]}~"


@RELAXED
@given(notes=st.lists(st.none() | TEXT, min_size=1, max_size=4), answered=st.none() | MOMENTS)
def test_answers_read_back_as_the_executemany_writes_them(
    app: Flask, notes: list[str | None], answered: Any
) -> None:
    with app.app_context():
        inspection_id, _enterprise = _stored_inspection(app)
        now = datetime.now(UTC)
        rows = [
            {"id": uuid.uuid4(), "inspection_id": inspection_id, "item_code": f"T{index}{uuid.uuid4().hex[:6]}",
             "result": ("compliant", "non_compliant", "not_applicable")[index % 3], "note": note,
             "answered_at": answered, "created_at": now, "updated_at": now, "row_version": 1,
             "change_no": 10**12 + index, "deleted_at": None}
            for index, note in enumerate(notes)
        ]  # fmt: skip
        _both_ways(ItemResult.__table__, rows, "item_code")
        db.session.rollback()


@RELAXED
@given(
    terms=st.dictionaries(TEXT, JSON_VALUES, max_size=4),
    five=st.none() | JSON_VALUES,
    funds=st.none() | st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, places=4),
    deadline=st.none() | st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 1, 1)),
    found=MOMENTS,
    flags=st.tuples(st.booleans(), st.booleans()),
    description=TEXT,
)
def test_hazards_and_events_read_back_as_the_executemany_writes_them(
    app: Flask, terms: Any, five: Any, funds: Decimal | None, deadline: date | None, found: datetime,
    flags: tuple[bool, bool], description: str,
) -> None:  # fmt: skip
    with app.app_context():
        inspection_id, enterprise_id = _stored_inspection(app)
        now = datetime.now(UTC)
        hazard = {
            "id": uuid.uuid4(), "enterprise_id": enterprise_id, "inspection_id": inspection_id,
            "source": "inspection", "item_code": None, "ledger_no": None, "place": None,
            "description": description, "level": HazardLevel.major, "level_reason": None, "found_at": found,
            "terms": terms, "funds_yuan": funds, "five_in_place": five, "treatment_plan": None,
            "reported_to_regulator_on": deadline, "reported_to_workers_congress_on": None,
            "supervision_level": None, "supervision_no": None, "stop_production": flags[0],
            "state": HazardState.found, "deadline": deadline, "listed": flags[1], "created_at": now,
            "updated_at": now, "row_version": 1, "change_no": 10**12, "deleted_at": None,
        }  # fmt: skip
        _both_ways(Hazard.__table__, [hazard], "description")
        event = {
            "id": uuid.uuid4(), "hazard_id": hazard["id"], "kind": "found", "at": found, "received_at": now,
            "actor_id": None, "device_id": None, "deadline": deadline, "comment": description, "data": five,
            "row_version": 1, "change_no": 10**12 + 1, "deleted_at": None,
        }  # fmt: skip
        _both_ways(HazardEvent.__table__, [event], "comment")
        db.session.rollback()


def test_inspections_and_participants_without_ids_read_back_alike(app: Flask) -> None:
    """A column left out (the participant's serial id) takes its default, as in an executemany."""
    with app.app_context():
        inspection_id, enterprise_id = _stored_inspection(app)
        stored = db.session.get(Inspection, inspection_id)
        assert stored is not None
        columns = {c.key: getattr(stored, c.key) for c in Inspection.__table__.columns}
        columns.update(id=uuid.uuid4(), signatures=[{"name": "张建国", "png": "data:,"}, None], summary_note="记录",
                       start_lat=38.123456789012345, end_lon=None, change_no=10**12)  # fmt: skip
        _both_ways(Inspection.__table__, [columns], "summary_note")
        people = [{"inspection_id": inspection_id, "ordinal": 10 + n, "role": "inspector", "user_id": None,
                   "name": name, "badge_no": None} for n, name in enumerate(["王 五", "O'Brien \\ \"x\""])]  # fmt: skip
        insert_rows(db.session.connection(), InspectionParticipant.__table__, people)
        read = db.session.execute(
            sa.select(InspectionParticipant.name, InspectionParticipant.ordinal, InspectionParticipant.id)
            .where(InspectionParticipant.inspection_id == inspection_id, InspectionParticipant.ordinal >= 10)
            .order_by(InspectionParticipant.ordinal)
        ).all()
        assert [(r.name, r.ordinal) for r in read] == [("王 五", 10), ('O\'Brien \\ "x"', 11)]
        assert all(r.id is not None for r in read)
        db.session.rollback()
        assert db.session.get(Enterprise, enterprise_id) is not None


def test_rows_numbered_as_they_are_written_take_the_counters_next_numbers_table_after_table(
    app: Flask,
) -> None:
    """With a numbering, the rows' numbers follow the counter, the tables in the order given and each table's rows
    in theirs; a table without the column (participants) takes none; the counter moves by the rows numbered."""
    with app.app_context():
        inspection_id, _enterprise = _stored_inspection(app)
        connection = db.session.connection()
        before = connection.execute(sa.select(ChangeCounter.value)).scalar_one()
        now = datetime.now(UTC)
        answers = [
            {"id": uuid.uuid4(), "inspection_id": inspection_id, "item_code": f"Z{n}", "result": "compliant",
             "note": None, "answered_at": now, "row_version": 1, "change_no": None, "deleted_at": None,
             "created_at": now, "updated_at": now}
            for n in range(3)
        ]  # fmt: skip
        people = [{"inspection_id": inspection_id, "ordinal": 20, "role": "inspector", "user_id": None,
                   "name": "赵六", "badge_no": None}]  # fmt: skip
        answer_columns = {key: [row[key] for row in answers] for key in answers[0]}
        first = insert_tables(
            connection,
            [(ItemResult.__table__, answer_columns),
             (InspectionParticipant.__table__, {key: [row[key] for row in people] for key in people[0]})],
            CHANGE_NUMBERS,
        )  # fmt: skip
        assert first == before + 1
        assert answer_columns["change_no"] == [before + 1, before + 2, before + 3]
        stored = dict(
            connection.execute(
                sa.select(ItemResult.item_code, ItemResult.change_no).where(
                    ItemResult.id.in_([a["id"] for a in answers])
                )
            ).all()
        )
        assert stored == {"Z0": before + 1, "Z1": before + 2, "Z2": before + 3}
        assert connection.execute(sa.select(ChangeCounter.value)).scalar_one() == before + 3
        # Nothing numbered: the counter is left alone.
        assert insert_tables(connection, [(InspectionParticipant.__table__, {
            key: [{**row, "ordinal": 21}[key] for row in people] for key in people[0]})], CHANGE_NUMBERS) is None  # fmt: skip
        assert connection.execute(sa.select(ChangeCounter.value)).scalar_one() == before + 3
        db.session.rollback()


def test_a_text_too_long_for_its_column_is_refused_not_cut(app: Flask) -> None:
    with app.app_context():
        inspection_id, _enterprise = _stored_inspection(app)
        if db.engine.dialect.name != "postgresql":
            pytest.skip(
                "SQLite keeps any length; the sync handlers check the limits themselves (TEXT_LIMITS)"
            )
        now = datetime.now(UTC)
        row = {"id": uuid.uuid4(), "inspection_id": inspection_id, "item_code": "X" * 17, "result": "compliant",
               "note": None, "answered_at": None, "created_at": now, "updated_at": now, "row_version": 1,
               "change_no": 10**12, "deleted_at": None}  # fmt: skip
        with pytest.raises(sa.exc.DataError, match="too long"):
            insert_rows(db.session.connection(), ItemResult.__table__, [row])
        db.session.rollback()


def test_the_app_s_postgresql_connections_send_column_arrays_in_binary(app: Flask) -> None:
    """A text array is escaped element by element in Python; the app's connections dump BinaryArray in binary."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
        from psycopg.adapt import PyFormat
        from psycopg.types.array import ListBinaryDumper

        raw = db.session.connection().connection.driver_connection
        assert raw is not None
        assert raw.adapters.get_dumper(BinaryArray, PyFormat.AUTO) is ListBinaryDumper


def test_rows_written_in_bulk_keep_the_text_limits_the_flush_checks() -> None:
    """write_staged checks, column by column, the limits the session's flush guard checks (server.models.limits)."""
    _check_lengths("item_result", {"note": [None, "x" * NOTE], "item_code": ["X" * 100]})
    with pytest.raises(Problem) as refused:
        _check_lengths("item_result", {"note": ["ok", "x" * (NOTE + 1)]})
    assert refused.value.code == "400.90"
