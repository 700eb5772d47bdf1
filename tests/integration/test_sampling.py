"""市级双随机抽查 on the demo city: the draw keeps its bounds, is reproduced from its seed and audited, only the
city draws, the drawn inspectors' tablets receive their assignments and the enterprises never see any."""

from __future__ import annotations

import itertools
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.models import AuditEvent, Campaign, Inspection, Region, SamplingAssignment, SamplingDraw, User
from server.services import sampling
from tests.conftest import login
from tests.integration.sync_helpers import Device


@pytest.fixture(autouse=True)
def campaign_covers_the_visits(app: Flask) -> None:
    """The demo lays its visits on this year's county phase, or on the weeks before today early in the year:
    stretch the campaign's first and last phase over them, so the test does not depend on today's date."""
    with app.app_context():
        first, last = db.session.execute(sa.select(sa.func.min(Inspection.finished_at), sa.func.max(Inspection.finished_at))).one()  # fmt: skip
        for campaign in db.session.scalars(sa.select(Campaign)):
            phases = sorted(campaign.phases, key=lambda p: p.starts_on)
            phases[0].starts_on = min(phases[0].starts_on, first.date() - timedelta(days=1))
            phases[-1].ends_on = max(phases[-1].ends_on, last.date() + timedelta(days=1))
        db.session.commit()


def signed_in(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    return client, login(client, username)


def post_draw(app: Flask, **form: str) -> tuple[int, str, str | None]:
    """POST the draw form as ll_city; returns (status, body, the new draw's id if one was made)."""
    client, csrf = signed_in(app, "ll_city")
    reply = client.post("/sampling", data={"csrf_token": csrf, **form})
    match = re.search(r"/sampling/([0-9a-f-]{36})", reply.headers.get("Location", ""))
    return reply.status_code, reply.get_data(as_text=True), match.group(1) if match else None


def county_of(user_or_region: Region | None) -> str:
    node = user_or_region
    while node is not None and node.level.value != "county":
        node = node.parent
    return node.name if node is not None else "city"


def test_draw_keeps_its_bounds_is_audited_and_reproduced(app: Flask) -> None:
    status, _, draw_id = post_draw(app, percent="10", stratify="1")
    assert status == 302 and draw_id
    with app.app_context():
        row = db.session.get(SamplingDraw, uuid.UUID(draw_id))
        # The seed came from the cryptographic random source: 128 bits, never typed.
        assert row is not None and re.fullmatch(r"[0-9a-f]{32}", row.seed) and row.stratified
        seed = row.seed
        population = {u[0] for u in row.notes["population"]}
        counties = {
            county_of(db.session.get(Region, r))
            for r in db.session.scalars(
                sa.select(sa.literal_column("region_id"))
                .select_from(sa.table("enterprise", sa.column("id"), sa.column("region_id")))
                .where(sa.column("id").in_([uuid.UUID(i) for i in population]))
            )
        }
        assert counties == {"兴县", "临县"}  # both counties' checks are in the population
        assert row.population_size == len(population) >= 10
        assert row.sample_size * 100 >= 10 * row.population_size
        by_enterprise: dict[uuid.UUID, list[SamplingAssignment]] = {}
        for a in row.assignments:
            by_enterprise.setdefault(a.enterprise_id, []).append(a)
        assert len(by_enterprise) == row.sample_size
        for assignments in by_enterprise.values():
            inspectors = {a.inspector_id for a in assignments}
            assert len(inspectors) == len(assignments) >= 2
            home = county_of(assignments[0].enterprise.region)
            assert all(county_of(a.inspector.region) != home for a in assignments)
            assert not any(a.own_county for a in assignments)
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "sampling.draw"))
        assert event is not None and event.entity_id == draw_id
        assert event.data["seed"] == seed and event.data["percent"] == 10
        assert sorted(event.data["enterprise_ids"]) == sorted(str(e) for e in by_enterprise)
        # Reproduced from the stored seed and inputs: the identical assignment.
        again = sampling.reproduce(row)
        assert {a.enterprise_id: a.inspector_ids for a in again.assignments} == sampling.stored_assignments(
            row
        )
        assert sampling.reproduces(row)
    client, _ = signed_in(app, "ll_city")
    page = client.get(f"/sampling/{draw_id}").get_data(as_text=True)
    assert seed in page and "复核通过" in page
    listing = client.get("/sampling").get_data(as_text=True)
    assert seed in listing and f"/sampling/{draw_id}" in listing


def test_whole_population_keeps_inspectors_out_of_their_own_county(app: Flask) -> None:
    """At 100 % every enterprise is drawn: 兴县's get the two 临县 inspectors, 临县's get 兴县 ones."""
    status, _, draw_id = post_draw(app, percent="100")
    assert status == 302
    with app.app_context():
        row = db.session.get(SamplingDraw, uuid.UUID(draw_id))
        assert row is not None and row.sample_size == row.population_size
        lx = set(db.session.scalars(sa.select(User.id).where(User.username.in_(["lx_insp1", "lx_insp2"]))))
        for a in row.assignments:
            home = county_of(a.enterprise.region)
            assert (a.inspector_id in lx) == (home == "兴县")
            assert not a.own_county


def test_every_draw_has_its_own_secret_seed_and_reproduces(app: Flask) -> None:
    first = post_draw(app, percent="20")[2]
    second = post_draw(app, percent="20", reason="第一次抽取时执法人员名册未更新", confirm="1")[2]
    with app.app_context():
        rows = [db.session.get(SamplingDraw, uuid.UUID(i)) for i in (first, second)]  # type: ignore[arg-type]
        assert all(row is not None for row in rows)
        one, two = rows
        assert one is not None and two is not None and one.seed != two.seed
        for row in (one, two):
            assert sampling.reproduces(row)
            audited = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.entity_id == str(row.id)))
            assert audited is not None and audited.data["seed"] == row.seed


def test_share_below_the_campaign_minimum_is_refused(app: Flask) -> None:
    status, body, draw_id = post_draw(app, percent="5")
    assert status == 400 and draw_id is None and "不得低于" in body and "10%" in body
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SamplingDraw)) == 0


@pytest.mark.parametrize("username", ["xx_sup", "lx_sup", "xx_insp1", "xx_expert", "qy_jinxing"])
def test_only_the_city_draws_or_sees_draws(app: Flask, username: str) -> None:
    _, _, draw_id = post_draw(app, percent="10")
    client, csrf = signed_in(app, username)
    assert client.get("/sampling").status_code == 404
    assert client.get(f"/sampling/{draw_id}").status_code == 404
    assert client.post("/sampling", data={"csrf_token": csrf, "percent": "50"}).status_code == 404
    assert "/sampling" not in client.get("/").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SamplingDraw)) == 1


def test_assignments_reach_only_the_drawn_inspectors_tablets(app: Flask) -> None:
    _, _, draw_id = post_draw(app, percent="100")
    with app.app_context():
        rows = db.session.scalars(sa.select(SamplingAssignment)).all()
        mine = {str(a.id) for a in rows if a.inspector.username == "lx_insp1"}
        theirs = {str(a.id) for a in rows if a.inspector.username == "xx_insp1"}
        assert mine and theirs
    for username, expected in (("lx_insp1", mine), ("xx_insp1", theirs)):
        changes, _, _ = Device(app, username).pull_all()
        pulled = [c for c in changes if c["entity"] == "assignment"]
        assert {c["id"] for c in pulled} == expected
        for change in pulled:
            data = change["data"]
            assert data["draw_id"] == draw_id and data["enterprise_name"] and data["kind"] == "city_sampling"
            assert len(data["co_inspectors"]) >= 1
    for username in ("qy_jinxing", "qy_fengyuan", "xx_sup"):
        changes, _, _ = Device(app, username).pull_all()
        assert not [c for c in changes if c["entity"] == "assignment"], username


def test_enterprise_pages_reveal_no_draw(app: Flask) -> None:
    """Every GET page an enterprise account can reach, with the draw's and enterprises' ids filled in."""
    _, _, draw_id = post_draw(app, percent="100")
    with app.app_context():
        draw = db.session.get(SamplingDraw, uuid.UUID(str(draw_id)))
        assert draw is not None
        seed = draw.seed
        enterprise_id = str(
            db.session.scalar(sa.select(User.enterprise_id).where(User.username == "qy_jinxing"))
        )
    client, _ = signed_in(app, "qy_jinxing")
    values = {"uuid": [draw_id, enterprise_id], "int": ["1"], "default": ["x"]}
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.rule.startswith(("/static", "/api/openapi", "/app")):
            continue
        names = sorted(rule.arguments)
        kinds = ["uuid" if "uuid" in type(rule._converters[n]).__name__.lower() else
                 "int" if "integer" in type(rule._converters[n]).__name__.lower() else "default" for n in names]  # fmt: skip
        for combination in itertools.product(*(values[k] for k in kinds)):
            url = rule.rule
            for name, value in zip(names, combination, strict=True):
                url = re.sub(rf"<(?:[^:<>]+:)?{name}>", value, url)
            with client.get(url) as reply:
                text = reply.get_data().decode("utf-8", "replace")
            for hidden in (seed, draw_id, "双随机", "抽查任务"):
                assert hidden not in text, (url, hidden)


def test_an_inspector_sent_to_another_county_gets_that_enterprise_and_may_inspect_it(app: Flask) -> None:
    from tests.integration.sync_helpers import enterprise_and_catalogue, inspection_batch

    tablet = Device(app, "lx_insp1")  # 临县: before the draw, no 兴县 enterprise reaches this tablet
    before, cursor, _ = tablet.pull_all()
    post_draw(app, percent="100")
    with app.app_context():
        assigned = db.session.scalars(
            sa.select(SamplingAssignment)
            .join(SamplingAssignment.inspector)
            .where(User.username == "lx_insp1")
        ).all()
        target = next(a.enterprise for a in assigned if a.enterprise.region.name != "临县")
        target_id, target_name = str(target.id), target.name
    assert target_id not in {c["id"] for c in before if c["entity"] == "enterprise"}
    # The draw changed what the tablet may see: its next pull starts again from zero, so the enterprise arrives.
    after, _, reset = tablet.pull_all(cursor)
    assert reset is True
    assert target_id in {c["id"] for c in after if c["entity"] == "enterprise"}
    _, catalogue_id, codes = enterprise_and_catalogue(app, target_name)
    _, batch = inspection_batch(tablet, target_id, catalogue_id, codes, submit=False)
    reply = tablet.push(batch).get_json()
    assert {r["status"] for r in reply["results"]} == {"applied"}, reply
