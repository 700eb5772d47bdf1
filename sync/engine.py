"""The sync engine: apply a device's push exactly once and in order, and page changes out in commit order.

Generic: it knows entities only through the handlers the application registers, and device state only
through a DeviceLedger; it never imports the application.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from sync import problems
from sync.problems import Problem
from sync.protocol import SUPPORTED_SCHEMAS, mutation_digest

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from sync.principal import Principal


log = logging.getLogger(__name__)

#: Errors that mean a mutation's data cannot be stored (a constraint, a value out of range): the mutation
#: is quarantined, never retried forever. Other database errors propagate and the push is retried.
BAD_DATA_ERRORS = (StatementError, OverflowError, ValueError)


@dataclass(frozen=True)
class Mutation:
    """One outbox entry as received: parsed fields, the raw message and its digest."""

    seq: int
    entity: str
    id: uuid.UUID
    op: str
    base_version: int | None
    data: Mapping[str, Any]
    at: datetime
    raw: Mapping[str, Any]
    digest: str


@dataclass(frozen=True)
class Change:
    """A row as a device should hold it, numbered by the change that last wrote it."""

    change_no: int
    entity: str
    id: str
    version: int
    deleted: bool
    data: Mapping[str, Any] | None

    def to_message(self) -> dict[str, Any]:
        """The change as it travels in a pull reply."""
        return {"entity": self.entity, "id": self.id, "version": self.version, "deleted": self.deleted,
                "data": None if self.deleted else dict(self.data or {})}  # fmt: skip


class EntityHandler(Protocol):
    """How one entity is applied from devices and shown to them."""

    #: The entity name used in mutations and changes.
    entity: str
    #: The fields a device may write; anything else in a mutation is refused.
    writable_fields: frozenset[str]

    def apply(self, session: Session, principal: Principal, mutation: Mutation) -> int:
        """Validate and apply one mutation; return the row's new version. Raise a Problem to refuse it."""
        ...

    def changes(
        self, session: Session, principal: Principal, after: int, upto: int, limit: int
    ) -> list[Change]:
        """Rows visible to ``principal`` with ``after < change_no <= upto``, lowest first, at most ``limit``."""
        ...

    # Optional, looked up with getattr: ``change_table``, the table (with a ``change_no`` column) whose rows alone
    # changes() returns, lets a pull skip the handler when that table has no change in the range;
    # ``prefetch(session, mutations)`` loads what a batch needs in a few
    # queries; ``apply_many(session, principal, mutations) -> list[int]`` applies a run of consecutive
    # mutations of the entity at once (each refusal a Problem, like apply); ``finish_batch(session)`` writes
    # what apply_many kept aside, just before the batch's one flush.


class DeviceLedger(Protocol):
    """Per-device sync state the application keeps in its own tables."""

    def lock(self, session: Session, device_id: uuid.UUID) -> int:
        """Lock the device's row for the rest of the transaction and return its last applied seq."""
        ...

    def set_last_seq(self, session: Session, device_id: uuid.UUID, last_seq: int) -> None:
        """Store the device's new last seq."""
        ...

    def digest_of(self, session: Session, device_id: uuid.UUID, seq: int) -> str | None:
        """The digest of the mutation processed under ``seq``, if known."""
        ...

    def quarantined_as(
        self, session: Session, device_id: uuid.UUID, seq: int, digest: str
    ) -> tuple[str, str] | None:
        """The code and English message of the refusal the mutation (device, seq, digest) was quarantined
        under, if it was."""
        ...

    def record(self, session: Session, device_id: uuid.UUID, mutation: Mutation, outcome: str) -> None:
        """Remember that ``mutation`` was processed (outcome "applied" or "quarantined")."""
        ...

    def quarantine(self, session: Session, device_id: uuid.UUID, mutation: Mapping[str, Any], problem: Problem,
                   digest: str) -> None:  # fmt: skip
        """Keep a refused mutation whole, with the reason (at most once per device, seq and digest)."""
        ...

    def committed_high_water(self, session: Session) -> int:
        """The highest change number whose transaction has committed (all lower ones have too)."""
        ...


@dataclass
class HandlerRegistry:
    """The entities the application syncs."""

    handlers: dict[str, EntityHandler] = field(default_factory=dict)

    def register(self, handler: EntityHandler) -> None:
        """Add a handler; an entity name may be registered once."""
        if handler.entity in self.handlers:
            raise ValueError(f"entity {handler.entity!r} is already registered")
        self.handlers[handler.entity] = handler

    def get(self, entity: str) -> EntityHandler | None:
        """The handler for ``entity``, if any."""
        return self.handlers.get(entity)

    def __iter__(self) -> Iterator[EntityHandler]:
        """The handlers in registration order."""
        return iter(self.handlers.values())


def parse_mutation(raw: Mapping[str, Any]) -> Mutation:
    """Turn a loaded MutationSchema dict plus the raw JSON into a Mutation."""
    return Mutation(
        seq=raw["seq"], entity=raw["entity"], id=raw["id"], op=raw["op"], base_version=raw.get("base_version"),
        data=raw.get("data") or {}, at=raw["at"], raw=raw["_raw"], digest=mutation_digest(raw["_raw"]),
    )  # fmt: skip


def apply_push(
    session: Session,
    registry: HandlerRegistry,
    ledger: DeviceLedger,
    principal: Principal,
    device_id: uuid.UUID,
    schema: int,
    mutations: Sequence[Mutation],
) -> dict[str, Any]:
    """Apply a batch in one transaction (the caller commits): duplicates skipped, invalid mutations
    quarantined and counted, a gap stops the batch. Returns the reply message.

    The batch is first applied all at once, without a savepoint (two statements fewer per push); only when some
    mutation is refused is the whole transaction rolled back (nothing of the attempt is kept, the device's lock
    included) and the push applied again from the start, one savepoint per mutation, so that the refused one can
    be set aside whole.
    """
    if schema not in SUPPORTED_SCHEMAS:
        raise problems.unsupported_schema(schema=schema, supported=sorted(SUPPORTED_SCHEMAS))
    if device_id != principal.device_id:
        raise problems.device_mismatch()
    reply = _apply_batch(session, registry, ledger, principal, device_id, mutations, at_once=True)
    if reply is None:
        session.rollback()
        reply = _apply_batch(session, registry, ledger, principal, device_id, mutations, at_once=False)
        assert reply is not None  # one mutation at a time, a refusal is quarantined, never raised
    return reply


def _apply_batch(
    session: Session,
    registry: HandlerRegistry,
    ledger: DeviceLedger,
    principal: Principal,
    device_id: uuid.UUID,
    mutations: Sequence[Mutation],
    *,
    at_once: bool,
) -> dict[str, Any] | None:
    """apply_push's work in the transaction: lock, sort out duplicates and gaps, apply. With ``at_once`` the
    runnable mutations are applied together, and None is returned (the transaction to be rolled back) when one
    is refused; otherwise one at a time, each refusal quarantined."""
    last_seq = ledger.lock(session, device_id)
    results: dict[int, dict[str, Any]] = {}
    runnable: list[Mutation] = []
    next_seq, gap = last_seq + 1, False
    for mutation in sorted(mutations, key=lambda m: m.seq):
        if mutation.seq <= last_seq:
            previous = ledger.digest_of(session, device_id, mutation.seq)
            results[id(mutation)] = _duplicate(session, ledger, device_id, mutation, previous)
        elif runnable and mutation.seq <= runnable[-1].seq:
            # The same seq twice in one batch: the first one is taken, the second is a duplicate of it.
            taken = next(m.digest for m in runnable if m.seq == mutation.seq)
            results[id(mutation)] = _duplicate(session, ledger, device_id, mutation, taken)
        elif not gap and mutation.seq == next_seq:
            runnable.append(mutation)
            next_seq += 1
        else:
            gap = True
            results[id(mutation)] = {"seq": mutation.seq, "status": "not_processed", "code": None,
                                     "message": f"gap: expected seq {next_seq}", "version": None}  # fmt: skip
    for handler in registry:
        # Optional: a handler may load what the whole batch needs in a few queries.
        prefetch = getattr(handler, "prefetch", None)
        wanted = [m for m in runnable if m.entity == handler.entity]
        if prefetch is not None and wanted:
            prefetch(session, wanted)
    applied: list[dict[str, Any]]
    if runnable:
        last_seq = runnable[-1].seq

    def record_applied() -> None:
        # Before the handlers' finish_batch: what they write next may take locks other pushes wait for until the
        # commit (change numbers), and the ledger's rows need none of them.
        for mutation in runnable:
            ledger.record(session, device_id, mutation, "applied")
        ledger.set_last_seq(session, device_id, last_seq)

    if principal.held is not None:
        applied = [_hold(session, ledger, device_id, m, principal.held) for m in runnable]
    elif not at_once:
        applied = [_apply_one(session, registry, ledger, principal, device_id, m) for m in runnable]
    elif (together := _apply_all_or_nothing(session, registry, principal, runnable, record_applied)) is None:
        return None
    else:
        applied = together
    for mutation, result in zip(runnable, applied, strict=True):
        results[id(mutation)] = result
    if principal.held is not None or not at_once:
        # (A batch applied at once recorded its ledger before its rows.)
        ledger.set_last_seq(session, device_id, last_seq)
    ordered = [results[id(m)] for m in sorted(mutations, key=lambda m: m.seq)]
    return {"device_id": device_id, "last_seq": last_seq, "results": ordered}


def _apply_all_or_nothing(
    session: Session,
    registry: HandlerRegistry,
    principal: Principal,
    mutations: Sequence[Mutation],
    before_finish: Callable[[], None],
) -> list[dict[str, Any]] | None:
    """Apply every mutation at once; None if any is refused (the caller then rolls the transaction back: what was
    applied before the refusal is still in the session). ``before_finish`` runs once every mutation is applied,
    before the handlers' finish_batch.

    Consecutive mutations of one entity go to the handler's optional ``apply_many`` at once (set-based:
    it may keep new rows aside and write them in one statement from its optional ``finish_batch``, called
    just before the batch's one flush, so that rows the session writes may refer to them). Any refusal rolls everything back, and the caller applies the batch one
    mutation at a time, so that exactly the refused one is quarantined."""
    try:
        versions: list[int] = []
        # One flush for the whole batch: handlers find the rows the batch made without queries.
        with session.no_autoflush:
            for run in _runs(mutations):
                handler = checked_handler(registry, run[0])
                for mutation in run[1:]:
                    checked_handler(registry, mutation)
                apply_many = getattr(handler, "apply_many", None)
                if apply_many is not None:
                    versions.extend(apply_many(session, principal, run))
                else:
                    versions.extend(handler.apply(session, principal, mutation) for mutation in run)
            before_finish()  # still without autoflush: rows the session holds may refer to rows not yet written
        # What apply_many kept aside is written first: rows the session holds may refer to it.
        for handler in registry:
            finish = getattr(handler, "finish_batch", None)
            if finish is not None:
                finish(session)
        session.flush()
    except (Problem, *BAD_DATA_ERRORS) as error:
        # Normal for a batch holding a bad mutation; frequent, it would mean a slow path for good data.
        log.info("batch re-applied one mutation at a time after: %s", error)
        return None
    return [{"seq": m.seq, "status": "applied", "code": None, "message": None, "version": v}
            for m, v in zip(mutations, versions, strict=True)]  # fmt: skip


def _runs(mutations: Sequence[Mutation]) -> Iterator[list[Mutation]]:
    """The mutations cut into runs of consecutive ones of the same entity, in order."""
    run: list[Mutation] = []
    for mutation in mutations:
        if run and run[-1].entity != mutation.entity:
            yield run
            run = []
        run.append(mutation)
    if run:
        yield run


def checked_handler(registry: HandlerRegistry, mutation: Mutation) -> EntityHandler:
    """The mutation's handler, after refusing unknown entities and fields a device may not write (also used
    when an admin re-applies a quarantined mutation)."""
    handler = registry.get(mutation.entity)
    if handler is None:
        raise problems.unknown_entity(entity=mutation.entity)
    refused = sorted(set(mutation.data) - handler.writable_fields)
    if refused:
        raise problems.field_not_writable(fields=", ".join(refused))
    return handler


def _duplicate(
    session: Session,
    ledger: DeviceLedger,
    device_id: uuid.UUID,
    mutation: Mutation,
    previous: str | None,
) -> dict[str, Any]:
    """A seq already processed (``previous`` is its digest, if known): skipped, kept aside if its content differs.

    A replay of a mutation that was quarantined answers "quarantined" again with the original reason: a device
    whose first reply was lost must still hear that the record was refused."""
    if previous is not None and previous == mutation.digest:
        refused = ledger.quarantined_as(session, device_id, mutation.seq, mutation.digest)
        if refused is not None:
            code, message = refused
            return {
                "seq": mutation.seq,
                "status": "quarantined",
                "code": code,
                "message": message,
                "version": None,
            }
    if previous is not None and previous != mutation.digest:
        problem = problems.duplicate_seq_differs(seq=mutation.seq)
        ledger.quarantine(session, device_id, mutation.raw, problem, mutation.digest)
        return {"seq": mutation.seq, "status": "duplicate", "code": problem.code,
                "message": problem.message("en"), "version": None}  # fmt: skip
    return {"seq": mutation.seq, "status": "duplicate", "code": None, "message": None, "version": None}


def _hold(session: Session, ledger: DeviceLedger, device_id: uuid.UUID, mutation: Mutation,
          problem: Problem) -> dict[str, Any]:  # fmt: skip
    """Keep a held device's mutation whole in quarantine, unapplied, for an admin to review."""
    ledger.quarantine(session, device_id, mutation.raw, problem, mutation.digest)
    ledger.record(session, device_id, mutation, "quarantined")
    return {"seq": mutation.seq, "status": "quarantined", "code": problem.code, "message": problem.message("en"),
            "version": None}  # fmt: skip


def _apply_one(
    session: Session,
    registry: HandlerRegistry,
    ledger: DeviceLedger,
    principal: Principal,
    device_id: uuid.UUID,
    mutation: Mutation,
) -> dict[str, Any]:
    try:
        handler = checked_handler(registry, mutation)
        # A savepoint, so that a handler failing half-way leaves nothing of this mutation behind.
        with session.begin_nested():
            version = handler.apply(session, principal, mutation)
            session.flush()
    except BAD_DATA_ERRORS as error:
        if isinstance(error, DBAPIError) and not isinstance(error, IntegrityError | DataError):
            raise  # the database failing (connection lost …) is not the mutation's fault: the push is retried
        cause = getattr(error, "orig", None) or error
        problem = problems.invalid_mutation(reason=str(cause).splitlines()[0][:300])
        ledger.quarantine(session, device_id, mutation.raw, problem, mutation.digest)
        ledger.record(session, device_id, mutation, "quarantined")
        return {"seq": mutation.seq, "status": "quarantined", "code": problem.code,
                "message": problem.message("en"), "version": None}  # fmt: skip
    except Problem as problem:
        ledger.quarantine(session, device_id, mutation.raw, problem, mutation.digest)
        ledger.record(session, device_id, mutation, "quarantined")
        return {"seq": mutation.seq, "status": "quarantined", "code": problem.code,
                "message": problem.message("en"), "version": None}  # fmt: skip
    ledger.record(session, device_id, mutation, "applied")
    return {"seq": mutation.seq, "status": "applied", "code": None, "message": None, "version": version}


# --- pull -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where a device's replica stands: the last change number it holds, for which scope."""

    after: int
    fingerprint: str


def encode_cursor(cursor: Cursor, secret: bytes) -> str:
    """An opaque, tamper-evident cursor string."""
    body = base64.urlsafe_b64encode(json.dumps({"v": 1, "n": cursor.after, "f": cursor.fingerprint}).encode())
    tag = hmac.new(secret, body, hashlib.sha256).digest()[:12]
    return f"{body.decode().rstrip('=')}.{base64.urlsafe_b64encode(tag).decode().rstrip('=')}"


def decode_cursor(text: str, secret: bytes) -> Cursor:
    """Read a cursor made by encode_cursor; anything else raises invalid_cursor."""
    try:
        body_text, tag_text = text.split(".", 1)
        body = body_text.encode() + b"=" * (-len(body_text) % 4)
        tag = base64.urlsafe_b64decode(tag_text + "=" * (-len(tag_text) % 4))
        if not hmac.compare_digest(tag, hmac.new(secret, body, hashlib.sha256).digest()[:12]):
            raise ValueError("bad tag")
        data = json.loads(base64.urlsafe_b64decode(body))
        if data.get("v") != 1 or not isinstance(data.get("n"), int) or data["n"] < 0:
            raise ValueError("bad body")
        return Cursor(after=data["n"], fingerprint=str(data["f"]))
    except (ValueError, TypeError, KeyError, json.JSONDecodeError):
        raise problems.invalid_cursor() from None


@dataclass(frozen=True)
class PullPage:
    """One page of a pull: the changes as messages (``encoded``: each one's JSON text for the reply, when the
    caller gave an encoder), the cursor to continue from, whether more wait, whether the replica restarts."""

    messages: list[dict[str, Any]]
    encoded: list[str] | None
    cursor: str
    has_more: bool
    reset: bool

    def reply(self) -> dict[str, Any]:
        """The page as the pull reply message."""
        return {
            "changes": self.messages,
            "cursor": self.cursor,
            "has_more": self.has_more,
            "reset": self.reset,
        }


def changes_since(
    session: Session,
    registry: HandlerRegistry,
    ledger: DeviceLedger,
    principal: Principal,
    cursor_text: str | None,
    limit: int,
    secret: bytes,
    max_bytes: int | None = None,
    probe: bool = True,
) -> dict[str, Any]:
    """One page of the changes the principal may see after its cursor, as the pull reply message (see pull_page)."""
    return pull_page(
        session, registry, ledger, principal, cursor_text, limit, secret, max_bytes, probe
    ).reply()


def pull_page(
    session: Session,
    registry: HandlerRegistry,
    ledger: DeviceLedger,
    principal: Principal,
    cursor_text: str | None,
    limit: int,
    secret: bytes,
    max_bytes: int | None = None,
    probe: bool = True,
    encode: Callable[[dict[str, Any]], str | None] | None = None,
) -> PullPage:
    """One page of the changes the principal may see after its cursor, in change-number order.

    Only numbers up to the committed high-water mark are read: every lower number belongs to a
    transaction that has committed too, so no row committed late can be skipped. A page holds at most
    ``limit`` changes and, when ``max_bytes`` is given, stops once its changes reach about that many bytes
    of JSON (always at least one change, so a page never stalls on one large row). With ``probe``, handlers
    that name their ``change_table`` are asked only when one statement finds a change in their table's range.
    ``encode`` (optional) turns each message into its compact JSON text for the reply (any key order, escaping
    at least what ``ensure_ascii=False`` escapes), or None when it cannot (the page then carries no texts).
    """
    reset = False
    if cursor_text:
        cursor = decode_cursor(cursor_text, secret)
        if cursor.fingerprint != principal.fingerprint:
            cursor, reset = Cursor(0, principal.fingerprint), True
    else:
        cursor, reset = Cursor(0, principal.fingerprint), True
    upto = ledger.committed_high_water(session)
    candidates: list[Change] = []
    # At the high-water mark every handler's range (after, upto] is empty: a tablet polling with nothing
    # new costs the counter's read, not one query per entity.
    handlers = list(registry) if upto > cursor.after else []
    if probe and handlers:
        handlers = _with_changes(session, handlers, cursor.after, upto)
    for handler in handlers:
        candidates.extend(handler.changes(session, principal, cursor.after, upto, limit + 1))
    candidates.sort(key=_change_no)
    page = candidates[:limit]
    has_more = len(candidates) > limit
    messages = [c.to_message() for c in page]
    texts = None if encode is None else [encode(m) for m in messages]
    encoded = None if texts is None or None in texts else cast(list[str], texts)
    if max_bytes is not None:
        kept = _within_bytes(page, messages, max_bytes, encoded)
        if kept < len(page):
            page, messages, has_more = page[:kept], messages[:kept], True
            encoded = None if encoded is None else encoded[:kept]
    # With nothing more to send, jump to the high-water mark: changes the principal cannot see are skipped.
    last = page[-1].change_no if has_more else max(cursor.after, upto)
    return PullPage(
        messages=messages,
        encoded=encoded,
        cursor=encode_cursor(Cursor(last, principal.fingerprint), secret),
        has_more=has_more,
        reset=reset,
    )


def _change_no(change: Change) -> int:
    return change.change_no


def _with_changes(
    session: Session, handlers: list[EntityHandler], after: int, upto: int
) -> list[EntityHandler]:
    """The handlers that may have changes in (after, upto]: those without a ``change_table``, and those whose
    table holds a change number in the range, found in one statement (an index probe per table)."""
    tables = tuple(
        {id(t): t for h in handlers if (t := getattr(h, "change_table", None)) is not None}.values()
    )
    if not tables:
        return handlers
    found = session.scalars(_probe_statement(tables), {"after": after, "upto": upto})
    changed = {id(tables[index]) for index in found}
    return [h for h in handlers if (t := getattr(h, "change_table", None)) is None or id(t) in changed]


@functools.lru_cache(maxsize=16)
def _probe_statement(tables: tuple[Any, ...]) -> Any:
    """For each table, its position when it holds a change number in (:after, :upto] (built once: a pull runs
    it every time)."""
    after, upto = sa.bindparam("after", type_=sa.BigInteger), sa.bindparam("upto", type_=sa.BigInteger)
    return sa.union_all(
        *(
            sa.select(sa.literal(index)).where(
                sa.exists().where(table.c.change_no > after, table.c.change_no <= upto)
            )
            for index, table in enumerate(tables)
        )
    )


def _size_bound(text: str) -> int:
    """An upper bound of the counted size of the message whose compact JSON is ``text`` (see _within_bytes)."""
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
    return size + text.count(",") + text.count(":")


#: How a page's size is counted (one encoder for every message, not one made per call as json.dumps does).
_SIZE_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


def _within_bytes(
    page: Sequence[Change],
    messages: Sequence[dict[str, Any]],
    max_bytes: int,
    encoded: Sequence[str] | None = None,
) -> int:
    """How many leading changes fit in ``max_bytes`` of JSON: at least one, and never part of a change
    number's rows (the next page starts after the last number sent).

    With the messages' compact texts (``encoded``), a page that fits even by an upper bound of its size is
    kept whole without encoding its messages again: a message's size as counted here is at most its compact
    text's bytes (escapes are never shorter than the UTF-8 they stand for) plus one space after each of its
    separators (no more than the commas and colons the text holds)."""
    if encoded is not None and sum(_size_bound(text) for text in encoded) <= max_bytes:
        return len(messages)
    used = 0
    cut = len(messages)
    for index, message in enumerate(messages):
        used += len(_SIZE_ENCODER.encode(message).encode("utf-8"))
        if used > max_bytes and index > 0:
            cut = index
            break
    if cut == len(messages):
        return cut
    number = page[cut].change_no
    kept = cut
    while kept > 0 and page[kept - 1].change_no == number:
        kept -= 1
    if kept == 0:  # the first number alone is past the budget: sent whole rather than split
        kept = cut
        while kept < len(page) and page[kept].change_no == number:
            kept += 1
    return kept
