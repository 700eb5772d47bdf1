"""What a hazard text is about: a small curated thesaurus of hazard concepts (防水防潮, 泄爆, 煤气检测报警, …).

Character overlap cannot see that "铝镁粉尘收集桶未防水防潮" and "收尘桶放在门口，下雨会进水" are one hazard: a
ledger often writes the consequence ("下雨会进水", "灰大", "没人在上面看着") where the inspector writes the safeguard
that is missing. Each concept here lists the words that name it — the checklist's own term, its usual variants, and
the colloquial or consequence forms people write — and ``concepts`` tags a text with every concept it names. A
consequence of either of two missing safeguards names both ("触电": no earthing, no residual-current device), so it
agrees with each while the two safeguards stay two concepts.

The concepts come from the checklist, not from labelled pairs: each cites the key or management items of the
default catalogue (server/catalogue/default-2022.toml) whose requirement text it stands for (``items``); a few
general ones (电气防爆, 接地静电, 持证上岗, 防护罩, …) cite none — they are what field inspections of every sector
write about. The words are general safety vocabulary and common colloquial forms, never a phrase of one hazard.

A word is either a string looked for in the text, or a tuple of strings that must all be in it (("煤气", "泄漏"):
"煤气管道阀门泄漏"). ``unless`` lists phrases removed before a concept's words are looked for, where one of its words
means something else ("进水压力" is cooling water, not rain getting in; "盲板抽堵" is a hazardous job, not an
isolation device). Texts are compared after NFKC, lower case, without spaces or punctuation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Word = str | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Concept:
    """One hazard concept: its name, the catalogue items it stands for, and the words that name it."""

    name: str
    items: tuple[str, ...]
    words: tuple[Word, ...]
    unless: tuple[str, ...] = ()


CONCEPTS: tuple[Concept, ...] = (
    # --- combustible dust (DU-1 … DU-6) ---
    Concept("防水防潮", ("DU-6",), ("防水", "防潮", "防雨", "受潮", "淋湿", "淋雨", "雨淋", "进水", "漏雨", "遇水",
                                     "下雨", "雨天", "雨水", "潮湿", "返潮", "泡水"),
            unless=("进水压力", "进水流量", "进出水", "进水管", "进水阀", "进水温度")),
    Concept("清扫积尘", ("DU-6",), ("积尘", "积灰", "积粉", "落灰", "灰大", "灰多", "灰厚", "灰满", "灰尘", "一层灰",
                                     "全是灰", "都是灰", "到处是灰", "满是灰", "粉尘清理", ("灰", "厚"),
                                     ("粉", "厚"),
                                     "粉尘清扫", "清扫制度", "清理制度", "没扫", "未清扫", "不清扫", "粉尘堆积")),
    Concept("氢气监测", ("DU-6",), ("氢气",)),
    Concept("泄爆", ("DU-2",), ("泄爆", "泄压", "爆破片", "控爆")),
    Concept("隔爆阻火", ("DU-2",), ("隔爆", "阻火", "抑爆", "惰化", "抗爆", "控爆")),
    Concept("除尘共用互联", ("DU-1",), ("共用", "合用", "互联", "连通", "接在一起", "连在一起", "串在一起", "一套除尘",
                                           "混用", "同一套", "同一台", "同一个", "一个除尘", "一台除尘")),
    Concept("火花除杂", ("DU-4", "DU-5"), ("火花", "火星", "除铁", "磁选", "去铁", "铁钉", "铁块", "杂物去除", "除杂")),
    # A fan before the collector blows the dust through it: positive pressure, however written.
    Concept("负压除尘", ("DU-4",), ("正压", "负压", "吹送", "往里吹", ("风机", "除尘器前"))),
    Concept("沉降室巷道", ("DU-3",), ("沉降室", "巷道", "砖砌", "砖混")),
    # --- steel (ST-1 … ST-7) ---
    # The crane's kind (ST-1), not the crane: a text naming a 冶金起重机 for its rope is about the rope (ST-2).
    Concept("冶金起重机", ("ST-1",), ("固定式龙门钩", "不是冶金", "非冶金", "不是铸造起重机", "普通行车", "普通天车",
                                     "普通吊车", "普通起重机", "普通桥式", ("冶金起重机", "不符合"),
                                     ("冶金起重机", "要求"), ("冶金起重机", "未使用"), ("铸造起重机", "未使用"))),
    # A rope's inspection and its kind (AL-7: "非钢芯钢丝绳") are two concepts: a rope is named in both.
    Concept("吊具检查", ("ST-2", "AL-7"), (("钢丝绳", "检查"), ("钢丝绳", "换"), ("钢丝绳", "检验"), ("钢丝绳", "记录"),
                                           "断丝", "断股",
                                           "毛刺", "吊钩", "耳轴", "探伤", "横梁焊缝")),
    Concept("钢丝绳选型", ("AL-7",), ("钢芯", "麻芯", "纤维芯")),
    Concept("吊运影响范围", ("ST-3",), ("吊运影响", "吊运范围", "吊运路线", "吊运区域", ("吊", "下方"), ("吊", "下面"),
                                         ("吊", "底下"), ("吊", "头顶"), ("吊", "经过"),
                                         ("钢包", "头顶"), ("铁水", "头顶"), ("钢水", "头顶"), ("渣罐", "头顶"))),
    Concept("应急储存", ("ST-4",), ("事故罐", "事故钢水罐", "事故钢包", "事故包", "事故坑", "溢流槽", "应急储存", "紧急储存", "漏钢",
                                     "应急钢包", "备用钢包", "应急包")),
    Concept("冷却水监测报警", ("ST-5", "AL-2", "AL-3"), ("出水温度", "水温", "流量差", "进水流量", "进水压力", "水量",
                                                         "水压", ("水", "流量"), ("漏水", "报警")), unless=("消防", "消火")),
    # What a missing interlock lets happen is written for it: "报警了炉子还能倾动".
    Concept("联锁", ("ST-5", "AL-3", "AL-5", "AL-6"), ("联锁", "连锁", "自动提", "自动切断", "自动停", "自动关",
                                                    ("报警", "还能"), ("报警", "照样"), ("报警", "还在"))),
    Concept("煤气检测报警", ("ST-6",), ("一氧化碳", "co", "煤气报警", "煤气检测", "煤气监测", "煤气浓度", "煤气中毒",
                                    # Nobody would know of a leak: what a missing alarm is written as.
                                    ("煤气", "知道"), ("煤气", "发现不了"), ("煤气", "察觉"))),
    Concept("煤气泄漏", ("ST-6",), ("煤气味", "漏煤气", "煤气外泄", ("煤气", "泄漏"), ("煤气", "漏气"))),
    Concept("煤气隔断", ("ST-7",), ("隔断", "盲板", "水封", "眼镜阀", "插板阀"), unless=("盲板抽堵", "抽堵盲板")),
    Concept("吹扫置换", ("ST-7",), ("吹扫", "置换", "放散")),
    # --- aluminium deep-well casting (AL-1 … AL-7) ---
    Concept("应急水源", ("AL-1",), ("应急水", "高位水箱", "备用水", "备用冷却水", "事故水", "事故水箱", "断水",
                                 ("停电", "水"))),
    Concept("液位监测", ("AL-4", "AL-5", "AL-6"), ("液位", "液面")),
    Concept("机械锁紧", ("AL-4",), ("锁紧", "机械锁")),
    Concept("快速切断", ("AL-3", "AL-5", "AL-6"), ("快速切断", "切断阀", "断开装置", "快切")),
    Concept("紧急排放", ("AL-3", "AL-5"), ("紧急排放", "排放阀", "紧急放", "放不掉", "放不出")),
    # --- confined space and hazardous work (CS-1 … CS-3, HW-1) ---
    Concept("作业方案审批", ("CS-1", "HW-1"), ("审批", "作业票", "工作票", "开票", "办票", "动火证", "动火票", "作业证",
                                               "作业方案", "批准", "许可证", "作业许可", "动火许可", "没批", "未批", "没人批", "不批"),
            unless=("特种作业",)),
    Concept("淘汰设备", ("ST-8",), ("淘汰", "明令禁止")),
    Concept("警示标志", ("CS-2",), ("警示", "警告标志", "安全标志", "标志牌", "禁止烟火", "严禁烟火", "禁止吸烟", "禁烟",
                                     "牌子")),
    Concept("气体检测", ("CS-3", "HW-1"), ("气体检测", "气体监测", "检测气体", "测气", "测氧", "氧含量", "含氧量",
                                           "有毒气体", "有毒有害", "气体分析", "安全条件确认", "中毒", "窒息", "测可燃", "测有毒",
                                           "测硫化氢", "毒气",
                                           ("测", "含量"), ("测", "浓度"))),
    Concept("通风", ("DU-6",), ("通风", "排风")),
    Concept("作业监护", (), ("监护", "看着", "看护", "没人看", "无人看", "一个人下")),
    # --- management items (MG-2, MG-4) ---
    Concept("应急预案", ("MG-2",), ("预案",)),
    Concept("应急救援器材", ("MG-2",), ("救援器材", "应急器材", "救援设备", "呼吸器", "空呼", "三脚架", "救生", "急救箱")),
    Concept("安全培训", ("MG-4",), ("培训", "安全教育", "三级教育", "安全课")),
    # --- general: what inspections of every sector write about ---
    Concept("应急演练", (), ("演练",)),
    Concept("持证上岗", (), ("持证", "无证", "没证", "操作证", "上岗证", "电工证", "焊工证", "叉车证", "特种作业", "考证",
                            "证书", "取证", "资格证")),
    Concept("电气防爆", (), ("防爆型", "防爆灯", "防爆电", "防爆开关", "防爆插", "防爆等级", "防爆接线", "非防爆",
                            "不防爆", "普通灯", "普通开关", "普通插座", "普通电机", ("普通", "开关"), ("普通", "插座"),
                            ("普通", "灯"), ("普通", "电机"))),
    # What an electric shock is a consequence of: no earthing or no residual-current device; the words name both.
    Concept("接地静电", (), ("接地", "静电", "跨接", "触电", "电人", "带电", "麻手")),
    Concept("灭火器材", (), ("灭火", "消防栓", "消火栓", "消防器材")),
    Concept("防护罩", (), ("防护罩", "护罩", "罩子", "防护装置", "防护网", "防护挡板", "卷进去", "绞进去", "卷入",
                          "绞入")),
    Concept("护栏护笼", (), ("护栏", "栏杆", "护笼", "护圈", "掉下去", "摔下去")),
    Concept("警戒隔离", (), ("警戒", "隔离")),
    Concept("气瓶间距", (), ("混放", "混存", "间距", "挨着", "放在一起", "安全距离")),
    Concept("防倾倒", (), ("防倾倒", "防倒")),
    Concept("防冻保温", (), ("防冻", "冻裂", "冻坏", "冻住", "结冰", "冰冻", "伴热", "保温", "冬季", "冬天"),
            unless=("保温炉",)),
    Concept("疏散指示", (), ("疏散指示", "出口指示", "指示标志", "安全出口标志", "疏散标志", "出口标志")),
    Concept("应急照明", (), ("应急照明", "应急灯", "疏散照明")),
    Concept("通道占用", (), (("通道", "堵"), ("通道", "占用"), ("通道", "杂物"), ("通道", "堆放"), ("出口", "堵"),
                            ("出口", "锁"), ("通道", "不畅"))),
    Concept("防渗漏", (), ("防渗", "围堰")),
    Concept("漏油漏液", (), ("漏油", "渗油", "油污", "一摊油", "渗漏", "滴漏", "跑冒滴漏", "漏液"), unless=("防渗漏",)),
    Concept("密闭加盖", (), ("密闭", "加盖", "盖盖", "盖子", "敞口", "敞开存放")),
    Concept("喷淋", (), ("喷淋",)),
    Concept("漏电保护", (), ("漏电保护", "漏保", "漏电开关", "漏电断路器", "触电", "电人", "带电", "麻手")),
    Concept("绝缘用具", (), ("绝缘垫", "绝缘胶垫", "绝缘手套", "绝缘靴", "绝缘鞋")),
    Concept("防小动物", (), ("挡鼠板", "防小动物", "防鼠")),
    Concept("劳动防护用品", (), ("劳动防护用品", "劳保", "防护用品", "护目镜", "防护眼镜", "防尘口罩", "耳塞", "防护服",
                                         "安全帽")),
    Concept("高处坠落防护", (), ("安全带", "安全绳", "防坠", "生命线", "高挂低用")),
    Concept("起重限位", (), ("限位", "行程开关", "超载限制", "起重量限制", "超载保护")),
    Concept("制动", (), ("制动", "刹车")),
    Concept("可燃气体报警", (), ("可燃气体报警", "可燃气体检测", "可燃气体探测", "燃气报警", "燃气泄漏", "氨气报警",
                                "氨气泄漏", "氨泄漏", "硫化氢报警")),
    Concept("熄火保护", (), ("熄火保护",)),
    Concept("防雷", (), ("防雷", "避雷")),
    Concept("盖板孔洞", (), ("盖板", "井盖", "孔洞", "洞口", "沟盖")),
    Concept("急停", (), ("急停", "紧急停止", "紧急停车", "拉绳开关", "拉线开关")),
    Concept("操作规程", (), ("操作规程", "安全规程", "操作规范")),
    # Combustibles cleared around hot work: not a permit, not dust cleaning.
    Concept("动火可燃物", (), ("可燃物", "易燃物", "易燃杂物")),
    Concept("锁气卸灰", (), ("锁气", "卸灰阀", "星型卸灰", "星形卸灰")),
    Concept("积水排水", (), ("积水", "排水不畅", "水位上", "水位高", "水位超")),
    Concept("人车分流", (), ("人车分流", "人车混", "人车分道", "人车共用", "人行通道", ("叉车", "人走"), ("叉车", "行人"),
                            ("叉车", "人行"))),
    Concept("电气线路", (), ("私拉", "乱拉", "乱接", "线路老化", "电线老化", "穿管", "飞线", "电线裸露", "线头裸露")),
)  # fmt: skip

#: Spaces, punctuation and symbols.
_NOT_TEXT = re.compile(r"[\W_]+")


def alternation(words: Iterable[str]) -> str:
    """A regular expression matching the longest of ``words`` at a position, written as a tree of their shared
    beginnings ("报警(?:器|仪)?"): a list of hundreds of words tried one after the other at every character is
    what made scanning texts slow; the tree tries each character once."""
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for character in word:
            node = node.setdefault(character, {})
        node[""] = {}

    def written(node: dict[str, Any]) -> str:
        branches = [re.escape(c) + written(child) for c, child in sorted(node.items()) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # Greedy: the longer word first, the word ending here when no longer one matches.
        return f"(?:{body})?" if "" in node else body

    return written(tree)


#: The concepts each single word names.
_BY_WORD: dict[str, frozenset[str]] = {}
for _concept in CONCEPTS:
    for _word in _concept.words:
        if isinstance(_word, str):
            _BY_WORD[_word] = _BY_WORD.get(_word, frozenset()) | {_concept.name}
#: Every single word at every position, overlapping (a lookahead matches nothing, so the scan moves on by one
#: character): a county tags some 100,000 texts, and one scan is ten times faster than a search per word.
#: At one position the longest word wins; a shorter word there always names the same concepts (a test says so).
_WORDS = re.compile("(?=(" + alternation(_BY_WORD) + "))")
#: Concepts whose ``unless`` must be checked, and those named by words of several parts.
_WITH_UNLESS = tuple(c for c in CONCEPTS if c.unless)
_WITH_PARTS = tuple(c for c in CONCEPTS if any(not isinstance(w, str) for w in c.words))
#: The words of several parts, with their concept, for a concept without ``unless`` (checked on the text as it is;
#: a concept with both goes through ``_names``). Their first parts, scanned for at once, tell which to check.
_PARTS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {}
for _concept in _WITH_PARTS:
    if not _concept.unless:
        for _word in _concept.words:
            if not isinstance(_word, str):
                _PARTS[_word[0]] = (*_PARTS.get(_word[0], ()), (_concept.name, _word[1:]))
_FIRST_PARTS = re.compile(alternation(_PARTS))
#: Concepts with both, and their words of several parts: ``_names`` (which removes the ``unless`` phrases first) is
#: asked only when one of those words is in the text.
_PARTS_UNLESS = tuple(
    (c, tuple(w for w in c.words if not isinstance(w, str))) for c in _WITH_PARTS if c.unless
)


def _names(text: str, concept: Concept) -> bool:
    """Whether ``text`` (normalised) names ``concept``: the plain definition, one concept at a time."""
    for phrase in concept.unless:
        text = text.replace(phrase, "|")
    return any(
        word in text if isinstance(word, str) else all(part in text for part in word)
        for word in concept.words
    )


def concepts(text: str | None) -> frozenset[str]:
    """The names of the concepts ``text`` names (NFKC, lower case, spaces and punctuation ignored)."""
    if not text:
        return frozenset()
    plain = _NOT_TEXT.sub("", unicodedata.normalize("NFKC", text).lower())
    found = {name for word in _WORDS.findall(plain) for name in _BY_WORD[word]}
    for concept in _WITH_UNLESS:
        if concept.name in found and not _names(plain, concept):
            found.discard(concept.name)
    if _FIRST_PARTS.search(plain):
        for first, words in _PARTS.items():
            if first in plain:
                for name, rest in words:
                    if name not in found and all(part in plain for part in rest):
                        found.add(name)
    for concept, parted in _PARTS_UNLESS:
        if (
            concept.name not in found
            and any(all(part in plain for part in word) for word in parted)
            and _names(plain, concept)
        ):
            found.add(concept.name)
    return frozenset(found)
