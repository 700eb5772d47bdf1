import { readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import { addDays, bureauZone, formatDateTime, formatDay, isOverdue, todayIn } from "../src/domain/clock.js";

const VECTORS = JSON.parse(readFileSync(new URL("../../tests/vectors/overdue.json", import.meta.url), "utf-8"));

describe("clock (issue 12: today in the bureau's zone, one isOverdue)", () => {
  it.each(VECTORS.cases)("isOverdue agrees with the server: $state $deadline on $today", (c) => {
    expect(isOverdue({ state: c.state, deadline: c.deadline }, c.today)).toBe(c.overdue);
  });

  it.each(VECTORS.today_cases)("today at $now in $zone is $today", (c) => {
    expect(todayIn(c.zone, new Date(c.now))).toBe(c.today);
  });

  it("a deadline turns overdue at midnight Beijing time, not at 08:00 (UTC midnight)", () => {
    const hazard = { state: "found", deadline: "2026-06-09" };
    expect(isOverdue(hazard, todayIn("Asia/Shanghai", new Date("2026-06-09T16:30:00Z")))).toBe(true);
    expect(isOverdue(hazard, new Date("2026-06-09T16:30:00Z").toISOString().slice(0, 10))).toBe(false); // the old bug
  });

  it("formats days in Chinese or ISO, adds days across months, and falls back to the bureau's zone", () => {
    expect(formatDay("2026-06-10")).toBe("2026年6月10日");
    expect(formatDay("2026-06-10", "en")).toBe("2026-06-10");
    expect(formatDay("2026-06-09T17:00:00Z")).toBe("2026年6月10日");
    expect(formatDay(null)).toBe("—");
    expect(addDays("2026-06-10", 30)).toBe("2026-07-10");
    expect(addDays("2026-12-20", 15)).toBe("2027-01-04");
    expect(bureauZone({ data: { timezone: "Asia/Urumqi" } })).toBe("Asia/Urumqi");
    expect(bureauZone(null)).toBe("Asia/Shanghai");
    expect(todayIn("Not/AZone", new Date("2026-06-09T16:30:00Z"))).toBe("2026-06-10");
    expect(formatDateTime("2026-06-09T17:05:00Z")).toBe("2026年6月10日 01:05");
    expect(formatDateTime("2026-06-09T17:05:00Z", "en", "UTC")).toBe("2026-06-09 17:05");
  });
});
