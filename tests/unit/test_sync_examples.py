"""The canonical examples in sync/examples/ are valid messages of the contract (sync/protocol.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from marshmallow import Schema

import server.errors  # noqa: F401  (registers the server's problem codes)
from server.api.schemas import ProblemSchema
from server.sync_handlers.registry import all_handlers
from sync import problems
from sync.protocol import (
    SCHEMA_VERSION,
    BlobMissingReplySchema,
    BlobMissingRequestSchema,
    BlobStatusSchema,
    PullReplySchema,
    PushReplySchema,
    PushRequestSchema,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "sync" / "examples"

SCHEMAS: dict[str, type[Schema]] = {
    "push-request.json": PushRequestSchema,
    "push-request-with-pull.json": PushRequestSchema,
    "push-reply.json": PushReplySchema,
    "push-reply-with-pull.json": PushReplySchema,
    "pull-reply.json": PullReplySchema,
    "blob-missing-request.json": BlobMissingRequestSchema,
    "blob-missing-reply.json": BlobMissingReplySchema,
    "blob-status.json": BlobStatusSchema,
    "error.json": ProblemSchema,
}


def _example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def test_every_example_has_a_schema_and_every_schema_an_example() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.json")) == sorted(SCHEMAS)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_example_validates_against_its_schema(name: str) -> None:
    errors = SCHEMAS[name]().validate(_example(name))
    assert errors == {}, f"{name}: {errors}"


def test_the_push_request_is_a_whole_inspection_the_server_handlers_accept() -> None:
    request = _example("push-request.json")
    assert request["schema"] == SCHEMA_VERSION
    mutations = request["mutations"]
    seqs = [m["seq"] for m in mutations]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "seqs are gapless"
    assert [m["entity"] for m in mutations] == ["inspection", "item_result", "item_result", "hazard", "photo",
                                                "inspection"]  # fmt: skip
    assert mutations[-1]["data"]["status"] == "submitted"
    handlers = {h.entity: h for h in all_handlers()}
    seen: set[str] = set()
    for mutation in mutations:
        handler = handlers[mutation["entity"]]
        assert set(mutation["data"]) <= handler.writable_fields, mutation["entity"]
        creating = mutation["id"] not in seen
        seen.add(mutation["id"])
        errors = handler.schema.validate(mutation["data"], partial=not creating)
        assert errors == {}, (mutation["seq"], errors)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in json.dumps(request, ensure_ascii=False))
    inspectors = [p for p in mutations[0]["data"]["participants"] if p["role"] == "inspector"]
    assert len(inspectors) == 2


def test_the_push_reply_shows_every_outcome() -> None:
    reply = _example("push-reply.json")
    statuses = {r["status"]: r for r in reply["results"]}
    assert set(statuses) == {"applied", "duplicate", "quarantined", "not_processed"}
    assert statuses["quarantined"]["code"] == "422.42" and "422.42" in problems.catalogue()
    # last_seq stops before the gap: the not_processed one waits in the outbox.
    assert reply["last_seq"] < statuses["not_processed"]["seq"]
    assert reply["last_seq"] == max(r["seq"] for r in reply["results"] if r["status"] != "not_processed")


def test_the_pull_reply_holds_reference_data_own_records_and_a_tombstone() -> None:
    reply = _example("pull-reply.json")
    assert reply["reset"] is False and reply["has_more"] is False and reply["cursor"]
    entities = [c["entity"] for c in reply["changes"]]
    known = {h.entity for h in all_handlers()}
    assert set(entities) <= known
    assert {"enterprise", "catalogue", "inspection", "review_decision"} <= set(entities)
    [catalogue] = [c for c in reply["changes"] if c["entity"] == "catalogue"]
    assert len(catalogue["data"]["items"]) == 2
    tombstones = [c for c in reply["changes"] if c["deleted"]]
    assert len(tombstones) == 1 and tombstones[0]["data"] is None


def test_the_blob_examples_agree() -> None:
    asked = _example("blob-missing-request.json")["sha256"]
    missing = _example("blob-missing-reply.json")["missing"]
    status = _example("blob-status.json")
    assert set(missing) <= set(asked) and status["sha256"] in missing and not status["complete"]


def test_the_error_example_is_a_catalogued_problem_rendered_as_the_server_does() -> None:
    body = _example("error.json")
    catalogue = problems.catalogue()
    assert body["code"] in catalogue
    assert set(body["messages"]) == {"zh-CN", "en"}
    assert catalogue[body["code"]](**body["details"]).to_dict("zh") == body
