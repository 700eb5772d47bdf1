// What day it is for the bureau, and whether a hazard is overdue: the PWA's one copy of the server's rule
// (server/domain/hazards.py is_overdue), checked against the shared vectors in tests/vectors/overdue.json.

/** The bureau's zone when the server has not said otherwise (the catalogue carries the server's TIMEZONE). */
export const DEFAULT_ZONE = "Asia/Shanghai";

const OPEN_NOT_REPORTED = new Set(["found", "planned", "rejected"]);

/**
 * The calendar day (YYYY-MM-DD) `now` falls on in `zone`.
 * @param {string} [zone]
 * @param {Date} [now]
 */
export function todayIn(zone = DEFAULT_ZONE, now = new Date()) {
  let parts;
  try {
    parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(now);
  } catch {
    // An unknown zone name from a misconfigured server: the bureau's default rather than UTC or a crash.
    parts = new Intl.DateTimeFormat("en-CA", { timeZone: DEFAULT_ZONE, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(now);
  }
  // en-CA with year, month and day always yields these three parts.
  const get = (type) => /** @type {Intl.DateTimeFormatPart} */ (parts.find((p) => p.type === type)).value;
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/**
 * The day `days` after the day `from` (YYYY-MM-DD), as YYYY-MM-DD (calendar arithmetic, no zone involved).
 * @param {string} from
 * @param {number} days
 */
export function addDays(from, days) {
  const [y, m, d] = from.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/**
 * Whether rectification is still the enterprise's to do and `today` is past the deadline: open and not
 * reported fixed (a reported rectification awaits the regulator). Days are YYYY-MM-DD in the bureau's zone.
 * @param {{state: string, deadline: string | null | undefined}} hazard
 * @param {string} today
 */
export function isOverdue({ state, deadline }, today) {
  return OPEN_NOT_REPORTED.has(state) && Boolean(deadline) && today > String(deadline);
}

/**
 * A day as the inspector reads it: 2026年6月10日 (Chinese) or 2026-06-10 (English); "—" for none.
 * @param {string | null | undefined} day YYYY-MM-DD, or an ISO time (its date in `zone`)
 * @param {"zh" | "en"} [lang]
 * @param {string} [zone]
 */
export function formatDay(day, lang = "zh", zone = DEFAULT_ZONE) {
  if (!day) return "—";
  const text = /^\d{4}-\d{2}-\d{2}$/.test(day) ? day : todayIn(zone, new Date(day));
  if (lang === "en") return text;
  const [y, m, d] = text.split("-").map(Number);
  return `${y}年${m}月${d}日`;
}

/**
 * A moment as the inspector reads it, in the bureau's zone: 2026年6月10日 09:30 (Chinese) or 2026-06-10 09:30.
 * @param {string | null | undefined} iso an ISO time
 * @param {"zh" | "en"} [lang]
 * @param {string} [zone]
 */
export function formatDateTime(iso, lang = "zh", zone = DEFAULT_ZONE) {
  if (!iso) return "—";
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return "—";
  let time;
  try {
    time = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(moment);
  } catch {
    time = new Intl.DateTimeFormat("en-GB", { timeZone: DEFAULT_ZONE, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(moment);
  }
  return `${formatDay(todayIn(zone, moment), lang, zone)} ${time}`;
}

/**
 * The zone the server's catalogue names, or the default.
 * @param {{data?: {timezone?: string}} | null | undefined} catalogue
 */
export function bureauZone(catalogue) {
  return catalogue?.data?.timezone || DEFAULT_ZONE;
}
