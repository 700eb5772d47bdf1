// Which catalogue items apply to an enterprise, and how the checklist is laid out. Pure functions: the
// same rules as server/domain/applicability.py, so the tablet and the server agree offline.
import { addDays, bureauZone, todayIn } from "./clock.js";

/** Whether an item's `applies_when` rule covers the enterprise (an unknown dust-worker count applies). */
export function applies(rule, enterprise) {
  const sectorsAny = rule?.sectors_any ?? [];
  const sectors = new Set(enterprise?.sectors ?? []);
  if (sectorsAny.length && !sectorsAny.some((s) => sectors.has(s))) return false;
  const minimum = rule?.min_dust_workers;
  const workers = enterprise?.dust_workers;
  if (minimum != null && workers != null && workers < minimum) return false;
  return true;
}

/** The catalogue's items that apply to the enterprise, in catalogue order. */
export function applicableItems(catalogue, enterprise) {
  return [...(catalogue?.items ?? [])]
    .sort((a, b) => a.ordinal - b.ordinal)
    .filter((item) => applies(item.applies_when, enterprise));
}

/** The catalogue version in force on `day` (a Date), the highest version when several are. */
export function currentCatalogue(rows, day = new Date()) {
  // The day in the bureau's zone (every catalogue row names the same one).
  const iso = todayIn(bureauZone(rows.find((r) => !r.deleted && r.data)), day);
  const live = rows
    .filter((r) => !r.deleted && r.data)
    .filter((r) => r.data.effective_from <= iso && (!r.data.effective_to || r.data.effective_to >= iso));
  live.sort((a, b) => (b.data.version ?? 0) - (a.data.version ?? 0));
  return live[0] ?? null;
}

const SECTION_ORDER = ["key", "management"];

/** Items grouped for the screen: key items by sector, then the management items. */
export function groupItems(items) {
  const groups = new Map();
  for (const item of items) {
    const key = `${item.section}:${item.section === "key" ? item.sector : "management"}`;
    if (!groups.has(key)) groups.set(key, { section: item.section, sector: item.sector, items: [] });
    groups.get(key).items.push(item);
  }
  return [...groups.values()].sort((a, b) => SECTION_ORDER.indexOf(a.section) - SECTION_ORDER.indexOf(b.section));
}

/** Answered / applicable counts, and whether every applicable item has an answer other than not_checked. */
export function progress(items, answers) {
  const answered = items.filter((item) => {
    const result = answers[item.code]?.result;
    return result && result !== "not_checked";
  }).length;
  return { answered, total: items.length, complete: items.length > 0 && answered === items.length };
}

/** A deadline `days` after the day `today` (YYYY-MM-DD in the bureau's zone), as YYYY-MM-DD. */
export function defaultDeadline(today, days = 30) {
  return addDays(today, days);
}

/**
 * The three answers of an item, each with the message key of its label. Items phrased as the violation
 * ("干式除尘系统未规范采用泄爆…", every item of the 隐患判定 lists) get labels that state the finding —
 * 未发现此问题 / 存在此问题 — because 符合/不符合 next to a violation can be read as "the statement fits".
 * An item a catalogue marks `phrasing = "requirement"` keeps 符合 / 不符合. The stored result is the same.
 * @param {{phrasing?: string}} item
 * @returns {Array<{result: string, label: string}>}
 */
export function answerChoices(item) {
  const style = item?.phrasing === "requirement" ? "requirement" : "violation";
  return ["compliant", "non_compliant", "not_applicable"].map((result) => ({ result, label: `answer.${style}.${result}` }));
}

/** Each group's answered and total counts, for the section bar. */
export function sectionProgress(groups, answers) {
  return groups.map((group) => ({ ...progress(group.items, answers), section: group.section, sector: group.sector }));
}

/**
 * Why submit is not possible yet, in the order an inspector fixes them; empty when it is. Each reason is
 * {key, ...params} for the UI's messages. `hazardDrafts` names items whose hazard form has unsaved typing.
 * @param {{items: Array<{code: string}>, answers: Record<string, {result?: string}>, hazards: Record<string, object>,
 *   hazardDrafts?: Set<string>, inspectors: Array<{name: string}>, signatures: Array<{role: string, name: string}>, repName: string}} state
 */
export function submitBlockers({ items, answers, hazards, hazardDrafts = new Set(), inspectors, signatures, repName }) {
  const reasons = [];
  const position = new Map(items.map((item, index) => [item.code, index + 1]));
  const unanswered = items.filter((item) => !answers[item.code]?.result || answers[item.code].result === "not_checked");
  if (unanswered.length) {
    reasons.push({ key: "block.unanswered", count: unanswered.length, items: unanswered.slice(0, 5).map((i) => `${position.get(i.code)}（${i.code}）`) });
  }
  for (const item of items) {
    if (answers[item.code]?.result !== "non_compliant") continue;
    if (!hazards[item.code]) {
      reasons.push({ key: hazardDrafts.has(item.code) ? "block.hazardUnsaved" : "block.hazardMissing", n: position.get(item.code), code: item.code });
    } else if (hazardDrafts.has(item.code)) {
      reasons.push({ key: "block.hazardEdited", n: position.get(item.code), code: item.code });
    }
  }
  const signed = (role, name) => signatures.some((sig) => sig.role === role && (name == null || sig.name === name));
  for (const person of inspectors) {
    if (!signed("inspector", person.name)) reasons.push({ key: "block.inspectorSign", name: person.name });
  }
  if (!String(repName ?? "").trim()) reasons.push({ key: "block.repName" });
  else if (!signed("enterprise_rep", String(repName).trim())) reasons.push({ key: "block.repSign" });
  return reasons;
}
