// 执法文书 printed on the tablet after submission, offline: what the 现场检查记录 and the 责令限期整改指令书 say,
// built from the tablet's own records. Pure functions (no DOM): src/ui/print.jsx lays them out for window.print().
// The rules are the server's (server/documents/records.py), so a paper printed on site and one downloaded later
// carry the same number, the same legal wording and the same verification link.

export const TITLES = { record: "现场检查记录", order: "责令限期整改指令书" };
const CODES = { record: "检记", order: "责改" };
const RESULT_ZH = { compliant: "符合", non_compliant: "不符合", not_applicable: "不适用", not_checked: "未检查" };
const LEVEL_ZH = { general: "一般事故隐患", major: "重大事故隐患" };
const SECTIONS = ["key", "management"];
const KIND_ZH = {
  self: "企业自查",
  county: "县级全覆盖检查",
  unannounced: "四不两直暗查暗访",
  city_sampling: "市级双随机抽查",
  look_back: "回头看",
  expert: "专家指导服务",
};
/** China keeps one zone and no daylight saving: documents are dated on it wherever the tablet's clock is set. */
const CHINA_OFFSET_MS = 8 * 3600 * 1000;

/** The number's prefix: 兴县应急管理局 → 兴应急, 吕梁市应急管理局 → 吕应急, 应急管理局 → 应急. */
export function authorityPrefix(authority) {
  const place = String(authority ?? "").split("应急")[0].trim();
  return `${Array.from(place)[0] ?? ""}应急`;
}

/** The document's number, e.g. 兴应急检记〔2026〕3F9A0C1B号. */
export function documentNumber(kind, authority, year, serial) {
  return `${authorityPrefix(authority)}${CODES[kind]}〔${year}〕${serial}号`;
}

/** The serial: the sealed record's SHA-256, first 8 hex digits upper case (the id's when nothing was sealed). */
export function documentSerial(sealedSha256, inspectionId) {
  return String(sealedSha256 || String(inspectionId).replace(/-/g, "")).slice(0, 8).toUpperCase();
}

/** The public path that checks a printed document against the server's stored record. */
export function verifyPath(kind, inspectionId, sha256) {
  return `/d/${kind}/${inspectionId}/${sha256}`;
}

function chinaParts(value) {
  const moment = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(moment.getTime())) return null;
  const local = new Date(moment.getTime() + CHINA_OFFSET_MS);
  return {
    year: local.getUTCFullYear(), month: local.getUTCMonth() + 1, day: local.getUTCDate(),
    hour: local.getUTCHours(), minute: local.getUTCMinutes(),
  };
}

const pad = (n) => String(n).padStart(2, "0");

/** A date as documents write it (2026年5月2日); a YYYY-MM-DD text is taken as the calendar day it names. */
export function zhDate(value) {
  if (!value) return "____年__月__日";
  const day = /^\d{4}-\d{2}-\d{2}$/.test(String(value)) ? value.split("-").map(Number) : null;
  if (day) return `${day[0]}年${day[1]}月${day[2]}日`;
  const p = chinaParts(value);
  return p ? `${p.year}年${p.month}月${p.day}日` : "____年__月__日";
}

/** A moment on China time: 2026年5月2日 08:40. */
export function zhTime(value) {
  const p = value ? chinaParts(value) : null;
  return p ? `${p.year}年${p.month}月${p.day}日 ${pad(p.hour)}:${pad(p.minute)}` : "—";
}

/** The year the inspection started, China time (the number's year). */
export function documentYear(startedAt) {
  return chinaParts(startedAt ?? new Date())?.year ?? new Date().getFullYear();
}

/** The bureau the tablet's inspector works for, and where its orders may be challenged. */
export function authorityOf(region) {
  const place = String(region?.name ?? "").trim();
  return {
    authority: place ? `${place}应急管理局` : "应急管理局",
    reviewBody: place ? `${place}人民政府` : "________人民政府",
    court: place ? `${place}人民法院` : "________人民法院",
  };
}

/** The order's wording around its list of problems (the server's text: see order_paragraphs there). */
export function orderParagraphs(hazards, { reviewBody, court }) {
  const deadlines = [...new Set(hazards.map((h) => h.deadline).filter(Boolean))].sort();
  let when = "责令你单位于____年__月__日前整改完毕";
  if (deadlines.length === 1) when = `责令你单位于${zhDate(deadlines[0])}前整改完毕`;
  else if (deadlines.length > 1) when = `责令你单位按上列各项期限整改，并于${zhDate(deadlines.at(-1))}前全部整改完毕`;
  const paragraphs = [
    "以上问题违反了安全生产法律、法规、规章和国家标准、行业标准的有关规定。依据《中华人民共和国安全生产法》" +
      `第六十五条第一款第（二）项、第（三）项的规定，现${when}，达到有关法律法规规章和标准规定的要求。` +
      "由此造成事故的，依法追究有关人员的责任。",
    "整改期间，你单位应当采取措施，确保安全生产。对安全生产违法行为，将依法予以行政处罚。",
  ];
  if (hazards.some((h) => h.level === "major" && h.stop_production)) {
    paragraphs.push(
      "对上列重大事故隐患，在排除前或者排除过程中无法保证安全的，你单位应当从危险区域内撤出作业人员，" +
        "暂时停产停业或者停止使用相关设施、设备；重大事故隐患排除后，经审查同意，方可恢复生产经营和使用。",
    );
  }
  paragraphs.push(
    `如果不服本指令，可以依法在60日内向${reviewBody}申请行政复议，或者在6个月内依法向${court}` +
      "提起行政诉讼，但本指令不停止执行，法律另有规定的除外。",
  );
  return { opening: "经查，你单位存在下列问题：", paragraphs };
}

/** The earliest photo of a hazard (the server prints the first by capture time too). */
function firstPhoto(list) {
  const sorted = [...(list ?? [])].filter((p) => p?.data?.sha256)
    .sort((a, b) => String(a.data.captured_at ?? "").localeCompare(String(b.data.captured_at ?? "")));
  return sorted[0]?.data.sha256 ?? null;
}

/**
 * Both documents of a submitted inspection, from the tablet's records.
 * @param {object} input
 * @param {{id: string, data: object}} input.inspection the local inspection record (with its seal fields)
 * @param {{data: object}} input.enterprise the enterprise replica row
 * @param {Array<{code: string, text: string, section?: string, ordinal?: number}>} input.items the catalogue's items
 * @param {Record<string, {result: string, note?: string}>} input.answers answers by item code
 * @param {Array<{id: string, data: object, deleted?: boolean}>} input.hazards this inspection's hazards
 * @param {Record<string, Array<{data: {sha256: string}}>>} [input.photos] photo records by entity id
 * @param {{name?: string}|null} [input.region] the inspector's region (its bureau issues the documents)
 * @param {string} input.origin the server's address the QR code points at
 */
export function buildDocuments({ inspection, enterprise, items, answers, hazards, photos = {}, region = null, origin }) {
  const d = inspection.data ?? {};
  const e = enterprise?.data ?? {};
  const { authority, reviewBody, court } = authorityOf(region);
  const year = documentYear(d.started_at);
  const serial = documentSerial(d.sealed_sha256, inspection.id);
  const sha = d.sealed_sha256 || null;
  const number = (kind) => documentNumber(kind, authority, year, serial);
  const verifyUrl = (kind) => (sha ? `${String(origin).replace(/\/+$/, "")}${verifyPath(kind, inspection.id, sha)}` : null);
  const participants = d.participants ?? [];
  const inspectors = participants.filter((p) => p.role === "inspector");
  const experts = participants.filter((p) => p.role === "expert").map((p) => p.name);
  const signatures = (d.signatures ?? []).map((s) => ({ role: s.role, name: s.name, sha256: s.sha256 ?? null, at: zhTime(s.at) }));
  const representatives = participants.filter((p) => p.role === "enterprise_rep").map((p) => p.name);
  const reps = representatives.length ? representatives : signatures.filter((s) => s.role === "enterprise_rep").map((s) => s.name);

  // The server's order: key items, then management items, each in catalogue order.
  const rank = (item) => [SECTIONS.indexOf(item.section) < 0 ? 99 : SECTIONS.indexOf(item.section), item.ordinal ?? 1e6];
  const sorted = [...items].sort((a, b) => {
    const [x, y] = [rank(a), rank(b)];
    return x[0] - y[0] || x[1] - y[1] || String(a.code).localeCompare(String(b.code));
  });
  const checks = sorted
    .filter((item) => answers[item.code])
    .map((item) => {
      const a = answers[item.code];
      return { code: item.code, text: item.text, result: RESULT_ZH[a.result] ?? a.result, note: (a.note ?? "").trim(), nonCompliant: a.result === "non_compliant" };
    });
  // Numbered in the order they were found, as on the server.
  const found = [...hazards]
    .filter((h) => !h.deleted && h.data)
    .sort((a, b) => String(a.data.found_at ?? "").localeCompare(String(b.data.found_at ?? "")) || String(a.id).localeCompare(String(b.id)))
    .map((h, index) => ({
      number: index + 1, id: h.id, itemCode: h.data.item_code ?? "", description: String(h.data.description ?? "").trim(),
      place: String(h.data.place ?? "").trim(), level: LEVEL_ZH[h.data.level] ?? h.data.level, major: h.data.level === "major",
      deadline: h.data.deadline ?? null, stopProduction: Boolean(h.data.stop_production),
      photo: firstPhoto(photos[h.id]),
    }));

  const officers = inspectors.map((o) => (o.badge_no ? `${o.name}（执法证号：${o.badge_no}）` : o.name)).join("、") || "无";
  const person = (e.main_person || "—") + (e.main_person_phone ? `（联系电话：${e.main_person_phone}）` : "");
  const facts = [
    ["被检查单位", e.name ?? ""],
    ["统一社会信用代码", e.credit_code ?? ""],
    ["地址", e.address || "—"],
    ["主要负责人", person],
    ["检查场所", `${e.name ?? ""}生产经营场所${e.address ? `（${e.address}）` : ""}`],
    ["检查类型", KIND_ZH[d.kind] ?? d.kind ?? ""],
    ["检查时间", `${zhTime(d.started_at)} 至 ${zhTime(d.finished_at)}`],
    ["执法人员", officers],
    ...(experts.length ? [["专家", experts.join("、")]] : []),
    ["被检查单位现场负责人", reps.join("、") || "—"],
  ];
  const signed = (role, name) => signatures.find((s) => s.role === role && s.name === name) ?? null;
  const signers = (officerLabel, repLabel) => [
    ...inspectors.map((o) => ({ label: `${officerLabel}${o.name}${o.badge_no ? `（执法证号：${o.badge_no}）` : ""}`, signature: signed("inspector", o.name) })),
    ...(reps.length ? reps : [""]).map((name) => ({
      label: `${repLabel}${name}`,
      signature: signed("enterprise_rep", name) ?? signatures.find((s) => s.role === "enterprise_rep") ?? null,
    })),
  ];
  const seal = (kind) => ({ sha256: sha, url: verifyUrl(kind) });
  const issuedOn = zhDate(d.finished_at ?? d.started_at);

  const record = {
    kind: "record", title: TITLES.record, number: number("record"), authority, verifyUrl: verifyUrl("record"), facts,
    intro: `我们是${authority}执法人员${inspectors.map((o) => o.name).join("、")}，证件号码为${inspectors.map((o) => o.badge_no || "—").join("、")}，` +
      "已向你单位出示执法证件。现依法对你单位进行现场检查，请予以配合。",
    checks, unanswered: items.filter((item) => !answers[item.code]).length, hazards: found, orderNumber: found.length ? number("order") : null,
    signers: signers("执法人员（签名）：", "被检查单位现场负责人（签名）："), seal: seal("record"),
  };
  if (!found.length) return { record, order: null };
  const { opening, paragraphs } = orderParagraphs(found.map((h) => ({ deadline: h.deadline, level: h.major ? "major" : "general", stop_production: h.stopProduction })), { reviewBody, court });
  const problems = found.map((h) => {
    const details = [
      ...(h.itemCode ? [`检查项 ${h.itemCode}`] : []),
      ...(h.place ? [`部位：${h.place}`] : []),
      h.level,
      ...(h.deadline ? [`整改期限：${zhDate(h.deadline)}前`] : []),
      ...(h.major && h.stopProduction ? ["责令停产停业整改"] : []),
    ];
    return { number: h.number, text: `${h.number}. ${h.description}（${details.join("；")}）`, photo: h.photo };
  });
  const order = {
    kind: "order", title: TITLES.order, number: number("order"), authority, verifyUrl: verifyUrl("order"),
    addressee: `${e.name ?? ""}：`, opening, problems, paragraphs,
    signers: signers("安全生产执法人员（签名）：", "被检查单位负责人（签收）："),
    stamp: `${authority}（印章）`, date: issuedOn, copies: "（本文书一式两份：一份由应急管理部门备案，一份交被检查单位。）",
    seal: seal("order"),
  };
  return { record, order };
}
