// Which catalogue items apply to an enterprise, and how the checklist is laid out. Pure functions: the
// same rules as server/domain/applicability.py, so the tablet and the server agree offline.

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
  const iso = day.toISOString().slice(0, 10);
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

/** A deadline `days` after `from`, as YYYY-MM-DD. */
export function defaultDeadline(from = new Date(), days = 30) {
  return new Date(from.getTime() + days * 86400000).toISOString().slice(0, 10);
}
