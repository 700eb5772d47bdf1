import { describe, expect, it } from "vitest";
import { applicableItems, applies, currentCatalogue, groupItems, progress } from "../src/domain/checklist.js";

const dust = { sectors_any: ["dust_explosion"], min_dust_workers: 10 };

describe("applicability (the server's rule)", () => {
  it("dust items need 10 or more dust workers; an unknown count applies", () => {
    expect(applies(dust, { sectors: ["dust_explosion"], dust_workers: 9 })).toBe(false);
    expect(applies(dust, { sectors: ["dust_explosion"], dust_workers: 10 })).toBe(true);
    expect(applies(dust, { sectors: ["dust_explosion"], dust_workers: null })).toBe(true);
    expect(applies(dust, { sectors: ["steel"], dust_workers: 50 })).toBe(false);
  });
  it("an empty rule applies to every enterprise", () => {
    expect(applies({}, { sectors: [] })).toBe(true);
    expect(applies({ sectors_any: [], min_dust_workers: null }, { sectors: [] })).toBe(true);
  });
  it("keeps catalogue order and groups key items by sector before management items", () => {
    const catalogue = { items: [
      { code: "MG-1", ordinal: 26, section: "management", sector: "management", applies_when: {} },
      { code: "ST-1", ordinal: 1, section: "key", sector: "steel", applies_when: { sectors_any: ["steel"] } },
      { code: "DU-1", ordinal: 16, section: "key", sector: "dust_explosion", applies_when: dust },
    ] };
    const items = applicableItems(catalogue, { sectors: ["steel"], dust_workers: null });
    expect(items.map((i) => i.code)).toEqual(["ST-1", "MG-1"]);
    expect(groupItems(items).map((g) => g.section)).toEqual(["key", "management"]);
  });
});

describe("catalogue in force and progress", () => {
  it("picks the highest version in force on the day", () => {
    const rows = [
      { data: { version: 1, effective_from: "2022-05-02", effective_to: null } },
      { data: { version: 2, effective_from: "2030-01-01", effective_to: null } },
      { deleted: true, data: null },
    ];
    expect(currentCatalogue(rows, new Date("2026-11-28")).data.version).toBe(1);
  });
  it("counts only real answers", () => {
    const items = [{ code: "A" }, { code: "B" }];
    expect(progress(items, { A: { result: "compliant" }, B: { result: "not_checked" } })).toEqual({ answered: 1, total: 2, complete: false });
    expect(progress(items, { A: { result: "compliant" }, B: { result: "not_applicable" } }).complete).toBe(true);
  });
});

describe("answer wording and submit reasons (issue 15 items 2 and 5)", () => {
  it("items phrased as violations get finding labels; a requirement keeps 符合/不符合; results are unchanged", async () => {
    const { answerChoices } = await import("../src/domain/checklist.js");
    expect(answerChoices({ code: "DU-1" }).map((c) => [c.result, c.label])).toEqual([
      ["compliant", "answer.violation.compliant"],
      ["non_compliant", "answer.violation.non_compliant"],
      ["not_applicable", "answer.violation.not_applicable"],
    ]);
    expect(answerChoices({ phrasing: "requirement" })[1].label).toBe("answer.requirement.non_compliant");
  });

  it("says every reason submit is not possible, in the order to fix them", async () => {
    const { submitBlockers } = await import("../src/domain/checklist.js");
    const items = [{ code: "A-1" }, { code: "A-2" }, { code: "A-3" }, { code: "A-4" }];
    const inspectors = [{ name: "张建国" }, { name: "刘晓燕" }];
    const reasons = submitBlockers({
      items, answers: { "A-1": { result: "compliant" }, "A-2": { result: "non_compliant" }, "A-3": { result: "non_compliant" } },
      hazards: { "A-3": {} }, hazardDrafts: new Set(["A-2", "A-3"]), inspectors,
      signatures: [{ role: "inspector", name: "张建国" }], repName: "",
    });
    expect(reasons).toEqual([
      { key: "block.unanswered", count: 1, items: ["4（A-4）"] },
      { key: "block.hazardUnsaved", n: 2, code: "A-2" },
      { key: "block.hazardEdited", n: 3, code: "A-3" },
      { key: "block.inspectorSign", name: "刘晓燕" },
      { key: "block.repName" },
    ]);
    expect(submitBlockers({
      items: [{ code: "A-1" }], answers: { "A-1": { result: "compliant" } }, hazards: {}, inspectors,
      signatures: [{ role: "inspector", name: "张建国" }, { role: "inspector", name: "刘晓燕" }, { role: "enterprise_rep", name: "王建平" }],
      repName: "王建平",
    })).toEqual([]);
  });
});
