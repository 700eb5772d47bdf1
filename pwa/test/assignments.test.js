import { describe, expect, it } from "vitest";
import { assignmentTasks } from "../src/domain/assignments.js";

const assignment = (id, enterprise, drawnAt, extra = {}) => ({
  id, data: { enterprise_id: enterprise, enterprise_name: `企业${enterprise}`, region_name: "兴县", draw_id: `d-${drawnAt}`,
    drawn_at: drawnAt, co_inspectors: ["马俊"], kind: "city_sampling", ...extra },
});
const enterprise = (id) => ({ id, data: { name: `企业${id}` } });
const inspection = (enterprise, kind, startedAt) => ({ id: `${enterprise}-${startedAt}`, data: { enterprise_id: enterprise, kind, started_at: startedAt } });

describe("assignmentTasks", () => {
  it("keeps one task per enterprise, the newest draw, and drops tombstones", () => {
    const tasks = assignmentTasks({
      assignments: [assignment("a1", "e1", "2026-09-01T02:00:00+00:00"), assignment("a2", "e1", "2026-10-01T02:00:00+00:00", { co_inspectors: ["郝丽"] }),
        assignment("a3", "e2", "2026-09-15T02:00:00+00:00"), { id: "a4", deleted: true, data: null }],
      enterprises: [enterprise("e1")],
    });
    expect(tasks.map((t) => t.enterpriseId)).toEqual(["e1", "e2"]);
    expect(tasks[0].coInspectors).toEqual(["郝丽"]);
    expect(tasks[0].drawId).toBe("d-2026-10-01T02:00:00+00:00");
    expect(tasks.map((t) => t.inReplica)).toEqual([true, false]);
  });

  it("puts enterprises already visited for the city's sampling last", () => {
    const tasks = assignmentTasks({
      assignments: [assignment("a1", "e1", "2026-10-01T02:00:00+00:00"), assignment("a2", "e2", "2026-09-01T02:00:00+00:00")],
      inspections: [inspection("e1", "city_sampling", "2026-10-03T01:00:00Z"), inspection("e2", "county", "2026-10-03T01:00:00Z"),
        inspection("e2", "city_sampling", "2026-08-01T01:00:00Z")],
    });
    expect(tasks.map((t) => [t.enterpriseId, t.done])).toEqual([["e2", false], ["e1", true]]);
  });

  it("is empty without assignments", () => {
    expect(assignmentTasks({})).toEqual([]);
  });
});
