// The look-back visit (回头看): an enterprise's open hazards as this tablet knows them, with the enterprise's
// report of its rectification, and whether this inspector already accepted or rejected it here (not yet sent).

const OPEN_STATES = new Set(["found", "planned", "reported", "rejected"]);
const DECISIONS = new Set(["accepted", "rejected"]);

const latestBy = (events, kinds) => {
  const byHazard = new Map();
  for (const e of events) {
    if (!e?.data || !kinds.has(e.data.kind)) continue;
    const seen = byHazard.get(e.data.hazard_id);
    if (!seen || String(e.data.at) > String(seen.at)) byHazard.set(e.data.hazard_id, e.data);
  }
  return byHazard;
};

/**
 * The enterprise's open hazards, nearest deadline first: each with the latest rectification report pulled
 * from the server (or null) and this device's own pending decision on it (or null).
 */
export function hazardsToFollowUp({ hazards, pulledEvents, localEvents, enterpriseId }) {
  const reports = latestBy(pulledEvents, new Set(["rectification_reported"]));
  const decisions = latestBy(localEvents, DECISIONS);
  return hazards
    .filter((h) => !h.deleted && h.data?.enterprise_id === enterpriseId && OPEN_STATES.has(h.data.state))
    .map((h) => {
      const decision = decisions.get(h.id) ?? null;
      const report = reports.get(h.id) ?? null;
      // A decision made here after the report it answers; an older one was superseded by a new report.
      const pending = decision && (!report || String(decision.at) >= String(report.at)) ? decision.kind : null;
      return { hazard: h, report, decision: pending, canDecide: h.data.state === "reported" && !pending };
    })
    .sort((a, b) => String(a.hazard.data.deadline ?? "9999").localeCompare(String(b.hazard.data.deadline ?? "9999")));
}
