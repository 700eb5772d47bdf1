"""Comparing the record a device sealed with what the server holds now."""

from __future__ import annotations

from server.domain.evidence import StoredRecord, seal_differences

SEALED = {
    "v": 1,
    "inspection": {"id": "i-1"},
    "results": [["ST-1", "compliant", None], ["ST-2", "non_compliant", "吊具磨损"]],
    "hazards": [
        {
            "id": "h-1",
            "item_code": "ST-2",
            "level": "general",
            "description": "吊具磨损",
            "deadline": "2026-07-01",
        }
    ],
    "photos": ["a" * 64, "b" * 64],
}


def _stored(**changes: object) -> StoredRecord:
    values: dict[str, object] = {
        "answers": {"ST-1": ("compliant", None), "ST-2": ("non_compliant", "吊具磨损")},
        "hazards": {"h-1": ("ST-2", "general", "吊具磨损")},
        "photo_hashes": frozenset({"a" * 64, "b" * 64}),
    }
    values.update(changes)
    return StoredRecord(**values)  # type: ignore[arg-type]


def test_a_record_held_as_sealed_raises_nothing() -> None:
    assert seal_differences(SEALED, _stored()) == ()


def test_changed_missing_and_added_answers_are_named() -> None:
    stored = _stored(answers={"ST-1": ("non_compliant", None), "ST-3": ("compliant", None)})
    (flag,) = seal_differences(SEALED, stored)
    assert flag.code == "sealed_answers_differ"
    assert "改动：ST-1" in flag.zh and "缺少：ST-2" in flag.zh and "新增：ST-3" in flag.zh
    assert "changed: ST-1" in flag.en


def test_a_note_edited_after_sealing_counts_as_changed() -> None:
    (flag,) = seal_differences(
        SEALED, _stored(answers={"ST-1": ("compliant", None), "ST-2": ("non_compliant", "已修")})
    )
    assert flag.code == "sealed_answers_differ" and "ST-2" in flag.zh


def test_hazards_and_photos_that_part_from_the_seal_are_flagged() -> None:
    stored = _stored(
        hazards={"h-1": ("ST-2", "major", "吊具磨损"), "h-2": ("ST-1", "general", "新增隐患")},
        photo_hashes=frozenset({"a" * 64, "c" * 64}),
    )
    codes = {f.code: f for f in seal_differences(SEALED, stored)}
    assert set(codes) == {"sealed_hazards_differ", "sealed_photo_missing", "photo_not_sealed"}
    assert (
        "改动 1 条" in codes["sealed_hazards_differ"].zh and "新增 1 条" in codes["sealed_hazards_differ"].zh
    )


def test_an_extended_deadline_is_not_a_difference() -> None:
    sealed = {**SEALED, "hazards": [{**SEALED["hazards"][0], "deadline": "2026-06-01"}]}  # type: ignore[dict-item]
    assert seal_differences(sealed, _stored()) == ()


def test_an_unreadable_record_says_so() -> None:
    for sealed in (None, [], {"results": [["ST-1"]]}, {"hazards": [{"no_id": 1}]}):
        assert [f.code for f in seal_differences(sealed, _stored())] == ["seal_unreadable"]
