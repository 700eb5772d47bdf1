// 专家检查意见 on the tablet (notice 三（七）): an expert taking part in the inspection writes the opinion and the list
// of problems with rectification suggestions, each line linked to one of the inspection's findings (a checklist
// item and/or a hazard), and signs. Pure functions: src/ui/expert-opinion.jsx draws the form.
// The seal: every opinion goes into the inspection's sealed record under `expert_opinions`, in the form the server
// compares it in (server/domain/expert_opinions.py: comparable), so an opinion changed after sealing is flagged.

const ITEM_FIELDS = ["item_code", "hazard_id", "problem", "suggestion"];

/** The inspection's experts (participants with the role expert). */
export function expertsOf(inspection) {
  return (inspection?.data?.participants ?? []).filter((p) => p.role === "expert");
}

/**
 * Why an opinion cannot be saved yet (a list of message keys), empty when it can.
 * @param {{expert_name?: string, opinion?: string, items?: Array<{item_code?: string | null, hazard_id?: string | null, problem?: string, suggestion?: string}>, signature?: {sha256?: string} | null}} data
 * @param {{findings?: {items: string[], hazards: string[]}}} [context] the inspection's item codes and hazard ids a line may name
 * @returns {string[]}
 */
export function opinionProblems(data, { findings = { items: [], hazards: [] } } = {}) {
  /** @type {string[]} */
  const problems = [];
  if (!String(data.expert_name ?? "").trim()) problems.push("expert.name");
  if (!String(data.opinion ?? "").trim()) problems.push("expert.opinion");
  const items = new Set(findings.items);
  const hazards = new Set(findings.hazards);
  for (const line of data.items ?? []) {
    if (!String(line.problem ?? "").trim() || !String(line.suggestion ?? "").trim()) problems.push("expert.lineText");
    if (!line.item_code && !line.hazard_id) problems.push("expert.lineLink");
    if (line.item_code && !items.has(line.item_code)) problems.push("expert.lineLink");
    if (line.hazard_id && !hazards.has(line.hazard_id)) problems.push("expert.lineLink");
  }
  if (!data.signature?.sha256) problems.push("expert.signature");
  return [...new Set(problems)];
}

/** One line as the tablet stores and seals it (blank links are null). */
export function normalLine(line) {
  // `== null` also catches a line normalised before (stored with null links): normalising twice changes nothing.
  return Object.fromEntries(ITEM_FIELDS.map((key) => [key, line[key] == null || line[key] === "" ? null : String(line[key])]));
}

/** The opinions of one inspection as its sealed record carries them, by id. */
export function sealedOpinions(opinions) {
  return opinions
    .map((o) => ({
      id: o.id,
      expert_name: o.data.expert_name,
      opinion: o.data.opinion,
      items: (o.data.items ?? []).map(normalLine),
      signature_sha256: o.data.signature?.sha256 ?? null,
    }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}
