"""However a device's outbox is cut into pushes, the server ends in the same state.

A tablet that works through an outage keeps retrying the batch it read before the inspector went on, so the
outbox reaches the server in pieces: changes 1–19, then the submit alone, or any other cut. Every entity
handler must give the one-push result for every such cut. A realistic outbox (start, answers and a changed
answer, hazards and their edit, photos, signatures, submit with the seal, edits after sealing, an enterprise's
ledger and its rectification report) is pushed whole once, then cut at every point and at random points,
each time by a fresh device with fresh ids; the server's rows, normalised to the outbox's own names, must
equal the one-push rows.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.extensions import db
from server.models import (
    Hazard,
    HazardEvent,
    Inspection,
    InspectionParticipant,
    ItemResult,
    Photo,
    Quarantine,
)
from server.models.sync_state import SyncMutation
from tests.integration.sync_helpers import T0, Device, SigningDevice, enterprise_and_catalogue

#: Columns the server stamps itself (times of receipt, change numbers): they differ from run to run.
VOLATILE = {
    "received_at",
    "submitted_received_at",
    "stored_at",
    "processed_at",
    "change_no",
    "digest",
    "payload",
    "payload_sha256",
    "device_id",
    "created_by_id",
    "actor_id",
    "id",
    "sealed_sha256",
    "sealed_record",
    "device_signature",
    "created_at",
    "updated_at",
}


@dataclass(frozen=True)
class Step:
    """One outbox entry with logical names in place of ids: ``{"ref": name}`` values become the ids."""

    entity: str
    name: str
    data: dict[str, Any]
    op: str = "upsert"


def _at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def inspector_outbox(codes: list[str], enterprise_id: str, catalogue_id: str) -> list[Step]:
    """What the PWA writes during one inspection, in order, including the mistakes and second thoughts."""
    ref = lambda name: {"ref": name}  # noqa: E731
    steps = [
        Step(
            "inspection",
            "insp",
            {
                "enterprise_id": enterprise_id,
                "catalogue_id": catalogue_id,
                "kind": "unannounced",
                "started_at": _at(0),
                "start_lat": 38.47,
                "start_lon": 111.15,
                "start_accuracy_m": 12.0,
                "participants": [
                    {"role": "inspector", "name": "张建国", "badge_no": "14112301001"},
                    {"role": "inspector", "name": "刘晓燕", "badge_no": "14112301002"},
                    {"role": "expert", "name": "赵工"},
                ],
            },
        )
    ]
    for index, code in enumerate(codes):
        result = "non_compliant" if index == 0 else "compliant"
        steps.append(
            Step(
                "item_result",
                f"r{index}",
                {
                    "inspection_id": ref("insp"),
                    "item_code": code,
                    "result": result,
                    "note": f"检查 {code}",
                    "answered_at": _at(1 + index),
                },
            )
        )
    steps += [
        Step(
            "hazard",
            "h0",
            {
                "enterprise_id": enterprise_id,
                "inspection_id": ref("insp"),
                "item_code": codes[0],
                "description": "除尘系统未采取控爆措施",
                "level": "major",
                "found_at": _at(30),
                "deadline": "2026-07-10",
                "place": "砂光车间",
                "terms": {"responsible_person": "王建平", "measures": "加装泄爆片"},
                "funds_yuan": "30000",
                "five_in_place": {"measures": True, "funds": False},
            },
        ),
        Step(
            "photo",
            "p0",
            {
                "sha256": "a" * 64,
                "entity_type": "hazard",
                "entity_id": ref("h0"),
                "captured_at": _at(31),
                "lat": 38.47,
                "lon": 111.15,
                "accuracy_m": 8.0,
            },
        ),
        Step(
            "photo",
            "p1",
            {
                "sha256": "b" * 64,
                "entity_type": "item_result",
                "entity_id": ref("r1"),
                "captured_at": _at(32),
                "lat": 38.47,
                "lon": 111.15,
                "accuracy_m": 9.0,
            },
        ),
        # Second thoughts: a note added, an answer changed, the hazard's deadline moved.
        Step(
            "item_result",
            "r1",
            {
                "inspection_id": ref("insp"),
                "item_code": codes[1],
                "result": "compliant",
                "note": "已复核，符合",
                "answered_at": _at(40),
            },
        ),
        Step(
            "item_result",
            "r2",
            {
                "inspection_id": ref("insp"),
                "item_code": codes[2],
                "result": "not_applicable",
                "note": "无此设备",
                "answered_at": _at(41),
            },
        ),
        Step(
            "hazard",
            "h0",
            {
                "deadline": "2026-07-20",
                "terms": {"responsible_person": "王建平", "measures": "加装泄爆片并定期检查"},
            },
        ),
        Step(
            "inspection",
            "insp",
            {"signatures": [{"role": "inspector", "name": "张建国", "sha256": "c" * 64, "at": _at(50)}]},
        ),
        Step(
            "inspection",
            "insp",
            {
                "signatures": [
                    {"role": "inspector", "name": "张建国", "sha256": "c" * 64, "at": _at(50)},
                    {"role": "inspector", "name": "刘晓燕", "sha256": "d" * 64, "at": _at(51)},
                    {"role": "enterprise_rep", "name": "李厂长", "sha256": "e" * 64, "at": _at(52)},
                ]
            },
        ),
        Step(
            "inspection",
            "insp",
            {
                "status": "submitted",
                "finished_at": _at(60),
                "end_lat": 38.47,
                "end_lon": 111.15,
                "end_accuracy_m": 10.0,
                "participants": [
                    {"role": "inspector", "name": "张建国", "badge_no": "14112301001"},
                    {"role": "inspector", "name": "刘晓燕", "badge_no": "14112301002"},
                    {"role": "expert", "name": "赵工"},
                    {"role": "enterprise_rep", "name": "李厂长"},
                ],
                "seal": True,
            },
        ),
        # After sealing: an answer edit is refused (quarantined); a late photo of the hazard is still evidence.
        Step(
            "item_result",
            "r0",
            {
                "inspection_id": ref("insp"),
                "item_code": codes[0],
                "result": "compliant",
                "note": "改口",
                "answered_at": _at(70),
            },
        ),
        Step(
            "photo",
            "p2",
            {
                "sha256": "f" * 64,
                "entity_type": "hazard",
                "entity_id": ref("h0"),
                "captured_at": _at(71),
                "lat": 38.47,
                "lon": 111.15,
                "accuracy_m": 7.0,
            },
        ),
    ]
    return steps


def enterprise_outbox(enterprise_id: str) -> list[Step]:
    """What an enterprise's device writes: ledger entries, an edit, a deletion and a rectification report."""
    ref = lambda name: {"ref": name}  # noqa: E731
    entry = {
        "enterprise_id": enterprise_id,
        "description": "2号除尘器泄爆片锈蚀",
        "level": "general",
        "found_at": _at(0),
        "deadline": "2026-06-30",
        "place": "抛丸车间",
        "terms": {"responsible_person": "王建平", "measures": "更换泄爆片"},
    }
    return [
        Step("ledger_entry", "l0", entry),
        Step("ledger_entry", "l1", {**entry, "description": "粉尘清扫记录缺失", "place": "打磨车间"}),
        Step(
            "photo",
            "lp0",
            {"sha256": "1" * 64, "entity_type": "hazard", "entity_id": ref("l0"), "captured_at": _at(5)},
        ),
        Step("ledger_entry", "l0", {"deadline": "2026-07-05", "funds_yuan": "1500"}),
        Step(
            "hazard_event",
            "e0",
            {"hazard_id": ref("l0"), "kind": "rectification_reported", "at": _at(20), "comment": "已更换"},
        ),
        Step(
            "photo",
            "lp1",
            {
                "sha256": "2" * 64,
                "entity_type": "hazard_event",
                "entity_id": ref("e0"),
                "captured_at": _at(21),
            },
        ),
        Step("ledger_entry", "l1", {}, op="delete"),
    ]


class Run:
    """One device pushing one copy of an outbox (fresh ids) in given pieces."""

    def __init__(self, device: Device, steps: list[Step]) -> None:
        self.device = device
        self.ids = {step.name: str(uuid.uuid4()) for step in steps}
        self.names = {value: key for key, value in self.ids.items()}
        self.mutations: list[dict[str, Any]] = []
        for step in steps:  # one by one: the submit's seal covers the answers written before it
            self.mutations.append(self._mutation(step))

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"ref"}:
            return self.ids[value["ref"]]
        if isinstance(value, dict):
            return {k: self._resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        return value

    def _mutation(self, step: Step) -> dict[str, Any]:
        data = self._resolve({k: v for k, v in step.data.items() if k != "seal"})
        if step.data.get("seal"):
            data.update(self._seal())
        return self.device.mutation(step.entity, data, id=self.ids[step.name], op=step.op)

    def _seal(self) -> dict[str, str]:
        """The seal over the answers as they stand when the submit is written (later mutations never change it)."""
        answers: dict[str, list[str]] = {}
        for m in self.mutations:
            if m["entity"] == "item_result":
                answers[m["data"]["item_code"]] = [
                    m["data"]["item_code"],
                    m["data"]["result"],
                    m["data"]["note"],
                ]
        record = {
            "v": 1,
            "inspection": {"id": self.ids["insp"]},
            "results": sorted(answers.values()),
            "photos": [],
        }
        assert isinstance(self.device, SigningDevice)
        return self.device.seal(record)

    def push_in(self, cuts: list[int]) -> None:
        """Push the outbox as consecutive pieces ending at each cut (and the rest)."""
        bounds = [0, *sorted(set(cuts)), len(self.mutations)]
        for start, end in itertools.pairwise(bounds):
            if start == end:
                continue
            reply = self.device.push(self.mutations[start:end])
            assert reply.status_code == 200, reply.get_json()
            body = reply.get_json()
            assert body["last_seq"] == self.mutations[end - 1]["seq"], body
            assert all(r["status"] in ("applied", "quarantined") for r in body["results"]), body

    def snapshot(self) -> dict[str, Any]:
        """Every row the outbox made, with its ids replaced by the outbox's names."""
        ids = [uuid.UUID(v) for v in self.ids.values()]
        device_id = uuid.UUID(self.device.device_id)
        queries: dict[str, Any] = {
            "inspection": sa.select(Inspection).where(Inspection.id.in_(ids)),
            "participant": sa.select(InspectionParticipant).where(
                InspectionParticipant.inspection_id.in_(ids)
            ),
            "item_result": sa.select(ItemResult).where(ItemResult.id.in_(ids)),
            "hazard": sa.select(Hazard).where(Hazard.id.in_(ids)),
            "hazard_event": sa.select(HazardEvent).where(HazardEvent.hazard_id.in_(ids)),
            "photo": sa.select(Photo).where(Photo.id.in_(ids)),
            "quarantine": sa.select(Quarantine).where(Quarantine.device_id == device_id),
            "processed": sa.select(SyncMutation).where(SyncMutation.device_id == device_id),
        }
        with self.device.app.app_context():
            return {
                table: sorted((self._row(row) for row in db.session.scalars(query)), key=repr)
                for table, query in queries.items()
            }

    def _row(self, row: Any) -> dict[str, Any]:
        out = {}
        for column in sa.inspect(row).mapper.column_attrs:
            if column.key in VOLATILE:
                continue
            value = getattr(row, column.key)
            # When the server deleted it is its own clock's business; that it is deleted is the outbox's.
            out[column.key] = value is not None if column.key == "deleted_at" else self._plain(value)
        if "id" in sa.inspect(row).mapper.column_attrs:
            out["name"] = self.names.get(str(row.id), "?")
        return out

    def _plain(self, value: Any) -> Any:
        if isinstance(value, uuid.UUID):
            return self.names.get(str(value), "other")
        if isinstance(value, str) and value in self.names:
            return self.names[value]
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, datetime | date | Decimal):
            return str(value)
        if isinstance(value, dict):
            return {k: self._plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._plain(v) for v in value]
        return value


def differences(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """What differs between two snapshots, field by field (for a readable failure)."""
    out = []
    for table in want:
        if len(got[table]) != len(want[table]):
            out.append(f"{table}: {len(got[table])} rows, want {len(want[table])}")
            continue
        for g, w in zip(got[table], want[table], strict=True):
            out += [f"{table} {w.get('name')}.{k}: {g.get(k)!r} != {w[k]!r}" for k in w if g.get(k) != w[k]]
    return out


def _runner(app: Flask, username: str, make_steps: Callable[[], list[Step]]) -> Callable[[list[int]], Any]:
    def run(cuts: list[int]) -> Any:
        outbox = Run(SigningDevice(app, username), make_steps())
        outbox.push_in(cuts)
        return outbox.snapshot(), len(outbox.mutations)

    return run


def _inspector(app: Flask) -> Callable[[list[int]], Any]:
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    return _runner(app, "xx_insp1", lambda: inspector_outbox(codes, enterprise_id, catalogue_id))


def _enterprise(app: Flask) -> Callable[[list[int]], Any]:
    enterprise_id, _, _ = enterprise_and_catalogue(app, "兴县晋兴特钢有限公司")
    return _runner(app, "qy_jinxing", lambda: enterprise_outbox(enterprise_id))


def test_a_submit_pushed_apart_from_the_start_arrives_submitted_and_sealed(app: Flask) -> None:
    """The tester's case: everything but the submit in one push, the submit alone in the next."""
    run = _inspector(app)
    whole, length = run([])
    assert whole["inspection"][0]["status"] == "submitted" and whole["inspection"][0]["seal_verified"] is True
    apart, _ = run([length - 3])
    assert apart["inspection"][0]["status"] == "submitted", apart["quarantine"]
    assert differences(apart, whole) == []


def test_every_single_cut_of_an_inspectors_outbox_gives_the_one_push_state(app: Flask) -> None:
    run = _inspector(app)
    whole, length = run([])
    assert [q["reason_code"] for q in whole["quarantine"]] == ["422.46"]  # only the edit after sealing
    for cut in range(1, length):
        assert differences(run([cut])[0], whole) == [], f"cut after mutation {cut}"


def test_every_single_cut_of_an_enterprises_outbox_gives_the_one_push_state(app: Flask) -> None:
    run = _enterprise(app)
    whole, length = run([])
    assert whole["quarantine"] == [] and len(whole["hazard"]) == 2
    for cut in range(1, length):
        assert differences(run([cut])[0], whole) == [], f"cut after mutation {cut}"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=1, max_value=40), max_size=8))
def test_any_cut_into_several_pushes_gives_the_one_push_state(app: Flask, cuts: list[int]) -> None:
    run = _inspector(app)
    whole, length = run([])
    assert differences(run([c for c in cuts if c < length])[0], whole) == []
