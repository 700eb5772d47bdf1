"""The reference client against the real app: register, pull, inspect with photos, sync exactly once."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from server.domain.applicability import ApplicabilityRule, EnterpriseProfile
from server.domain.applicability import applicable_items as server_applicable_items
from server.domain.inspections import InspectionStatus
from server.extensions import db
from server.models import (
    Blob,
    Catalogue,
    Enterprise,
    Hazard,
    Inspection,
    ItemResult,
    Photo,
    Quarantine,
    Region,
    SyncMutation,
    User,
)
from server.models import Device as DeviceRow
from sync.backend import Limits
from sync.client import (
    Outbox,
    Response,
    RetriesExhausted,
    SimulatedInspection,
    SyncClient,
    SyncError,
    applicable_items,
    current_catalogue,
    main,
    simulate_inspection,
    submits_inspection,
)
from tests.conftest import DEMO_PASSWORD, login
from tests.integration.client_transport import FlakyTransport, FlaskClientTransport

NOW = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)


def _count(query: sa.Select[Any]) -> int:
    return int(db.session.scalar(query) or 0)


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    """The device's SQLite file."""
    with Outbox(tmp_path / "device.sqlite3") as box:
        yield box


@pytest.fixture
def transport(app: Flask) -> FlaskClientTransport:
    """The app, in-process."""
    return FlaskClientTransport.for_app(app)


@pytest.fixture
def sleeps() -> list[float]:
    """What the client would have slept."""
    return []


@pytest.fixture
def client(transport: FlaskClientTransport, outbox: Outbox, sleeps: list[float]) -> SyncClient:
    """A client that never really sleeps."""
    return SyncClient(transport, outbox, sleep=sleeps.append, rng=random.Random(1))


def _inspect(outbox: Outbox, tmp_path: Path, *, seed: int = 5, photos: int = 2, enterprise_index: int = 0,
             rate: float = 0.3, size: tuple[int, int] = (640, 480)) -> SimulatedInspection:  # fmt: skip
    enterprises = outbox.replica("enterprise")
    catalogue = current_catalogue(outbox.replica("catalogue"), NOW.date())
    assert enterprises and catalogue is not None
    return simulate_inspection(
        outbox, enterprises[enterprise_index], catalogue, rng=random.Random(seed), photo_dir=tmp_path / "photos",
        photos_per_hazard=photos, me=outbox.user, non_compliant_rate=rate, now=NOW, photo_size=size,
    )  # fmt: skip


def _assert_on_server_once(app: Flask, device_id: str, made: list[SimulatedInspection]) -> None:
    """Each simulated inspection is on the server exactly once, submitted, with every answer and photo."""
    with app.app_context():
        device = uuid.UUID(device_id)
        assert _count(
            sa.select(sa.func.count()).select_from(Inspection).where(Inspection.device_id == device)
        ) == len(made)
        for sim in made:
            inspection = db.session.get(Inspection, uuid.UUID(sim.inspection_id))
            assert inspection is not None and inspection.status == InspectionStatus.submitted
            assert len([p for p in inspection.participants if p.role == "inspector"]) == 2
            answers = (
                sa.select(sa.func.count())
                .select_from(ItemResult)
                .where(ItemResult.inspection_id == inspection.id)
            )
            assert _count(answers) == sim.items
            hazards = (
                sa.select(sa.func.count()).select_from(Hazard).where(Hazard.inspection_id == inspection.id)
            )
            assert _count(hazards) == sim.hazards
            hazard_ids = sa.select(Hazard.id).where(Hazard.inspection_id == inspection.id)
            photos = db.session.scalars(sa.select(Photo).where(Photo.entity_id.in_(hazard_ids))).all()
            assert sorted(p.sha256 for p in photos) == sorted(sim.photos)
            for photo in photos:
                blob = db.session.get(Blob, photo.sha256)
                assert blob is not None and blob.mime == "image/jpeg" and blob.size == photo.size
        store = app.extensions["sync"].blobs
        assert all(store.has(sha) for sim in made for sha in sim.photos)
        seqs = db.session.scalars(sa.select(SyncMutation.seq).where(SyncMutation.device_id == device)
                                  .order_by(SyncMutation.seq)).all()  # fmt: skip
        assert seqs == list(range(1, sum(m.mutations for m in made) + 1))
        assert _count(sa.select(sa.func.count()).select_from(Quarantine)) == 0


def test_register_pull_inspect_and_sync_exactly_once(
    app: Flask, client: SyncClient, outbox: Outbox, transport: FlaskClientTransport, tmp_path: Path
) -> None:
    device_id = client.register("xx_insp1", DEMO_PASSWORD, "测试平板")
    assert (
        outbox.device_id == device_id
        and outbox.token
        and outbox.user
        and outbox.user["username"] == "xx_insp1"
    )
    with app.app_context():
        row = db.session.get(DeviceRow, uuid.UUID(device_id))
        assert row is not None and row.label == "测试平板" and row.user.username == "xx_insp1"

    assert client.pull(limit=9) > 0
    names = [e["data"]["name"] for e in outbox.replica("enterprise")]
    assert len(names) >= 30 and not any(n.startswith("临县") for n in names)
    catalogues = outbox.replica("catalogue")
    assert len(catalogues) == 1 and len(catalogues[0]["data"]["items"]) >= 25

    made = _inspect(outbox, tmp_path)
    assert made.hazards >= 1 and len(made.photos) == 2 * made.hazards
    summary = client.sync(chunk_size=16 * 1024)
    assert summary.uploaded == len(made.photos)
    assert (summary.push.applied, summary.push.quarantined, summary.push.dropped) == (
        made.mutations,
        0,
        made.mutations,
    )
    assert outbox.pending_count() == 0 and outbox.blobs_to_upload() == []
    assert transport.log.count(("PUT", f"/api/sync/blobs/{made.photos[0]}")) > 1, "photos travel in chunks"
    _assert_on_server_once(app, device_id, [made])
    # The inspection came back through the pull, as the server now has it.
    mine = outbox.replica_get("inspection", made.inspection_id)
    assert mine is not None and mine["data"]["status"] == "submitted"

    transport.log.clear()
    again = client.sync()
    assert (again.uploaded, again.push.sent, again.pulled) == (0, 0, 0)
    assert transport.log == [("GET", "/api/sync/pull")]


def test_the_client_applicability_rule_matches_the_server(
    app: Flask, client: SyncClient, outbox: Outbox
) -> None:
    client.register("xx_insp1", DEMO_PASSWORD)
    client.pull()
    catalogue = current_catalogue(outbox.replica("catalogue"), NOW.date())
    assert catalogue is not None
    with app.app_context():
        items = db.session.get(Catalogue, uuid.UUID(catalogue["id"])).items  # type: ignore[union-attr]
        checked = 0
        for row in outbox.replica("enterprise"):
            enterprise = db.session.get(Enterprise, uuid.UUID(row["id"]))
            assert enterprise is not None
            profile: EnterpriseProfile = enterprise.profile()
            expected = [
                i.code
                for i in server_applicable_items(
                    items, profile, lambda i: ApplicabilityRule.from_dict(i.applies_when)
                )
            ]
            assert [i["code"] for i in applicable_items(catalogue["data"], row["data"])] == expected, row[
                "data"
            ]["name"]
            checked += 1
        assert checked >= 30


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_flaky_network_still_ends_with_everything_on_the_server_exactly_once(
    app: Flask, outbox: Outbox, tmp_path: Path, seed: int
) -> None:
    flaky = FlakyTransport(FlaskClientTransport.for_app(app), random.Random(seed), drop_request=0.15,
                           drop_reply=0.15, garble_reply=0.1, unavailable=0.05)  # fmt: skip
    sleeps: list[float] = []
    client = SyncClient(flaky, outbox, sleep=sleeps.append, rng=random.Random(seed), max_attempts=25)
    device_id = client.register("xx_insp2", DEMO_PASSWORD, "flaky")
    client.pull(limit=50)
    made = [
        _inspect(outbox, tmp_path, seed=seed + i, photos=2, enterprise_index=i, size=(320, 240))
        for i in range(3)
    ]
    for _round in range(20):
        try:
            client.sync(batch_size=7, chunk_size=8 * 1024)
        except RetriesExhausted:
            continue
        if outbox.pending_count() == 0 and not outbox.blobs_to_upload():
            break
    assert outbox.pending_count() == 0 and outbox.blobs_to_upload() == []
    assert flaky.faults.get("reply lost", 0) > 0 and flaky.faults.get("request lost", 0) > 0, flaky.faults
    assert client.retries == len(sleeps) > 0
    _assert_on_server_once(app, device_id, made)


def test_backoff_is_deterministic_for_a_seed(app: Flask, tmp_path: Path) -> None:
    def run(name: str) -> tuple[list[float], dict[str, int]]:
        with Outbox(tmp_path / f"{name}.sqlite3") as box:
            flaky = FlakyTransport(FlaskClientTransport.for_app(app), random.Random(9), 0.2, 0.2, 0.0, 0.1)
            sleeps: list[float] = []
            client = SyncClient(flaky, box, sleep=sleeps.append, rng=random.Random(4), max_attempts=30)
            client.register("xx_insp3", DEMO_PASSWORD)
            client.pull(limit=20)
            return sleeps, flaky.faults

    first, second = run("a"), run("b")
    assert first == second and first[0]


def test_simulate_command_against_the_app(
    app: Flask, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made: list[FlaskClientTransport] = []

    def factory(base_url: str, timeout: float) -> FlaskClientTransport:
        assert base_url == "http://testserver" and timeout == 30.0
        made.append(FlaskClientTransport.for_app(app))
        return made[-1]

    state = tmp_path / "sim" / "device.sqlite3"
    state.parent.mkdir()
    argv = ["simulate", "--base-url", "http://testserver", "--username", "xx_insp2", "--password", DEMO_PASSWORD,
            "--inspections", "2", "--photos-per-hazard", "2", "--state", str(state), "--seed", "7"]  # fmt: skip
    assert main(argv, transport_factory=factory) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["inspections"] == 2 and report["photos"] == 2 * report["hazards"] > 0
    assert report["applied"] == report["mutations"] and report["quarantined"] == report["pending"] == 0
    assert report["blobs_uploaded"] == report["photos"] and report["bytes_sent"] > report["photo_bytes"] > 0
    assert {"seconds", "retries", "requests"} <= report.keys()
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "xx_insp2"))
        assert user is not None
        # The simulated tablet's rows only: the demo gives xx_insp2 inspections of its own.
        simulated = uuid.UUID(report["device_id"])
        inspections = db.session.scalars(
            sa.select(Inspection).where(
                Inspection.created_by_id == user.id, Inspection.device_id == simulated
            )
        ).all()
        assert len(inspections) == 2 and {i.status for i in inspections} == {InspectionStatus.submitted}
        photos = sa.select(sa.func.count()).select_from(Photo).where(Photo.device_id == simulated)
        assert _count(photos) == report["photos"]
        assert any(p.user_id == user.id for i in inspections for p in i.participants)

    # The state persists: a second run reuses the device and continues its numbering.
    argv[argv.index("--inspections") + 1] = "1"
    assert main(argv, transport_factory=factory) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["device_id"] == report["device_id"]
    assert ("POST", "/api/devices") not in made[-1].log
    with app.app_context():
        assert (
            _count(sa.select(sa.func.count()).select_from(SyncMutation))
            == report["mutations"] + second["mutations"]
        )


def test_simulate_reports_a_wrong_password(app: Flask, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--base-url", "http://testserver", "--username", "xx_insp2", "--password", "wrong"]
    assert main(argv, transport_factory=lambda _url, _timeout: FlaskClientTransport.for_app(app)) == 1
    assert "401.3" in capsys.readouterr().err


def test_a_revoked_tablet_is_quarantined_and_registers_again_only_after_an_admin(
    app: Flask, client: SyncClient, outbox: Outbox, tmp_path: Path
) -> None:
    """Issue 16: a revoked (lost) tablet's later pushes are kept in quarantine, not applied; its id cannot
    register again until an admin reinstates it, and then it continues its numbering."""
    device_id = client.register("xx_insp1", DEMO_PASSWORD)
    client.pull()
    first = _inspect(outbox, tmp_path, seed=1)
    client.sync()
    with app.app_context():
        row = db.session.get(DeviceRow, uuid.UUID(device_id))
        assert row is not None
        row.revoked_at = datetime.now(UTC)
        db.session.commit()
    second = _inspect(outbox, tmp_path, seed=2, enterprise_index=1)
    summary = client.push()
    assert (summary.quarantined, summary.applied) == (second.mutations, 0)
    assert {p["code"] for p in summary.problems} == {"401.2"}
    with app.app_context():
        assert db.session.get(Inspection, uuid.UUID(second.inspection_id)) is None
        kept = db.session.scalar(sa.select(sa.func.count()).select_from(Quarantine).where(
            Quarantine.device_id == uuid.UUID(device_id)))  # fmt: skip
        assert kept == second.mutations
    with pytest.raises(SyncError) as refused:
        client.register("xx_insp1", DEMO_PASSWORD)
    assert refused.value.code == "403.90"
    admin = app.test_client()
    csrf = login(admin, "admin")
    assert (
        admin.post(f"/api/devices/{device_id}/reinstate", headers={"X-CSRF-Token": csrf}).status_code == 200
    )
    assert client.register("xx_insp1", DEMO_PASSWORD) == device_id
    third = _inspect(outbox, tmp_path, seed=3, enterprise_index=2)
    client.sync()
    with app.app_context():
        for made in (first, third):
            inspection = db.session.get(Inspection, uuid.UUID(made.inspection_id))
            assert inspection is not None and inspection.status == InspectionStatus.submitted
        assert db.session.get(Inspection, uuid.UUID(second.inspection_id)) is None
        seqs = db.session.scalars(sa.select(SyncMutation.seq).where(SyncMutation.device_id == uuid.UUID(device_id))
                                  .order_by(SyncMutation.seq)).all()  # fmt: skip
        assert seqs == list(range(1, first.mutations + second.mutations + third.mutations + 1))


def test_a_batch_too_large_for_the_server_is_split(
    app: Flask, client: SyncClient, outbox: Outbox, tmp_path: Path
) -> None:
    app.extensions["sync"].limits = Limits(max_mutations=4)
    client.register("xx_insp1", DEMO_PASSWORD)
    client.pull()
    made = _inspect(outbox, tmp_path, photos=1)
    summary = client.push(batch_size=50)
    assert summary.applied == made.mutations and summary.batches >= made.mutations // 4


def test_a_full_batch_ends_with_an_inspection_submission_when_half_of_it_stays(
    app: Flask, transport: FlaskClientTransport, outbox: Outbox, tmp_path: Path
) -> None:
    """With ``batch_end``, each full push ends after a submission (the record whole on the server, and not loaded
    again to be sealed by the next push), never shorter than half the batch size; everything arrives once."""
    bodies: list[dict[str, Any]] = []
    inner = transport.request

    def recording(method: str, path: str, *, headers: dict[str, str], body: bytes | None) -> Response:
        if path.startswith("/api/sync/push") and body is not None:
            bodies.append(json.loads(body))
        return inner(method, path, headers=headers, body=body)

    transport.request = recording  # type: ignore[method-assign]
    client = SyncClient(transport, outbox, rng=random.Random(1), batch_end=submits_inspection)
    client.register("xx_insp1", DEMO_PASSWORD)
    client.pull()
    made = [_inspect(outbox, tmp_path, seed=seed, photos=0, rate=0.5) for seed in (5, 6, 7)]
    size = (
        made[0].mutations + made[1].mutations // 2
    )  # the second inspection's submission falls past the batch
    summary = client.push(batch_size=size)
    assert summary.applied == sum(m.mutations for m in made) and summary.quarantined == 0
    pushed = [body["mutations"] for body in bodies]
    assert len(pushed) >= 3
    for batch in pushed[:-1]:
        assert submits_inspection(batch[-1]), [m["entity"] for m in batch]
        assert (size + 1) // 2 <= len(batch) <= size
    assert [m["seq"] for batch in pushed for m in batch] == list(range(1, summary.applied + 1))
    client.upload_blobs()
    _assert_on_server_once(app, client.device_id, made)


def test_quarantined_mutations_are_counted_and_never_retried(
    app: Flask, client: SyncClient, outbox: Outbox, transport: FlaskClientTransport
) -> None:
    client.register("xx_insp1", DEMO_PASSWORD)
    outbox.add("spaceship", uuid.uuid4(), {"x": 1})
    outbox.add("inspection", uuid.uuid4(), {"status": "approved"})
    summary = client.push()
    assert (summary.quarantined, summary.applied, summary.dropped) == (2, 0, 2)
    assert [p["code"] for p in summary.problems] == ["422.42", "422.44"]
    assert outbox.pending_count() == 0
    transport.log.clear()
    assert client.push().sent == 0 and transport.log == []
    with app.app_context():
        assert _count(sa.select(sa.func.count()).select_from(Quarantine)) == 2


def test_a_photo_the_server_refuses_is_not_offered_again(
    client: SyncClient, outbox: Outbox, transport: FlaskClientTransport, tmp_path: Path
) -> None:
    client.register("xx_insp1", DEMO_PASSWORD)
    fake = tmp_path / "not-a-photo.jpg"
    fake.write_bytes(b"GIF89a? no, just text pretending to be a photo")
    sha = client.add_photo(fake)
    assert client.upload_blobs() == 0
    record = outbox.blob(sha)
    assert record is not None and record.rejected == "415.40" and not record.uploaded
    transport.log.clear()
    assert client.upload_blobs() == 0 and transport.log == []


def test_a_half_uploaded_photo_resumes_where_the_server_stopped(
    app: Flask, client: SyncClient, outbox: Outbox, transport: FlaskClientTransport, tmp_path: Path
) -> None:
    client.register("xx_insp1", DEMO_PASSWORD)
    client.pull()
    made = _inspect(outbox, tmp_path, photos=1)
    sha = made.photos[0]
    record = outbox.blob(sha)
    assert record is not None and record.size > 20_000
    head = Path(record.path).read_bytes()[:10_000]
    reply = transport.request("PUT", f"/api/sync/blobs/{sha}", body=head, headers={
        "Authorization": f"Bearer {outbox.token}", "Upload-Offset": "0", "Upload-Length": str(record.size)})  # fmt: skip
    assert reply.status == 200 and reply.json()["received"] == 10_000
    transport.log.clear()
    assert client.upload_blobs(chunk_size=record.size) == len(made.photos)
    # Listed missing, so the client starts at 0 without asking; the server's 409 names offset 10 000,
    # and the one further PUT sends only the rest.
    assert ("HEAD", f"/api/sync/blobs/{sha}") not in transport.log
    assert transport.log.count(("PUT", f"/api/sync/blobs/{sha}")) == 2
    with app.app_context():
        assert db.session.get(Blob, sha) is not None


def test_a_scope_change_resets_the_replica(app: Flask, client: SyncClient, outbox: Outbox) -> None:
    client.register("xx_insp1", DEMO_PASSWORD)
    client.pull()
    before = {e["id"] for e in outbox.replica("enterprise")}
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "xx_insp1"))
        zone = db.session.scalar(sa.select(Region).where(Region.code == "141123-Z1"))
        assert user is not None and zone is not None
        user.region_id = zone.id
        db.session.commit()
    client.pull()
    after = {e["id"] for e in outbox.replica("enterprise")}
    assert after and after < before
    assert outbox.replica("catalogue")


def test_a_forgotten_cursor_restarts_the_pull(client: SyncClient, outbox: Outbox) -> None:
    client.register("xx_insp1", DEMO_PASSWORD)
    client.pull()
    rows = len(outbox.replica("enterprise"))
    outbox.apply_page([], "not.a-cursor-the-server-made")
    assert client.pull() > 0 and len(outbox.replica("enterprise")) == rows
