"""How far a photo or an inspection can be trusted: facts computed from what the device claimed, what the
server saw and what the camera wrote, and flags for anything a supervisor should look at twice.

Nothing here decides: a flag is shown beside the evidence, never used to hide or refuse it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from server.domain.geo import distance_m
from server.domain.inspections import MIN_INSPECTORS

#: The tablet warns the inspector at this distance too (pwa/src/domain/geo.js): a supervisor should not
#: see "far" where the inspector was told all was well. A plant's registered point is usually its gate or
#: office, and steel works and casting shops spread several hundred metres around it, so a tighter limit
#: would flag most honest photos of the far end of a plant.
FAR_FROM_ENTERPRISE_M = 1000.0
#: A phone's fix worse than this cannot tell one workshop from the next (the tablet warns at 50 m too).
POOR_ACCURACY_M = 50.0
#: A fix older than this at capture time may be from somewhere else (the tablet warns after 2 minutes).
STALE_FIX = timedelta(minutes=2)
#: Device and server clocks differ a little even when both are set right (no NTP on an offline tablet).
CLOCK_TOLERANCE = timedelta(minutes=2)
#: EXIF times have one-second resolution and some cameras write the time the file was saved, not the
#: shutter's: ten minutes separates that from a photo taken at another time.
EXIF_TIME_TOLERANCE = timedelta(minutes=10)
#: Many cameras write local time without a zone, which server/media/images.py then reads as China time
#: (UTC+8). A camera whose clock is right but set to another zone is then off by whole hours: those are
#: told apart (still flagged) from a clock that is simply wrong, with the zone the camera would be set to.
ASSUMED_EXIF_ZONE_H = 8
#: The world's zones run from UTC-12 to UTC+14.
WORLD_ZONES_H = range(-12, 15)
#: Camera GPS and the phone's fix both wander by tens of metres; more than this is a different place.
EXIF_POSITION_TOLERANCE_M = 200.0


@dataclass(frozen=True)
class Flag:
    """One reason for doubt: a stable code (for filters and the API) and its text in Chinese and English."""

    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class PhotoFacts:
    """What is known about one photo: the device's claims, the server's receipt and the camera's EXIF.

    Times are aware datetimes. ``bytes_received`` means the blob was received, which the blob store allows
    only after its SHA-256 matched the name the photo record gives it; ``file_lost`` that it was received
    but its file is no longer in the store (lost media, a restore without it).
    """

    captured_at: datetime | None
    received_at: datetime | None
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    fix_at: datetime | None
    exif_taken_at: datetime | None
    exif_lat: float | None
    exif_lon: float | None
    bytes_received: bool
    file_lost: bool = False


@dataclass(frozen=True)
class PhotoEvidence:
    """Facts computed for one photo and the flags they raise."""

    distance_m: float | None
    #: Server receipt minus device capture time (offline work makes this hours or days; that is normal).
    delay: timedelta | None
    #: How old the position fix was when the photo was taken.
    fix_age: timedelta | None
    #: EXIF time minus the claimed capture time.
    exif_time_difference: timedelta | None
    #: Whole hours of difference when the EXIF time looks like another zone's clock, else None.
    exif_zone_hours: int | None
    exif_distance_m: float | None
    #: The stored bytes hash to the SHA-256 the device recorded (the store keeps nothing unverified).
    hash_verified: bool
    flags: tuple[Flag, ...]


@dataclass(frozen=True)
class InspectionFacts:
    """What is known about an inspection as a whole (its photos are assessed one by one)."""

    submitted: bool
    finished: bool
    start_lat: float | None
    start_lon: float | None
    end_lat: float | None
    end_lon: float | None
    has_seal: bool
    seal_verified: bool | None
    seal_problem: str | None
    inspectors: int


@dataclass(frozen=True)
class InspectionEvidence:
    """Facts computed for an inspection and the flags they raise."""

    start_distance_m: float | None
    end_distance_m: float | None
    flags: tuple[Flag, ...]


def _distance(
    lat: float | None, lon: float | None, to_lat: float | None, to_lon: float | None
) -> float | None:
    if lat is None or lon is None or to_lat is None or to_lon is None:
        return None
    return distance_m(lat, lon, to_lat, to_lon)


def split_bilingual(text: str) -> tuple[str, str]:
    """The Chinese and English halves of a "中文 / English" text (the whole text for both if not split)."""
    zh, separator, en = text.partition(" / ")
    return (zh, en) if separator else (text, text)


def _metres(value: float) -> str:
    """A distance as a reader wants it: metres below a kilometre, else kilometres to ten metres."""
    if value < 1000:
        return f"{value:.0f} m"
    # Two decimals, or a photo 1034 m away reads "1.0 km, over 1.0 km"; no trailing zeros on round values.
    return f"{value / 1000:.2f}".rstrip("0").rstrip(".") + " km"


def _duration_zh(delta: timedelta) -> str:
    seconds = abs(delta.total_seconds())
    if seconds < 3600:
        return f"{seconds / 60:.0f} 分钟"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} 小时"
    return f"{seconds / 86400:.1f} 天"


def _duration_en(delta: timedelta) -> str:
    seconds = abs(delta.total_seconds())
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def zone_hours(difference: timedelta) -> int | None:
    """The whole hours (not zero) an EXIF-minus-capture ``difference`` is within EXIF_TIME_TOLERANCE of,
    when a camera set to a real zone would explain it; else None."""
    hours = round(difference.total_seconds() / 3600)
    if hours == 0 or ASSUMED_EXIF_ZONE_H + hours not in WORLD_ZONES_H:
        return None
    if abs(difference - timedelta(hours=hours)) > EXIF_TIME_TOLERANCE:
        return None
    return hours


def assess_photo(
    facts: PhotoFacts, enterprise_lat: float | None, enterprise_lon: float | None
) -> PhotoEvidence:
    """Compute a photo's facts against the enterprise's registered location and flag what is suspicious."""
    flags: list[Flag] = []
    if facts.bytes_received and facts.file_lost:
        flags.append(Flag("file_lost", "照片文件曾经收到并校验，但现在存储中找不到",
                          "The photo's bytes were received and verified but are no longer in the store"))  # fmt: skip
    if not facts.bytes_received:
        flags.append(Flag("bytes_missing", "照片文件尚未上传到服务器（只收到了记录）",
                          "The photo's bytes have not reached the server yet (only its record has)"))  # fmt: skip

    distance = _distance(facts.lat, facts.lon, enterprise_lat, enterprise_lon)
    if facts.lat is None or facts.lon is None:
        flags.append(Flag("no_position", "照片没有位置信息", "The photo has no position"))
    if distance is not None and distance > FAR_FROM_ENTERPRISE_M:
        flags.append(Flag("far_from_enterprise",
                          f"拍摄位置距企业登记位置 {_metres(distance)}（超过 {_metres(FAR_FROM_ENTERPRISE_M)}）",
                          f"Taken {_metres(distance)} from the enterprise's registered location "
                          f"(over {_metres(FAR_FROM_ENTERPRISE_M)})"))  # fmt: skip
    if facts.accuracy_m is not None and facts.accuracy_m > POOR_ACCURACY_M:
        flags.append(Flag("poor_accuracy",
                          f"定位精度差（±{facts.accuracy_m:.0f} m，超过 {POOR_ACCURACY_M:.0f} m）",
                          f"Poor position accuracy (±{facts.accuracy_m:.0f} m, over {POOR_ACCURACY_M:.0f} m)"))  # fmt: skip

    fix_age = facts.captured_at - facts.fix_at if facts.captured_at and facts.fix_at else None
    if fix_age is not None and fix_age > STALE_FIX:
        flags.append(Flag("stale_fix", f"拍摄时定位已过时（{_duration_zh(fix_age)}前的定位）",
                          f"The position was stale when the photo was taken (a fix {_duration_en(fix_age)} old)"))  # fmt: skip

    delay = facts.received_at - facts.captured_at if facts.received_at and facts.captured_at else None
    if facts.captured_at is None:
        flags.append(Flag("no_capture_time", "照片没有拍摄时间", "The photo has no capture time"))
    if delay is not None and delay < -CLOCK_TOLERANCE:
        flags.append(Flag("clock_ahead",
                          f"设备时钟超前：拍摄时间比服务器收到时间晚 {_duration_zh(delay)}",
                          f"Device clock ahead: captured {_duration_en(delay)} after the server received it"))  # fmt: skip

    exif_difference = (
        facts.exif_taken_at - facts.captured_at if facts.exif_taken_at and facts.captured_at else None
    )
    hours = None
    if exif_difference is not None and abs(exif_difference) > EXIF_TIME_TOLERANCE:
        hours = zone_hours(exif_difference)
        if hours is not None:
            # Still a disagreement, but most likely the camera's zone setting rather than its clock.
            offset = ASSUMED_EXIF_ZONE_H + hours
            zone = f"UTC{offset:+d}" if offset else "UTC"
            flags.append(Flag("exif_time_zone",
                              f"相机 EXIF 时间与拍摄时间相差整 {abs(hours)} 小时：相当于相机时钟设在 {zone}"
                              "（按北京时间读取），可能是相机时区设置不同",
                              f"The camera's EXIF time differs from the capture time by exactly {abs(hours)} h: "
                              f"as if the camera's clock were set to {zone} (read as China time), probably its "
                              "time zone setting"))  # fmt: skip
        else:
            flags.append(Flag("exif_time_differs",
                              f"相机 EXIF 时间与设备记录的拍摄时间相差 {_duration_zh(exif_difference)}",
                              f"The camera's EXIF time differs from the recorded capture time by "
                              f"{_duration_en(exif_difference)}"))  # fmt: skip

    exif_distance = _distance(facts.exif_lat, facts.exif_lon, facts.lat, facts.lon)
    if exif_distance is not None and exif_distance > EXIF_POSITION_TOLERANCE_M:
        flags.append(Flag("exif_position_differs",
                          f"相机 EXIF 位置与设备记录的位置相距 {_metres(exif_distance)}",
                          f"The camera's EXIF position is {_metres(exif_distance)} from the recorded position"))  # fmt: skip

    return PhotoEvidence(
        distance_m=distance, delay=delay, fix_age=fix_age, exif_time_difference=exif_difference,
        exif_zone_hours=hours, exif_distance_m=exif_distance, hash_verified=facts.bytes_received and not facts.file_lost,
        flags=tuple(flags),
    )  # fmt: skip


def assess_inspection(
    facts: InspectionFacts, enterprise_lat: float | None, enterprise_lon: float | None
) -> InspectionEvidence:
    """Compute an inspection's start/end distances and flag its place, seal and team when suspicious."""
    flags: list[Flag] = []
    start = _distance(facts.start_lat, facts.start_lon, enterprise_lat, enterprise_lon)
    end = _distance(facts.end_lat, facts.end_lon, enterprise_lat, enterprise_lon)
    for label_zh, label_en, code, distance, lat, expected in (
        ("开始", "start", "start", start, facts.start_lat, True),
        ("结束", "end", "end", end, facts.end_lat, facts.finished),
    ):
        if expected and lat is None:
            flags.append(Flag(f"{code}_no_position", f"检查{label_zh}时没有位置信息",
                              f"No position was recorded at the {label_en}"))  # fmt: skip
        if distance is not None and distance > FAR_FROM_ENTERPRISE_M:
            flags.append(Flag(f"{code}_far_from_enterprise",
                              f"检查{label_zh}位置距企业登记位置 {_metres(distance)}",
                              f"The {label_en} position is {_metres(distance)} from the enterprise's registered "
                              "location"))  # fmt: skip
    if facts.seal_verified is False:
        problem_zh, problem_en = split_bilingual(facts.seal_problem or "")
        flags.append(Flag("seal_failed", f"设备签名封存验证失败：{problem_zh}",
                          f"The device's seal does not verify: {problem_en}"))  # fmt: skip
    elif facts.submitted and not facts.has_seal:
        flags.append(Flag("seal_missing", "已提交的记录没有设备签名封存",
                          "The submitted record carries no device seal"))  # fmt: skip
    if facts.inspectors < MIN_INSPECTORS:
        flags.append(Flag("few_inspectors",
                          f"检查人员只有 {facts.inspectors} 人（行政执法不少于 {MIN_INSPECTORS} 人）",
                          f"Only {facts.inspectors} inspector(s) (law enforcement needs at least {MIN_INSPECTORS})"))  # fmt: skip
    return InspectionEvidence(start_distance_m=start, end_distance_m=end, flags=tuple(flags))


def hazard_answer_flags(answers: dict[str, str], hazard_items: list[str | None]) -> tuple[Flag, ...]:
    """Flag hazards recorded on an item whose answer is not 不符合 (or that has no answer): the answer and the
    hazard then say opposite things, and a supervisor must decide which is true. ``answers`` maps item code to
    result; ``hazard_items`` lists the item code of each live hazard (None for one on no item)."""
    odd = {code for code in hazard_items if code is not None and answers.get(code) != "non_compliant"}
    if not odd:
        return ()
    return (
        Flag(
            "hazard_answer_mismatch",
            f"隐患所在检查项的结论不是“不符合”：{_codes(odd)}",
            f"Hazards on items not answered non-compliant: {', '.join(sorted(odd))}",
        ),
    )


@dataclass(frozen=True)
class StoredRecord:
    """What the server holds of an inspection, to compare with the record the device sealed: answers as
    code → (result, note), hazards as id → (item code, level, description), and its photos' SHA-256."""

    answers: dict[str, tuple[str, str | None]]
    hazards: dict[str, tuple[str | None, str, str]]
    photo_hashes: frozenset[str]


def _codes(values: set[str] | list[str], limit: int = 8) -> str:
    ordered = sorted(values)
    shown = "、".join(ordered[:limit])
    return shown + (f" 等 {len(ordered)} 项" if len(ordered) > limit else "")


def seal_differences(sealed: object, stored: StoredRecord) -> tuple[Flag, ...]:
    """Where the sealed record (as the device signed it, parsed from JSON) and the stored record part.

    The signature proves what the device sealed; this shows whether what supervisors now see is that. A
    hazard's deadline is left out: a supervisor may extend it after sealing. A sealed photo not (yet) here
    is flagged, and so is a photo here that the seal does not name (added after sealing).
    """
    unreadable = (Flag("seal_unreadable", "封存记录无法解读", "The sealed record cannot be read"),)
    if not isinstance(sealed, dict):
        return unreadable
    try:
        answers = {str(code): (str(result), note) for code, result, note, *_ in sealed.get("results", [])}
        hazards = {
            str(h["id"]): (h.get("item_code"), str(h.get("level")), str(h.get("description")))
            for h in sealed.get("hazards", [])
        }
        photos = frozenset(str(sha) for sha in sealed.get("photos", []))
    except (AttributeError, KeyError, TypeError, ValueError):
        return unreadable
    flags: list[Flag] = []
    changed = {
        code for code in answers.keys() & stored.answers.keys() if answers[code] != stored.answers[code]
    }
    gone = answers.keys() - stored.answers.keys()
    added = stored.answers.keys() - answers.keys()
    if changed or gone or added:
        parts_zh = [
            f"{label}：{_codes(codes)}"
            for label, codes in (("改动", changed), ("缺少", gone), ("新增", added))
            if codes
        ]
        parts_en = [
            f"{label}: {', '.join(sorted(codes))}"
            for label, codes in (("changed", changed), ("missing", gone), ("added", added))
            if codes
        ]
        flags.append(Flag("sealed_answers_differ", "检查结果与封存记录不一致（" + "；".join(parts_zh) + "）",
                          "The answers differ from the sealed record (" + "; ".join(parts_en) + ")"))  # fmt: skip
    changed_h = {h for h in hazards.keys() & stored.hazards.keys() if hazards[h] != stored.hazards[h]}
    if changed_h or hazards.keys() != stored.hazards.keys():
        missing, extra = (
            len(hazards.keys() - stored.hazards.keys()),
            len(stored.hazards.keys() - hazards.keys()),
        )
        flags.append(Flag("sealed_hazards_differ",
                          f"隐患与封存记录不一致（改动 {len(changed_h)} 条，缺少 {missing} 条，新增 {extra} 条）",
                          f"The hazards differ from the sealed record ({len(changed_h)} changed, {missing} missing, "
                          f"{extra} added)"))  # fmt: skip
    if photos - stored.photo_hashes:
        n = len(photos - stored.photo_hashes)
        flags.append(Flag("sealed_photo_missing", f"封存记录中的 {n} 张照片服务器尚未收到",
                          f"{n} photo(s) named by the seal have not reached the server"))  # fmt: skip
    if stored.photo_hashes - photos:
        n = len(stored.photo_hashes - photos)
        flags.append(Flag("photo_not_sealed", f"{n} 张照片不在封存记录中（封存后添加）",
                          f"{n} photo(s) are not named by the seal (added after sealing)"))  # fmt: skip
    return tuple(flags)
