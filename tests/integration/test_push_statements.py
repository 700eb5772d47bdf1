"""What one push asks of the database: the batch's existing rows looked up in one statement, the catalogue's
items read as the few columns a push uses, and the ledger's rows written with the device's new last seq."""

from __future__ import annotations

import collections
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from server.caches import catalogue_items_cache
from server.catalogue.loader import default_catalogue_path
from server.domain.inspections import InspectionStatus
from server.extensions import db
from server.models import (
    Catalogue,
    ChangeCounter,
    Enterprise,
    Hazard,
    HazardEvent,
    Inspection,
    ItemResult,
    Region,
    SyncMutation,
    User,
)
from server.models import Device as DeviceRow
from server.models.region import RegionLevel
from server.services.scope import scope_for
from server.sync_handlers import common
from tests.integration.sync_helpers import Device, enterprise_and_catalogue, inspection_batch, statements_run


def _selects_from(seen: list[str], table: str) -> list[str]:
    return [s for s in seen if s.startswith("SELECT") and f" FROM {table} " in f"{s} "]


def _push_whole_inspections(
    app: Flask, count: int, enterprises: list[str] | None = None, *, catalogue_read: bool = False
) -> tuple[Device, list[str], list[str]]:
    """A warmed device pushes ``count`` new whole inspections (one at each of ``enterprises``, if named); returns
    it, their ids and the push's statements. ``catalogue_read``: the worker forgets the catalogue versions it
    keeps first, so that the push reads its catalogue as the first push of a worker does."""
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    warm = inspection_batch(device, enterprise_id, catalogue_id, codes)[1]
    assert {r["status"] for r in device.push(warm).get_json()["results"]} == {"applied"}
    if catalogue_read:
        app.extensions.pop("catalogue_items_cache", None)
    ids, batch = [], []
    for index in range(count):
        if enterprises:
            enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app, enterprises[index])
        inspection_id, mutations = inspection_batch(device, enterprise_id, catalogue_id, codes)
        ids.append(inspection_id)
        batch += mutations
    with statements_run(app, unquoted=True) as seen:
        reply = device.push(batch).get_json()
    assert {r["status"] for r in reply["results"]} == {"applied"}, reply
    return device, ids, seen


def test_the_batch_rows_are_looked_up_in_one_statement_and_new_ones_are_not_loaded(app: Flask) -> None:
    """Every handler's prefetch asks one statement for the ids that exist (before: one ORM query per table, each
    building instances); a batch of new rows loads no row at all."""
    _device, ids, seen = _push_whole_inspections(app, 2)
    lookups = [s for s in seen if s.startswith("SELECT") and " UNION ALL " in s]
    assert len(lookups) == 1, seen
    assert all(f" FROM {table} " in lookups[0] for table in ("inspection", "item_result", "hazard")), lookups
    # No ORM load of the batch's own (new) rows: nothing selects their columns.
    for table in ("inspection", "item_result", "hazard", "hazard_event"):
        assert [s for s in _selects_from(seen, table) if s not in lookups] == [], seen
    with app.app_context():
        stored = db.session.scalars(
            sa.select(Inspection).where(Inspection.id.in_([uuid.UUID(i) for i in ids]))
        )
        assert {i.status for i in stored} == {InspectionStatus.submitted}


def test_the_lookup_of_a_batch_rows_reads_the_same_on_postgresql_whatever_their_number(app: Flask) -> None:
    """On PostgreSQL each table's ids go as one array parameter: the statement's text is the same for 1 or 3
    inspections (before, an IN list of one parameter per id: a new text, parsed and planned anew, for each number
    of ids, up to 500 a batch); other engines keep the IN list."""
    lookups = []
    for count in (1, 3):
        _device, _ids, seen = _push_whole_inspections(app, count)
        lookups += [s for s in seen if s.startswith("SELECT") and " UNION ALL " in s]
    assert len(lookups) == 2, lookups
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    if postgres:
        assert lookups[0] == lookups[1], lookups
        assert " IN (" not in lookups[0] and "= ANY (" in lookups[0], lookups[0]
    else:
        assert lookups[0] != lookups[1] and " IN (" in lookups[0], lookups


def _catalogue_reads(seen: list[str]) -> list[str]:
    return [s for s in seen if s.startswith("SELECT") and re.search(r"\bFROM catalogue(_item)?\b", s)]


def test_a_push_reads_only_the_catalogue_items_columns_it_uses(app: Flask) -> None:
    """The items' codes, default levels and applicability rules, not their texts and legal bases."""
    _device, _ids, seen = _push_whole_inspections(app, 1, catalogue_read=True)
    items = [s for s in _catalogue_reads(seen) if "catalogue_item.code" in s]
    assert len(items) == 1, seen
    selected = items[0].split(" FROM ", 1)[0]
    assert "catalogue_item.code" in selected and "catalogue_item.applies_when" in selected, selected
    assert "catalogue_item.text" not in selected and "catalogue_item.legal_basis" not in selected, selected
    assert items[0].endswith("ORDER BY catalogue_item.ordinal"), items[0]  # the order a refusal lists them in


def test_a_push_reads_no_catalogue_version_the_worker_already_read_in_use(app: Flask) -> None:
    """A catalogue version an inspection uses never changes: the worker keeps its items once it has read them,
    and later pushes naming it read no catalogue (before: every push with a new inspection read it)."""
    _device, _ids, seen = _push_whole_inspections(app, 1)
    assert _catalogue_reads(seen) == [], _catalogue_reads(seen)


def test_a_catalogue_version_is_kept_only_once_a_committed_inspection_uses_it(
    app: Flask, tmp_path: Path
) -> None:
    """A version no inspection uses may still be replaced (flask catalogue import --replace): its items are read
    by every push until an inspection using it is committed. A read in a transaction rolled back keeps nothing."""
    text = default_catalogue_path().read_text(encoding="utf-8")
    (tmp_path / "v2.toml").write_text(text.replace("version = 1", "version = 2", 1), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["catalogue", "import", str(tmp_path / "v2.toml")])
    assert result.exit_code == 0, result.output
    with app.app_context():
        used, unused = (
            db.session.scalar(sa.select(Catalogue.id).where(Catalogue.version == version))
            for version in (1, 2)
        )
        kept = catalogue_items_cache()
        assert used is not None and unused is not None
        assert common.catalogue_exists(db.session, used) and common.catalogue_exists(db.session, unused)
        db.session.rollback()
        assert kept.get(used) is None and kept.get(unused) is None
        assert common.catalogue_exists(db.session, used) and common.catalogue_exists(db.session, unused)
        db.session.commit()
        assert (
            set(kept.get(used) or ()) == set(common.catalogue_codes(db.session, used))
            and kept.get(unused) is None
        )
    # The version's first inspection: read before it is stored, then once stored and committed, then no more.
    device = Device(app, "xx_insp1")
    enterprise_id, _catalogue_id, codes = enterprise_and_catalogue(app)
    reads = []
    for _ in range(3):
        with statements_run(app, unquoted=True) as seen:
            reply = device.push(inspection_batch(device, enterprise_id, str(unused), codes)[1]).get_json()
        assert {r["status"] for r in reply["results"]} == {"applied"}, reply
        reads.append(len(_catalogue_reads(seen)))
    assert reads == [1, 1, 0], reads


def test_the_ledger_rows_go_with_the_device_last_seq_on_postgresql(app: Flask) -> None:
    """On PostgreSQL the batch's ledger rows and the device's new last seq are one statement; the rows and the
    seq are stored either way."""
    device, _ids, seen = _push_whole_inspections(app, 1)
    kinds = collections.Counter(s.split()[0] for s in seen)
    ledger = [s for s in seen if "INSERT INTO sync_mutation" in s]
    device_updates = [s for s in seen if s.startswith(("UPDATE device", "WITH")) and "UPDATE device" in s]
    assert len(ledger) == 1, seen
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        row = db.session.get(DeviceRow, uuid.UUID(device.device_id))
        assert row is not None and row.last_seq == device.seq
        recorded = db.session.scalars(
            sa.select(SyncMutation.seq).where(SyncMutation.device_id == row.id).order_by(SyncMutation.seq)
        ).all()
        assert recorded == list(range(1, device.seq + 1))
    if postgres:
        assert len(device_updates) == 2 and ledger[0] in device_updates, seen  # the lock, then seq and ledger
    else:
        assert len(device_updates) == 2 and ledger[0] not in device_updates, seen
    assert kinds["SELECT"] >= 1


def test_a_new_inspections_catalogue_is_read_with_its_items_in_one_statement(app: Flask) -> None:
    """The catalogue a new inspection names, checked to exist, comes with the items its answers and its
    submission are checked against (before: two statements)."""
    _device, _ids, seen = _push_whole_inspections(app, 1, catalogue_read=True)
    reads = _catalogue_reads(seen)
    assert len(reads) == 1, reads
    assert "catalogue.id" in reads[0].split(" FROM ", 1)[0] and "catalogue_item.code" in reads[0], reads


def test_a_sync_request_reads_its_device_and_its_users_scope_stamp_in_one_statement(app: Flask) -> None:
    """Every sync request finds its device by token and checks that its user's cached scope is current (their
    assignments and the region tree's version): one statement, not two."""
    _device, _ids, seen = _push_whole_inspections(app, 1)
    device_reads = [s for s in seen if s.startswith("SELECT") and re.search(r"\bFROM device\b", s)]
    assert len(device_reads) == 1, device_reads
    assert "sampling_assignment" in device_reads[0] and "region_version" in device_reads[0], device_reads
    stamps = [s for s in seen if "region_version" in s]
    assert stamps == device_reads, stamps


def test_a_push_of_one_inspection_runs_at_most_seven_statements_on_postgresql(app: Flask) -> None:
    """19 at first: three prefetch queries, the ledger apart from the device's seq, and a savepoint around the
    batch (a refusal now rolls the whole attempt back instead, and the batch is applied again). 14 next: one
    INSERT per table of new rows; then 10, the new rows of every table in one statement. Now the device comes
    with its user's scope stamp, the catalogue with its items, and the new rows' statement takes the change
    counter itself: each statement costs about 0.2 ms of CPU, the app's and the database's, before its rows (a
    third of a small push's cost)."""
    _device, _ids, seen = _push_whole_inspections(app, 1)
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    assert not [s for s in seen if s.startswith(("SAVEPOINT", "RELEASE"))], seen
    assert len(seen) <= (7 if postgres else 13), "\n".join(seen)
    for model in (Hazard, ItemResult):
        assert model.__tablename__ in " ".join(seen)


def test_the_enterprises_a_batch_names_are_read_in_one_statement(app: Flask) -> None:
    """Inspections at three enterprises, each with its hazard: one SELECT from enterprise for the batch (before:
    one per enterprise, each expanding the scope's region list again), and every record is stored."""
    with app.app_context():
        names = db.session.scalars(
            sa.select(Enterprise.name).where(Enterprise.name.like("兴县%")).order_by(Enterprise.name).limit(3)
        ).all()
    assert len(names) == 3
    _device, ids, seen = _push_whole_inspections(app, 3, list(names))
    assert len(_selects_from(seen, "enterprise")) == 1, "\n".join(_selects_from(seen, "enterprise"))
    with app.app_context():
        stored = db.session.scalars(
            sa.select(Inspection).where(Inspection.id.in_([uuid.UUID(i) for i in ids]))
        )
        assert sorted(i.enterprise.name for i in stored) == sorted(names)


def test_the_enterprise_read_of_a_push_does_not_grow_with_the_inspectors_regions(app: Flask) -> None:
    """The inspector's scope is checked on the enterprises read, not written into their statement: after 40
    zones are added to the inspector's county, a push reads its enterprise with the same statement as before
    (before: one parameter per region of the scope, expanded, converted and planned on every push)."""
    _device, _ids, seen = _push_whole_inspections(app, 1)
    before = _selects_from(seen, "enterprise")
    with app.app_context():
        county = db.session.scalar(sa.select(User.region_id).where(User.username == "xx_insp1"))
        db.session.add_all(
            Region(
                code=f"ZX{number:03d}", name=f"兴县开发区{number}", level=RegionLevel.zone, parent_id=county
            )
            for number in range(40)
        )
        db.session.commit()
        inspector = db.session.scalar(sa.select(User).where(User.username == "xx_insp1"))
        assert inspector is not None and len(scope_for(db.session, inspector).region_ids or ()) > 40
    _device, _ids, seen = _push_whole_inspections(app, 1)
    after = _selects_from(seen, "enterprise")
    assert len(before) == 1 and after == before, "\n".join(before + after)


def test_a_push_writes_its_new_rows_without_a_query_per_row_on_postgresql(app: Flask) -> None:
    """psycopg sends an executemany as one query per row: on PostgreSQL the batch's new rows go as one array per
    column instead (server.sync_handlers.bulk), one statement per table; every row is stored either way."""
    many: list[str] = []

    def note(
        _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, executemany: bool
    ) -> None:
        if executemany:
            many.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
        postgres = engine.dialect.name == "postgresql"
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        _device, ids, seen = _push_whole_inspections(app, 3)
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    inserts = [s for s in seen if "INSERT INTO" in s]
    if postgres:
        assert many == [], many
        # One statement for the new rows of every table, parents before children (foreign keys are checked at
        # the statement's end), and the ledger's with the device's seq.
        written = [s for s in inserts if "INSERT INTO item_result " in s]
        assert len(written) == 1, inserts
        assert all(f"INSERT INTO {t} " in written[0] for t in ("inspection", "inspection_participant", "hazard",
                                                                  "hazard_event")), written  # fmt: skip
        assert len(inserts) == 2, inserts
    with app.app_context():
        answers = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ItemResult)
            .where(ItemResult.inspection_id.in_([uuid.UUID(i) for i in ids]))
        )
        assert answers == 3 * len(enterprise_and_catalogue(app)[2])


def test_submitting_an_inspection_answered_in_an_earlier_push_reads_its_answers_at_once(app: Flask) -> None:
    """An inspection whose answers a device pushed before (its outbox split between two batches): the submission
    checks every answer with one read of them, not one lookup per answer; it is sealed."""
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    *earlier, submit = batch
    assert {r["status"] for r in device.push(earlier).get_json()["results"]} == {"applied"}
    with statements_run(app, unquoted=True) as seen:
        reply = device.push([submit]).get_json()
    assert [r["status"] for r in reply["results"]] == ["applied"], reply
    assert len(_selects_from(seen, "item_result")) <= 2, "\n".join(_selects_from(seen, "item_result"))
    with app.app_context():
        stored = db.session.get(Inspection, uuid.UUID(inspection_id))
        assert stored is not None and stored.status == InspectionStatus.submitted


def test_submitting_an_inspection_pushed_earlier_runs_at_most_thirteen_statements_on_postgresql(
    app: Flask,
) -> None:
    """An outbox cut between two pushes leaves an inspection's submission alone in the second: 17 statements at
    first, more than a push of a whole inspection. The inspection comes with its participants and enterprise,
    its answers in one read, its findings with their events; the findings reach the enterprise's pull anew."""
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    *earlier, submit = batch
    assert {r["status"] for r in device.push(earlier).get_json()["results"]} == {"applied"}
    with app.app_context():
        numbered_before = db.session.scalar(
            sa.select(Hazard.change_no).where(Hazard.inspection_id == uuid.UUID(inspection_id))
        )
    with statements_run(app, unquoted=True) as seen:
        reply = device.push([submit]).get_json()
    assert [r["status"] for r in reply["results"]] == ["applied"], reply
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        stored = db.session.get(Inspection, uuid.UUID(inspection_id))
        assert stored is not None and stored.status == InspectionStatus.submitted
        hazard = db.session.scalars(sa.select(Hazard).where(Hazard.inspection_id == stored.id)).one()
        assert hazard.change_no > numbered_before
        assert all(event.change_no > numbered_before for event in hazard.events)
    if postgres:
        assert len(seen) <= 13, "\n".join(seen)


def test_a_push_takes_the_change_counter_once_its_new_rows_are_ready(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counter's row stays locked until the commit and every other push waits for it: the batch's ledger is
    written before, and its new rows are gathered and checked before the counter is taken, which only numbers
    them (before: numbered first, then gathered, and the ledger written after, every concurrent push waiting
    meanwhile). On PostgreSQL the statement that writes the new rows takes the counter itself, so nothing of the
    app's runs between the two. The numbers still follow the tables' order."""
    events: list[str] = []
    check, insert = common._check_lengths, common.insert_tables
    monkeypatch.setattr(common, "_check_lengths", lambda *a, **k: events.append("gathered") or check(*a, **k))
    monkeypatch.setattr(common, "insert_tables", lambda *a, **k: events.append("inserted") or insert(*a, **k))
    _device, ids, seen = _push_whole_inspections(app, 2)
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    # The ledger's rows need no change number: written before the counter is taken, not while other pushes wait.
    ledger = next(i for i, s in enumerate(seen) if "INSERT INTO sync_mutation" in s)
    counter = [i for i, s in enumerate(seen) if "UPDATE change_counter" in s]
    assert len(counter) == 1 and ledger < counter[0], "\n".join(seen)
    if postgres:
        assert "INSERT INTO item_result" in seen[counter[0]], seen[counter[0]]
    else:
        assert seen[counter[0] + 1].startswith("INSERT INTO inspection"), seen[counter[0] :]
    # Two pushes (a warm one first): each gathers its rows, then writes them.
    assert events.count("inserted") == 2 and events[0] == "gathered" and events[-1] == "inserted", events
    assert events[events.index("inserted") + 1] == "gathered", events
    with app.app_context():
        inspections = db.session.scalars(
            sa.select(Inspection.change_no).where(Inspection.id.in_([uuid.UUID(i) for i in ids]))
        )
        answers = db.session.scalars(
            sa.select(ItemResult.change_no).where(ItemResult.inspection_id.in_([uuid.UUID(i) for i in ids]))
        )
        first, last = sorted(inspections), sorted(answers)
        assert first and last and max(first) < min(last)  # parents first, as before
        assert len(set(last)) == len(last)
        # Every new row of the push numbered once, without a gap, up to the counter's value.
        keys = [uuid.UUID(i) for i in ids]
        hazards = sa.select(Hazard.id).where(Hazard.inspection_id.in_(keys))
        numbers = sorted([
            *first, *last,
            *db.session.scalars(sa.select(Hazard.change_no).where(Hazard.inspection_id.in_(keys))),
            *db.session.scalars(sa.select(HazardEvent.change_no).where(HazardEvent.hazard_id.in_(hazards))),
        ])  # fmt: skip
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), numbers
        assert db.session.scalar(sa.select(ChangeCounter.value)) == numbers[-1]
