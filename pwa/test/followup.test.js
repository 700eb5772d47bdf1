import { describe, expect, it } from "vitest";
import { hazardsToFollowUp } from "../src/domain/followup.js";

const hazard = (id, state, deadline, enterprise = "e1") => ({ id, data: { enterprise_id: enterprise, state, deadline } });
const event = (hazardId, kind, at, extra = {}) => ({ id: `${hazardId}-${kind}-${at}`, data: { hazard_id: hazardId, kind, at, ...extra } });

describe("hazardsToFollowUp", () => {
  it("lists the enterprise's open hazards, nearest deadline first, with the latest report", () => {
    const rows = hazardsToFollowUp({
      hazards: [hazard("h1", "reported", "2026-09-01"), hazard("h2", "found", "2026-07-01"), hazard("h3", "closed", "2026-06-01"),
        hazard("h4", "reported", "2026-05-01", "e2"), { id: "h5", deleted: true, data: null }],
      pulledEvents: [event("h1", "rectification_reported", "2026-08-01T00:00:00Z", { comment: "旧" }),
        event("h1", "rectification_reported", "2026-08-20T00:00:00Z", { comment: "已更换" })],
      localEvents: [],
      enterpriseId: "e1",
    });
    expect(rows.map((r) => r.hazard.id)).toEqual(["h2", "h1"]);
    expect(rows[1].report.comment).toBe("已更换");
    expect(rows.map((r) => r.canDecide)).toEqual([false, true]);
  });

  it("shows this device's decision until a newer report supersedes it", () => {
    const base = { hazards: [hazard("h1", "reported", null)], enterpriseId: "e1" };
    const decided = hazardsToFollowUp({ ...base, pulledEvents: [event("h1", "rectification_reported", "2026-08-01T00:00:00Z")],
      localEvents: [event("h1", "accepted", "2026-08-02T00:00:00Z")] });
    expect(decided[0]).toMatchObject({ decision: "accepted", canDecide: false });
    const reportedAgain = hazardsToFollowUp({ ...base, pulledEvents: [event("h1", "rectification_reported", "2026-08-05T00:00:00Z")],
      localEvents: [event("h1", "rejected", "2026-08-02T00:00:00Z")] });
    expect(reportedAgain[0]).toMatchObject({ decision: null, canDecide: true });
  });
});
