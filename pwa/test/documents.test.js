import { describe, expect, it } from "vitest";
import {
  authorityOf,
  authorityPrefix,
  buildDocuments,
  documentNumber,
  documentSerial,
  orderParagraphs,
  verifyPath,
  zhDate,
  zhTime,
} from "../src/domain/documents.js";

const SHA = "b4a482b16ccd18a3697c9f0683ac8027f9bf1d7f07d0c4663640b4f277c47201";
const ID = "0751a422-d1eb-54a6-a61d-04135d3f6f48";

const items = [
  { code: "MG-1", section: "management", ordinal: 20, text: "主要负责人未依法履行安全生产职责。" },
  { code: "ST-2", section: "key", ordinal: 2, text: "铸造起重机不符合要求。" },
  { code: "ST-6", section: "key", ordinal: 6, text: "未设置固定式一氧化碳监测报警装置。" },
  { code: "CS-2", section: "key", ordinal: 9, text: "未设置有限空间安全警示标志。" },
  { code: "DU-1", section: "key", ordinal: 12, text: "粉尘涉爆（不适用于本企业）。" },
];

function fixture(overrides = {}) {
  return {
    inspection: {
      id: ID,
      data: {
        kind: "county", status: "submitted",
        // 2025-12-31 23:50 UTC is already 2026 in China: the year and the dates are China's.
        started_at: "2025-12-31T23:50:00.000Z", finished_at: "2026-01-01T02:05:00.000Z",
        participants: [
          { role: "inspector", name: "刘晓燕", badge_no: "14112301002" },
          { role: "inspector", name: "赵志强", badge_no: null },
          { role: "expert", name: "高建平" },
          { role: "enterprise_rep", name: "马永红" },
        ],
        signatures: [
          { role: "inspector", name: "刘晓燕", sha256: "a".repeat(64), at: "2026-01-01T02:00:00.000Z" },
          { role: "enterprise_rep", name: "马永红", sha256: "c".repeat(64), at: "2026-01-01T02:03:00.000Z" },
        ],
        sealed_sha256: SHA,
        ...overrides,
      },
    },
    enterprise: { data: { name: "兴县晋兴特钢有限公司", credit_code: "91141123MA0000123X", address: "兴县蔚汾镇工业路1号", main_person: "杨海军", main_person_phone: "0358-6389563" } },
    items,
    answers: {
      "MG-1": { result: "compliant", note: "" },
      "ST-6": { result: "non_compliant", note: " 主控室未设报警器 " },
      "ST-2": { result: "not_applicable", note: "无起重机" },
      "CS-2": { result: "non_compliant" },
    },
    hazards: [
      { id: "h2", data: { item_code: "CS-2", description: "煤气排水器井入口未设置警示标志。", level: "general", deadline: "2026-01-20", found_at: "2026-01-01T01:00:00.000Z" } },
      { id: "h1", data: { item_code: "ST-6", description: "主控室未设置固定式一氧化碳报警装置。", place: "1#高炉主控室", level: "major", deadline: "2026-03-01", stop_production: true, found_at: "2026-01-01T00:30:00.000Z" } },
    ],
    photos: { h1: [{ data: { sha256: "e".repeat(64), captured_at: "2026-01-01T00:40:00.000Z" } }, { data: { sha256: "d".repeat(64), captured_at: "2026-01-01T00:31:00.000Z" } }] },
    region: { name: "兴县" },
    origin: "https://jc.example.cn/",
  };
}

describe("document numbers (the server's rule)", () => {
  it("take the authority's place, the year and the sealed hash's first 8 hex digits", () => {
    expect(authorityPrefix("兴县应急管理局")).toBe("兴应急");
    expect(authorityPrefix("吕梁市应急管理局")).toBe("吕应急");
    expect(authorityPrefix("应急管理局")).toBe("应急");
    expect(documentNumber("order", "兴县应急管理局", 2026, "3F9A0C1B")).toBe("兴应急责改〔2026〕3F9A0C1B号");
    expect(documentSerial(SHA, ID)).toBe("B4A482B1");
    expect(documentSerial(null, ID)).toBe("0751A422");
    expect(verifyPath("record", ID, SHA)).toBe(`/d/record/${ID}/${SHA}`);
  });
  it("date and time documents on China time", () => {
    expect(zhTime("2025-12-31T23:50:00.000Z")).toBe("2026年1月1日 07:50");
    expect(zhDate("2026-03-01")).toBe("2026年3月1日");
    expect(zhDate("2025-12-31T16:30:00Z")).toBe("2026年1月1日");
    expect(zhDate(null)).toBe("____年__月__日");
    expect(zhTime(undefined)).toBe("—");
  });
  it("name the inspector's bureau, and where an order may be challenged", () => {
    expect(authorityOf({ name: "兴县" })).toEqual({ authority: "兴县应急管理局", reviewBody: "兴县人民政府", court: "兴县人民法院" });
    expect(authorityOf(null).authority).toBe("应急管理局");
  });
});

describe("the order's legal wording", () => {
  it("is the server's text, word for word", () => {
    const { opening, paragraphs } = orderParagraphs(
      [{ deadline: "2026-06-01", level: "major", stop_production: true }, { deadline: "2026-05-20", level: "general" }],
      { reviewBody: "兴县人民政府", court: "兴县人民法院" },
    );
    // Produced by server/documents/records.py order_paragraphs for the same hazards.
    expect(opening).toBe("经查，你单位存在下列问题：");
    expect(paragraphs).toEqual([
      "以上问题违反了安全生产法律、法规、规章和国家标准、行业标准的有关规定。依据《中华人民共和国安全生产法》第六十五条第一款第（二）项、第（三）项的规定，现责令你单位按上列各项期限整改，并于2026年6月1日前全部整改完毕，达到有关法律法规规章和标准规定的要求。由此造成事故的，依法追究有关人员的责任。",
      "整改期间，你单位应当采取措施，确保安全生产。对安全生产违法行为，将依法予以行政处罚。",
      "对上列重大事故隐患，在排除前或者排除过程中无法保证安全的，你单位应当从危险区域内撤出作业人员，暂时停产停业或者停止使用相关设施、设备；重大事故隐患排除后，经审查同意，方可恢复生产经营和使用。",
      "如果不服本指令，可以依法在60日内向兴县人民政府申请行政复议，或者在6个月内依法向兴县人民法院提起行政诉讼，但本指令不停止执行，法律另有规定的除外。",
    ]);
  });
  it("names the one deadline when there is one", () => {
    const { paragraphs } = orderParagraphs([{ deadline: "2026-01-20", level: "general" }], authorityOf({ name: "临县" }));
    expect(paragraphs[0]).toContain("现责令你单位于2026年1月20日前整改完毕");
    expect(paragraphs).toHaveLength(3);
    expect(paragraphs[2]).toContain("向临县人民政府申请行政复议");
  });
});

describe("the documents built from the tablet's records", () => {
  it("the record: header facts, answers in the server's order, hazards, signers, seal and QR link", () => {
    const { record } = buildDocuments(fixture());
    expect(record.title).toBe("现场检查记录");
    expect(record.number).toBe("兴应急检记〔2026〕B4A482B1号");
    expect(record.authority).toBe("兴县应急管理局");
    expect(record.verifyUrl).toBe(`https://jc.example.cn/d/record/${ID}/${SHA}`);
    const facts = Object.fromEntries(record.facts);
    expect(facts["被检查单位"]).toBe("兴县晋兴特钢有限公司");
    expect(facts["主要负责人"]).toBe("杨海军（联系电话：0358-6389563）");
    expect(facts["检查时间"]).toBe("2026年1月1日 07:50 至 2026年1月1日 10:05");
    expect(facts["执法人员"]).toBe("刘晓燕（执法证号：14112301002）、赵志强");
    expect(facts["专家"]).toBe("高建平");
    expect(facts["检查类型"]).toBe("县级全覆盖检查");
    expect(record.intro).toContain("我们是兴县应急管理局执法人员刘晓燕、赵志强，证件号码为14112301002、—");
    expect(record.checks.map((c) => [c.code, c.result])).toEqual([
      ["ST-2", "不适用"], ["ST-6", "不符合"], ["CS-2", "不符合"], ["MG-1", "符合"],
    ]);
    expect(record.checks[1]).toMatchObject({ note: "主控室未设报警器", nonCompliant: true });
    expect(record.unanswered).toBe(1);
    // Numbered in the order found, as on the server.
    expect(record.hazards.map((h) => [h.number, h.itemCode, h.level, h.deadline])).toEqual([
      [1, "ST-6", "重大事故隐患", "2026-03-01"], [2, "CS-2", "一般事故隐患", "2026-01-20"],
    ]);
    expect(record.orderNumber).toBe("兴应急责改〔2026〕B4A482B1号");
    expect(record.signers.map((s) => [s.label, s.signature?.sha256 ?? null, s.signature?.at ?? null])).toEqual([
      ["执法人员（签名）：刘晓燕（执法证号：14112301002）", "a".repeat(64), "2026年1月1日 10:00"],
      ["执法人员（签名）：赵志强", null, null],
      ["被检查单位现场负责人（签名）：马永红", "c".repeat(64), "2026年1月1日 10:03"],
    ]);
    expect(record.seal).toEqual({ sha256: SHA, url: record.verifyUrl });
  });

  it("the order: addressee, each problem with its facts and photo, the wording, stamp and date", () => {
    const { order } = buildDocuments(fixture());
    expect(order.title).toBe("责令限期整改指令书");
    expect(order.number).toBe("兴应急责改〔2026〕B4A482B1号");
    expect(order.verifyUrl).toBe(`https://jc.example.cn/d/order/${ID}/${SHA}`);
    expect(order.addressee).toBe("兴县晋兴特钢有限公司：");
    expect(order.problems).toEqual([
      { number: 1, photo: "d".repeat(64),
        text: "1. 主控室未设置固定式一氧化碳报警装置。（检查项 ST-6；部位：1#高炉主控室；重大事故隐患；整改期限：2026年3月1日前；责令停产停业整改）" },
      { number: 2, photo: null, text: "2. 煤气排水器井入口未设置警示标志。（检查项 CS-2；一般事故隐患；整改期限：2026年1月20日前）" },
    ]);
    expect(order.paragraphs[0]).toContain("并于2026年3月1日前全部整改完毕");
    expect(order.paragraphs.some((p) => p.startsWith("对上列重大事故隐患"))).toBe(true);
    expect(order.signers[0].label).toBe("安全生产执法人员（签名）：刘晓燕（执法证号：14112301002）");
    expect(order.signers.at(-1).label).toBe("被检查单位负责人（签收）：马永红");
    expect(order.stamp).toBe("兴县应急管理局（印章）");
    expect(order.date).toBe("2026年1月1日");
  });

  it("no order without hazards; no QR link without a seal (the number then comes from the id)", () => {
    const input = fixture({ sealed_sha256: undefined });
    input.hazards = [];
    const { record, order } = buildDocuments(input);
    expect(order).toBeNull();
    expect(record.orderNumber).toBeNull();
    expect(record.verifyUrl).toBeNull();
    expect(record.seal.url).toBeNull();
    expect(record.number).toBe("兴应急检记〔2026〕0751A422号");
  });

  it("a representative who signed but is not yet among the participants still signs", () => {
    const input = fixture();
    input.inspection.data.participants = input.inspection.data.participants.filter((p) => p.role !== "enterprise_rep");
    const { record } = buildDocuments(input);
    expect(record.signers.at(-1)).toMatchObject({ label: "被检查单位现场负责人（签名）：马永红" });
    expect(record.signers.at(-1).signature.sha256).toBe("c".repeat(64));
  });
});
