import { describe, expect, it } from "vitest";

import { quarantineNotice } from "../src/sync/quarantine.js";

const AT = new Date("2026-06-10T04:00:00Z");

describe("quarantineNotice (issue 11: the tablet says which record, why and what to do)", () => {
  it("names a refused submission and says what to do about a sealed record, Chinese first", () => {
    const notice = quarantineNotice(
      { seq: 20, status: "quarantined", code: "422.46", message: "The record is sealed (submitted)." },
      { seq: 20, entity: "inspection", id: "i-1", op: "upsert", data: { status: "submitted" } },
      AT,
    );
    expect(notice).toMatchObject({ seq: 20, entity: "inspection", id: "i-1", code: "422.46", at: AT.toISOString() });
    expect(notice.record["zh-CN"]).toBe("检查提交");
    expect(notice.messages["zh-CN"]).toMatch(/已提交封存/);
    expect(notice.todo["zh-CN"]).toMatch(/更正记录/);
    expect(notice.todo.en).toMatch(/correction/);
    expect(notice.detail).toBe("The record is sealed (submitted).");
  });

  it("an unknown code still says the record is kept on the server and whom to ask", () => {
    const notice = quarantineNotice({ seq: 3, code: "422.99", message: null }, { entity: "photo", id: "p" }, AT);
    expect(notice.record["zh-CN"]).toBe("照片");
    expect(notice.todo["zh-CN"]).toMatch(/管理员/);
    expect(notice.detail).toBeNull();
  });
});
