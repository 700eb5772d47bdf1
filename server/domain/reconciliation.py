"""Reconciling inspector findings with an enterprise's self-inspection ledger (隐患自查台账核对).

For one enterprise and one campaign phase, each hazard an inspector found is matched with at most one
entry of the enterprise's own ledger, and each ledger entry with at most one finding; the result says how
far the enterprise's self-inspection can be trusted.

What is compared (the service selects it; the rule is stated here so that it is stated once)
-------------------------------------------------------------------------------------------
- Findings: hazards from an inspection or a city sample (source ``inspection`` / ``city_sampling``) whose
  inspection counts — submitted or approved, not the enterprise's own ``self`` kind; a draft or returned
  inspection's hazards do not count — and that were found within the phase: from 00:00 of its first day to
  24:00 of its last, in the bureau's time zone.
- Ledger entries: the enterprise's ``self_ledger`` hazards found on or before the end of the phase (24:00
  of its last day). An entry made earlier in the campaign, or before it, still tells what the enterprise
  knew when the inspector came; what matters is whether it was written *before the finding* (below).
- Self-assessment: the enterprise's latest submitted (or approved) inspection of kind ``self`` finished
  on or before the end of the phase. Inspector's result: the latest counting inspection finished within
  the phase; an item it did not answer has no inspector's result.

Matching
--------
A finding and an entry are *compatible* when nothing sets them apart and their words agree enough.

Set apart (whatever the words): two different key items; numbered units that contradict each other ("1#高炉主控室"
and "二号高炉主控室" are different places: both carry unit numbers — any number of the place, or an "N#"/"N号"
in the description — and neither set contains the other's); unless the item is the same, kinds of safeguard
(``SAFEGUARDS``) where neither side's include the other's ("储气罐安全阀未校验" / "储气罐压力表未校验"), or two
different machines (``EQUIPMENT``: "砂轮机防护罩" / "台钻防护罩"), or two descriptions that both name hazard concepts
(``server.domain.hazard_concepts``) and none in common ("积尘未清扫" / "镁粉桶受潮"); and, even under one item, a
safeguard said to
be missing against one that is there and wrong ("除尘器未设置泄爆片" / "除尘器泄爆口朝向人员通道": a negation
before a verb of putting in place, or "缺"/"没有"/"无" before a safeguard, against a description without any
negation).

Words that agree: either

1. both name the same key item (item code) — the key items are narrow, so this alone suffices; or
2. their places agree (``PLACE_MIN``, or one record's place — or the last ``PLACE_HEAD`` characters of a longer
   one — named in the other's description: "转炉煤气回收" with "风机房未设置…" / "煤气风机房") and their descriptions
   are similar (``DESCRIPTION_MIN``; ``SAME_KIND_DESCRIPTION_MIN`` when both name the same kind of safeguard:
   at one place, one defect of one safeguard is written in many ways; only ``CONCEPT_DESCRIPTION_MIN`` — a word
   or two — when both name the same hazard concept: a ledger writes the consequence, "下雨会进水", where the
   inspector writes the missing safeguard, "未防水防潮"); or
3. a place is missing, the descriptions name the same hazard concept and are somewhat similar
   (``CONCEPT_PLACELESS_MIN``); or
4. a place is missing or dissimilar, but the descriptions are near-identical (``DESCRIPTION_ALONE_MIN``) — except
   when the two places are areas of one kind not alike ("成品库" / "原料库", "制氧站" / "煤气加压站": ``AREA_ENDINGS``),
   which are two places whatever the words. Areas named differently ("炼钢车间" / "炼钢厂房") may still be one.

A compatible pair scores ``description + PLACE_WEIGHT × place (+ ITEM_BONUS when the item is the same, +
CONCEPT_BONUS when a hazard concept is)``.
Assignment is one-to-one and greedy: the best-scoring pair is taken first, then the best of the remaining
findings and entries, and so on; of pairs scoring the same, a same-item pair goes first, then the earlier
finding, then the earlier entry (found time, then id), so the answer never depends on input order. It runs
in two passes:

1. a finding with the entries written on or before it was found (what the enterprise knew);
2. the findings left over with the entries written after them: the enterprise copied the inspector's
   finding into its ledger afterwards (补录). That is good practice but not self-inspection.

Categories
----------
Every finding falls in exactly one of
- ``self_reported``: matched in pass 1 to an entry the enterprise had not declared fixed by then;
- ``claimed_fixed_but_present`` (整改不实): matched in pass 1 to an entry the enterprise had declared fixed
  (``claimed_fixed_at``: its first "rectification reported", "accepted" or "closed" event, or a completion
  or acceptance date in its 五定 terms) at or before the inspector found the hazard. A claim that was later
  rejected still counts: the enterprise's ledger said "fixed" and the inspector saw it was not;
- ``missed`` (自查不到位): not matched in pass 1; ``recorded_after`` lists those of them the ledger took in
  afterwards, with the entry.

Every ledger entry falls in exactly one of: matched in pass 1 (with its finding in one of the first two
lists), ``recorded_after``, or ``ledger_only`` (no finding matched it: found by the enterprise alone, or
already fixed before the inspector came).

``overdue`` is a cross-cutting list, not a category: the findings and entries whose rectification is past
its deadline and still the enterprise's to do (server.domain.hazards.HazardStatus.is_overdue: open, not
awaiting acceptance, deadline before today). A finding and the entry matched to it are two records; each is
listed.

Per key item the self-assessment is set against the inspector's result: ``agree``; ``overstated`` (自评不实)
when the enterprise said compliant or not applicable and the inspector found it non-compliant (declaring an
item that applies "not applicable" hides a defect just as well); ``differ`` for any other disagreement (the
enterprise was stricter than the inspector, or compliant vs not applicable); ``incomplete`` when a side has
no answer or answered "not checked".

Reliability (自查可信度) = self_reported / findings: the share of the inspector's findings that the ledger
already held and did not claim fixed. None when there are no findings (nothing to judge by).

Chinese text similarity
-----------------------
Chinese is not split into words, and hazard descriptions of the same defect are written in many ways
("除尘器泄爆口朝向人员通道" / "除尘系统泄爆口正对人员通行通道"), so similarity is measured on characters:

1. ``normalise``: NFKC (full-width letters and digits become ASCII), lower case; a unit number in Chinese
   numerals or written mark first becomes "N#" ("二号炉", "#2炉" → "2#炉"), a tonnage's "t" becomes 吨; every space,
   punctuation mark and symbol removed; a unit number's marker dropped ("2号", "2#" → "2"); the terms of
   ``SYNONYMS`` folded into one spelling (CO → 一氧化碳, 报警器/报警仪/报警装置 → 报警, 行车/天车 → 起重机,
   失灵/失效/损坏 → 坏, 除尘设备 → 除尘器, 泄爆口/泄爆片 → 泄爆装置, 连锁 → 联锁, 检定 → 校验, …: general safety
   vocabulary, never a phrase of one hazard); then the filler words of ``FILLER_WORDS`` are dropped. Among them
   are the negations (未, 没有, 无, 不, 缺少): the same defect is written "未设置", "没有设置" or "无" indifferently;
   what a negation does tell (missing, or there and wrong) is read before they are dropped (Matching, above).
2. Descriptions: the set of characters and character bigrams of each, compared by the Sørensen–Dice
   coefficient 2·|A∩B| / (|A|+|B|), in [0, 1], symmetric — or, when higher, ``OVERLAP_WEIGHT`` × the overlap
   coefficient |A∩B| / min(|A|, |B|) (a ledger's short note of an inspector's long finding: "流槽没有液位报警"),
   counted only when the smaller set has at least ``MIN_OVERLAP_GRAMS`` grams. The characters carry words
   written in another order ("防爆灯具损坏" / "损坏的防爆灯"), the bigrams the words themselves. When the shorter
   string has fewer than ``SHORT_TEXT`` characters, single characters alone are compared.
3. Places: the same on bigrams alone, and containment counts as identical: "高炉主控室" within "1#高炉主控室"
   scores 1 (the shorter must have at least ``MIN_CONTAINED`` characters).

Measured on the labelled pairs of tests/data/reconciliation_pairs.json (bench/reconcile_quality.py prints
precision, recall and F1 on the 'tune' pairs, the 'holdout-seen' pairs, the 'holdout' pairs and all). Each holdout
was written fresh and frozen before the rules it measures were changed, and measured once; its errors were read only
afterwards, when it joined 'tune' and a new holdout was written. Precision / recall:

- rules before this work: old pairs 1-128 0.93 / 0.79 (of which the former every-third holdout 0.88 / 0.68);
  first fresh holdout (129-192) 0.86 / 0.50; second (225-288) 0.90 / 0.46;
- round 1 (unit numbers, characters and bigrams, kinds/machines/missing-vs-wrong apart, places through the
  descriptions): first holdout 0.96 / 0.64; second holdout, before round 2, 0.96 / 0.67;
- round 2 (areas of one kind, a place's head, the same kind of safeguard at one place): tune (1-224) 0.98 / 0.95;
  second holdout 0.96 / 0.69; third fresh holdout (289-376, other enterprises and places, ledger notes that
  write consequences) 0.71 / 0.36;
- round 3 (hazard concepts, from the checklist): tune 0.99 / 0.99; second holdout, now 'holdout-seen' (its
  figures and two of its misses were read while this round was planned, so it is semi-seen) 0.97 / 0.77; third
  holdout 0.86 / 0.77.

Neither target (precision 0.95, recall 0.9) is met on unseen wording. The concepts doubled recall on the third
holdout, whose ledger notes write consequences ("下雨会进水", "灰大", "没人在上面看着"), and raised its precision
(two concepts at one place are two hazards); it stays below the target because that holdout's near misses share
places, equipment and kinds of hazard on purpose. The rules err towards "missed": a hazard left unmatched is shown to the
supervisor with the ledger beside it, while a wrong match would hide a missed hazard. Item codes keep pairs
together where the records carry them; the pages show every pair's similarities so that a supervisor can judge
the rest.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from server.domain.clearance import ItemResultValue
from server.domain.hazard_concepts import concepts
from server.domain.hazards import HazardLevel, HazardState, HazardStatus

#: Words dropped before comparing descriptions: negations (see the module docstring), the words every
#: hazard text shares ("存在…问题", "现场发现"), and function words. Longest first, so that "没有" goes
#: before "没" could split it.
FILLER_WORDS: tuple[str, ...] = tuple(
    sorted(
        {
            "没有", "缺少", "缺乏", "缺失", "不符合", "不规范", "不到位", "未按", "存在", "问题", "隐患", "现场", "发现",
            "检查", "情况", "相关", "有关", "规定", "要求", "按照", "部分", "个别", "一些", "进行", "已经",
            "未", "不", "无", "没", "的", "了", "等", "和", "与", "或", "已",
            # Verbs of "put in place" written or left out at will ("设置" stays: dropping it lets "泄爆装置" alone
            # match "泄爆口朝向通道", a different defect of the same vent).
            "位于", "配置", "配备", "安装", "加装", "铺设", "缺", "不是", "办理", "落实", "采取",
        },
        key=lambda w: (-len(w), w),
    )
)  # fmt: skip
#: Below this many characters (after normalising) single characters are compared instead of bigrams.
SHORT_TEXT = 4
#: A place contained in the other counts as the same place when it has at least this many characters.
MIN_CONTAINED = 2
#: Places at least this similar are "the same place".
PLACE_MIN = 0.5
#: Descriptions at least this similar describe the same defect, when the places agree.
DESCRIPTION_MIN = 0.46
#: Descriptions at least this similar describe the same defect, when the places agree and both name the same
#: kind of safeguard (and neither names another).
SAME_KIND_DESCRIPTION_MIN = 0.3
#: Descriptions at least this similar match even when a place is missing or the places differ.
DESCRIPTION_ALONE_MIN = 0.7
#: Last characters of a place that names an area of its own: two places not alike that end in the same one are
#: two areas of one kind ("成品库" / "原料库", "制氧站" / "煤气加压站"), two places.
AREA_ENDINGS = "库站室房间池罐厂场楼"
#: Characters of a longer place's end that name what it is ("煤气风机房" → "风机房"), looked for in the other's
#: description.
PLACE_HEAD = 3
#: Weight of the overlap coefficient (shared / the smaller set) against the Dice coefficient.
OVERLAP_WEIGHT = 0.9
#: The overlap coefficient counts only when the smaller text has at least this many grams.
MIN_OVERLAP_GRAMS = 3
#: Descriptions at least this similar describe the same defect when both name the same hazard concept
#: (``server.domain.hazard_concepts``) and their places agree, or when one place is missing.
CONCEPT_DESCRIPTION_MIN = 0.05
CONCEPT_PLACELESS_MIN = 0.3
#: Score added for the same key item, for a shared hazard concept, and the weight of the place's similarity.
ITEM_BONUS = 1.0
CONCEPT_BONUS = 0.5
PLACE_WEIGHT = 0.5

#: No pair of other items with descriptions less similar than this is ever compatible.
_LEAST_DESCRIPTION = min(DESCRIPTION_MIN, SAME_KIND_DESCRIPTION_MIN, DESCRIPTION_ALONE_MIN)
_LEAST_CONCEPT_DESCRIPTION = min(CONCEPT_DESCRIPTION_MIN, CONCEPT_PLACELESS_MIN)
_DIGITS = re.compile(r"\d+")
#: A unit number inside a description: "1#除尘器", "2号高炉" (other numbers there are measurements).
_UNIT_NUMBER = re.compile(r"(\d+)\s*(?:#|号)")
#: Spaces, punctuation and symbols (\W is "not a letter or digit", in every script; _ is a letter to it).
_NOT_TEXT = re.compile(r"[\W_]+")
_FILLERS = re.compile("|".join(re.escape(word) for word in FILLER_WORDS))

#: Terms written in several ways for one thing (site abbreviations, colloquial words), each folded into one
#: spelling before comparing. General safety vocabulary only, never a phrase of one particular hazard.
SYNONYMS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("co",), "一氧化碳"),
    (("报警装置", "报警器", "报警仪", "报警系统"), "报警"),
    (("检测", "监测"), "监测"),
    (("防护栏杆", "防护栏", "栏杆"), "护栏"),
    (("桥式起重机", "行车", "天车", "吊车"), "起重机"),
    (("限位器", "限位开关"), "限位"),
    (("不起作用", "失灵", "失效", "损坏", "破损", "坏了", "不亮", "损毁"), "坏"),
    (("应急照明灯", "应急灯"), "应急照明"),
    (("铝水",), "铝液"),
    (("进风口", "进口"), "入口"),
    (("熄灭",), "消除"),
    (("防小动物挡板",), "挡鼠板"),
    (("配电间",), "配电室"),
    (("空压机房",), "空压站"),
    (("清理", "清扫"), "清扫"),
    (("动火作业票", "动火票", "动火证"), "动火作业票"),
    (("作业票", "工作票", "作业证", "办票"), "作业票"),
    (("警示标志", "警示标识", "警示标牌", "警示牌", "警告标志", "警示标示"), "警示标志"),
    (("气体检测", "气体监测", "测气", "气体分析"), "气体监测"),
    (("泄爆装置", "泄爆片", "泄爆门", "泄爆阀"), "泄爆装置"),
    (("钢瓶", "气瓶"), "气瓶"),
    (("混放", "混存", "放在一起", "存放在一起"), "混放"),
    (("互联互通", "连在一起", "相互连通", "连通", "相连"), "互联"),
    (("铝镁粉尘", "铝镁粉", "铝粉", "镁粉"), "铝镁粉尘"),
    (("防护罩", "护罩"), "防护罩"),
    (("温度监测", "测温"), "温度监测"),
    (("除尘设备", "除尘装置"), "除尘器"),
    (("泄爆口", "泄爆孔"), "泄爆装置"),
    (("连锁",), "联锁"),
    (("受限空间",), "有限空间"),
    (("防倾倒装置", "防倾倒措施", "防倒措施", "防倒链条", "防倒链", "防倒"), "防倾倒"),
    (("过期",), "超期"),
    (("检定",), "校验"),
    (("积灰",), "积尘"),
    (("配电箱", "电箱"), "配电箱"),
    (("乙炔瓶",), "乙炔气瓶"),
    (("防爆灯具", "防爆灯"), "防爆灯"),
    (("特种设备作业人员证", "特种作业操作证", "特种作业证", "操作证", "上岗证", "叉车证"), "操作证"),
    (("叉车工", "叉车司机"), "叉车司机"),
    (("浇注",), "浇铸"),
    (("正压", "负压"), "负压"),
    (("事故钢水罐", "事故罐"), "事故罐"),
)
#: Kinds of safeguard or defect (after ``SYNONYMS``): a finding about one and an entry about another are two
#: hazards, however much else they share ("有限空间作业场所未设置安全警示标志" / "有限空间作业未审批").
SAFEGUARDS: tuple[str, ...] = (
    "警示标志", "审批", "作业票", "校验", "检定", "探伤", "联锁", "报警", "护栏", "防护罩", "盖板", "接地", "绝缘",
    "积水", "积尘", "积料", "积灰", "泄爆", "隔爆", "抑爆", "照明", "灭火器", "消防栓", "安全带", "安全帽", "限位",
    "制动", "钢丝绳", "隔断", "吹扫", "通风", "气体监测", "温度监测", "应急水源", "溢流", "锁紧", "切断阀", "排放阀",
    "液位", "静电跨接", "培训", "应急预案", "防倾倒", "混放", "杂物", "漏水", "漏油", "泄漏", "锈蚀", "安全阀",
    "压力表", "清扫制度", "火花", "水位计",
)  # fmt: skip
#: Equipment (after ``SYNONYMS``): a finding about one and an entry about another are two hazards, however
#: much else they share ("砂轮机防护罩缺失" / "台钻防护罩缺失"). Machines and plant, never a part of one.
EQUIPMENT: tuple[str, ...] = (
    "砂轮机", "台钻", "车床", "钻床", "起重机", "叉车", "储气罐", "空压机", "除尘器", "配电箱", "配电柜", "气瓶", "高炉", "转炉",
    "加热炉", "煤气柜", "浇铸炉", "熔炼炉", "结晶器", "流槽", "卷扬", "砂光机", "氧枪", "连铸", "风机", "储罐",
)  # fmt: skip
#: A description saying a safeguard is missing ("未设置…", "缺…", "没有泄爆片"), read on the text with its fillers.
_ABSENT = re.compile(
    r"(?:未|没有|没|无|不)(?:设置|安装|配备|配置|加装|装设|设|装|配)|缺"
    r"|(?:没有|无)(?:" + "|".join(sorted({*SAFEGUARDS, *EQUIPMENT}, key=lambda t: (-len(t), t))) + ")"
)
#: Any negation: a description without one says something is there, and wrong ("泄爆口朝向人员通道").
_NEGATION = re.compile(r"[未没无不缺非]")
_CANONICAL = {variant: canonical for variants, canonical in SYNONYMS for variant in variants}
_SYNONYMS = re.compile("|".join(re.escape(v) for v in sorted(_CANONICAL, key=lambda v: (-len(v), v))))
#: "2号" is "2#" is "2": the unit number is kept, its marker dropped (the '#' goes with the punctuation).
_NUMBER_MARK = re.compile(r"(\d+)号")
#: A unit number in Chinese numerals ("二号炉", "十二号"), and one written with the mark first ("#2转炉").
_CHINESE_UNIT = re.compile(r"([一二两三四五六七八九十]{1,3})(?=\s*[号#])")
_MARK_FIRST = re.compile(r"(?<![\d#])#\s*(\d+)")
#: A tonnage written with a Latin "t" ("5t行车" is "5吨行车").
_TONNES = re.compile(r"(\d+)\s*t(?![a-z])")
_CHINESE_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _chinese_number(numeral: str) -> str:
    """'二' → '2', '十二' → '12', '二十一' → '21' (the small numbers units are numbered with)."""
    if "十" not in numeral:
        return "".join(str(_CHINESE_DIGITS[c]) for c in numeral)
    tens, _, ones = numeral.partition("十")
    return str(_CHINESE_DIGITS.get(tens, 1) * 10 + _CHINESE_DIGITS.get(ones, 0))


def unit_numbers_folded(text: str) -> str:
    """NFKC, and every unit number written as "N#": "二号炉", "2号炉", "#2炉" and "2#炉" are one unit."""
    folded = unicodedata.normalize("NFKC", text)
    folded = _CHINESE_UNIT.sub(lambda found: _chinese_number(found[1]), folded)
    return _MARK_FIRST.sub(r"\1#", folded)


def normalise(text: str | None, *, drop_fillers: bool = True) -> str:
    """The text compared: NFKC, lower case, no spaces, punctuation or symbols, and (optionally) no fillers."""
    if not text:
        return ""
    kept = _NOT_TEXT.sub("", _TONNES.sub(r"\1吨", unit_numbers_folded(text).lower()))
    kept = _SYNONYMS.sub(lambda found: _CANONICAL[found[0]], _NUMBER_MARK.sub(r"\1", kept))
    return _FILLERS.sub("", kept) if drop_fillers else kept


@dataclass(frozen=True, slots=True)
class _Grams:
    """A normalised text with its character and bigram sets (and their union), computed once per text."""

    text: str
    chars: frozenset[str]
    pairs: frozenset[str]
    terms: frozenset[str]

    @classmethod
    def of(cls, text: str) -> _Grams:
        chars, pairs = frozenset(text), frozenset(text[i : i + 2] for i in range(len(text) - 1))
        return cls(text, chars, pairs, chars | pairs)


def _set_similarity(x: frozenset[str], y: frozenset[str]) -> float:
    """Dice coefficient of two gram sets, or, when higher, ``OVERLAP_WEIGHT`` × their overlap coefficient."""
    if not x or not y:
        return 0.0
    shared, smaller = len(x & y), min(len(x), len(y))
    dice = 2.0 * shared / (len(x) + len(y))
    # One or two grams are too few to say the shorter text is "within" the longer one ("炉" in "熔炼炉").
    return max(dice, OVERLAP_WEIGHT * shared / smaller) if smaller >= MIN_OVERLAP_GRAMS else dice


def _grams_similarity(a: _Grams, b: _Grams) -> float:
    """Places: similarity of the bigram sets (of the character sets when the shorter text is short)."""
    if not a.text or not b.text:
        return 0.0
    if a.text == b.text:
        return 1.0
    if len(a.text) < SHORT_TEXT or len(b.text) < SHORT_TEXT:
        return _set_similarity(a.chars, b.chars)
    return _set_similarity(a.pairs, b.pairs)


def _description_similarity(a: _Grams, b: _Grams) -> float:
    """Descriptions: similarity of the sets of characters and bigrams together (characters alone when short).
    The characters carry the words written in another order or split by others ("防爆灯具损坏" / "损坏的防爆灯");
    the bigrams keep the words' own order."""
    if not a.text or not b.text:
        return 0.0
    if a.text == b.text:
        return 1.0
    if len(a.text) < SHORT_TEXT or len(b.text) < SHORT_TEXT:
        return _set_similarity(a.chars, b.chars)
    return _set_similarity(a.terms, b.terms)


def text_similarity(a: str | None, b: str | None) -> float:
    """Similarity in [0, 1] of two descriptions' characters and bigrams after ``normalise``."""
    return _description_similarity(_Grams.of(normalise(a)), _Grams.of(normalise(b)))


def _numbers(found: Iterable[str]) -> frozenset[str]:
    return frozenset(n.lstrip("0") or "0" for n in found)


@dataclass(frozen=True, slots=True)
class _Place:
    grams: _Grams
    numbers: frozenset[str]
    #: The place without its unit numbers, looked for in the other record's description.
    core: str
    #: Its last character when that names an area of its own (``AREA_ENDINGS``), else "".
    area: str
    #: Its last ``PLACE_HEAD`` characters when it is longer, else "".
    head: str

    @classmethod
    def of(cls, place: str | None) -> _Place:
        folded = unit_numbers_folded(place or "")
        grams = _Grams.of(normalise(place, drop_fillers=False))
        core = _DIGITS.sub("", grams.text)
        area = core[-1] if core and core[-1] in AREA_ENDINGS else ""
        head = core[-PLACE_HEAD:] if len(core) > PLACE_HEAD else ""
        return cls(grams, _numbers(_DIGITS.findall(folded)), core, area, head)


def _units_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Both name numbered units, and neither's numbers include the other's ("1#高炉" vs "2#高炉")."""
    return bool(a and b) and not (a <= b or b <= a)


def _place_similarity(a: _Place, b: _Place) -> float | None:
    if not a.grams.text or not b.grams.text:
        return None
    if _units_conflict(a.numbers, b.numbers):
        return 0.0
    short, long = sorted((a.grams.text, b.grams.text), key=len)
    if len(short) >= MIN_CONTAINED and short in long:
        return 1.0
    return _grams_similarity(a.grams, b.grams)


def place_similarity(a: str | None, b: str | None) -> float | None:
    """Similarity of two places in [0, 1] (containment counts as 1, different unit numbers as 0); None when
    either is missing."""
    return _place_similarity(_Place.of(a), _Place.of(b))


#: Kinds of defect a description states (``_Description.defect``); ABSENT + PRESENT is the one conflict.
ABSENT, UNSURE, PRESENT = 1, 0, -1


@dataclass(frozen=True, slots=True)
class _Description:
    """A description's grams, with what it names: unit numbers ("N#"/"N号"), kinds of safeguard
    (``SAFEGUARDS``), equipment (``EQUIPMENT``), and its text with the fillers kept (places are looked for in it)."""

    grams: _Grams
    units: frozenset[str]
    safeguards: frozenset[str]
    equipment: frozenset[str]
    plain: str
    #: What kind of defect it states: a safeguard missing (``ABSENT``), something there and wrong (``PRESENT``:
    #: no negation at all), or neither for sure (``UNSURE``: "积水未清理", "超期未校验").
    defect: int
    #: The hazard concepts it names (``server.domain.hazard_concepts``).
    concepts: frozenset[str]

    @classmethod
    def of(cls, text: str) -> _Description:
        grams, plain = _Grams.of(normalise(text)), normalise(text, drop_fillers=False)
        defect = ABSENT if _ABSENT.search(plain) else UNSURE if _NEGATION.search(plain) else PRESENT
        return cls(
            grams,
            _numbers(_UNIT_NUMBER.findall(unit_numbers_folded(text))),
            frozenset(term for term in SAFEGUARDS if term in grams.text),
            frozenset(term for term in EQUIPMENT if term in grams.text),
            plain,
            defect,
            concepts(text),
        )


class TextCache:
    """Prepared texts shared by many reconciliations (a county's): wording repeats — catalogue texts, place
    names — so each distinct text is normalised once, and each pair of places compared once."""

    def __init__(self) -> None:
        self._descriptions: dict[str, _Description] = {}
        self._places: dict[str | None, _Place] = {}
        self._place_pairs: dict[tuple[str, str], float | None] = {}
        self._description_pairs: dict[tuple[str, str], float] = {}

    def description(self, text: str) -> _Description:
        """The description prepared for comparison."""
        found = self._descriptions.get(text)
        if found is None:
            found = self._descriptions[text] = _Description.of(text)
        return found

    def place(self, text: str | None) -> _Place:
        """The place prepared for comparison."""
        found = self._places.get(text)
        if found is None:
            found = self._places[text] = _Place.of(text)
        return found

    def place_similarity(self, a: _Place, b: _Place) -> float | None:
        """``_place_similarity``, remembered per pair of places."""
        key = (a.grams.text, b.grams.text)
        if key not in self._place_pairs:
            self._place_pairs[key] = _place_similarity(a, b)
        return self._place_pairs[key]

    def description_similarity(self, a: _Grams, b: _Grams) -> float:
        """``_description_similarity`` of two descriptions, remembered per pair of texts: inspectors often keep the
        catalogue item's own text as the description, and intersecting two long bigram sets is the costliest
        step of matching."""
        key = (a.text, b.text)
        found = self._description_pairs.get(key)
        if found is None:
            found = self._description_pairs[key] = _description_similarity(a, b)
        return found


# --- the records -------------------------------------------------------------------------------------

# The records below are values, never changed once made; they are not frozen dataclasses only because a
# county makes some 150,000 of them and a frozen dataclass takes five times as long to build.


@dataclass(slots=True)
class Finding:
    """A hazard an inspector found (in a counting inspection within the phase)."""

    id: str
    item_code: str | None
    place: str | None
    description: str
    found_at: datetime
    level: HazardLevel
    state: HazardState
    deadline: date | None = None
    listed: bool = False
    inspection_id: str | None = None


@dataclass(slots=True)
class LedgerEntry:
    """An entry of the enterprise's self-inspection ledger; ``claimed_fixed_at`` is when the enterprise first
    declared it fixed (None: never)."""

    id: str
    item_code: str | None
    place: str | None
    description: str
    found_at: datetime
    level: HazardLevel
    state: HazardState
    claimed_fixed_at: datetime | None = None
    deadline: date | None = None
    listed: bool = False
    ledger_no: str | None = None


def _order(record: Finding | LedgerEntry) -> tuple[datetime, str]:
    return (record.found_at, record.id)


@dataclass(frozen=True, slots=True)
class _Prepared:
    item_code: str | None
    place: _Place
    description: _Grams
    #: Unit numbers the record names: every number of its place, and the "N#"/"N号" of its description.
    units: frozenset[str]
    #: The kinds of safeguard its description names (``SAFEGUARDS``).
    safeguards: frozenset[str]
    #: The equipment its description names (``EQUIPMENT``).
    equipment: frozenset[str]
    #: Its description with the fillers kept.
    plain: str
    #: The kind of defect its description states (``ABSENT``, ``UNSURE``, ``PRESENT``).
    defect: int
    #: The hazard concepts its description names.
    concepts: frozenset[str]

    @classmethod
    def of(cls, record: Finding | LedgerEntry, cache: TextCache) -> _Prepared:
        place = cache.place(record.place)
        d = cache.description(record.description or "")
        units = place.numbers | d.units if d.units else place.numbers
        return cls(
            record.item_code or None, place, d.grams, units, d.safeguards, d.equipment, d.plain, d.defect,
            d.concepts,
        )  # fmt: skip


def _kinds_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Both name kinds of safeguard, and neither's kinds include the other's ("安全阀"+"校验" vs
    "压力表"+"校验": two devices with the same defect)."""
    return bool(a and b) and not (a <= b or b <= a)


def _equipment_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Both name equipment, and none in common ("砂轮机防护罩" vs "台钻防护罩")."""
    return bool(a and b) and not (a & b)


def _place_agreement(f: _Prepared, e: _Prepared, place: float | None) -> float | None:
    """The places' similarity, or 1 when one record's place, or its head, is named in the other's description:
    places are written at several depths ("铸造车间" with "浇铸炉出口…" / "浇铸炉出口"; "转炉煤气回收" with
    "风机房…" / "煤气风机房"), the description carries the rest."""
    if place is None or place >= PLACE_MIN:
        return place
    fp, ep = f.place, e.place
    if (
        (len(fp.core) >= MIN_CONTAINED and fp.core in e.plain)
        or (len(ep.core) >= MIN_CONTAINED and ep.core in f.plain)
        or (fp.head and fp.head in e.plain)
        or (ep.head and ep.head in f.plain)
    ):
        return 1.0
    return place


@dataclass(slots=True)
class PairScore:
    """How alike a finding and a ledger entry are, and whether they may be matched at all."""

    compatible: bool
    same_item: bool
    place: float | None
    description: float
    score: float


def _compatible(
    same_item: bool, place: float | None, description: float, areas: bool, same_kind: bool,
    same_concept: bool = False,
) -> bool:  # fmt: skip
    """Whether a pair that names neither two key items nor two units may match (module docstring); ``areas``:
    both places name an area of the same kind; ``same_kind``: both descriptions name a kind of safeguard, and
    the same; ``same_concept``: both name a hazard concept, and one in common."""
    if same_item:
        return True
    if place is not None and place >= PLACE_MIN:
        if same_concept and description >= CONCEPT_DESCRIPTION_MIN:
            return True
        return description >= (SAME_KIND_DESCRIPTION_MIN if same_kind else DESCRIPTION_MIN)
    if place is None and same_concept and description >= CONCEPT_PLACELESS_MIN:
        return True
    if areas:
        return False  # two stores (stations, rooms) not alike are two places, whatever the words
    return description >= DESCRIPTION_ALONE_MIN


def _concepts_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Both name hazard concepts, and none in common ("积尘未清扫" vs "镁粉桶受潮")."""
    return bool(a and b) and not (a & b)


def _pair(f: _Prepared, e: _Prepared, cache: TextCache) -> PairScore:
    same_item = f.item_code is not None and f.item_code == e.item_code
    apart = (
        (f.item_code is not None and e.item_code is not None and not same_item)
        or _units_conflict(f.units, e.units)
        or (not same_item and _kinds_conflict(f.safeguards, e.safeguards))
        or (not same_item and _equipment_conflict(f.equipment, e.equipment))
        or (not same_item and _concepts_conflict(f.concepts, e.concepts))
        or f.defect * e.defect == ABSENT * PRESENT
    )
    place = _place_agreement(f, e, cache.place_similarity(f.place, e.place))
    description = _description_similarity(f.description, e.description)
    same_concept = bool(f.concepts & e.concepts)
    score = (
        description + PLACE_WEIGHT * (place or 0.0) + (ITEM_BONUS if same_item else 0.0)
        + (CONCEPT_BONUS if same_concept else 0.0)
    )  # fmt: skip
    return PairScore(
        not apart
        and _compatible(
            same_item,
            place,
            description,
            bool(f.place.area) and f.place.area == e.place.area,
            bool(f.safeguards & e.safeguards),
            same_concept,
        ),
        same_item,
        place,
        description,
        score,
    )


def pair_score(finding: Finding, entry: LedgerEntry) -> PairScore:
    """Score a finding against a ledger entry by the rules of the module docstring."""
    cache = TextCache()
    return _pair(_Prepared.of(finding, cache), _Prepared.of(entry, cache), cache)


@dataclass(slots=True)
class Match:
    """A finding paired with a ledger entry, and how alike they are."""

    finding: Finding
    entry: LedgerEntry
    similarity: PairScore


# --- self-assessment against the inspector's result -----------------------------------------------------


class ItemVerdict(StrEnum):
    """How the enterprise's self-assessment of a key item compares with the inspector's result."""

    agree = "agree"
    overstated = "overstated"
    differ = "differ"
    incomplete = "incomplete"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return _VERDICT_ZH[self]


_VERDICT_ZH = {
    ItemVerdict.agree: "一致",
    ItemVerdict.overstated: "自评不实",
    ItemVerdict.differ: "不一致",
    ItemVerdict.incomplete: "无法比较",
}
_ANSWERED = frozenset(
    {ItemResultValue.compliant, ItemResultValue.non_compliant, ItemResultValue.not_applicable}
)


@dataclass(slots=True)
class ItemComparison:
    """One key item: the enterprise's self-assessment, the inspector's result, and the verdict."""

    code: str
    self_result: ItemResultValue | None
    inspector_result: ItemResultValue | None
    verdict: ItemVerdict


def compare_item(
    self_result: ItemResultValue | None, inspector_result: ItemResultValue | None
) -> ItemVerdict:
    """The verdict for one item (see the module docstring)."""
    if self_result not in _ANSWERED or inspector_result not in _ANSWERED:
        return ItemVerdict.incomplete
    if self_result == inspector_result:
        return ItemVerdict.agree
    if inspector_result == ItemResultValue.non_compliant:
        return ItemVerdict.overstated
    return ItemVerdict.differ


def compare_items(
    self_results: Mapping[str, ItemResultValue],
    inspector_results: Mapping[str, ItemResultValue],
    order: Sequence[str] = (),
) -> tuple[ItemComparison, ...]:
    """Every item either side answered, in ``order`` first and then by code."""
    codes = self_results.keys() | inspector_results.keys()
    ordered = [code for code in dict.fromkeys(order) if code in codes]
    if len(ordered) < len(codes):
        ordered += sorted(codes.difference(ordered))
    comparisons = []
    for code in ordered:
        mine, theirs = self_results.get(code), inspector_results.get(code)
        comparisons.append(ItemComparison(code, mine, theirs, compare_item(mine, theirs)))
    return tuple(comparisons)


# --- reconciliation -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Overdue:
    """A finding or ledger entry past its rectification deadline; ``days`` past it."""

    record: Finding | LedgerEntry
    days: int

    @property
    def is_finding(self) -> bool:
        """True for an inspector's finding, False for a ledger entry."""
        return isinstance(self.record, Finding)


@dataclass(frozen=True)
class Reconciliation:
    """The findings and ledger entries of one enterprise and phase, sorted into the categories."""

    self_reported: tuple[Match, ...]
    claimed_fixed_but_present: tuple[Match, ...]
    missed: tuple[Finding, ...]
    recorded_after: tuple[Match, ...]
    ledger_only: tuple[LedgerEntry, ...]
    overdue: tuple[Overdue, ...]
    items: tuple[ItemComparison, ...] = field(default=())

    @property
    def findings(self) -> int:
        """How many findings were reconciled."""
        return len(self.self_reported) + len(self.claimed_fixed_but_present) + len(self.missed)

    @property
    def entries(self) -> int:
        """How many ledger entries were reconciled."""
        return (
            len(self.self_reported)
            + len(self.claimed_fixed_but_present)
            + len(self.recorded_after)
            + len(self.ledger_only)
        )

    @property
    def reliability(self) -> float | None:
        """Share of findings the ledger already held and did not claim fixed; None with no findings."""
        return len(self.self_reported) / self.findings if self.findings else None

    @property
    def overstated_items(self) -> int:
        """Key items the enterprise assessed compliant (or not applicable) that the inspector found not."""
        return sum(1 for i in self.items if i.verdict is ItemVerdict.overstated)

    @property
    def differing_items(self) -> int:
        """Key items where the two sides disagree in some other way."""
        return sum(1 for i in self.items if i.verdict is ItemVerdict.differ)


#: A candidate pair as the greedy assignment sorts it: best score first, the same item before the same
#: words, then the earlier finding and the earlier entry (their positions in found-time order).
_Candidate = tuple[float, bool, int, int, PairScore]


def _greedy(
    candidates: list[_Candidate], findings: Sequence[Finding], entries: Sequence[LedgerEntry],
    taken_f: set[int], taken_e: set[int],
) -> list[Match]:  # fmt: skip
    """One-to-one assignment, best score first; ties by the earlier finding, then the earlier entry."""
    candidates.sort()  # (finding, entry) positions are unique, so PairScore is never compared
    matches = []
    for _, _, fi, ei, similarity in candidates:
        if fi in taken_f or ei in taken_e:
            continue
        taken_f.add(fi)
        taken_e.add(ei)
        matches.append(Match(findings[fi], entries[ei], similarity))
    return matches


def match(
    findings: Iterable[Finding], entries: Iterable[LedgerEntry], cache: TextCache | None = None
) -> tuple[list[Match], list[Match]]:
    """Pair findings with entries one-to-one: (pairs with an entry written on or before the finding,
    pairs of the remaining findings with entries written after them). Ids are taken to be unique."""
    return _match(sorted(findings, key=_order), sorted(entries, key=_order), cache or TextCache())


def _match(fs: list[Finding], es: list[LedgerEntry], cache: TextCache) -> tuple[list[Match], list[Match]]:
    """``match`` for findings and entries already in found-time order."""
    # Entries by item code (None: no code): a coded finding meets only its item's entries and the uncoded ones.
    by_code: dict[str | None, list[tuple[int, _Prepared, datetime]]] = {}
    for ei, entry in enumerate(es):
        pe = _Prepared.of(entry, cache)
        by_code.setdefault(pe.item_code, []).append((ei, pe, entry.found_at))
    everything = [e for group in by_code.values() for e in group]
    before: list[_Candidate] = []
    after: list[_Candidate] = []
    # A county runs this for some 200,000 pairs, so the rules of _pair are written out here: the cheap
    # refusals first, the caches' dictionaries read directly (two method calls per pair are a tenth of the
    # time), and a PairScore made only for the compatible pairs.
    places, descriptions = cache._place_pairs, cache._description_pairs
    for fi, finding in enumerate(fs):
        pf = _Prepared.of(finding, cache)
        code, units, kinds, equipment, defect, found_at, ideas = (
            pf.item_code, pf.units, pf.safeguards, pf.equipment, pf.defect, finding.found_at, pf.concepts
        )  # fmt: skip
        place_text, description_text, area = pf.place.grams.text, pf.description.text, pf.place.area
        candidates = everything if code is None else by_code.get(code, []) + by_code.get(None, [])
        for ei, pe, written in candidates:
            same_item = code is not None and code == pe.item_code
            if units and pe.units and not (units <= pe.units or pe.units <= units):
                continue
            if not same_item and (
                (kinds and pe.safeguards and not (kinds <= pe.safeguards or pe.safeguards <= kinds))
                or (equipment and pe.equipment and not (equipment & pe.equipment))
                or (ideas and pe.concepts and not (ideas & pe.concepts))
            ):
                continue
            if defect * pe.defect == ABSENT * PRESENT:
                continue
            description = descriptions.get((description_text, pe.description.text))
            if description is None:
                description = cache.description_similarity(pf.description, pe.description)
            same_concept = bool(ideas and ideas & pe.concepts)
            if not same_item and description < (
                _LEAST_CONCEPT_DESCRIPTION if same_concept else _LEAST_DESCRIPTION
            ):
                continue  # too few words in common whatever the places: spares comparing them (most pairs)
            key = (place_text, pe.place.grams.text)
            place = places[key] if key in places else cache.place_similarity(pf.place, pe.place)
            if place is not None and place < PLACE_MIN:
                place = _place_agreement(pf, pe, place)
            same_kind = bool(kinds and kinds & pe.safeguards)
            if _compatible(
                same_item, place, description, bool(area) and area == pe.place.area, same_kind, same_concept
            ):
                score = (
                    description + PLACE_WEIGHT * (place or 0.0) + (ITEM_BONUS if same_item else 0.0)
                    + (CONCEPT_BONUS if same_concept else 0.0)
                )  # fmt: skip
                similarity = PairScore(True, same_item, place, description, score)
                (before if written <= found_at else after).append((-score, not same_item, fi, ei, similarity))
    taken_f: set[int] = set()
    taken_e: set[int] = set()
    first = _greedy(before, fs, es, taken_f, taken_e)
    second = _greedy(after, fs, es, taken_f, taken_e)
    return first, second


def _overdue_days(record: Finding | LedgerEntry, today: date) -> int | None:
    if record.deadline is None or record.deadline >= today:
        return None  # never overdue, whatever the state: spares building a status for most records
    status = HazardStatus(
        state=record.state, level=record.level, deadline=record.deadline, listed=record.listed,
        ever_listed=record.listed, events=1,
    )  # fmt: skip
    return (today - record.deadline).days if status.is_overdue(today) else None


def reconcile(
    findings: Iterable[Finding],
    entries: Iterable[LedgerEntry],
    today: date,
    *,
    self_assessment: Mapping[str, ItemResultValue] | None = None,
    inspector_results: Mapping[str, ItemResultValue] | None = None,
    item_order: Sequence[str] = (),
    cache: TextCache | None = None,
) -> Reconciliation:
    """Sort one enterprise's findings and ledger entries of one phase into the categories of the module
    docstring, with overdue records and the per-item comparison; ``cache`` may be shared between calls."""
    findings = sorted({f.id: f for f in findings}.values(), key=_order)
    entries = sorted({e.id: e for e in entries}.values(), key=_order)
    first, second = _match(findings, entries, cache or TextCache())
    claimed = [
        m
        for m in first
        if m.entry.claimed_fixed_at is not None and m.entry.claimed_fixed_at <= m.finding.found_at
    ]
    claimed_ids = {m.finding.id for m in claimed}
    self_reported = [m for m in first if m.finding.id not in claimed_ids]
    matched_f = {m.finding.id for m in first}
    matched_e = {m.entry.id for m in (*first, *second)}
    overdue = []
    records: list[Finding | LedgerEntry] = [*findings, *entries]
    for record in records:
        days = _overdue_days(record, today)
        if days is not None:
            overdue.append(Overdue(record, days))
    overdue.sort(key=lambda o: (-o.days, not o.is_finding, _order(o.record)))

    def by_finding(matches: list[Match]) -> tuple[Match, ...]:
        return tuple(sorted(matches, key=lambda m: _order(m.finding)))

    return Reconciliation(
        self_reported=by_finding(self_reported),
        claimed_fixed_but_present=by_finding(claimed),
        missed=tuple(f for f in findings if f.id not in matched_f),
        recorded_after=by_finding(second),
        ledger_only=tuple(e for e in entries if e.id not in matched_e),
        overdue=tuple(overdue),
        items=compare_items(self_assessment or {}, inspector_results or {}, item_order),
    )
