"""Push and pull over HTTP, as DESIGN §4 specifies them: exactly once, in order, never blocked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask

from server.domain.hazards import HazardState
from server.domain.inspections import InspectionStatus, ReviewOutcome
from server.extensions import db
from server.models import (
    Device as DeviceRow,
)
from server.models import (
    Enterprise,
    Hazard,
    HazardEvent,
    Inspection,
    ItemResult,
    Quarantine,
    Region,
    ReviewDecision,
    SyncMutation,
    User,
)
from tests.integration.sync_helpers import Device, enterprise_and_catalogue, inspection_batch


def _count(model: object) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)  # type: ignore[arg-type]


def test_a_whole_inspection_is_applied_once_even_when_pushed_again(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    first = device.push(batch)
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["device_id"] == device.device_id and body["last_seq"] == len(batch)
    assert [r["status"] for r in body["results"]] == ["applied"] * len(batch), body["results"]
    again = device.push(batch)
    assert [r["status"] for r in again.get_json()["results"]] == ["duplicate"] * len(batch)
    with app.app_context():
        inspection = db.session.get(Inspection, uuid.UUID(inspection_id))
        assert inspection is not None and inspection.status == InspectionStatus.submitted
        assert inspection.submitted_received_at is not None and len(inspection.participants) == 2
        # The demo's own inspections are in the database too: count this one's rows only.
        answers = sa.select(ItemResult).where(ItemResult.inspection_id == inspection.id)
        assert _count(answers.subquery()) == len(codes)
        hazard = db.session.scalar(sa.select(Hazard).where(Hazard.inspection_id == inspection.id))
        assert hazard is not None and hazard.state == HazardState.found
        events = db.session.scalars(sa.select(HazardEvent).where(HazardEvent.hazard_id == hazard.id))
        assert [e.kind.value for e in events] == ["found"]
        assert [
            m.seq for m in db.session.scalars(sa.select(SyncMutation).order_by(SyncMutation.seq))
        ] == list(range(1, len(batch) + 1))
        assert _count(Quarantine) == 0


def test_a_batch_read_of_enterprises_still_refuses_each_one_out_of_scope(app: Flask) -> None:
    """The enterprises a batch names are read together; another county's enterprise (it exists) and an id that is
    no UUID are each refused on their own mutation, and the visible enterprise's inspection is applied."""
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    with app.app_context():
        elsewhere = db.session.scalar(sa.select(Enterprise.id).where(Enterprise.name.like("临县%")).limit(1))
    assert elsewhere is not None
    header = {"catalogue_id": catalogue_id, "kind": "county", "started_at": "2026-06-10T08:00:00+08:00"}
    foreign = device.mutation("inspection", {**header, "enterprise_id": str(elsewhere)})
    malformed = device.mutation("inspection", {**header, "enterprise_id": "not-a-uuid"})
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    reply = device.push([foreign, malformed, *batch]).get_json()
    statuses = {r["seq"]: (r["status"], r["code"]) for r in reply["results"]}
    assert statuses[foreign["seq"]] == ("quarantined", "422.47")
    assert statuses[malformed["seq"]][0] == "quarantined"
    assert {statuses[m["seq"]] for m in batch} == {("applied", None)}
    with app.app_context():
        stored = db.session.get(Inspection, uuid.UUID(inspection_id))
        assert stored is not None and stored.status == InspectionStatus.submitted
        assert db.session.get(Inspection, uuid.UUID(foreign["id"])) is None
        assert db.session.get(Inspection, uuid.UUID(malformed["id"])) is None


def test_invalid_mutations_are_quarantined_whole_and_never_block_the_queue(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=False)
    unknown = device.mutation("spaceship", {"x": 1})
    server_owned = device.mutation("inspection", {"status": "approved"}, id=inspection_id)
    not_writable = device.mutation("item_result", {"inspection_id": inspection_id, "item_code": codes[0],
                                                   "result": "compliant", "reviewed_by": "me"})  # fmt: skip
    foreign = device.mutation("inspection", {"enterprise_id": str(uuid.uuid4()), "catalogue_id": catalogue_id,
                                             "kind": "county", "started_at": "2026-06-10T08:00:00+08:00"})  # fmt: skip
    after = device.mutation("item_result", {"inspection_id": inspection_id, "item_code": codes[0],
                                            "result": "compliant"}, id=batch[1]["id"])  # fmt: skip
    reply = device.push([*batch, unknown, server_owned, not_writable, foreign, after]).get_json()
    statuses = {r["seq"]: (r["status"], r["code"]) for r in reply["results"]}
    assert statuses[unknown["seq"]] == ("quarantined", "422.42")
    assert statuses[server_owned["seq"]] == ("quarantined", "422.44")
    assert statuses[not_writable["seq"]] == ("quarantined", "422.43")
    assert statuses[foreign["seq"]] == ("quarantined", "422.47")
    assert statuses[after["seq"]] == ("applied", None)
    assert reply["last_seq"] == after["seq"]
    with app.app_context():
        kept = db.session.scalars(sa.select(Quarantine).order_by(Quarantine.seq)).all()
        assert [q.seq for q in kept] == [
            unknown["seq"],
            server_owned["seq"],
            not_writable["seq"],
            foreign["seq"],
        ]
        assert kept[0].payload["data"] == {"x": 1} and kept[0].payload["entity"] == "spaceship"
        assert "Unknown entity" in kept[0].reason and "未知" in kept[0].reason
        answer = db.session.get(ItemResult, uuid.UUID(batch[1]["id"]))
        assert answer is not None and answer.result.value == "compliant"


def test_a_gap_stops_the_batch_and_nothing_after_it_is_applied(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    _inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    reply = device.push([batch[0], *batch[2:]]).get_json()
    assert reply["last_seq"] == 1
    assert [r["status"] for r in reply["results"]] == ["applied"] + ["not_processed"] * (len(batch) - 2)
    reply = device.push(batch[1:]).get_json()
    assert reply["last_seq"] == len(batch)
    assert all(r["status"] == "applied" for r in reply["results"])


def test_reordered_batch_is_applied_in_seq_order(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    _inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    reply = device.push(list(reversed(batch))).get_json()
    assert reply["last_seq"] == len(batch)
    assert {r["status"] for r in reply["results"]} == {"applied"}


def test_the_same_seq_twice_in_one_batch_is_a_duplicate_not_a_gap(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    _inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=False)
    reply = device.push([batch[0], batch[0], batch[1]]).get_json()
    assert [r["status"] for r in reply["results"]] == ["applied", "duplicate", "applied"], reply
    assert reply["last_seq"] == 2
    # The same seq with other content in one batch: the first is applied, the second kept aside as a reuse.
    other = {**batch[2], "data": {**batch[2]["data"], "note": "另一内容"}}
    reply = device.push([batch[2], other, batch[3]]).get_json()
    assert [(r["status"], r["code"]) for r in reply["results"]] == [
        ("applied", None), ("duplicate", "422.48"), ("applied", None)], reply  # fmt: skip
    with app.app_context():
        assert _count(Quarantine) == 1


def test_a_replay_of_a_quarantined_mutation_says_it_was_quarantined(app: Flask) -> None:
    """A device whose reply was lost sends the batch again: it must still hear that a mutation was refused."""
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    _inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=False)
    batch[1]["data"]["item_code"] = "XX-99"  # refused: no such item
    first = device.push(batch[:3]).get_json()
    replay = device.push(batch[:3]).get_json()  # the first reply never reached the tablet
    assert [(r["status"], r["code"]) for r in first["results"]] == [
        ("applied", None), ("quarantined", "422.44"), ("applied", None)]  # fmt: skip
    assert [(r["status"], r["code"]) for r in replay["results"]] == [
        ("duplicate", None), ("quarantined", "422.44"), ("duplicate", None)]  # fmt: skip
    assert replay["results"][1]["message"] == first["results"][1]["message"]
    with app.app_context():
        assert _count(Quarantine) == 1


def test_a_reused_seq_with_other_content_is_recorded_not_applied(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    _inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=False)
    device.push(batch)
    forged = {**batch[1], "data": {**batch[1]["data"], "note": "改过"}}
    for _ in range(2):
        result = device.push([forged]).get_json()["results"][0]
        assert result["status"] == "duplicate" and result["code"] == "422.48"
    with app.app_context():
        assert _count(Quarantine) == 1
        answer = db.session.get(ItemResult, uuid.UUID(batch[1]["id"]))
        assert answer is not None and answer.note == batch[1]["data"]["note"]


def test_sealed_inspection_cannot_change_and_submission_needs_every_item(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    missing_one = [m for m in batch if m["data"].get("item_code") != codes[-1]]
    for index, mutation in enumerate(missing_one, 1):
        mutation["seq"] = index
    reply = device.push(missing_one).get_json()
    assert reply["results"][-1]["status"] == "quarantined" and codes[-1] in reply["results"][-1]["message"]
    device.seq = reply["last_seq"]
    late = device.mutation(
        "item_result", {"inspection_id": inspection_id, "item_code": codes[-1], "result": "compliant"}
    )
    submit = device.mutation("inspection", {"status": "submitted", "finished_at": "2026-06-10T11:00:00+08:00"},
                             id=inspection_id)  # fmt: skip
    assert {r["status"] for r in device.push([late, submit]).get_json()["results"]} == {"applied"}
    edit = device.mutation("item_result", {"inspection_id": inspection_id, "item_code": codes[0], "result": "compliant"},
                           id=batch[1]["id"])  # fmt: skip
    assert device.push([edit]).get_json()["results"][0]["code"] == "422.46"


def test_batch_limits_and_malformed_requests(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    too_many = [device.mutation("x", {}) for _ in range(501)]
    reply = device.push(too_many)
    assert reply.status_code == 413 and reply.get_json()["code"] == "413.2"
    big = device.client.post("/api/sync/push", data=b"{" + b" " * (9 * 1024 * 1024) + b"}", headers={
        **device.headers, "Content-Type": "application/json"})  # fmt: skip
    assert big.status_code == 413 and big.get_json()["code"] == "413.3"
    broken = device.client.post("/api/sync/push", data=b"{not json", headers={
        **device.headers, "Content-Type": "application/json"})  # fmt: skip
    assert broken.status_code == 400 and broken.get_json()["code"] in ("400.1", "400.2")
    no_seq = device.push([{"entity": "inspection", "id": str(uuid.uuid4()), "op": "upsert", "data": {},
                           "at": "2026-06-10T08:00:00+08:00"}])  # fmt: skip
    assert no_seq.status_code == 400 and "seq" in no_seq.get_json()["message"]
    old = device.client.post("/api/sync/push", json={"device_id": device.device_id, "schema": 99, "mutations": []},
                             headers=device.headers)  # fmt: skip
    assert old.status_code == 400 and old.get_json()["code"] == "400.40"
    with app.app_context():
        assert _count(SyncMutation) == 0


def test_foreign_device_and_revoked_token_are_refused(app: Flask) -> None:
    mine = Device(app, "xx_insp1")
    other = Device(app, "xx_insp2")
    reply = mine.push([mine.mutation("x", {})], device_id=other.device_id)
    assert reply.status_code == 403 and reply.get_json()["code"] == "403.40"
    assert mine.client.post("/api/sync/push", json={"device_id": mine.device_id, "schema": 1, "mutations": []}
                            ).status_code == 401  # fmt: skip
    with app.app_context():
        row = db.session.get(DeviceRow, uuid.UUID(mine.device_id))
        assert row is not None
        row.revoked_at = datetime.now(UTC)
        db.session.commit()
    # A revoked (perhaps lost) tablet's pushes are kept in quarantine for review, never applied; it pulls nothing.
    mine.seq = 0  # the refused pushes above applied nothing
    revoked = mine.push([mine.mutation("x", {})])
    assert revoked.status_code == 200
    assert [(r["status"], r["code"]) for r in revoked.get_json()["results"]] == [("quarantined", "401.2")]
    assert mine.client.get("/api/sync/pull", headers=mine.headers).get_json()["code"] == "401.2"
    with app.app_context():
        assert db.session.scalar(sa.select(SyncMutation.outcome)) == "quarantined"


def test_pull_pages_in_commit_order_and_filters_by_scope(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    changes, cursor, reset = device.pull_all(limit=7)
    assert reset is True
    by_entity: dict[str, list[dict[str, object]]] = {}
    for change in changes:
        by_entity.setdefault(str(change["entity"]), []).append(change)
    names = [c["data"]["name"] for c in by_entity["enterprise"]]  # type: ignore[index]
    assert len(names) >= 30 and not any(str(n).startswith("临县") for n in names)
    assert len(by_entity["catalogue"]) == 1 and len(by_entity["catalogue"][0]["data"]["items"]) >= 25  # type: ignore[index]
    assert len({c["id"] for c in changes}) == len(changes)
    again, _, reset2 = device.pull_all(cursor)
    assert again == [] and reset2 is False
    other = Device(app, "lx_insp1")
    theirs, _, _ = other.pull_all()
    assert all(str(c["data"]["name"]).startswith("临县") for c in theirs if c["entity"] == "enterprise")  # type: ignore[index]


def test_own_inspections_and_review_decisions_flow_back(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    _, cursor, _ = device.pull_all()
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    device.push(batch)
    changes, cursor, _ = device.pull_all(cursor)
    entities = {c["entity"] for c in changes}
    assert {"inspection", "item_result", "hazard", "hazard_event"} <= entities
    colleague = Device(app, "xx_insp3")
    assert not any(c["entity"] == "inspection" and c["id"] == inspection_id for c in colleague.pull_all()[0])
    with app.app_context():
        reviewer = db.session.scalar(sa.select(User).where(User.username == "xx_sup"))
        assert reviewer is not None
        db.session.add(ReviewDecision(inspection_id=uuid.UUID(inspection_id), reviewer_id=reviewer.id,
                                      outcome=ReviewOutcome.return_, comment="照片不清晰，请补拍"))  # fmt: skip
        db.session.commit()
    changes, cursor, _ = device.pull_all(cursor)
    assert [(c["entity"], c["data"]["comment"]) for c in changes] == [
        ("review_decision", "照片不清晰，请补拍")
    ]  # type: ignore[index]


def test_deletions_travel_as_tombstones(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=False)
    device.push(batch)
    _, cursor, _ = device.pull_all()
    reply = device.push([device.mutation("inspection", {}, id=inspection_id, op="delete")]).get_json()
    assert reply["results"][0]["status"] == "applied"
    changes, _, _ = device.pull_all(cursor)
    assert [(c["entity"], c["id"], c["deleted"], c["data"]) for c in changes] == [
        ("inspection", inspection_id, True, None)
    ]


def test_scope_change_forces_a_full_resync(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    first, cursor, _ = device.pull_all()
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "xx_insp1"))
        zone = db.session.scalar(sa.select(Region).where(Region.code == "141123-Z1"))
        assert user is not None and zone is not None
        user.region_id = zone.id
        db.session.commit()
    changes, _, reset = device.pull_all(cursor)
    assert reset is True
    enterprises = [c for c in changes if c["entity"] == "enterprise"]
    assert 0 < len(enterprises) < len([c for c in first if c["entity"] == "enterprise"])
    bad = device.client.get(
        "/api/sync/pull", query_string={"cursor": "forged.cursor"}, headers=device.headers
    )
    assert bad.status_code == 400 and bad.get_json()["code"] == "400.41"


def test_a_withdrawn_hazard_syncs_as_withdrawn_and_counts_nowhere(app: Flask) -> None:
    """Issue 15 item 1: 不符合 with a saved hazard, then changed to 符合 and the hazard withdrawn: after sync the
    server holds no live hazard for it, the withdrawal is on the hazard's log, and the seal still verifies."""
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    _inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=False)
    hazard = next(m for m in batch if m["entity"] == "hazard")
    first_answer = next(m for m in batch if m["entity"] == "item_result")
    assert {r["status"] for r in device.push(batch).get_json()["results"]} == {"applied"}
    # Split across pushes, as an outage would: the withdrawal and the changed answer arrive later.
    answer = device.mutation(
        "item_result", {**first_answer["data"], "result": "compliant"}, id=first_answer["id"]
    )
    withdrawal = device.mutation("hazard_event", {"hazard_id": hazard["id"], "kind": "withdrawn",
                                                  "at": "2026-06-10T10:00:00+08:00", "comment": "检查结论改为符合"})  # fmt: skip
    assert [r["status"] for r in device.push([answer, withdrawal]).get_json()["results"]] == [
        "applied",
        "applied",
    ]
    with app.app_context():
        row = db.session.get(Hazard, uuid.UUID(hazard["id"]))
        assert row is not None and row.state == HazardState.withdrawn and row.deleted_at is not None
        kinds = [
            e.kind.value
            for e in db.session.scalars(sa.select(HazardEvent).where(HazardEvent.hazard_id == row.id))
        ]
        assert sorted(kinds) == ["found", "withdrawn"]
    # The tablet learns it as gone (a tombstone), never as a found hazard.
    changes, _cursor, _reset = device.pull_all()
    mine = [c for c in changes if c["entity"] == "hazard" and c["id"] == hazard["id"]]
    assert mine and mine[-1]["deleted"] is True
    # Withdrawing again, or anything after, is refused and quarantined (never silently applied).
    again = device.mutation("hazard_event", {"hazard_id": hazard["id"], "kind": "withdrawn",
                                             "at": "2026-06-10T10:05:00+08:00"})  # fmt: skip
    assert device.push([again]).get_json()["results"][0]["status"] == "quarantined"


def test_only_the_author_may_withdraw_and_only_while_the_inspection_is_a_draft(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    _inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=True)
    hazard = next(m for m in batch if m["entity"] == "hazard")
    assert {r["status"] for r in device.push(batch).get_json()["results"]} == {"applied"}
    late = device.mutation("hazard_event", {"hazard_id": hazard["id"], "kind": "withdrawn",
                                            "at": "2026-06-10T12:00:00+08:00"})  # fmt: skip
    assert (
        device.push([late]).get_json()["results"][0]["code"] == "422.46"
    )  # sealed: only the web may act now

    draft_id, draft = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=False)
    assert {r["status"] for r in device.push(draft).get_json()["results"]} == {"applied"}
    draft_hazard = next(m for m in draft if m["entity"] == "hazard")
    colleague = Device(app, "xx_insp2")
    theirs = colleague.mutation("hazard_event", {"hazard_id": draft_hazard["id"], "kind": "withdrawn",
                                                 "at": "2026-06-10T12:00:00+08:00"})  # fmt: skip
    assert colleague.push([theirs]).get_json()["results"][0]["status"] == "quarantined"
    with app.app_context():
        row = db.session.get(Hazard, uuid.UUID(draft_hazard["id"]))
        assert row is not None and row.state == HazardState.found and row.deleted_at is None
        assert db.session.get(Inspection, uuid.UUID(draft_id)) is not None


def test_the_review_flags_a_hazard_on_an_item_answered_compliant(app: Flask) -> None:
    """Issue 15 item 1: a hazard left behind when the answer changed is flagged for the supervisor."""
    from tests.conftest import login

    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=False)
    first_answer = next(m for m in batch if m["entity"] == "item_result")
    changed = device.mutation(
        "item_result", {**first_answer["data"], "result": "compliant"}, id=first_answer["id"]
    )
    submit = device.mutation("inspection", {"status": "submitted", "finished_at": "2026-06-10T11:00:00+08:00"},
                             id=inspection_id)  # fmt: skip
    assert {r["status"] for r in device.push([*batch, changed, submit]).get_json()["results"]} == {"applied"}
    client = app.test_client()
    login(client, "xx_sup")
    body = client.get(f"/api/inspections/{inspection_id}").get_json()
    assert "hazard_answer_mismatch" in [f["code"] for f in body["flags"]]
    page = client.get(f"/inspections/{inspection_id}").get_data(as_text=True)
    assert "隐患所在检查项的结论不是“不符合”" in page


def test_a_draft_photo_can_be_taken_back_by_its_device_never_after_submission(app: Flask) -> None:
    """Issue 15 item 6: delete or retake a photo before submitting; the row stays, marked deleted."""
    from server.models import Photo

    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=False)
    answer = next(m for m in batch if m["entity"] == "item_result")
    shot = device.mutation("photo", {"sha256": "a" * 64, "entity_type": "item_result", "entity_id": answer["id"],
                                     "captured_at": "2026-06-10T09:40:00+08:00"})  # fmt: skip
    kept = device.mutation("photo", {"sha256": "b" * 64, "entity_type": "item_result", "entity_id": answer["id"],
                                     "captured_at": "2026-06-10T09:41:00+08:00"})  # fmt: skip
    retake = device.mutation("photo", {}, id=shot["id"], op="delete")
    assert {r["status"] for r in device.push([*batch, shot, kept, retake]).get_json()["results"]} == {
        "applied"
    }
    with app.app_context():
        rows = {
            str(p.id): p
            for p in db.session.scalars(sa.select(Photo).where(Photo.entity_id == uuid.UUID(answer["id"])))
        }
        assert rows[shot["id"]].deleted_at is not None and rows[kept["id"]].deleted_at is None
    again = device.mutation("photo", {}, id=shot["id"], op="delete")
    assert device.push([again]).get_json()["results"][0]["status"] == "applied"  # idempotent
    colleague = Device(app, "xx_insp2")
    theirs = colleague.mutation("photo", {}, id=kept["id"], op="delete")
    assert colleague.push([theirs]).get_json()["results"][0]["code"] == "422.45"
    submit = device.mutation("inspection", {"status": "submitted", "finished_at": "2026-06-10T11:00:00+08:00"},
                             id=inspection_id)  # fmt: skip
    late = device.mutation("photo", {}, id=kept["id"], op="delete")
    assert [r["status"] for r in device.push([submit, late]).get_json()["results"]] == [
        "applied",
        "quarantined",
    ]
    with app.app_context():
        photo = db.session.get(Photo, uuid.UUID(kept["id"]))
        assert photo is not None and photo.deleted_at is None


def test_the_catalogue_carries_the_bureaus_time_zone(app: Flask) -> None:
    """Issue 12: the tablet counts today and overdue in the zone the server is configured with."""
    device = Device(app, "xx_insp1")
    app.config["TIMEZONE"] = "Asia/Urumqi"
    changes, _cursor, _reset = device.pull_all()
    catalogues = [c for c in changes if c["entity"] == "catalogue"]
    assert catalogues and {c["data"]["timezone"] for c in catalogues} == {"Asia/Urumqi"}


def test_colleagues_are_pulled_with_names_and_badges_for_the_team_picker(app: Flask) -> None:
    """Issue 15 item 10: the region's inspectors reach the tablet (names, badge numbers), a change follows."""
    device = Device(app, "xx_insp1")
    changes, cursor, _reset = device.pull_all()
    people = {c["data"]["display_name"]: c["data"] for c in changes if c["entity"] == "colleague"}
    with app.app_context():
        county = db.session.scalars(
            sa.select(User).where(
                User.role == "inspector",
                User.region_id == db.session.scalar(sa.select(Region.id).where(Region.code == "141123")),
            )
        ).all()
        others = db.session.scalars(
            sa.select(User).where(User.username.in_(["lx_insp1", "xx_sup", "qy_jinxing"]))
        ).all()
    assert {u.display_name for u in county} == set(people)
    assert all(
        people[u.display_name]["badge_no"] == u.badge_no and people[u.display_name]["user_id"] == u.id
        for u in county
    )
    assert not {u.display_name for u in others} & set(people)
    with app.app_context():
        colleague = db.session.scalar(sa.select(User).where(User.username == "xx_insp2"))
        assert colleague is not None
        colleague.badge_no = "14112399999"
        db.session.commit()
    later, _cursor, _reset = device.pull_all(cursor)
    assert [c["data"]["badge_no"] for c in later if c["entity"] == "colleague"] == ["14112399999"]
    enterprise = Device(app, "qy_jinxing")
    assert not [c for c in enterprise.pull_all()[0] if c["entity"] == "colleague"]
