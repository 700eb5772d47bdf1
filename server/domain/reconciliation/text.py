"""Chinese text prepared for comparison: the vocabulary and thresholds, normalisation, n-gram similarity, what a description names."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from server.domain.hazard_concepts import alternation, concepts

#: Words dropped before comparing descriptions: negations (see the package docstring), the words every
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
#: Words at a place's end that say only "a part of the works" ("炼钢车间" / "炼钢厂房", "煤气区域"): two places are
#: also compared without them (``PLACE_SITE_MIN`` characters at least), so that the same works' other general word
#: agrees and a shared "车间" alone never does.
GENERIC_PLACE_ENDINGS: tuple[str, ...] = ("主厂房", "厂房", "车间", "作业区", "作业点", "区域", "现场", "区")
PLACE_SITE_MIN = 2
#: Opposite sides of a thing: "炉前" / "炉后" (in front of and behind a furnace), "机头" / "机尾", "入口" / "出口" are
#: two places, however alike the rest of their names.
SIDES: tuple[tuple[str, str], ...] = (
    ("前", "后"),
    ("头", "尾"),
    ("东", "西"),
    ("南", "北"),
    ("左", "右"),
    ("入", "出"),
    ("内", "外"),
)
#: Places that name the whole enterprise, not a place in it: a finding "全厂" is placeless.
WHOLE_WORKS: tuple[str, ...] = ("全厂", "全厂区", "全公司", "公司", "本厂", "厂内", "企业", "全企业")
#: Places at least this similar (but below ``PLACE_MIN``) are "nearby" enough for a shared hazard concept.
PLACE_NEAR = 0.25
#: Characters of a longer place's end that name what it is ("煤气风机房" → "风机房"), looked for in the other's
#: description.
PLACE_HEAD = 3
#: Weight of the overlap coefficient (shared / the smaller set) against the Dice coefficient.
OVERLAP_WEIGHT = 0.9
#: The overlap coefficient counts only when the smaller text has at least this many grams.
MIN_OVERLAP_GRAMS = 3
#: Descriptions at least this similar describe the same defect when both name the same hazard concept
#: (``server.domain.hazard_concepts``) and their places agree, or when one place is missing or near.
CONCEPT_DESCRIPTION_MIN = 0.05
CONCEPT_PLACELESS_MIN = 0.25
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
#: A unit lettered instead of numbered ("A线", "B区", "C跨"): a letter alone before a unit's word.
_LETTER_UNIT = re.compile(r"(?<![a-z])([a-z])\s*(?=[线区跨段侧栋#号]|车间|厂房|生产线)")
#: Spaces, punctuation and symbols (\W is "not a letter or digit", in every script; _ is a letter to it).
_NOT_TEXT = re.compile(r"[\W_]+")
_FILLERS = re.compile(alternation(FILLER_WORDS))

#: Terms written in several ways for one thing (site abbreviations, colloquial words), each folded into one
#: spelling before comparing. General safety vocabulary only, never a phrase of one particular hazard.
SYNONYMS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("co",), "一氧化碳"),
    (("报警装置", "报警器", "报警仪", "报警系统"), "报警"),
    (("检测", "监测"), "监测"),
    (("防护栏杆", "防护栏", "栏杆"), "护栏"),
    (("桥式起重机", "行车", "天车", "吊车"), "起重机"),
    (("限位器", "限位开关"), "限位"),
    (("主钩", "副钩"), "吊钩"),
    (("签发", "签批", "签名"), "签字"),
    (("不起作用", "失灵", "失效", "损坏", "破损", "坏了", "不亮", "损毁", "故障"), "坏"),
    (("应急照明灯", "应急灯"), "应急照明"),
    (("铝水",), "铝液"),
    (("进风口", "进口"), "入口"),
    (("熄灭",), "消除"),
    (("防小动物挡板",), "挡鼠板"),
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
    (("连锁", "联动", "连动"), "联锁"),
    (("受限空间",), "有限空间"),
    (("防倾倒装置", "防倾倒措施", "防倒措施", "防倒链条", "防倒链", "防倒"), "防倾倒"),
    (("过期",), "超期"),
    (("检定", "校准", "标定"), "校验"),
    (("积灰",), "积尘"),
    (("配电箱", "电箱"), "配电箱"),
    (("乙炔瓶",), "乙炔气瓶"),
    (("防爆灯具", "防爆灯"), "防爆灯"),
    (("特种设备作业人员证", "特种作业操作证", "特种作业证", "操作证", "上岗证", "叉车证"), "操作证"),
    (("叉车工", "叉车司机"), "叉车司机"),
    (("浇注",), "浇铸"),
    (("正压", "负压"), "负压"),
    (("事故钢水罐", "事故罐", "事故钢包", "应急钢包", "备用钢包", "事故包"), "事故罐"),
    # Rooms and areas named in several ways (a place's own name, not its kind: "库" and "间" stay apart).
    (("配电房", "配电室", "配电间"), "配电室"),
    # A deep-well casting machine stands in its casting pit: the pit names the machine (铸井, 深井).
    (("深井铸造机", "深井铸造井", "深井铸造", "铸造井", "铸井", "深井"), "铸造井"),
    (("深井泵",), "深井泵"),
    (("熔铝炉",), "熔炼炉"),
    (("危险废物暂存间", "危险废物库", "危废暂存间", "危废暂存库", "危废仓库", "危废间", "危废库"), "危废库"),
    (("储罐区", "罐区"), "罐区"),
    (("循环冷却水", "循环水", "冷却水"), "冷却水"),
    # Explosion venting is written with the vent's many names; a furnace's 防爆门 is a vent too.
    (("泄压片", "泄压口", "泄压门", "泄爆板", "爆破片", "防爆门", "防爆片", "防爆膜"), "泄爆装置"),
    # Gas alarms: a fixed detector is an alarm to the inspector and the ledger alike.
    (
        (
            "煤气报警器",
            "煤气报警仪",
            "煤气报警",
            "煤气检测仪",
            "煤气检测报警仪",
            "煤气探头",
            "一氧化碳探头",
            "co探头",
        ),
        "一氧化碳报警",
    ),
    (("检测报警仪", "检测报警器", "监测报警仪", "检测仪", "监测仪"), "报警"),
    (("动火作业证", "动火许可证", "动火作业许可", "动火许可", "动火作业审批", "动火审批"), "动火作业票"),
    (("审批票", "审批单", "审批手续", "许可证", "开票"), "作业票"),
    # Periodic inspection of equipment, however written.
    (("定期检验", "年检", "年审", "检验"), "校验"),
    (("接地线", "接地装置", "接地极"), "接地"),
    (("跨接线",), "跨接"),
    (("疏散指示标志", "疏散指示灯", "安全出口指示灯", "安全出口标志", "出口指示灯"), "疏散指示"),
    (("消火栓", "消防栓"), "消防栓"),
    (("绝缘胶垫", "绝缘垫"), "绝缘垫"),
    (("绝缘靴", "绝缘鞋"), "绝缘靴"),
    (("漏电保护器", "漏电保护开关", "漏电开关", "漏保"), "漏电保护"),
    (("防护围栏", "围栏", "扶栏"), "护栏"),
    (("踢脚板", "挡脚板"), "挡脚板"),
    (("护圈", "安全护笼", "护笼"), "护笼"),
    (("加锁", "带锁"), "上锁"),
    (("除尘风管", "除尘管路", "除尘管道"), "除尘管道"),
    (("皮带输送机", "带式输送机", "输送皮带", "皮带机"), "皮带机"),
    (("铲车", "叉车"), "叉车"),
    (("空气压缩机", "空压机"), "空压机"),
    (("压缩空气储罐", "储气筒", "储气罐"), "储气罐"),
    (("压力计", "压力表"), "压力表"),
    (("密闭空间",), "有限空间"),
    (("登高作业", "高空作业", "高处作业"), "高处作业"),
    (("保险带",), "安全带"),
    (("抽水泵", "排水泵"), "排水泵"),
    (("垃圾",), "杂物"),
    (("前头",), "前端"),
    (
        ("紧急停止按钮", "紧急停止", "紧急停车", "急停按钮", "急停开关", "急停", "拉绳开关", "拉线开关"),
        "急停",
    ),
    (("锈死",), "锈蚀"),
    (("机械排风", "排风"), "通风"),
    (("正压式空气呼吸器", "正压式呼吸器", "空气呼吸器", "空呼"), "呼吸器"),
)
#: Kinds of safeguard or defect (after ``SYNONYMS``): a finding about one and an entry about another are two
#: hazards, however much else they share ("有限空间作业场所未设置安全警示标志" / "有限空间作业未审批").
SAFEGUARDS: tuple[str, ...] = (
    "警示标志", "审批", "作业票", "校验", "检定", "探伤", "联锁", "报警", "护栏", "防护罩", "盖板", "接地", "绝缘",
    "积水", "积尘", "积料", "积灰", "泄爆", "隔爆", "抑爆", "照明", "灭火器", "消防栓", "安全带", "安全帽", "限位",
    "制动", "钢丝绳", "隔断", "吹扫", "通风", "气体监测", "温度监测", "应急水源", "溢流", "锁紧", "切断阀", "排放阀",
    "液位", "跨接", "培训", "应急预案", "防倾倒", "混放", "杂物", "漏水", "漏油", "泄漏", "锈蚀", "安全阀",
    "压力表", "清扫制度", "火花", "水位计", "演练", "签字", "事故罐", "除铁", "护笼", "上锁", "跑偏", "监护", "呼吸器",
    # Parts of a crane's lifting gear, each inspected for its own defects (ST-2).
    "龙门钩", "耳轴", "吊钩",
)  # fmt: skip
#: Acts on a thing that is there (after ``SYNONYMS``): upkeep, interlocking and a permit's signature. A clause about
#: one says the things it names are there ("报警器未定期校验", "报警未与切断阀联锁", "作业票审批人未到现场即签字"), and
#: "没有探伤" is an act not done, not a safeguard missing.
PRESUPPOSING = frozenset({"校验", "探伤", "联锁", "签字"})
#: The hazard concept of an act, when it has one (``server.domain.hazard_concepts``): a text naming it names the act.
ACT_CONCEPTS: dict[str, str] = {"联锁": "联锁"}
#: Words that name a kind without its word (after ``SYNONYMS``, negations kept): what is expired, or not inspected
#: for years, is overdue for its periodic inspection ("安全阀过期了", "压力表好几年没检了" / "…超期未校验"; not
#: "未检" alone: "未检查" is another act).
IMPLIED_KINDS: tuple[tuple[str, str], ...] = (
    ("超期", "校验"), ("没检过", "校验"), ("没检了", "校验"), ("没送检", "校验"), ("未送检", "校验"),
)  # fmt: skip
#: Kinds that are a state, not a thing one can lack ("没有及时清扫积尘" says nothing is missing).
_NOT_MISSABLE = PRESUPPOSING | {
    "积水",
    "积尘",
    "积料",
    "积灰",
    "杂物",
    "漏水",
    "漏油",
    "泄漏",
    "锈蚀",
    "混放",
}
#: Equipment (after ``SYNONYMS``): a finding about one and an entry about another are two hazards, however
#: much else they share ("砂轮机防护罩缺失" / "台钻防护罩缺失"). Machines and plant, never a part of one.
EQUIPMENT: tuple[str, ...] = (
    "砂轮机", "台钻", "车床", "钻床", "起重机", "叉车", "储气罐", "空压机", "除尘器", "配电箱", "配电柜", "气瓶", "高炉", "转炉",
    "加热炉", "煤气柜", "浇铸炉", "熔炼炉", "结晶器", "流槽", "卷扬", "砂光机", "氧枪", "连铸", "风机", "储罐",
    "冲床", "剪板机", "折弯机", "压力机", "电焊机", "切割机", "磨床", "铣床", "刨床", "锯床", "抛光机", "打磨机",
    "粉碎机", "破碎机", "提升机", "皮带机", "输送机", "搅拌机", "混料机", "锅炉", "电梯", "轧机", "烧结机", "铸造机",
    "烘干机", "压缩机", "变压器", "发电机", "电动葫芦", "排水泵",
)  # fmt: skip
#: A description saying a safeguard is missing ("未设置…", "缺…", "没有泄爆片"), read on the text with its fillers.
_ABSENT = re.compile(
    r"(?:未|没有|没|无|不)(?:设置|安装|配备|配置|加装|装设|设|装|配|接|做)|缺[失少乏]?|掉了|脱落"
    r"|(?:没有|没|无)[^未没无不缺非]{0,2}?(?:" + alternation({*SAFEGUARDS, *EQUIPMENT} - _NOT_MISSABLE) + ")"
)
#: Words of ``_ABSENT`` written after what is missing ("护栏缺失一段", "跨接线掉了"), not before it.
_AFTER_WHAT_IS_MISSING = frozenset({"缺失", "掉了", "脱落"})
#: Any negation: a description without one says something is there, and wrong ("泄爆口朝向人员通道").
_NEGATION = re.compile(r"[未没无不缺非]")
#: Words with 不 that say something is there and wrong, not missing ("灭火器压力不足", "接地不良").
_NOT_NEGATIONS = re.compile(
    "不足|不够|不良|不当|不合格|不灵|不严|不牢|不清|不准|不稳|不符合|不规范|不全|不完整|不齐"
)
#: Clauses of a description: what one clause says is there ("泄爆方向朝向操作平台") is there, whatever another
#: clause says is missing. (Not "、": it lists the objects of one clause.)
_CLAUSES = re.compile(r"[，,。；;！!？?\n]+")
_CANONICAL = {variant: canonical for variants, canonical in SYNONYMS for variant in variants}
_SYNONYMS = re.compile(alternation(_CANONICAL))
#: "2号" is "2#" is "2": the unit number is kept, its marker dropped (the '#' goes with the punctuation).
_NUMBER_MARK = re.compile(r"(\d+)号")
#: A unit number in Chinese numerals ("二号炉", "十二号"), and one written with the mark first ("#2转炉").
#: Financial numerals (贰号) are numerals; "第" before a unit number ("第二车间") is dropped; a workshop, branch
#: works or section numbered without a mark ("二车间", "3分厂") is numbered all the same, and so is a furnace or a
#: casting pit a clerk numbers without one ("三高炉", "二铸井": ``NUMBERED_PLANT``).
NUMBERED_PLANT: tuple[str, ...] = (
    "高炉", "转炉", "电炉", "精炼炉", "加热炉", "熔炼炉", "熔铝炉", "保持炉", "浇铸炉", "焦炉", "烧结机", "连铸机",
    "铸造机", "铸井", "铸造井", "深井",
)  # fmt: skip
_CHINESE_UNIT = re.compile(
    r"(?:第\s*)?([一二两三四五六七八九十壹贰叁肆伍陆柒捌玖拾]{1,3})(?=\s*(?:[号#]|车间|分厂|工段|"
    + alternation(NUMBERED_PLANT)
    + "))"
)
_ORDINAL = re.compile(r"第\s*(?=\d+\s*(?:[号#]|车间|分厂|工段))")
_FINANCIAL = str.maketrans("壹贰叁肆伍陆柒捌玖拾", "一二三四五六七八九十")
#: "No.2" (with its dot: "NO2" is a gas) is "2#".
_NUMBER_SIGN = re.compile(r"(?<![a-z])no\.\s*(\d+)", re.IGNORECASE)
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
    """NFKC, and every unit number written as "N#": "二号炉", "贰号炉", "2号炉", "#2炉", "No.2炉" and "2#炉" are one
    unit."""
    folded = unicodedata.normalize("NFKC", text)
    # The rarer forms are looked for only where they can be (most texts have neither "第" nor ".").
    if "第" in folded:
        folded = _ORDINAL.sub("", folded)
    if "." in folded:
        folded = _NUMBER_SIGN.sub(r"\1#", folded)
    folded = _CHINESE_UNIT.sub(lambda found: _chinese_number(found[1].translate(_FINANCIAL)), folded)
    return _MARK_FIRST.sub(r"\1#", folded) if "#" in folded else folded


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


def _names_similarity(a: _Grams, b: _Grams) -> float:
    """Two places' names without their endings: 1 when one contains the other, else their characters and bigrams
    ("喷砂" / "喷漆" share a character and no word)."""
    short, long = sorted((a.text, b.text), key=len)
    return 1.0 if short in long else _set_similarity(a.terms, b.terms)


def _compared(a: _Grams, b: _Grams, a_grams: frozenset[str], b_grams: frozenset[str]) -> float:
    """0 when either text is empty, 1 when equal, the character sets' similarity when the shorter is short,
    else the similarity of the grams given."""
    if not a.text or not b.text:
        return 0.0
    if a.text == b.text:
        return 1.0
    if len(a.text) < SHORT_TEXT or len(b.text) < SHORT_TEXT:
        return _set_similarity(a.chars, b.chars)
    return _set_similarity(a_grams, b_grams)


def _grams_similarity(a: _Grams, b: _Grams) -> float:
    """Places: similarity of the bigram sets (of the character sets when the shorter text is short)."""
    return _compared(a, b, a.pairs, b.pairs)


def _description_similarity(a: _Grams, b: _Grams) -> float:
    """Descriptions: similarity of the sets of characters and bigrams together (characters alone when short).
    The characters carry the words written in another order or split by others ("防爆灯具损坏" / "损坏的防爆灯");
    the bigrams keep the words' own order."""
    return _compared(a, b, a.terms, b.terms)


def text_similarity(a: str | None, b: str | None) -> float:
    """Similarity in [0, 1] of two descriptions' characters and bigrams after ``normalise``."""
    return _description_similarity(_Grams.of(normalise(a)), _Grams.of(normalise(b)))


def _numbers(found: Iterable[str]) -> frozenset[str]:
    return frozenset(n.lstrip("0") or "0" for n in found)


def _lettered(folded: str) -> frozenset[str]:
    """The letters of units lettered instead of numbered in a text (after ``unit_numbers_folded``)."""
    return frozenset(_LETTER_UNIT.findall(folded.lower()))


#: Kinds of defect a description states (``_Description.defect``). BROKEN is PRESENT and said damaged ("坏" after
#: ``SYNONYMS``: 损坏, 失灵, 破损, …); the products of two kinds tell a conflict at once (ABSENT × BROKEN).
ABSENT, UNSURE, PRESENT, BROKEN = 1, 0, -1, -2


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
    #: The safeguards and equipment it names, says are missing and says are there (``_said``).
    named: frozenset[str]
    missing: frozenset[str]
    there: frozenset[str]

    @classmethod
    def of(cls, text: str) -> _Description:
        plain = normalise(text, drop_fillers=False)
        folded = unit_numbers_folded(text)
        grams = _Grams.of(_FILLERS.sub("", plain))  # normalise(text): the fillers go last
        named = _all_named(grams.text) | {kind for word, kind in IMPLIED_KINDS if word in plain}
        safeguards, equipment = named & _SAFEGUARD_SET, named & _EQUIPMENT_SET
        missing, there = _said(text, plain)
        return cls(
            grams,
            _numbers(_UNIT_NUMBER.findall(folded)) | _lettered(folded),
            safeguards,
            equipment,
            plain,
            _defect(plain),
            concepts(text),
            named,
            missing,
            there,
        )


def _said(text: str, whole: str) -> tuple[frozenset[str], frozenset[str]]:
    """The safeguards and equipment ``text`` says are missing, and those it says are there, clause by clause: a
    clause without negation says what it names is there ("泄爆方向朝向操作平台"), and so does one about upkeep,
    an interlock or a state of it ("报警器未定期校验", "报警未与切断阀联锁", "事故罐内有积水未烘烤": not the act
    or the state itself); one saying something is missing
    says so of what follows the negation ("除尘器未设置泄爆片": the collector is there), of nothing named when
    something unnamed follows ("泄爆口未设置导流管": the vent is there), and claims nothing when nothing follows
    ("砂轮机防护罩缺失": the guard, not the grinder, is missing, but the words do not tell which)."""
    missing: set[str] = set()
    there: set[str] = set()
    clauses = _CLAUSES.split(text)
    for clause in clauses:
        plain = normalise(clause, drop_fillers=False) if len(clauses) > 1 else whole
        named = _all_named(plain)
        if not named:
            continue
        absent = _ABSENT.search(plain)
        if absent is None:
            if not _NEGATION.search(_NOT_NEGATIONS.sub("", plain)):
                there |= named
            elif named & PRESUPPOSING:
                there |= named - PRESUPPOSING
            elif named & _NOT_MISSABLE:
                # A state of a thing named before it: "事故钢包内有积水未烘烤" (not "氧枪漏水了也不报警": the alarm).
                state = _TERMS_STATES.search(plain)
                there |= _all_named(plain[: state.start()]) - _NOT_MISSABLE if state else frozenset()
            continue
        before, after = _all_named(plain[: absent.start()]), _all_named(plain[absent.start() :])
        if after:
            missing |= after
            there |= before - after
        elif absent[0] not in _AFTER_WHAT_IS_MISSING and len(normalise(plain[absent.end() :])) >= 2:
            # Something the vocabulary does not name is missing ("缺失" follows what is missing: "缺失一段").
            there |= before
        else:
            # Nothing after the negation ("砂轮机防护罩缺失", "值班室CO报警器没装"): what the negation follows at
            # once is missing; its owner before it is not told either way.
            missing |= _named_ending_at(plain, absent.start())
    return frozenset(missing), frozenset(there)


def _all_named(plain: str) -> frozenset[str]:
    return frozenset(_TERMS.findall(plain))


def _named_ending_at(plain: str, end: int) -> frozenset[str]:
    """The safeguard or machine that ends at ``end`` in ``plain`` (none, or one)."""
    return frozenset(t[1] for t in _TERMS.finditer(plain, 0, end) if t.start() + len(t[1]) == end)


def _contradict(
    a_defect: int, a_named: frozenset[str], a_missing: frozenset[str], a_there: frozenset[str],
    b_defect: int, b_named: frozenset[str], b_missing: frozenset[str], b_there: frozenset[str],
) -> bool:  # fmt: skip
    """Whether one description says missing what the other says is there (and wrong): two hazards. Either
    one says something is missing and the other, without any negation, that something it names too is damaged
    ("配电箱未接地" / "配电箱门损坏"), or one says missing what the other, in a clause, says is there ("除尘器没有泄爆" /
    "泄爆方向朝向操作平台", "未设置一氧化碳报警器" / "一氧化碳报警器未定期校验"). A note of a consequence that names
    the machine is neither ("破碎机进料口未设置除铁器" / "破碎机料里有铁块")."""
    if a_defect * b_defect == ABSENT * BROKEN and a_named & b_named:
        return True
    return bool((a_missing & b_there) - a_there - b_missing) or bool(
        (b_missing & a_there) - b_there - a_missing
    )


def _defect(plain: str) -> int:
    """``ABSENT``, ``UNSURE``, ``PRESENT`` or ``BROKEN`` for a text normalised with its fillers."""
    if _ABSENT.search(plain):
        return ABSENT
    if _NEGATION.search(_NOT_NEGATIONS.sub("", plain)):
        return UNSURE
    return BROKEN if "坏" in plain else PRESENT


#: Every safeguard and machine at every position (one scan instead of a search per term; no term contains another,
#: a test says so, so the one at a position is the only one there).
_TERMS = re.compile("(?=(" + alternation({*SAFEGUARDS, *EQUIPMENT}) + "))")
_SAFEGUARD_SET, _EQUIPMENT_SET = frozenset(SAFEGUARDS), frozenset(EQUIPMENT)
_TERMS_STATES = re.compile(alternation(_NOT_MISSABLE - PRESUPPOSING))
