"""Photo and inspection evidence: computed facts and the flags a supervisor sees."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.evidence import (
    EXIF_TIME_TOLERANCE,
    FAR_FROM_ENTERPRISE_M,
    InspectionFacts,
    PhotoFacts,
    assess_inspection,
    assess_photo,
    split_bilingual,
    zone_hours,
)
from server.domain.geo import distance_m

PLANT = (38.4942, 111.1431)
T0 = datetime(2026, 6, 10, 1, 30, tzinfo=UTC)
GOOD = PhotoFacts(
    captured_at=T0, received_at=T0 + timedelta(hours=3), lat=38.4945, lon=111.1435, accuracy_m=8.0,
    fix_at=T0 - timedelta(seconds=20), exif_taken_at=None, exif_lat=None, exif_lon=None, bytes_received=True,
)  # fmt: skip


def codes(facts: PhotoFacts, plant: tuple[float | None, float | None] = PLANT) -> list[str]:
    return [flag.code for flag in assess_photo(facts, *plant).flags]


def test_a_good_photo_raises_nothing_and_its_facts_are_computed() -> None:
    evidence = assess_photo(GOOD, *PLANT)
    assert evidence.flags == ()
    assert evidence.distance_m == pytest.approx(distance_m(38.4945, 111.1435, *PLANT))
    assert evidence.delay == timedelta(hours=3)
    assert evidence.fix_age == timedelta(seconds=20)
    assert evidence.exif_time_difference is None and evidence.exif_distance_m is None
    assert evidence.hash_verified


def test_far_from_the_enterprise() -> None:
    far = replace(GOOD, lat=PLANT[0] + 0.02)  # about 2.2 km north
    evidence = assess_photo(far, *PLANT)
    assert [f.code for f in evidence.flags] == ["far_from_enterprise"]
    assert "2.22 km（超过 1 km）" in evidence.flags[0].zh and "2.22 km" in evidence.flags[0].en


def test_an_enterprise_without_a_registered_location_gives_no_distance() -> None:
    evidence = assess_photo(replace(GOOD, lat=0.0, lon=0.0), None, None)
    assert evidence.distance_m is None and evidence.flags == ()


def test_poor_accuracy_and_stale_fix() -> None:
    facts = replace(GOOD, accuracy_m=120.0, fix_at=T0 - timedelta(minutes=5))
    assert codes(facts) == ["poor_accuracy", "stale_fix"]
    assert codes(replace(GOOD, accuracy_m=50.0, fix_at=T0 - timedelta(minutes=2))) == []  # limits included


def test_no_position_and_no_capture_time() -> None:
    assert codes(replace(GOOD, lat=None, lon=None, accuracy_m=None, fix_at=None)) == ["no_position"]
    assert codes(replace(GOOD, captured_at=None)) == ["no_capture_time"]


def test_bytes_not_received() -> None:
    evidence = assess_photo(replace(GOOD, bytes_received=False), *PLANT)
    assert [f.code for f in evidence.flags] == ["bytes_missing"] and not evidence.hash_verified


def test_bytes_received_but_lost_from_the_store() -> None:
    evidence = assess_photo(replace(GOOD, file_lost=True), *PLANT)
    assert [f.code for f in evidence.flags] == ["file_lost"] and not evidence.hash_verified


def test_captured_after_the_server_received_it_is_a_clock_ahead() -> None:
    ahead = replace(GOOD, received_at=T0 - timedelta(minutes=30))
    assert codes(ahead) == ["clock_ahead"]
    assert codes(replace(GOOD, received_at=T0 - timedelta(minutes=1))) == []  # within clock tolerance


def test_exif_time_agreeing_within_tolerance() -> None:
    assert codes(replace(GOOD, exif_taken_at=T0 + timedelta(minutes=9))) == []


def test_exif_time_differing_by_a_day() -> None:
    evidence = assess_photo(replace(GOOD, exif_taken_at=T0 - timedelta(days=1, minutes=37)), *PLANT)
    assert [f.code for f in evidence.flags] == ["exif_time_differs"]
    assert evidence.exif_zone_hours is None
    assert evidence.exif_time_difference == -timedelta(days=1, minutes=37)


def test_exif_time_off_by_whole_hours_is_flagged_as_a_zone_setting() -> None:
    # A camera on UTC writes 01:30; read as China time that is 8 hours earlier than the capture.
    evidence = assess_photo(replace(GOOD, exif_taken_at=T0 - timedelta(hours=8, seconds=40)), *PLANT)
    assert [f.code for f in evidence.flags] == ["exif_time_zone"]
    assert evidence.exif_zone_hours == -8
    assert "8 小时" in evidence.flags[0].zh and "UTC（" in evidence.flags[0].zh
    plus_two = assess_photo(replace(GOOD, exif_taken_at=T0 + timedelta(hours=2)), *PLANT).flags
    assert [f.code for f in plus_two] == ["exif_time_zone"] and "UTC+10" in plus_two[0].en


def test_whole_hours_no_zone_explains_are_a_wrong_clock() -> None:
    # +7 h would need a camera set to UTC+15, which no zone is.
    assert codes(replace(GOOD, exif_taken_at=T0 + timedelta(hours=7))) == ["exif_time_differs"]
    assert zone_hours(timedelta(hours=-21)) is None and zone_hours(timedelta(hours=-20)) == -20


def test_exif_position_disagreeing() -> None:
    near = replace(GOOD, exif_lat=GOOD.lat, exif_lon=(GOOD.lon or 0) + 0.001)  # about 87 m
    assert codes(near) == []
    away = replace(GOOD, exif_lat=(GOOD.lat or 0) + 0.01, exif_lon=GOOD.lon)  # about 1.1 km
    evidence = assess_photo(away, *PLANT)
    assert [f.code for f in evidence.flags] == ["exif_position_differs"]
    assert evidence.exif_distance_m == pytest.approx(1112, abs=5)


def test_every_flag_has_both_languages() -> None:
    worst = PhotoFacts(
        captured_at=T0, received_at=T0 - timedelta(hours=1), lat=39.0, lon=112.0, accuracy_m=500.0,
        fix_at=T0 - timedelta(hours=1), exif_taken_at=T0 + timedelta(days=2), exif_lat=30.0, exif_lon=120.0,
        bytes_received=False,
    )  # fmt: skip
    flags = assess_photo(worst, *PLANT).flags
    assert {f.code for f in flags} == {"bytes_missing", "far_from_enterprise", "poor_accuracy", "stale_fix",
                                       "clock_ahead", "exif_time_differs", "exif_position_differs"}  # fmt: skip
    assert all(f.zh and f.en and f.zh != f.en for f in flags)


@given(
    offset=st.integers(-3 * 86400, 3 * 86400).map(lambda s: timedelta(seconds=s)),
)
def test_exif_time_flags_exactly_when_outside_the_tolerance(offset: timedelta) -> None:
    found = codes(replace(GOOD, exif_taken_at=T0 + offset))
    exif = [c for c in found if c.startswith("exif_time")]
    if abs(offset) <= EXIF_TIME_TOLERANCE:
        assert exif == []
    else:
        assert exif == ["exif_time_zone" if zone_hours(offset) is not None else "exif_time_differs"]


@given(hours=st.integers(-20, 6).filter(bool), minutes=st.integers(-10, 10))
def test_whole_hours_within_the_tolerance_are_zone_differences(hours: int, minutes: int) -> None:
    assert zone_hours(timedelta(hours=hours, minutes=minutes)) == hours


@given(
    lat=st.floats(-89, 89), lon=st.floats(-179, 179),
    dlat=st.floats(-0.05, 0.05), dlon=st.floats(-0.05, 0.05),
)  # fmt: skip
def test_far_flag_follows_the_distance(lat: float, lon: float, dlat: float, dlon: float) -> None:
    evidence = assess_photo(replace(GOOD, lat=lat + dlat, lon=lon + dlon), lat, lon)
    assert evidence.distance_m is not None
    assert ("far_from_enterprise" in [f.code for f in evidence.flags]) == (
        evidence.distance_m > FAR_FROM_ENTERPRISE_M
    )


SUBMITTED = InspectionFacts(
    submitted=True, finished=True, start_lat=38.4940, start_lon=111.1430, end_lat=38.4944, end_lon=111.1433,
    has_seal=True, seal_verified=True, seal_problem=None, inspectors=2,
)  # fmt: skip


def test_a_sound_inspection_raises_nothing() -> None:
    evidence = assess_inspection(SUBMITTED, *PLANT)
    assert evidence.flags == ()
    assert evidence.start_distance_m is not None and evidence.start_distance_m < 50


def test_inspection_far_unsealed_and_one_inspector() -> None:
    facts = replace(SUBMITTED, start_lat=38.47, start_lon=111.15, end_lat=None, end_lon=None, has_seal=False,
                    seal_verified=None, inspectors=1)  # fmt: skip
    flags = assess_inspection(facts, *PLANT).flags
    assert [f.code for f in flags] == ["start_far_from_enterprise", "end_no_position", "seal_missing",
                                       "few_inspectors"]  # fmt: skip


def test_a_failing_seal_shows_its_reason_in_each_language() -> None:
    facts = replace(
        SUBMITTED, seal_verified=False, seal_problem="设备签名验证失败 / the device signature does not verify"
    )
    (flag,) = assess_inspection(facts, *PLANT).flags
    assert flag.code == "seal_failed"
    assert flag.zh.endswith("设备签名验证失败") and flag.en.endswith("the device signature does not verify")


def test_a_draft_is_not_expected_to_be_sealed_or_finished() -> None:
    draft = replace(SUBMITTED, submitted=False, finished=False, end_lat=None, end_lon=None, has_seal=False,
                    seal_verified=None)  # fmt: skip
    assert assess_inspection(draft, *PLANT).flags == ()


def test_split_bilingual() -> None:
    assert split_bilingual("中文 / English") == ("中文", "English")
    assert split_bilingual("only one") == ("only one", "only one")


def test_a_hazard_on_an_item_not_answered_non_compliant_is_flagged() -> None:
    """Issue 15 item 1: a hazard whose item is answered 符合 (or not at all) is not what the answers say."""
    from server.domain.evidence import hazard_answer_flags

    answers = {"DU-1": "compliant", "DU-2": "non_compliant", "DU-3": "not_applicable"}
    assert hazard_answer_flags(answers, ["DU-2", None]) == ()
    flags = hazard_answer_flags(answers, ["DU-1", "DU-2", "DU-3", "DU-9"])
    assert [f.code for f in flags] == ["hazard_answer_mismatch"]
    assert "DU-1" in flags[0].zh and "DU-3" in flags[0].zh and "DU-9" in flags[0].zh
    assert "DU-2" not in flags[0].zh
