"""A push may ask for the pull page that would follow it (``pull``: the device's cursor and page size): the reply
then carries exactly what a pull made right after the push would have answered, so the device's follow-up pull
is skipped. Old clients, which do not ask, get the reply they always got."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask

from server.extensions import db
from server.models import Device as DeviceRow
from server.models import Inspection
from tests.integration.sync_helpers import Device, enterprise_and_catalogue, inspection_batch


def _push(device: Device, mutations: list[dict[str, Any]], pull: dict[str, Any] | None) -> Any:
    body: dict[str, Any] = {"device_id": device.device_id, "schema": 1, "mutations": mutations}
    if pull is not None:
        body["pull"] = pull
    return device.client.post("/api/sync/push", json=body, headers=device.headers)


def _pull(device: Device, cursor: str | None, limit: int = 500) -> Any:
    query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
    return device.client.get("/api/sync/pull", query_string=query, headers=device.headers)


def test_a_push_that_does_not_ask_gets_no_pull_page(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    reply = _push(device, inspection_batch(device, enterprise_id, catalogue_id, codes)[1], None)
    assert reply.status_code == 200 and set(reply.get_json()) == {"device_id", "last_seq", "results"}


def test_the_page_in_a_push_reply_is_the_pull_that_would_follow(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    _, cursor, _ = device.pull_all()
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    reply = _push(device, batch, {"cursor": cursor, "limit": 500})
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert {r["status"] for r in body["results"]} == {"applied"}
    page = body["pull"]
    # Nothing changed since: the same pull, asked now, answers the very same page.
    assert _pull(device, cursor).get_json() == page
    assert page["has_more"] is False and page["reset"] is False
    assert {(c["entity"], c["id"]) for c in page["changes"]} >= {("inspection", inspection_id)}
    assert {c["id"] for c in page["changes"]} >= {m["id"] for m in batch}
    # Caught up: a pull from the page's cursor has nothing.
    after = _pull(device, page["cursor"]).get_json()
    assert after["changes"] == [] and after["has_more"] is False


def test_a_change_another_device_committed_in_between_is_in_the_page(app: Flask) -> None:
    mine = Device(app, "xx_insp1")
    other = Device(app, "xx_insp1")  # the same inspector's second tablet: its inspections are visible to mine
    _, cursor, _ = mine.pull_all()
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    their_id, theirs = inspection_batch(other, enterprise_id, catalogue_id, codes)
    assert other.push(theirs).status_code == 200
    my_id, batch = inspection_batch(mine, enterprise_id, catalogue_id, codes)
    page = _push(mine, batch, {"cursor": cursor, "limit": 500}).get_json()["pull"]
    ids = {c["id"] for c in page["changes"]}
    assert their_id in ids and my_id in ids
    assert {m["id"] for m in theirs} <= ids


def test_a_page_limit_leaves_the_rest_to_pull(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    _, cursor, _ = device.pull_all()
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    _, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    page = _push(device, batch, {"cursor": cursor, "limit": 3}).get_json()["pull"]
    assert len(page["changes"]) == 3 and page["has_more"] is True
    rest, _, _ = device.pull_all(page["cursor"])
    assert len(page["changes"]) + len(rest) == len(_pull(device, cursor, 2000).get_json()["changes"])


def test_no_cursor_yet_gives_the_first_page_from_zero(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    _, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    page = _push(device, batch, {"cursor": None, "limit": 50}).get_json()["pull"]
    assert page["reset"] is True and page == _pull(device, None, 50).get_json()


def test_a_cursor_the_server_does_not_know_leaves_the_push_applied_and_the_pull_to_the_device(
    app: Flask,
) -> None:
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    reply = _push(device, batch, {"cursor": "not.a-cursor-the-server-made", "limit": 500})
    assert reply.status_code == 200 and "pull" not in reply.get_json()
    assert {r["status"] for r in reply.get_json()["results"]} == {"applied"}
    with app.app_context():
        assert db.session.get(Inspection, uuid.UUID(inspection_id)) is not None
    assert _pull(device, "not.a-cursor-the-server-made").get_json()["code"] == "400.41"


def test_a_revoked_device_gets_no_page(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    _, cursor, _ = device.pull_all()
    with app.app_context():
        row = db.session.get(DeviceRow, uuid.UUID(device.device_id))
        assert row is not None
        row.revoked_at = datetime.now(UTC)
        db.session.commit()
    reply = _push(device, [device.mutation("x", {})], {"cursor": cursor, "limit": 500})
    assert reply.status_code == 200 and "pull" not in reply.get_json()
    assert [r["status"] for r in reply.get_json()["results"]] == ["quarantined"]


def test_a_bad_page_size_is_refused_like_the_pull_refuses_it(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    reply = _push(device, [], {"cursor": None, "limit": 0})
    refused = _pull(device, None, 0)
    assert reply.status_code == refused.status_code == 400
    assert reply.get_json()["code"] == refused.get_json()["code"]
