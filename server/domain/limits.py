"""How long each free-text field may be (characters). The one list behind the sync schemas, the forms, the ORM
guard and the database's CHECK constraints, so that an oversized text is refused with a clear error wherever it
comes from, and the database refuses it even from a path that forgot."""

from __future__ import annotations

#: A note, description or plan typed by a person.
NOTE = 10_000
#: A reason or comment given with one action.
COMMENT = 10_000
#: A sealed record: the canonical JSON of a whole inspection as the device signed it.
SEALED_RECORD = 2_000_000
#: A device's signature over a sealed record (base64 of a P-256 signature, with room to spare).
SIGNATURE = 1_000

#: (table, column) → the longest text it holds.
TEXT_LIMITS: dict[tuple[str, str], int] = {
    ("hazard", "description"): NOTE,
    ("hazard", "level_reason"): NOTE,
    ("hazard", "treatment_plan"): NOTE,
    ("hazard_event", "comment"): COMMENT,
    ("inspection", "summary_note"): NOTE,
    ("inspection", "sealed_record"): SEALED_RECORD,
    ("inspection", "device_signature"): SIGNATURE,
    ("item_result", "note"): NOTE,
    ("review_decision", "comment"): COMMENT,
}


def check_name(table: str, column: str) -> str:
    """The name of the database constraint bounding ``table.column``."""
    return f"ck_{table}_{column}_length"
