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
