import { describe, expect, it } from "vitest";
import { expertsOf, normalLine, opinionProblems, sealedOpinions } from "../src/domain/expertOpinion.js";
import { sealedRecord } from "../src/domain/seal.js";

const findings = { items: ["DU-1", "DU-2"], hazards: ["h1"] };
const complete = {
  expert_name: "孙工", opinion: "须立即整改。", signature: { sha256: "ab".repeat(32), at: "2026-06-10T03:00:00Z" },
  items: [{ item_code: "DU-1", hazard_id: "h1", problem: "未设泄爆", suggestion: "加装泄爆片" }],
};

describe("the expert opinion", () => {
  it("names the inspection's experts", () => {
    const inspection = { data: { participants: [{ role: "inspector", name: "张" }, { role: "expert", name: "孙工" }] } };
    expect(expertsOf(inspection).map((p) => p.name)).toEqual(["孙工"]);
  });
  it("needs an expert, an opinion, a signature and lines linked to this inspection's findings", () => {
    expect(opinionProblems(complete, { findings })).toEqual([]);
    expect(opinionProblems({ ...complete, opinion: " ", signature: null }, { findings })).toEqual(["expert.opinion", "expert.signature"]);
    const unlinked = { ...complete, items: [{ problem: "x", suggestion: "y" }] };
    expect(opinionProblems(unlinked, { findings })).toEqual(["expert.lineLink"]);
    const foreign = { ...complete, items: [{ hazard_id: "other", problem: "x", suggestion: "y" }] };
    expect(opinionProblems(foreign, { findings })).toEqual(["expert.lineLink"]);
  });
  it("is sealed in the form the server compares (blank links null) and leaves records without opinions unchanged", () => {
    expect(normalLine({ item_code: "", problem: "p", suggestion: "s" })).toEqual({ item_code: null, hazard_id: null, problem: "p", suggestion: "s" });
    // Stored lines are normalised already; sealing normalises them again and must not turn null into "null".
    const once = normalLine({ item_code: "DU-1", hazard_id: "", problem: "p", suggestion: "s" });
    expect(normalLine(once)).toEqual(once);
    const sealed = sealedOpinions([{ id: "o2", data: complete }, { id: "o1", data: { ...complete, items: [] } }]);
    expect(sealed.map((o) => o.id)).toEqual(["o1", "o2"]);
    expect(sealed[1]).toEqual({
      id: "o2", expert_name: "孙工", opinion: "须立即整改。", signature_sha256: "ab".repeat(32),
      items: [{ item_code: "DU-1", hazard_id: "h1", problem: "未设泄爆", suggestion: "加装泄爆片" }],
    });
    const inspection = { id: "i1", data: { participants: [] } };
    const base = sealedRecord({ inspection, answers: {}, hazards: [], photoHashes: [] });
    expect("expert_opinions" in base).toBe(false);
    expect(sealedRecord({ inspection, answers: {}, hazards: [], photoHashes: [], expertOpinions: sealed }).expert_opinions).toEqual(sealed);
  });
});
