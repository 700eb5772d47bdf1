"""The client's durable outbox and replica, and the client's handling of replies, against an in-memory server."""

from __future__ import annotations

import hashlib
import json
import math
import random
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.client import (
    LOCAL_FILE_CHANGED,
    LOCAL_FILE_MISSING,
    AuthError,
    Headers,
    Outbox,
    Response,
    RetriesExhausted,
    SyncClient,
    SyncError,
    TransportError,
    item_applies,
)

T0 = datetime(2026, 6, 10, 1, 30, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    """A fresh outbox file."""
    with Outbox(tmp_path / "device.sqlite3") as box:
        yield box


def _add(box: Outbox, n: int = 1, entity: str = "inspection") -> list[int]:
    return [box.add(entity, uuid.uuid4(), {"n": i, "note": "检查"}, at=T0) for i in range(n)]


# --- outbox ----------------------------------------------------------------------------------------------


def test_seqs_are_gapless_and_survive_acks_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "device.sqlite3"
    with Outbox(path) as box:
        assert _add(box, 5) == [1, 2, 3, 4, 5]
        assert box.ack(3) == 3 and [m["seq"] for m in box.pending()] == [4, 5]
        assert _add(box) == [6]
        assert box.ack(6) == 3 and box.pending() == [] and box.last_acked_seq == 6
    with Outbox(path) as box:
        assert _add(box, 2) == [7, 8]


def test_ack_never_reaches_beyond_what_was_written(outbox: Outbox) -> None:
    _add(outbox, 3)
    assert outbox.ack(100) == 3 and outbox.last_acked_seq == 3
    assert outbox.ack(2) == 0 and outbox.last_acked_seq == 3
    assert _add(outbox) == [4]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.integers(1, 4), st.integers(-6, 0)), max_size=25))
def test_any_mix_of_adds_and_acks_keeps_the_queue_contiguous(tmp_path_factory: Any, steps: list[int]) -> None:
    with Outbox(tmp_path_factory.mktemp("prop") / "device.sqlite3") as box:
        written = 0
        for step in steps:
            if step > 0:
                assert _add(box, step) == list(range(written + 1, written + step + 1))
                written += step
            else:
                box.ack(written + step)  # step <= 0: acknowledge up to a little behind the head
            seqs = [m["seq"] for m in box.pending(1000)]
            assert seqs == list(range(box.last_acked_seq + 1, written + 1))


def test_entries_are_frozen_and_only_acknowledged_ones_can_go(outbox: Outbox) -> None:
    _add(outbox, 3)
    before = outbox.pending()
    with pytest.raises(sqlite3.DatabaseError, match="frozen"):
        outbox._db.execute("UPDATE outbox SET data = '{}' WHERE seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="acknowledged"):
        outbox._db.execute("DELETE FROM outbox WHERE seq = 3")
    with pytest.raises(sqlite3.DatabaseError, match="gapless"):
        outbox._db.execute(
            "INSERT INTO outbox (seq, entity, id, op, data, at, created) VALUES (9, 'x', 'y', 'upsert', '{}', '', '')"
        )
    assert outbox.pending() == before


def test_a_mutation_that_could_never_be_pushed_is_refused_and_uses_no_seq(outbox: Outbox) -> None:
    ident = uuid.uuid4()
    for bad in (
        lambda: outbox.add("inspection", "not-a-uuid", {}),
        lambda: outbox.add("inspection", ident, {}, op="merge"),
        lambda: outbox.add("x" * 40, ident, {}),
        lambda: outbox.add("inspection", ident, {}, at=datetime(2026, 6, 10)),
        lambda: outbox.add("inspection", ident, {"lat": math.nan}),
        lambda: outbox.add("inspection", ident, {"when": datetime(2026, 6, 10)}),
        lambda: outbox.add("inspection", ident, {"thing": object()}),
    ):
        with pytest.raises((ValueError, TypeError)):
            bad()
    assert outbox.add("inspection", str(ident).upper(), {}) == 1
    assert outbox.pending()[0]["id"] == str(ident)


def test_data_is_stored_as_it_travels(outbox: Outbox) -> None:
    ident, other = uuid.uuid4(), uuid.uuid4()
    outbox.add("hazard", ident, {"inspection_id": other, "found_at": T0, "deadline": date(2026, 7, 10),
                                 "funds_yuan": Decimal("1200.50"), "description": "除尘系统未采取控爆措施"}, at=T0)  # fmt: skip
    [message] = outbox.pending()
    assert message == {
        "seq": 1, "entity": "hazard", "id": str(ident), "op": "upsert", "base_version": None, "at": T0.isoformat(),
        "data": {"inspection_id": str(other), "found_at": T0.isoformat(), "deadline": "2026-07-10",
                 "funds_yuan": "1200.50", "description": "除尘系统未采取控爆措施"},
    }  # fmt: skip


def test_everything_written_is_still_there_after_closing_without_ack(tmp_path: Path) -> None:
    path = tmp_path / "device.sqlite3"
    with Outbox(path) as box:
        _add(box, 4)
        box.ack(1)
        written = box.pending()
    with Outbox(path) as box:
        assert box.pending() == written and box.last_acked_seq == 1


def test_a_process_killed_right_after_adding_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "device.sqlite3"
    script = (
        "import os, sys, uuid\n"
        "from sync.client import Outbox\n"
        "box = Outbox(sys.argv[1])\n"
        "for i in range(3):\n"
        "    box.add('inspection', uuid.uuid4(), {'n': i})\n"
        "os._exit(9)  # no close, no checkpoint: as if the battery died\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], cwd=ROOT, check=False, timeout=60)
    assert done.returncode == 9
    with Outbox(path) as box:
        assert [m["data"]["n"] for m in box.pending()] == [0, 1, 2]


def test_the_device_id_cannot_change_once_mutations_are_numbered(outbox: Outbox) -> None:
    outbox.set_device("a1", None)
    outbox.set_device("a2", "token")  # nothing numbered yet: fine
    _add(outbox)
    outbox.set_device("a2", "new-token", {"id": 3})
    assert (outbox.device_id, outbox.token, outbox.user) == ("a2", "new-token", {"id": 3})
    with pytest.raises(ValueError, match="another device"):
        outbox.set_device("a3", "token")


def _change(entity: str, n: int, *, deleted: bool = False, data: Any = None) -> dict[str, Any]:
    return {"entity": entity, "id": f"{entity}-{n}", "version": 1, "deleted": deleted,
            "data": None if deleted else (data if data is not None else {"name": f"企业{n}"})}  # fmt: skip


def test_a_page_and_its_cursor_are_applied_together_or_not_at_all(outbox: Outbox) -> None:
    assert outbox.apply_page([_change("enterprise", 1), _change("enterprise", 2)], "c1", reset=True) == 2
    broken = [
        _change("enterprise", 3),
        _change("enterprise", 1, data={"bad": object()}),
        _change("enterprise", 4),
    ]
    with pytest.raises(TypeError):
        outbox.apply_page(broken, "c2")
    assert outbox.cursor == "c1"
    assert [(r["id"], r["data"]) for r in outbox.replica("enterprise")] == [
        ("enterprise-1", {"name": "企业1"}), ("enterprise-2", {"name": "企业2"})]  # fmt: skip
    with pytest.raises(TypeError):
        outbox.apply_page(broken, "c2", reset=True)
    assert outbox.cursor == "c1" and len(outbox.replica("enterprise")) == 2


def test_tombstones_resets_and_reset_replica(outbox: Outbox) -> None:
    _add(outbox, 2)
    outbox.apply_page([_change("enterprise", 1), _change("catalogue", 1)], "c1")
    outbox.apply_page([_change("enterprise", 1, deleted=True)], "c2")
    assert outbox.replica("enterprise") == []
    tombstone = outbox.replica_get("enterprise", "enterprise-1")
    assert tombstone is not None and tombstone["deleted"] and tombstone["data"] is None
    outbox.apply_page([_change("enterprise", 9)], "c3", reset=True)
    assert [r["id"] for r in outbox.replica("enterprise", include_deleted=True)] == ["enterprise-9"]
    assert outbox.replica("catalogue") == []
    outbox.reset_replica()
    assert outbox.cursor is None and outbox.replica("enterprise") == [] and outbox.pending_count() == 2


def test_blobs_are_registered_once_by_content(outbox: Outbox, tmp_path: Path) -> None:
    first, copy = tmp_path / "a.jpg", tmp_path / "b.jpg"
    first.write_bytes(b"\xff\xd8 photo bytes")
    copy.write_bytes(b"\xff\xd8 photo bytes")
    sha = outbox.add_blob(first)
    assert sha == hashlib.sha256(b"\xff\xd8 photo bytes").hexdigest() == outbox.add_blob(copy)
    [record] = outbox.blobs_to_upload()
    assert record.size == 14 and record.path == str(copy.resolve())
    outbox.mark_uploaded(sha)
    assert outbox.blobs_to_upload() == [] and outbox.add_blob(first) == sha
    record2 = outbox.blob(sha)
    assert record2 is not None and record2.uploaded and record2.path == str(copy.resolve())


def test_applicability_rule() -> None:
    assert item_applies(None, [], None) and item_applies({}, ["steel"], 3)
    assert item_applies({"sectors_any": ["steel", "gas_area"]}, ["gas_area"], None)
    assert not item_applies({"sectors_any": ["steel"]}, ["dust_explosion"], None)
    rule = {"sectors_any": ["dust_explosion"], "min_dust_workers": 10}
    assert item_applies(rule, ["dust_explosion"], None) and item_applies(rule, ["dust_explosion"], 10)
    assert not item_applies(rule, ["dust_explosion"], 9) and not item_applies(rule, [], 30)


def test_headers_are_case_insensitive_and_keep_repeats() -> None:
    headers = Headers([("Set-Cookie", "a=1; Path=/"), ("set-cookie", "b=2"), ("Upload-Offset", "7")])
    assert headers["upload-offset"] == "7" and "UPLOAD-OFFSET" in headers and headers.get("x") is None
    assert headers.get_all("SET-COOKIE") == ["a=1; Path=/", "b=2"] and len(headers) == 2
    assert Response(200, {"Upload-Offset": "7"}, b"").headers["upload-offset"] == "7"


# --- the client against an in-memory server ------------------------------------------------------------

Hook = Callable[[str, str, dict[str, str], bytes | None], Response | None]


def _reply(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Response:
    data = b"" if body is None else json.dumps(body).encode()
    return Response(status, {"Content-Type": "application/json", **(headers or {})}, data)


def _problem(status: int, code: str, headers: dict[str, str] | None = None) -> Response:
    return _reply(status, {"code": code, "message": f"problem {code}", "details": {}}, headers)


@dataclass
class FakeServer:
    """Just enough of the protocol to check the client: push exactly once, pages, resumable blobs."""

    device_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    token: str = "token-1"
    last_seq: int = 0
    applied: list[dict[str, Any]] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)
    partial: dict[str, bytes] = field(default_factory=dict)
    complete: set[str] = field(default_factory=set)
    max_mutations: int = 1000
    #: Consulted first, in order; a hook returning a Response answers instead of the server.
    hooks: list[Hook] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def request(self, method: str, path: str, *, headers: dict[str, str], body: bytes | None) -> Response:
        """Answer like the real server would (or as a hook says)."""
        self.requests.append((method, path))
        for hook in self.hooks:
            reply = hook(method, path, headers, body)
            if reply is not None:
                return reply
        if headers.get("Authorization") != f"Bearer {self.token}":
            return _problem(401, "401.1")
        if path == "/api/sync/push":
            return self._push(json.loads(body or b"{}"))
        if path.startswith("/api/sync/pull"):
            empty = {"changes": [], "cursor": "end", "has_more": False, "reset": False}
            return _reply(200, self.pages.pop(0) if self.pages else empty)
        if path == "/api/sync/blobs/missing":
            wanted = json.loads(body or b"{}")["sha256"]
            return _reply(200, {"missing": [s for s in wanted if s not in self.complete]})
        sha = path.rsplit("/", 1)[1]
        if method == "HEAD":
            have = len(self.partial.get(sha, b""))
            return Response(
                200,
                {"Upload-Offset": str(have), "Upload-Complete": "?1" if sha in self.complete else "?0"},
                b"",
            )
        return self._put(sha, headers, body or b"")

    def _push(self, payload: dict[str, Any]) -> Response:
        mutations = payload["mutations"]
        if len(mutations) > self.max_mutations:
            return _problem(413, "413.2")
        results = []
        for m in mutations:
            if m["seq"] <= self.last_seq:
                results.append({"seq": m["seq"], "status": "duplicate"})
            elif m["seq"] == self.last_seq + 1:
                self.last_seq = m["seq"]
                self.applied.append(m)
                status = "quarantined" if m["entity"] == "spaceship" else "applied"
                results.append(
                    {"seq": m["seq"], "status": status, "code": "422.42" if status == "quarantined" else None}
                )
            else:
                results.append({"seq": m["seq"], "status": "not_processed"})
        return _reply(200, {"device_id": payload["device_id"], "last_seq": self.last_seq, "results": results})

    def _put(self, sha: str, headers: dict[str, str], body: bytes) -> Response:
        have = self.partial.get(sha, b"")
        if sha in self.complete:
            return _reply(200, {"sha256": sha, "received": len(have), "complete": True})
        offset = int(headers["Upload-Offset"])
        if offset != len(have):
            return _problem(409, "409.40", {"Upload-Offset": str(len(have))})
        have += body
        self.partial[sha] = have
        if len(have) >= int(headers["Upload-Length"]):
            if hashlib.sha256(have).hexdigest() != sha:
                del self.partial[sha]
                return _problem(422, "422.40")
            self.complete.add(sha)
        return _reply(200, {"sha256": sha, "received": len(have), "complete": sha in self.complete},
                      {"Upload-Offset": str(len(have))})  # fmt: skip


def _client(server: FakeServer, box: Outbox, sleeps: list[float] | None = None, seed: int = 1,
            max_attempts: int = 5) -> SyncClient:  # fmt: skip
    box.set_device(server.device_id, server.token)
    return SyncClient(server, box, sleep=(sleeps if sleeps is not None else []).append, rng=random.Random(seed),
                      max_attempts=max_attempts)  # fmt: skip


def _once(reply: Response, *, method: str | None = None, times: int = 1) -> Hook:
    """A hook answering ``reply`` to the next ``times`` requests (of ``method``, if given)."""
    left = [times]

    def hook(m: str, _path: str, _headers: dict[str, str], _body: bytes | None) -> Response | None:
        if left[0] and (method is None or m == method):
            left[0] -= 1
            return reply
        return None

    return hook


def test_push_sends_batches_and_drops_what_the_server_acknowledged(outbox: Outbox) -> None:
    server = FakeServer()
    _add(outbox, 5)
    _add(outbox, 1, entity="spaceship")
    summary = _client(server, outbox).push(batch_size=4)
    assert (summary.batches, summary.sent, summary.applied, summary.quarantined, summary.dropped) == (
        2,
        6,
        5,
        1,
        6,
    )
    assert summary.problems[0]["code"] == "422.42" and summary.last_seq == 6
    assert outbox.pending() == [] and [m["seq"] for m in server.applied] == [1, 2, 3, 4, 5, 6]


def test_a_reply_for_another_device_drops_nothing(outbox: Outbox) -> None:
    server = FakeServer()
    _add(outbox, 3)
    foreign = _reply(200, {"device_id": str(uuid.uuid4()), "last_seq": 3,
                           "results": [{"seq": s, "status": "applied"} for s in (1, 2, 3)]})  # fmt: skip
    server.hooks.append(_once(foreign, times=99))
    with pytest.raises(RetriesExhausted):
        _client(server, outbox).push()
    assert outbox.pending_count() == 3 and outbox.last_acked_seq == 0


@pytest.mark.parametrize(
    "bad",
    [
        _reply(200, {"device_id": "x", "results": []}),
        _reply(200, {"last_seq": 3, "results": []}),
        Response(200, {}, b'{"device_id": '),
        Response(200, {}, b""),
        _reply(200, [1, 2]),
        _problem(503, "500.1"),
        _reply(502, None),
    ],
)
def test_transient_failures_are_retried_with_backoff_then_succeed(outbox: Outbox, bad: Response) -> None:
    server = FakeServer()
    _add(outbox, 3)
    server.hooks.append(_once(bad, times=2))
    sleeps: list[float] = []
    summary = _client(server, outbox, sleeps).push()
    assert summary.applied == 3 and outbox.pending() == [] and len(sleeps) == 2


def test_results_for_seqs_never_sent_make_a_reply_invalid(outbox: Outbox) -> None:
    server = FakeServer()
    _add(outbox, 2)
    odd = _reply(200, {"device_id": server.device_id, "last_seq": 2,
                       "results": [{"seq": 1, "status": "applied"}, {"seq": 7, "status": "applied"}]})  # fmt: skip
    server.hooks.append(_once(odd))
    assert _client(server, outbox).push().applied == 2


def test_lost_exchanges_are_retried_and_a_lost_reply_becomes_duplicates(outbox: Outbox) -> None:
    server = FakeServer()
    _add(outbox, 3)
    state = {"calls": 0}

    def lose_first_reply(
        method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> Response | None:
        state["calls"] += 1
        if state["calls"] == 1:
            server.hooks.remove(lose_first_reply)
            server.request(method, path, headers=headers, body=body)  # the server applies it …
            raise TransportError("reply lost")  # … and the reply never arrives
        return None

    def refuse_once(*_args: Any) -> Response | None:
        server.hooks.remove(refuse_once)
        raise TransportError("connection refused")

    server.hooks[:] = [refuse_once, lose_first_reply]
    summary = _client(server, outbox).push()
    assert summary.duplicate == 3 and summary.applied == 0 and outbox.pending() == []
    assert [m["seq"] for m in server.applied] == [1, 2, 3]


def test_backoff_grows_exponentially_with_seeded_jitter(outbox: Outbox, tmp_path: Path) -> None:
    def delays(seed: int, name: str) -> list[float]:
        with Outbox(tmp_path / name) as box:
            server = FakeServer()
            _add(box, 1)
            server.hooks.append(_once(_problem(503, "500.1"), times=99))
            sleeps: list[float] = []
            with pytest.raises(RetriesExhausted):
                _client(server, box, sleeps, seed=seed, max_attempts=6).push()
            return sleeps

    first = delays(3, "a.sqlite3")
    assert first == delays(3, "b.sqlite3") != delays(4, "c.sqlite3")
    assert len(first) == 5
    for n, delay in enumerate(first):
        assert 0.5 * 2**n / 2 <= delay <= 0.5 * 2**n


def test_retry_after_is_honoured(outbox: Outbox) -> None:
    server = FakeServer()
    _add(outbox, 1)
    server.hooks.append(_once(_problem(429, "429.1", {"Retry-After": "7"})))
    sleeps: list[float] = []
    _client(server, outbox, sleeps).push()
    assert sleeps == [7.0]


def test_401_raises_auth_error_and_other_4xx_a_sync_error_without_retrying(outbox: Outbox) -> None:
    server = FakeServer()
    _add(outbox, 2)
    client = _client(server, outbox)
    server.token = "revoked"
    with pytest.raises(AuthError):
        client.push()
    assert len(server.requests) == 1
    server.token = "token-1"
    server.hooks.append(_once(_problem(403, "403.40")))
    with pytest.raises(SyncError) as raised:
        client.push()
    assert (raised.value.code, raised.value.status) == ("403.40", 403) and len(server.requests) == 2
    assert outbox.pending_count() == 2


def test_a_batch_the_server_finds_too_large_is_split(outbox: Outbox) -> None:
    server = FakeServer(max_mutations=3)
    _add(outbox, 10)
    summary = _client(server, outbox).push(batch_size=100)
    assert summary.applied == 10 and outbox.pending() == [] and summary.batches == 5


def test_not_processed_mutations_stay_queued(outbox: Outbox) -> None:
    server = FakeServer()
    _add(outbox, 5)
    outbox.ack(2)  # as if the server had lost the first two (restored from an old backup)
    summary = _client(server, outbox).push()
    assert summary.stalled and summary.not_processed == 3 and summary.dropped == 0
    assert [m["seq"] for m in outbox.pending()] == [3, 4, 5]


def test_a_last_seq_beyond_the_batch_drops_only_the_batch(outbox: Outbox) -> None:
    server = FakeServer()
    _add(outbox, 4)

    def claim_more(_method: str, _path: str, _headers: dict[str, str], body: bytes | None) -> Response | None:
        server.hooks.remove(claim_more)
        reply = server._push(json.loads(body or b"{}")).json()
        return _reply(200, {**reply, "last_seq": 40})  # more than this device ever sent

    server.hooks.append(claim_more)
    _client(server, outbox).push(batch_size=2)
    assert outbox.last_acked_seq == 4 and [m["seq"] for m in server.applied] == [1, 2, 3, 4]


def test_pull_pages_until_done_and_resets_first(outbox: Outbox) -> None:
    server = FakeServer()
    outbox.apply_page([_change("enterprise", 7)], "old")
    server.pages = [
        {"changes": [_change("enterprise", 1)], "cursor": "p1", "has_more": True, "reset": True},
        {"changes": [_change("catalogue", 1)], "cursor": "p2", "has_more": False, "reset": False},
    ]
    assert _client(server, outbox).pull(limit=1) == 2
    assert [r["id"] for r in outbox.replica("enterprise")] == ["enterprise-1"] and outbox.cursor == "p2"
    assert server.requests[0] == ("GET", "/api/sync/pull?limit=1&cursor=old")
    assert server.requests[1] == ("GET", "/api/sync/pull?limit=1&cursor=p1")


def test_an_invalid_page_is_retried_not_applied(outbox: Outbox) -> None:
    server = FakeServer()
    server.pages = [
        {"changes": [_change("enterprise", 1)], "cursor": "p1", "has_more": False, "reset": False}
    ]
    server.hooks.append(_once(_reply(200, {"changes": [{"entity": "enterprise"}], "cursor": "x", "has_more": False,
                                           "reset": True})))  # fmt: skip
    assert _client(server, outbox).pull() == 1 and outbox.cursor == "p1"


def _photo(tmp_path: Path, box: Outbox, size: int = 10_000) -> tuple[str, bytes]:
    data = random.Random(size).randbytes(size)
    file = tmp_path / f"{size}.jpg"
    file.write_bytes(data)
    return box.add_blob(file), data


def test_upload_resumes_from_the_server_offset_and_marks_only_on_complete(
    outbox: Outbox, tmp_path: Path
) -> None:
    server = FakeServer()
    sha, data = _photo(tmp_path, outbox)
    server.partial[sha] = data[:3000]  # an earlier attempt got this far
    assert _client(server, outbox).upload_blobs(chunk_size=4096) == 1
    puts = [r for r in server.requests if r[0] == "PUT"]
    # Listed missing, the first PUT starts at 0 without a HEAD; the 409 names 3000 and two chunks of 4096
    # from there finish it.
    assert len(puts) == 3 and sha in server.complete and outbox.blobs_to_upload() == []
    assert not any(r[0] == "HEAD" for r in server.requests)


def test_upload_follows_a_409_offset(outbox: Outbox, tmp_path: Path) -> None:
    server = FakeServer()
    sha, data = _photo(tmp_path, outbox)

    def sneak(method: str, _path: str, _headers: dict[str, str], _body: bytes | None) -> Response | None:
        if method == "PUT":
            server.hooks.remove(sneak)
            server.partial[sha] = data[:5000]  # a lost earlier PUT lands after our HEAD
        return None

    server.hooks.append(sneak)
    assert _client(server, outbox).upload_blobs(chunk_size=4096) == 1
    assert server.partial[sha] == data and sha in server.complete


def test_upload_restarts_from_zero_when_the_hash_did_not_match(outbox: Outbox, tmp_path: Path) -> None:
    server = FakeServer()
    sha, data = _photo(tmp_path, outbox)
    server.partial[sha] = b"garbage!"  # a corrupt partial: the hash check at the end fails once
    assert _client(server, outbox).upload_blobs(chunk_size=100_000) == 1
    assert server.partial[sha] == data and sha in server.complete


def test_an_upload_never_confirmed_complete_is_not_marked(outbox: Outbox, tmp_path: Path) -> None:
    server = FakeServer()
    sha, _data = _photo(tmp_path, outbox, size=100)
    server.hooks.append(
        _once(_reply(200, {"sha256": sha, "received": 0, "complete": False}), method="PUT", times=99)
    )
    with pytest.raises(RetriesExhausted):
        _client(server, outbox).upload_blobs()
    assert [r.sha256 for r in outbox.blobs_to_upload()] == [sha]


def test_a_blob_the_server_claims_to_hold_is_confirmed_by_head(outbox: Outbox, tmp_path: Path) -> None:
    server = FakeServer()
    sha, data = _photo(tmp_path, outbox)
    server.hooks.append(_once(_reply(200, {"missing": []}), method="POST"))
    assert _client(server, outbox).upload_blobs() == 1
    assert ("HEAD", f"/api/sync/blobs/{sha}") in server.requests and server.partial[sha] == data


def test_a_refused_blob_is_set_aside_and_the_others_go_on(outbox: Outbox, tmp_path: Path) -> None:
    server = FakeServer()
    bad, _ = _photo(tmp_path, outbox, size=50)
    good, _ = _photo(tmp_path, outbox, size=60)

    def refuse(method: str, path: str, _headers: dict[str, str], _body: bytes | None) -> Response | None:
        return _problem(415, "415.40") if method == "PUT" and path.endswith(bad) else None

    server.hooks.append(refuse)
    assert _client(server, outbox).upload_blobs() == 1
    record = outbox.blob(bad)
    assert record is not None and record.rejected == "415.40" and good in server.complete
    assert outbox.blobs_to_upload() == []


def test_a_4xx_without_a_problem_body_is_not_a_verdict(outbox: Outbox, tmp_path: Path) -> None:
    server = FakeServer()
    sha, _ = _photo(tmp_path, outbox, size=50)
    server.hooks.append(
        _once(Response(415, {"Content-Type": "text/html"}, b"<html>proxy</html>"), method="PUT")
    )
    assert _client(server, outbox).upload_blobs() == 1 and sha in server.complete


def test_register_logs_in_and_keeps_the_device_id_on_a_second_registration(outbox: Outbox) -> None:
    seen: list[dict[str, Any]] = []
    tokens = iter(["t1", "t2"])

    def app(method: str, path: str, headers: dict[str, str], body: bytes | None) -> Response | None:
        if path == "/api/auth/login":
            cookies = Headers([("Set-Cookie", "session=abc; HttpOnly; Path=/"), ("Set-Cookie", "lang=zh")])
            return Response(
                200,
                cookies,
                json.dumps({"csrf_token": "csrf-1", "user": {"id": 5, "username": "u"}}).encode(),
            )
        if path == "/api/devices":
            payload = json.loads(body or b"{}")
            seen.append({"headers": headers, "payload": payload})
            return _reply(201, {"device": {"id": payload["device_id"]}, "token": next(tokens)})
        return None

    server = FakeServer()
    server.hooks.append(app)
    client = SyncClient(server, outbox, sleep=lambda _s: None)
    device_id = client.register("u", "pw", "平板")
    assert (
        client.register("u", "pw") == device_id
        and outbox.token == "t2"
        and outbox.user == {"id": 5, "username": "u"}
    )
    assert (
        seen[0]["headers"]["Cookie"] == "session=abc; lang=zh"
        and seen[0]["headers"]["X-CSRF-Token"] == "csrf-1"
    )
    assert (
        seen[0]["payload"] == {"device_id": device_id, "label": "平板"}
        and "Authorization" not in seen[0]["headers"]
    )
    assert seen[1]["payload"]["device_id"] == device_id


def test_a_blob_the_server_keeps_failing_goes_last_and_does_not_hold_back_the_push(
    outbox: Outbox, tmp_path: Path
) -> None:
    server = FakeServer()
    stuck, _ = _photo(tmp_path, outbox, size=70)
    other, _ = _photo(tmp_path, outbox, size=80)
    _add(outbox, 2)

    def choke(method: str, path: str, _headers: dict[str, str], _body: bytes | None) -> Response | None:
        return _problem(500, "500.1") if method == "PUT" and path.endswith(stuck) else None

    server.hooks.append(choke)
    client = _client(server, outbox, max_attempts=3)
    with pytest.raises(RetriesExhausted):
        client.sync()
    assert outbox.pending() == [] and len(server.applied) == 2, "the push went ahead"
    assert [r.sha256 for r in outbox.blobs_to_upload()] == [other, stuck]
    with pytest.raises(RetriesExhausted):
        client.upload_blobs()
    assert other in server.complete and [r.sha256 for r in outbox.blobs_to_upload()] == [stuck]
    server.hooks.remove(choke)
    assert client.sync().uploaded == 1 and outbox.blobs_to_upload() == []


def test_a_photo_gone_or_changed_on_the_device_is_set_aside(outbox: Outbox, tmp_path: Path) -> None:
    server = FakeServer()
    gone, _ = _photo(tmp_path, outbox, size=30)
    changed, _ = _photo(tmp_path, outbox, size=40)
    grown, _ = _photo(tmp_path, outbox, size=45)
    fine, _ = _photo(tmp_path, outbox, size=50)
    (tmp_path / "30.jpg").unlink()
    (tmp_path / "40.jpg").write_bytes(b"edited afterwards")
    (tmp_path / "45.jpg").write_bytes(b"x" * 4500)  # the first 45 bytes differ, so the server's hash fails
    assert _client(server, outbox).upload_blobs() == 1
    assert [(s, getattr(outbox.blob(s), "rejected", None)) for s in (gone, changed, grown, fine)] == [
        (gone, LOCAL_FILE_MISSING), (changed, LOCAL_FILE_CHANGED), (grown, LOCAL_FILE_CHANGED), (fine, None)]  # fmt: skip
    assert fine in server.complete and changed not in server.complete
