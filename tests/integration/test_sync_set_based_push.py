"""The set-based push (runs of one entity applied at once, new answers inserted in one statement) keeps every
guarantee of the one-at-a-time path: mixed inserts and updates, refusals mid-batch, the same row twice."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from server.domain.clearance import ItemResultValue
from server.domain.hazards import HazardState
from server.domain.inspections import InspectionStatus
from server.extensions import db
from server.models import Hazard, HazardEvent, Inspection, ItemResult, Photo, Quarantine, SyncMutation
from server.sync_handlers.common import load_data
from server.sync_handlers.inspections import ItemResultDataSchema, _answer_data
from sync.problems import Problem
from tests.integration.sync_helpers import Device, enterprise_and_catalogue, inspection_batch, statements_run

SHA = "ab" * 32


def _answers(inspection_id: str) -> dict[str, ItemResult]:
    rows = db.session.scalars(
        sa.select(ItemResult).where(ItemResult.inspection_id == uuid.UUID(inspection_id))
    )
    return {row.item_code: row for row in rows}


def _quarantined() -> list[Quarantine]:
    return list(db.session.scalars(sa.select(Quarantine).order_by(Quarantine.seq)))


def test_a_pushed_inspection_writes_each_entity_once_and_numbers_rows_as_it_inserts_them(app: Flask) -> None:
    """One INSERT per entity and no second pass to give rows their change numbers: the rows are inserted with
    them (before, every row of the push was inserted, then updated)."""
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, photo_sha=SHA)
    with statements_run(app) as seen:
        reply = device.push(batch).get_json()
    assert {r["status"] for r in reply["results"]} == {"applied"}, reply
    inserts = _inserts_and_reservations(seen)[0]
    assert set(inserts) == {"photo", "inspection", "hazard", "inspection_participant", "item_result",
                            "hazard_event", "sync_mutation"}, inserts  # fmt: skip
    assert inserts.count("item_result") == 1, inserts  # all of the inspection's answers in one statement
    renumbered = [s for s in seen if s.startswith("UPDATE") and "change_no" in s]
    assert renumbered == [], renumbered
    with app.app_context():
        answers = _answers(inspection_id)
        assert sorted(answers) == sorted(codes)
        numbers = [a.change_no for a in answers.values()]
        assert len(set(numbers)) == len(numbers) and min(numbers) > 0
        assert all(a.row_version == 1 and a.created_at is not None for a in answers.values())
    changes, _cursor, _reset = device.pull_all()
    pulled = [
        c for c in changes if c["entity"] == "item_result" and c["data"]["inspection_id"] == inspection_id
    ]
    assert sorted(c["data"]["item_code"] for c in pulled) == sorted(codes)
    assert {c["data"]["note"] for c in pulled} == {f"检查 {code}" for code in codes}


def test_a_run_mixing_new_answers_and_changes_of_stored_ones(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=False)
    answers = [m for m in batch if m["entity"] == "item_result"]
    first = device.push(batch[:4]).get_json()  # the header and three answers
    device.seq = 4  # the rest of that batch was never pushed: numbered again below
    assert {r["status"] for r in first["results"]} == {"applied"}
    with app.app_context():
        before = {code: row.change_no for code, row in _answers(inspection_id).items()}
    # Answers 2 and 3 change; 4 and 5 are new; all in one run of item_result mutations.
    run = []
    for stored, new in zip(answers[1:3], answers[3:5], strict=True):  # changed, new, changed, new: by seq
        run.append(
            device.mutation("item_result", {"result": "not_applicable", "note": "改"}, id=stored["id"])
        )
        run.append(device.mutation("item_result", {**new["data"]}, id=new["id"]))
    reply = device.push(run).get_json()
    assert [(r["status"], r["version"]) for r in reply["results"]] == [
        ("applied", 2), ("applied", 1), ("applied", 2), ("applied", 1)], reply  # fmt: skip
    with app.app_context():
        stored = _answers(inspection_id)
        wanted = (ItemResultValue.not_applicable, "改")
        assert all((stored[code].result, stored[code].note) == wanted for code in codes[1:3])
        assert sorted(stored) == sorted(codes[:5])
        top = max(before.values())
        assert all(stored[code].change_no > top for code in codes[1:5])
        assert stored[codes[0]].change_no == before[codes[0]]


def test_a_refusal_mid_run_applies_the_others_and_quarantines_only_the_refused(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    answers = [i for i, m in enumerate(batch) if m["entity"] == "item_result"]
    bad = answers[len(answers) // 2]
    batch[bad]["data"]["item_code"] = "XX-99"  # not in the catalogue
    reply = device.push(batch).get_json()
    statuses = {r["seq"]: (r["status"], r["code"]) for r in reply["results"]}
    refused_seq = batch[bad]["seq"]
    assert statuses[refused_seq] == ("quarantined", "422.44")
    # Its item is then unanswered, so the submission is refused too; everything else is applied.
    assert statuses[batch[-1]["seq"]][0] == "quarantined"
    assert all(
        s == ("applied", None) for seq, s in statuses.items() if seq not in (refused_seq, batch[-1]["seq"])
    )
    assert reply["last_seq"] == len(batch)
    with app.app_context():
        kept = _quarantined()
        assert [q.seq for q in kept] == [refused_seq, batch[-1]["seq"]]
        assert kept[0].payload == batch[bad] and "XX-99" in kept[0].reason
        assert "items not answered" in kept[1].reason
        stored = _answers(inspection_id)
        assert sorted(stored) == sorted(c for c in codes if c != codes[answers.index(bad)])
        inspection = db.session.get(Inspection, uuid.UUID(inspection_id))
        assert inspection is not None and inspection.status == InspectionStatus.draft
        query = sa.select(SyncMutation.seq, SyncMutation.outcome).order_by(SyncMutation.seq)
        outcomes = {row.seq: row.outcome for row in db.session.execute(query)}
        assert outcomes[refused_seq] == "quarantined" and list(outcomes) == list(range(1, len(batch) + 1))


def test_the_same_row_twice_in_one_batch_with_refusals(app: Flask) -> None:
    """A change of an answer the batch made, a second answer to the same item (refused), a change seen by the
    submission (refused: an item is back to "not checked"), and a photo of an answer made in the batch."""
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=False)
    answers = [m for m in batch if m["entity"] == "item_result"]
    again = device.mutation("item_result", {"result": "not_applicable"}, id=answers[0]["id"])
    second = device.mutation("item_result", {**answers[1]["data"], "note": "第二个"})
    header = device.mutation("inspection", {"summary_note": "小结"}, id=inspection_id)
    later = device.mutation("item_result", {"result": "not_checked"}, id=answers[2]["id"])
    photo = device.mutation(
        "photo", {"sha256": SHA, "entity_type": "item_result", "entity_id": answers[3]["id"]}
    )
    submit = device.mutation("inspection", {"status": "submitted", "finished_at": "2026-06-10T11:30:00+08:00"},
                             id=inspection_id)  # fmt: skip
    pushed = [*batch, again, second, header, later, photo, submit]
    reply = device.push(pushed).get_json()
    statuses = {r["seq"]: (r["status"], r["code"], r["version"]) for r in reply["results"]}
    assert statuses[again["seq"]] == ("applied", None, 2)
    assert statuses[second["seq"]][:2] == ("quarantined", "422.44")  # the item already has an answer
    assert statuses[later["seq"]] == ("applied", None, 2)
    assert statuses[photo["seq"]][:2] == ("applied", None)
    assert statuses[submit["seq"]][:2] == ("quarantined", "422.44")  # an answer is back to "not checked"
    with app.app_context():
        stored = _answers(inspection_id)
        assert len(stored) == len(codes)
        assert stored[codes[0]].result == ItemResultValue.not_applicable and stored[codes[0]].row_version == 2
        assert stored[codes[1]].note == f"检查 {codes[1]}"
        assert stored[codes[2]].result == ItemResultValue.not_checked
        assert db.session.get(Photo, uuid.UUID(photo["id"])) is not None
        assert [q.seq for q in _quarantined()] == [second["seq"], submit["seq"]]
        assert "items not answered" in _quarantined()[1].reason


def test_rows_made_and_changed_again_within_one_batch_stay_on_the_set_based_path(app: Flask) -> None:
    """No refusal: no savepoint (the whole batch at once), and every later change of a row the batch made (in the
    same run or a later one) reaches the stored row and the submission's check."""
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes[:-1], submit=False)
    answers = [m for m in batch if m["entity"] == "item_result"]
    last_id = str(uuid.uuid4())
    made = device.mutation("item_result", {"inspection_id": inspection_id, "item_code": codes[-1],
                                           "result": "not_checked"}, id=last_id)  # fmt: skip
    remade = device.mutation("item_result", {"result": "compliant", "note": "复查"}, id=last_id)
    header = device.mutation("inspection", {"summary_note": "小结"}, id=inspection_id)
    later = device.mutation("item_result", {"result": "not_applicable"}, id=answers[2]["id"])
    photo = device.mutation(
        "photo", {"sha256": SHA, "entity_type": "item_result", "entity_id": answers[3]["id"]}
    )
    submit = device.mutation("inspection", {"status": "submitted", "finished_at": "2026-06-10T11:30:00+08:00"},
                             id=inspection_id)  # fmt: skip
    with statements_run(app) as seen:
        reply = device.push([*batch, made, remade, header, later, photo, submit]).get_json()
    assert {r["status"] for r in reply["results"]} == {"applied"}, reply
    versions = {r["seq"]: r["version"] for r in reply["results"]}
    assert (versions[made["seq"]], versions[remade["seq"]], versions[later["seq"]]) == (1, 2, 2)
    assert not [s for s in seen if s.startswith("SAVEPOINT")], "the batch fell back to one at a time"
    with app.app_context():
        stored = _answers(inspection_id)
        assert sorted(stored) == sorted(codes)
        assert (stored[codes[-1]].result, stored[codes[-1]].note, stored[codes[-1]].row_version) == (
            ItemResultValue.compliant, "复查", 2)  # fmt: skip
        assert stored[codes[2]].result == ItemResultValue.not_applicable and stored[codes[2]].row_version == 2
        assert db.session.get(Photo, uuid.UUID(photo["id"])) is not None
        inspection = db.session.get(Inspection, uuid.UUID(inspection_id))
        assert inspection is not None and inspection.status == InspectionStatus.submitted
        assert _quarantined() == []


@pytest.mark.parametrize(
    "data",
    [
        {"inspection_id": str(uuid.uuid4()), "item_code": "A1", "result": "compliant"},
        {
            "inspection_id": str(uuid.uuid4()),
            "item_code": "A1",
            "result": "non_compliant",
            "note": "问题",
            "answered_at": "2026-06-10T09:30:00+08:00",
        },
        {
            "inspection_id": str(uuid.uuid4()),
            "item_code": "A1",
            "result": "compliant",
            "note": None,
            "answered_at": None,
        },
        {
            "inspection_id": str(uuid.uuid4()),
            "item_code": "A1",
            "result": "compliant",
            "answered_at": "2026-06-10T09:30:00",
        },  # no offset: refused
        {"inspection_id": "not-a-uuid", "item_code": "A1", "result": "compliant"},
        {"inspection_id": str(uuid.uuid4()), "item_code": "", "result": "compliant"},
        {"inspection_id": str(uuid.uuid4()), "item_code": "A1", "result": "maybe"},
        {"inspection_id": str(uuid.uuid4()), "item_code": "A1", "result": "compliant", "note": 5},
        {"inspection_id": str(uuid.uuid4()), "result": "compliant"},
    ],
)
def test_answers_checked_by_hand_load_exactly_as_the_schema_loads_them(data: dict[str, Any]) -> None:
    schema = ItemResultDataSchema()
    try:
        expected: Any = load_data(schema, data, creating=True)
    except Problem as problem:
        expected = (problem.code, problem.message("en"))
    try:
        got: Any = _answer_data(schema, data)
    except Problem as problem:
        got = (problem.code, problem.message("en"))
    assert got == expected


def _inserts_and_reservations(seen: list[str]) -> tuple[list[str], int]:
    # On PostgreSQL the ledger's rows are inserted by the statement that sets the device's last seq (a CTE), and the
    # batch's new rows of every table by one statement (each table's INSERT a WITH clause of it), which takes the
    # change numbers too (its first WITH clause).
    inserts = [table.strip('"') for s in seen for table in re.findall(r"INSERT INTO (\S+)", s)]
    return inserts, len([s for s in seen if re.search(r'\bUPDATE "?change_counter\b', s)])


def test_a_push_costs_the_same_statements_for_one_inspection_as_for_eight(app: Flask) -> None:
    """Set-based: new inspections, participants, answers, hazards and their 'found' events are kept aside and
    written one INSERT per table, numbered in one reservation of change numbers; the count of statements does
    not grow with the inspections a push carries (before: the session's flush numbered its rows in a second
    reservation)."""
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    counts = []
    for inspections in (1, 1, 8):  # the first builds the per-worker caches (the user's scope)
        batch: list[dict[str, Any]] = []
        for _ in range(inspections):
            batch += inspection_batch(device, enterprise_id, catalogue_id, codes)[1]
        with statements_run(app) as seen:
            reply = device.push(batch).get_json()
        assert {r["status"] for r in reply["results"]} == {"applied"}, reply
        inserts, reservations = _inserts_and_reservations(seen)
        assert sorted(inserts) == sorted({"inspection", "inspection_participant", "item_result", "hazard",
                                          "hazard_event", "sync_mutation"}), inserts  # fmt: skip
        assert reservations == 1, seen
        counts.append(len(seen))
    assert counts[1] == counts[2], counts
    assert counts[1] <= 20, counts
    with app.app_context():
        inspections_ = db.session.scalars(
            sa.select(Inspection).where(Inspection.device_id == uuid.UUID(device.device_id))
        ).all()
        ours = {str(i.id) for i in inspections_}
        assert len(inspections_) == 10 and all(i.status == InspectionStatus.submitted for i in inspections_)
        assert all(len(i.participants) == 2 and i.row_version == 2 for i in inspections_)
        numbers = [row.change_no for model in (Inspection, ItemResult, Hazard, HazardEvent)
                   for row in db.session.scalars(sa.select(model))]  # fmt: skip
        assert len(set(numbers)) == len(numbers) and 0 not in numbers
    # Pulled back whole: participants and answers included.
    changes, _cursor, _reset = device.pull_all()
    mine = [c for c in changes if c["entity"] == "inspection" and c["id"] in ours]
    assert len(mine) == 10 and all(len(c["data"]["participants"]) == 2 for c in mine)


def test_events_of_a_hazard_made_in_the_same_batch_stay_on_the_set_based_path(app: Flask) -> None:
    """The hazard kept aside by the batch takes an event (here its withdrawal) and a photo in the same push:
    no savepoint, every row written once, the hazard withdrawn and out of every list."""
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    _inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=False)
    hazard = next(m for m in batch if m["entity"] == "hazard")
    withdrawal = device.mutation("hazard_event", {"hazard_id": hazard["id"], "kind": "withdrawn",
                                                  "at": "2026-06-10T10:00:00+08:00", "comment": "改为符合"})  # fmt: skip
    photo = device.mutation("photo", {"sha256": SHA, "entity_type": "hazard", "entity_id": hazard["id"]})
    with statements_run(app) as seen:
        reply = device.push([*batch, withdrawal, photo]).get_json()
    assert {r["status"] for r in reply["results"]} == {"applied"}, reply
    assert not [s for s in seen if s.startswith("SAVEPOINT")], "the batch fell back to one at a time"
    inserts, _reservations = _inserts_and_reservations(seen)
    assert inserts.count("hazard") == 1 and inserts.count("hazard_event") == 1, inserts
    with app.app_context():
        row = db.session.get(Hazard, uuid.UUID(hazard["id"]))
        assert row is not None and row.state == HazardState.withdrawn and row.deleted_at is not None
        assert row.row_version == 2
        events = db.session.scalars(sa.select(HazardEvent).where(HazardEvent.hazard_id == row.id)).all()
        assert sorted(e.kind.value for e in events) == ["found", "withdrawn"]
        assert len({e.change_no for e in events} | {row.change_no}) == 3
        assert db.session.get(Photo, uuid.UUID(photo["id"])) is not None


def test_a_refused_hazard_mid_batch_is_the_only_one_quarantined(app: Flask) -> None:
    """Two inspections in one push, the first one's hazard refused (its level differs from the item's default
    without a reason): the batch is applied again one mutation at a time and exactly that hazard is kept in
    quarantine; everything else, the second inspection's hazard and both submissions included, is applied."""
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    first_id, first = inspection_batch(device, enterprise_id, catalogue_id, codes)
    second_id, second = inspection_batch(device, enterprise_id, catalogue_id, codes)
    bad = next(m for m in first if m["entity"] == "hazard")
    bad["data"]["level"] = "general" if bad["data"]["level"] == "major" else "major"
    reply = device.push([*first, *second]).get_json()
    statuses = {r["seq"]: (r["status"], r["code"]) for r in reply["results"]}
    assert statuses.pop(bad["seq"]) == ("quarantined", "422.44")
    assert set(statuses.values()) == {("applied", None)}, reply
    with app.app_context():
        assert [q.seq for q in _quarantined()] == [bad["seq"]]
        assert db.session.get(Hazard, uuid.UUID(bad["id"])) is None
        good = next(m for m in second if m["entity"] == "hazard")
        stored = db.session.get(Hazard, uuid.UUID(good["id"]))
        assert stored is not None and len(stored.events) == 1
        for inspection_id in (first_id, second_id):
            inspection = db.session.get(Inspection, uuid.UUID(inspection_id))
            assert inspection is not None and inspection.status == InspectionStatus.submitted
            assert [p.ordinal for p in inspection.participants] == [0, 1]


def test_rows_kept_aside_that_a_cascade_took_into_the_session_are_written_once_by_the_flush(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should some handler relate a new row to one the batch keeps aside without taking it back out of the session
    (here: the withdrawal's handler, made blind to the hazard being kept aside), the kept rows are left to the
    flush, all of them, instead of being inserted twice: no savepoint, every row once."""
    from server.sync_handlers import hazards as hazard_handlers

    monkeypatch.setattr(hazard_handlers, "is_staged", lambda *_args: False)
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=False)
    hazard = next(m for m in batch if m["entity"] == "hazard")
    withdrawal = device.mutation("hazard_event", {"hazard_id": hazard["id"], "kind": "withdrawn",
                                                  "at": "2026-06-10T10:00:00+08:00"})  # fmt: skip
    with statements_run(app) as seen:
        reply = device.push([*batch, withdrawal]).get_json()
    assert {r["status"] for r in reply["results"]} == {"applied"}, reply
    assert not [s for s in seen if s.startswith("SAVEPOINT")], "the batch fell back to one at a time"
    with app.app_context():
        row = db.session.get(Hazard, uuid.UUID(hazard["id"]))
        assert row is not None and row.state == HazardState.withdrawn
        assert sorted(e.kind.value for e in row.events) == ["found", "withdrawn"]
        assert sorted(_answers(inspection_id)) == sorted(codes)
        inspection = db.session.get(Inspection, uuid.UUID(inspection_id))
        assert inspection is not None and [p.name for p in inspection.participants] == ["张建国", "刘晓燕"]
