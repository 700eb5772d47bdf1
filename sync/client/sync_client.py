"""The sync client: sign in and register, push the outbox, pull changes, upload photos, with retries and backoff."""

from __future__ import annotations

import functools
import hashlib
import json
import random
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from marshmallow import ValidationError

from sync.client.outbox import LOCAL_FILE_CHANGED, LOCAL_FILE_MISSING, BlobRecord, Outbox
from sync.client.transport import (
    AuthError,
    Response,
    RetriesExhausted,
    SyncError,
    Transport,
    TransportError,
    _check_status,
    _problem_of,
    _Retry,
)
from sync.protocol import (
    SCHEMA_VERSION,
    BlobMissingReplySchema,
    BlobStatusSchema,
    PullReplySchema,
    PushReplySchema,
)

T = TypeVar("T")

#: What the server's BlobMissingRequestSchema accepts in one request.
MAX_BLOBS_PER_QUERY = 1000

# --- the client ------------------------------------------------------------------------------------------


@dataclass
class PushSummary:
    """What a push achieved."""

    batches: int = 0
    sent: int = 0
    applied: int = 0
    duplicate: int = 0
    quarantined: int = 0
    not_processed: int = 0
    dropped: int = 0
    last_seq: int | None = None
    #: Results that carry a problem code (quarantined, or a reused seq with other content).
    problems: list[dict[str, Any]] = field(default_factory=list)
    #: The server is behind this outbox (a gap it cannot fill): nothing more can be pushed now.
    stalled: bool = False
    #: Changes applied from the pull page the last push's reply carried (push(pull_limit=…)).
    pulled: int = 0
    #: That page left nothing to pull: the replica is as current as a pull made after the push would make it.
    caught_up: bool = False


@dataclass
class SyncSummary:
    """What one sync() did: blobs confirmed, the push, and changes pulled."""

    uploaded: int
    push: PushSummary
    pulled: int


def cut_batch(
    batch: list[dict[str, Any]], limit: int, ends: Callable[[Mapping[str, Any]], bool]
) -> list[dict[str, Any]]:
    """A full batch (``limit`` mutations, more may wait) cut after its last mutation that ``ends`` a record, if at
    least half of it stays; any other batch whole. A record whose end travels in the next push is loaded
    again there to be checked (an inspection's submission: its participants, answers and findings), and a push
    that ends with it puts the record on the server whole."""
    if len(batch) < limit:
        return batch
    for index in range(len(batch) - 1, (limit + 1) // 2 - 2, -1):
        if ends(batch[index]):
            return batch[: index + 1]
    return batch


class SyncClient:
    """Push, pull and photo uploads for one device, on top of an Outbox and a Transport.

    Transient failures (5xx, lost exchanges, replies that do not validate) are retried with exponential
    backoff and jitter, using only ``sleep`` and ``rng``: with a fake sleep and a seeded rng it is
    deterministic.
    """

    def __init__(
        self,
        transport: Transport,
        outbox: Outbox,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 8,
        backoff_base: float = 0.5,
        backoff_cap: float = 60.0,
        rng: random.Random | None = None,
        batch_end: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.transport = transport
        self.outbox = outbox
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.rng = rng if rng is not None else random.Random()
        #: Mutations after which a full batch would rather end (see cut_batch).
        self.batch_end = batch_end
        #: Counters for reports: retries made, requests sent, request and reply bytes.
        self.retries = 0
        self.requests = 0
        self.bytes_sent = 0
        self.bytes_received = 0

    # plumbing

    def _send(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None,
        json_body: Any = None, auth: bool = True,
    ) -> Response:  # fmt: skip
        all_headers = {"Accept": "application/json", **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False, allow_nan=False).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        if auth:
            token = self.outbox.token
            if not token:
                raise AuthError("401.1", "this device is not registered: call register() first", status=401)
            all_headers["Authorization"] = f"Bearer {token}"
        self.requests += 1
        self.bytes_sent += len(body or b"")
        response = self.transport.request(method, path, headers=all_headers, body=body)
        self.bytes_received += len(response.body)
        return response

    def _backoff(self, failures: int, retry_after: float | None = None) -> None:
        """Sleep before attempt ``failures + 1``: exponential, capped, jittered, at least any Retry-After."""
        delay = min(self.backoff_cap, self.backoff_base * 2 ** (failures - 1))
        # Equal jitter: many tablets reconnecting at once after an outage must not retry in lockstep.
        delay = delay / 2 + self.rng.random() * delay / 2
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_cap))
        self.retries += 1
        self.sleep(delay)

    def _exchange(self, method: str, path: str, parse: Callable[[Response], T], **send: Any) -> T:
        """Send until a reply passes ``parse``: transient failures are retried, a 4xx raises."""
        failures = 0
        while True:
            try:
                response = self._send(method, path, **send)
                _check_status(response)
                return parse(response)
            except (TransportError, _Retry) as error:
                failures += 1
                if failures >= self.max_attempts:
                    raise RetriesExhausted("retries_exhausted", f"{method} {path}: {error}") from error
                self._backoff(failures, error.retry_after if isinstance(error, _Retry) else None)

    @property
    def device_id(self) -> str:
        """This device's id (AuthError when not registered)."""
        device_id = self.outbox.device_id
        if not device_id or not self.outbox.token:
            raise AuthError("401.1", "this device is not registered: call register() first", status=401)
        return device_id

    # registration

    def register(self, username: str, password: str, label: str | None = None) -> str:
        """Sign in and register this device; stores its id and bearer token in the outbox and returns the id.

        The id is chosen (or kept, on a re-registration) before asking, so a retried registration, or one
        after a revoked token, continues the same device and its seq numbering.
        """
        device_id = self.outbox.device_id or str(uuid.uuid4())
        self.outbox.set_device(device_id, self.outbox.token)
        login = self._exchange(
            "POST", "/api/auth/login", _parse_login, json_body={"username": username, "password": password},
            auth=False,
        )  # fmt: skip
        cookie, csrf, user = login
        body: dict[str, Any] = {"device_id": device_id}
        if label:
            body["label"] = label
        token = self._exchange(
            "POST", "/api/devices", functools.partial(_parse_registration, device_id), json_body=body,
            headers={"Cookie": cookie, "X-CSRF-Token": csrf}, auth=False,
        )  # fmt: skip
        self.outbox.set_device(device_id, token, user)
        return device_id

    # push

    def push(self, batch_size: int = 100, pull_limit: int | None = None) -> PushSummary:
        """Push every pending mutation in batches; drop each only once a validated reply acknowledges it.

        With ``pull_limit``, the batch that empties the outbox asks for the pull page that follows it and the
        page is applied as a pull's would be (``summary.caught_up`` when nothing is left to pull)."""
        device_id = self.device_id
        summary = PushSummary()
        size = max(1, batch_size)
        while True:
            batch = self.outbox.pending(size)
            if not batch:
                return summary
            if self.batch_end is not None:
                batch = cut_batch(batch, size, self.batch_end)
            body: dict[str, Any] = {"device_id": device_id, "schema": SCHEMA_VERSION, "mutations": batch}
            cursor = self.outbox.cursor
            summary.caught_up = False  # this batch's own rows are in no page applied so far
            if pull_limit is not None and self.outbox.pending_count() == len(batch):
                body["pull"] = {"cursor": cursor, "limit": pull_limit}
            seqs = [m["seq"] for m in batch]
            try:
                reply = self._exchange(
                    "POST", "/api/sync/push", functools.partial(_parse_push_reply, device_id, frozenset(seqs)),
                    json_body=body,
                )  # fmt: skip
            except SyncError as error:
                if error.status == 413 and size > 1:
                    # Too many mutations or bytes for one request: split the batch and go on.
                    size = max(1, min(size, len(batch)) // 2)
                    continue
                raise
            summary.batches += 1
            summary.sent += len(batch)
            summary.last_seq = reply["last_seq"]
            for result in reply["results"]:
                status = result["status"]
                setattr(summary, status, getattr(summary, status) + 1)
                if result.get("code"):
                    summary.problems.append(result)
            # Only what this batch carried, and only up to what the server says it has processed.
            upto = min(reply["last_seq"], seqs[-1])
            if upto >= seqs[0]:
                summary.dropped += self.outbox.ack(upto)
            page = reply.get("pull")
            if page is not None and "pull" in body and self.outbox.cursor == cursor:
                # Made by the server after this push committed, from our cursor: a pull's page in all but name.
                summary.pulled += self.outbox.apply_page(page["changes"], page["cursor"], reset=page["reset"])
                summary.caught_up = not page["has_more"]
            if upto < seqs[-1]:
                # A gap on the server side (it is behind this outbox): the rest stays queued.
                summary.stalled = True
                return summary

    # pull

    def pull(self, limit: int = 500) -> int:
        """Pull pages until none is left, applying each page with its cursor atomically; returns the changes."""
        total = 0
        restarted = False
        while True:
            cursor = self.outbox.cursor
            query = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
            try:
                page = self._exchange(
                    "GET", "/api/sync/pull?" + urllib.parse.urlencode(query), _parse_pull_reply
                )
            except SyncError as error:
                if error.code == "400.41" and cursor and not restarted:
                    # The server no longer knows our cursor (e.g. its secret changed): resync from zero.
                    self.outbox.reset_replica()
                    restarted = True
                    continue
                raise
            total += self.outbox.apply_page(page["changes"], page["cursor"], reset=page["reset"])
            if not page["has_more"]:
                return total

    # photos

    def add_photo(self, path: str | Path) -> str:
        """Register a photo file's bytes for upload; returns their SHA-256 (the metadata is a mutation)."""
        return self.outbox.add_blob(path)

    def upload_blobs(self, chunk_size: int = 256 * 1024) -> int:
        """Upload every blob the server lacks, resumably; returns how many the server confirmed complete."""
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        records = self.outbox.blobs_to_upload()
        if not records:
            return 0
        missing: set[str] = set()
        for start in range(0, len(records), MAX_BLOBS_PER_QUERY):
            asked = [r.sha256 for r in records[start : start + MAX_BLOBS_PER_QUERY]]
            reply = self._exchange(
                "POST", "/api/sync/blobs/missing", _parse_missing, json_body={"sha256": asked}
            )
            missing.update(reply)
        confirmed = 0
        # Those the server says it holds first: each is still confirmed by a HEAD before it is marked (a bare
        # list is no proof), and if the HEAD disagrees it is uploaded after all.
        for record in sorted(records, key=lambda r: r.sha256 in missing):
            try:
                # A blob the server lacks starts at 0 without a HEAD first: should a partial upload exist
                # after all, the server's 409 names its offset and the upload continues from there.
                first_offset = 0 if record.sha256 in missing else None
                done = self._upload_one(record, chunk_size, first_offset)
            except RetriesExhausted:
                self.outbox.note_blob_failure(record.sha256)
                raise
            confirmed += int(done)
        return confirmed

    def _upload_one(self, record: BlobRecord, chunk_size: int, start: int | None = None) -> bool:
        """Bring one blob to complete on the server; False when the server refused it for good.

        ``start`` is where to begin without asking; None asks the server (HEAD) first."""
        path = f"/api/sync/blobs/{record.sha256}"
        failures = 0
        restarts = 0
        offset: int | None = start
        try:
            handle = Path(record.path).open("rb")  # noqa: SIM115  (closed by the with below)
        except FileNotFoundError:
            # The bytes are gone from this device: no retry can bring them back, so stop offering them.
            self.outbox.mark_rejected(record.sha256, LOCAL_FILE_MISSING)
            return False
        with handle:
            while True:
                try:
                    if offset is None:
                        offset, complete = self._blob_offset(path)
                        if complete:
                            self.outbox.mark_uploaded(record.sha256)
                            return True
                    if offset > record.size:
                        raise SyncError(
                            "blob_offset", f"the server holds {offset} bytes of a {record.size}-byte blob"
                        )
                    handle.seek(offset)
                    wanted = min(chunk_size, record.size - offset)
                    chunk = handle.read(wanted)
                    if len(chunk) < wanted:
                        # The file shrank since it was registered: these are no longer the bytes of the hash.
                        self.outbox.mark_rejected(record.sha256, LOCAL_FILE_CHANGED)
                        return False
                    response = self._send("PUT", path, body=chunk, headers={
                        "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset),
                        "Upload-Length": str(record.size)})  # fmt: skip
                    if response.status == 409:
                        # Someone (our own lost attempt, most likely) moved the offset: continue from there.
                        offset = _header_int(response, "Upload-Offset")
                        failures += 1
                        if failures >= self.max_attempts:
                            raise RetriesExhausted("retries_exhausted", f"PUT {path}: offsets keep moving")
                        continue
                    if response.status == 422 and _problem_of(response)[0] == "422.40":
                        # The bytes did not hash to the name: the server dropped them; start again from zero,
                        # unless it is our copy that changed since it was registered.
                        handle.seek(0)
                        if hashlib.file_digest(handle, "sha256").hexdigest() != record.sha256:
                            self.outbox.mark_rejected(record.sha256, LOCAL_FILE_CHANGED)
                            return False
                        restarts += 1
                        if restarts > 2:
                            raise SyncError("422.40", f"{record.sha256}: the server keeps rejecting the bytes' hash",
                                            status=422)  # fmt: skip
                        offset = 0
                        continue
                    try:
                        _check_status(response)
                    except SyncError as error:
                        if isinstance(error, AuthError) or error.status == 404:
                            raise
                        if "." not in error.code:
                            # No problem body: a proxy's page, a cut reply. Only the app's verdict is final.
                            raise _Retry(f"HTTP {error.status} without a problem body") from None
                        # Not an image, too large, a decompression bomb …: never accepted, never retried.
                        self.outbox.mark_rejected(record.sha256, error.code)
                        return False
                    status = _parse_blob_status(record.sha256, response)
                    if status["complete"]:
                        self.outbox.mark_uploaded(record.sha256)
                        return True
                    if status["received"] <= offset:
                        raise _Retry(f"no progress: {status['received']} bytes after a chunk at {offset}")
                    offset = status["received"]
                    failures = 0
                except (TransportError, _Retry) as error:
                    failures += 1
                    if failures >= self.max_attempts:
                        raise RetriesExhausted(
                            "retries_exhausted", f"upload {record.sha256}: {error}"
                        ) from error
                    self._backoff(failures, error.retry_after if isinstance(error, _Retry) else None)
                    offset = None  # we do not know what arrived: ask again

    def _blob_offset(self, path: str) -> tuple[int, bool]:
        """HEAD: how many bytes the server holds, and whether the blob is complete."""
        response = self._send("HEAD", path)
        if response.status == 404:
            return 0, False
        _check_status(response)
        complete = response.headers.get("Upload-Complete")
        if complete not in ("?1", "?0"):
            raise _Retry(f"HEAD {path}: no valid Upload-Complete header")
        return _header_int(response, "Upload-Offset"), complete == "?1"

    # everything

    def sync(
        self, *, batch_size: int = 100, pull_limit: int = 500, chunk_size: int = 256 * 1024
    ) -> SyncSummary:
        """Upload photos, push the outbox, then pull (unless the last push's reply carried every change): one
        full round.

        Photo uploads that give up do not hold back the push and the pull (metadata may travel before its
        bytes); their error is raised once those are done.
        """
        upload_error: RetriesExhausted | None = None
        try:
            uploaded = self.upload_blobs(chunk_size)
        except RetriesExhausted as error:
            uploaded, upload_error = 0, error
        pushed = self.push(batch_size, pull_limit=pull_limit)
        # The last push's reply may have carried the pull page that follows it: then only what is left is pulled.
        pulled = pushed.pulled + (0 if pushed.caught_up else self.pull(pull_limit))
        if upload_error is not None:
            raise upload_error
        return SyncSummary(uploaded=uploaded, push=pushed, pulled=pulled)


def _header_int(response: Response, name: str) -> int:
    value = response.headers.get(name, "")
    if not value.isdigit():
        raise _Retry(f"reply without a valid {name} header")
    return int(value)


def _load(schema: Any, response: Response) -> dict[str, Any]:
    """The reply body validated against ``schema``; anything else is a transient failure."""
    try:
        return dict(schema.load(response.json()))
    except (ValueError, UnicodeDecodeError, ValidationError, TypeError) as error:
        raise _Retry(f"invalid reply ({type(error).__name__}): {str(error)[:200]}") from None


def _parse_login(response: Response) -> tuple[str, str, dict[str, Any]]:
    try:
        body = response.json()
        csrf = body["csrf_token"]
        user = body.get("user") or {}
    except (ValueError, UnicodeDecodeError, KeyError, TypeError, AttributeError):
        raise _Retry("invalid login reply") from None
    # The session cookie, sent back verbatim: name=value of each Set-Cookie (attributes are ours to ignore).
    cookie = "; ".join(h.split(";", 1)[0].strip() for h in response.header_values("Set-Cookie"))
    if not cookie or not isinstance(csrf, str):
        raise _Retry("login reply without a session cookie or CSRF token")
    return cookie, csrf, user if isinstance(user, dict) else {}


def _parse_registration(device_id: str, response: Response) -> str:
    try:
        body = response.json()
        registered, token = str(body["device"]["id"]), body["token"]
    except (ValueError, UnicodeDecodeError, KeyError, TypeError):
        raise _Retry("invalid registration reply") from None
    if registered != device_id or not isinstance(token, str) or not token:
        raise _Retry("the registration reply is not for this device")
    return token


def _parse_push_reply(device_id: str, seqs: frozenset[int], response: Response) -> dict[str, Any]:
    reply = _load(PushReplySchema(), response)
    if str(reply["device_id"]) != device_id:
        # Someone else's reply (a confused proxy, a bug): acting on it could drop entries never applied.
        raise _Retry(f"push reply for device {reply['device_id']}, not {device_id}")
    if any(r["seq"] not in seqs for r in reply["results"]):
        raise _Retry("push reply with results for seqs that were not sent")
    return reply


def _parse_pull_reply(response: Response) -> dict[str, Any]:
    return _load(PullReplySchema(), response)


def _parse_missing(response: Response) -> list[str]:
    return list(_load(BlobMissingReplySchema(), response)["missing"])


def _parse_blob_status(sha256: str, response: Response) -> dict[str, Any]:
    status = _load(BlobStatusSchema(), response)
    if status["sha256"] != sha256:
        raise _Retry(f"upload reply for blob {status['sha256']}, not {sha256}")
    return status
