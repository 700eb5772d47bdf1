"""The concept layer of the matcher (server/domain/hazard_concepts.py): what a hazard text is about, read from the
words people write — the checklist's own terms and the colloquial or consequence forms of a ledger note."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from server.domain.hazard_concepts import CONCEPTS, _names, concepts

CATALOGUE = Path(__file__).resolve().parents[2] / "server" / "catalogue" / "default-2022.toml"

#: Each concept with texts written the formal way and the ways a ledger writes it (none of them a labelled pair).
FORMS: dict[str, tuple[str, ...]] = {
    "防水防潮": (
        "铝粉储存未落实防水防潮措施",
        "收集桶放在窗下，雨天会进水",
        "镁粉袋子受潮结块",
        "库房屋顶漏雨",
        "铝灰淋湿了",
        "遇水会放出氢气",
        "下雨天桶里进雨水",
        "粉尘桶没有防雨措施",
    ),
    "清扫积尘": (
        "设备设施积尘未及时清扫",
        "梁上积灰很厚",
        "管道积粉",
        "打磨机旁边灰大",
        "顶棚落灰",
        "好几天没扫",
        "设备上一层灰",
        "打磨台上灰有一寸厚",
        "未制定粉尘清理制度",
    ),
    "氢气监测": ("铝镁粉尘收集间未设置氢气监测",),
    # "控爆措施" names both kinds of explosion control of DU-2.
    "泄爆": (
        "除尘器未设置泄爆装置",
        "料仓没有泄压口",
        "除尘器无泄爆片",
        "爆破片锈死",
        "干式除尘系统未采用控爆措施",
    ),
    "隔爆阻火": (
        "除尘管道未设置隔爆阀",
        "油罐呼吸阀阻火器损坏",
        "除尘系统无抑爆装置",
        "干式除尘系统未采用控爆措施",
    ),
    "除尘共用互联": (
        "两种粉尘共用一套除尘系统",
        "不同防火分区的除尘系统互联互通",
        "两条线的除尘管道接在一起",
        "两种木屑混用一台除尘器",
        "喷涂和打磨的灰进的是一个除尘器",
    ),
    "火花除杂": (
        "粉碎机进料口未设置除铁器",
        "砂光机未设置火花探测消除装置",
        "物料里有铁钉",
        "研磨时打出火星",
    ),
    "负压除尘": ("铝镁粉尘除尘系统采用正压吹送", "风机装在除尘器前面往里吹灰", "镁粉吹送到除尘器"),
    "沉降室巷道": ("除尘系统采用重力沉降室", "用干式巷道作为风道", "除尘风道是砖砌的"),
    "煤气检测报警": (
        "主控室未设置固定式一氧化碳监测报警装置",
        "值班室没有CO报警器",
        "操作室没装煤气报警",
        "一氧化碳报警仪失灵",
        "值班室有人煤气中毒过",
        "操作室里漏了煤气也没人知道",
    ),
    "煤气泄漏": ("煤气阀门泄漏", "那里有煤气味", "管道漏煤气"),
    "煤气隔断": ("煤气管道未设置可靠隔断装置", "只有蝶阀没有盲板", "水封高度不够", "没装眼镜阀"),
    "吹扫置换": ("煤气管道未设置吹扫设施", "没有氮气置换", "煤气管道末端没有放散管"),
    "冶金起重机": (
        "吊运铁水未使用固定式龙门钩的铸造起重机",
        "吊钢水的行车不是冶金起重机",
        "吊铁水用的是普通行车",
    ),
    "吊具检查": (
        "钢丝绳断丝超标",
        "行车钢丝绳断股",
        "吊钩未定期探伤",
        "耳轴有裂纹",
        "钢丝绳毛刺多",
        "钢丝绳没有定期检查",
        "钢丝绳多久没换了",
    ),
    "钢丝绳选型": ("卷扬使用非钢芯钢丝绳", "卷扬换成了麻芯绳"),
    "吊运影响范围": (
        "休息室设置在钢水吊运影响范围内",
        "交接班室在吊运路线下方",
        "铁水罐从休息室头顶吊过去",
        "钢包从交接班室头顶上过",
    ),
    "应急储存": (
        "未设置事故钢包及溢流槽",
        "没有事故罐",
        "漏钢了没地方放",
        "连铸没有备用钢包",
        "未设置事故钢水罐",
    ),
    "冷却水监测报警": (
        "氧枪出水温度未设置监测报警",
        "进出水流量差无报警",
        "结晶器水量小了没报警",
        "冷却水水压低了不报警",
        "结晶器冷却水没装流量报警",
        "氧枪漏水了也不报警",
    ),
    "联锁": ("报警装置未与快速切断阀联锁", "水温高了不会自动提枪", "连锁失效", "水压低报警了炉子照样倒"),
    "应急水源": (
        "熔炼炉未设置应急水源",
        "没有高位水箱",
        "停电以后没有备用冷却水",
        "应急水泵坏了",
        "一停电就断水",
        "停电了炉子就没有冷却水",
    ),
    "液位监测": ("流槽未设置液位监测报警", "铝液液面高了不报警"),
    "机械锁紧": ("浇铸炉出口未设置机械锁紧装置",),
    "快速切断": ("流槽未设置快速切断阀", "模盘入口没有断开装置"),
    "紧急排放": ("铝液流槽未设置紧急排放阀", "出了事铝液放不掉", "没有紧急放流的口子"),
    "淘汰设备": ("使用国家明令禁止使用的设备", "变压器是淘汰型号还在用"),
    "作业方案审批": (
        "有限空间作业方案未经审批",
        "动火作业未办理动火证",
        "电焊切割没开票",
        "进罐清洗没审批",
        "盲板抽堵未办作业票",
        "未取得动火作业许可即施工",
        "电焊直接干，没人批",
    ),
    "警示标志": ("有限空间未设置安全警示标志", "井口没挂警示牌", "没贴禁止吸烟的牌子", "未设置禁止烟火标志"),
    "气体检测": (
        "作业前未进行气体检测",
        "下井前没测气",
        "没有测氧含量",
        "进池前未检测有毒气体",
        "进去前没测硫化氢浓度",
        "下井的人差点中毒",
        "动火前没测可燃气",
        "下池子前不查有没有毒气",
    ),
    "通风": ("作业前未进行通风", "没有强制通风就下去了"),
    "作业监护": ("有限空间作业无监护人", "下井没人在上面看着", "一个人下去清淤"),
    "电气防爆": ("照明灯具未采用防爆型", "用的是普通灯泡", "电机不防爆", "插座非防爆", "开关插座都是普通的"),
    "接地静电": (
        "喷枪未可靠接地",
        "接地线断了",
        "油罐没有静电接地",
        "法兰未做静电跨接",
        "电焊机外壳带电会电人",
    ),
    "安全培训": ("未开展三级安全教育", "新工人没培训就上岗", "未进行安全培训", "工人没上过安全课"),
    "持证上岗": ("叉车司机无证驾驶", "电工证没有", "焊工没证", "未取得特种作业操作证", "开叉车的人没考证"),
    "应急预案": ("未制定专项应急预案", "预案没编"),
    "应急演练": ("应急演练未开展", "一年没演练"),
    "应急救援器材": ("未配备正压式呼吸器", "没有救援三脚架", "应急器材不全", "煤气站没配空呼"),
    "灭火器材": ("未配备灭火器", "消火栓没水", "灭火器压力不足"),
    "防护罩": ("皮带尾轮未设置防护罩", "转的东西露着没罩子", "联轴器没护罩", "皮带轮容易把手卷进去"),
    "护栏护笼": ("平台护栏缺失", "爬梯没有护笼", "梯子没有护圈", "楼梯栏杆断了", "平台边上人会掉下去"),
    "警戒隔离": ("泼渣区域未设置警戒隔离", "没拉警戒线"),
    "气瓶间距": ("氧气瓶与乙炔瓶混放", "氧气乙炔瓶挨着放", "两瓶间距不足5米"),
    "防倾倒": ("乙炔瓶未设置防倾倒链", "气瓶没有防倒措施"),
    "防冻保温": ("煤气排水器未设置防冻措施", "冬天水管冻裂了", "管道没有保温伴热", "消防水管结冰"),
    "疏散指示": ("疏散指示标志损坏", "安全出口指示灯不亮", "走廊没有疏散标志"),
    "应急照明": ("未设置应急照明", "应急灯坏了"),
    "通道占用": ("疏散通道堆放杂物", "叉车通道被货物占用", "安全出口被堵", "消防通道不畅通"),
    "防渗漏": ("危废库未设置防渗漏措施", "地面没做防渗", "油罐区没有围堰"),
    "漏油漏液": ("液压站油管渗漏", "减速机漏油", "地上一摊油", "设备周边油污"),
    "密闭加盖": ("镁粉收集桶未密闭存放", "粉桶没盖盖子", "铝粉敞口堆放"),
    "喷淋": ("液氨储罐未设置喷淋装置",),
    "漏电保护": ("配电箱未安装漏电保护器", "手持电动工具没有漏保", "手电钻漏电麻手"),
    "绝缘用具": ("配电室未配备绝缘垫", "高压室缺绝缘手套", "绝缘靴破了"),
    "防小动物": ("配电室门口未设置挡鼠板", "变压器室没有防小动物措施"),
    "劳动防护用品": (
        "作业人员未佩戴劳动防护用品",
        "打磨工没戴护目镜",
        "噪声岗位没发耳塞",
        "进车间不戴安全帽",
    ),
    "高处坠落防护": ("高处作业未系安全带", "屋顶上干活没挂安全绳", "平台没有防坠装置"),
    "起重限位": ("行车起升限位失灵", "天车没有行程开关", "起重机未设置超载限制器"),
    "制动": ("起重机制动器磨损超标", "叉车刹车不灵"),
    "可燃气体报警": ("食堂未设置燃气泄漏报警", "危化品库未设置可燃气体报警", "机房没有氨气报警仪"),
    "熄火保护": ("燃气灶具未设置熄火保护装置",),
    "防雷": ("储罐防雷接地未检测", "厂房没有避雷针"),
    "盖板孔洞": ("电缆沟盖板缺失", "井盖损坏", "平台孔洞未封堵"),
    "急停": ("皮带机拉绳开关失效", "冲床急停按钮坏了", "没有紧急停止按钮"),
    "操作规程": ("未制定岗位安全操作规程", "墙上没挂操作规程"),
    "电气线路": ("休息室私拉电线", "电气线路未穿管", "电线老化破皮"),
    "动火可燃物": ("动火点周边可燃物未清理", "电焊旁边堆着易燃物"),
    "锁气卸灰": ("除尘器卸灰口未设置锁气装置", "卸灰阀漏风", "灰斗下面没有星型卸灰阀"),
    "积水排水": ("地坑内积水未清理", "泵坑水位高了没人管", "地沟排水不畅"),
    "人车分流": ("厂内道路未实行人车分流", "叉车和行人混行", "仓库里叉车跟人走一个门", "未划分人行通道"),
}


@pytest.mark.parametrize(("name", "text"), [(name, text) for name, texts in FORMS.items() for text in texts])
def test_each_concept_is_read_in_its_formal_and_colloquial_forms(name: str, text: str) -> None:
    assert name in concepts(text)


def test_every_concept_has_its_forms_tested_and_nothing_else_is_a_concept() -> None:
    assert {c.name for c in CONCEPTS} == set(FORMS)


@pytest.mark.parametrize(
    ("text", "not_about"),
    [
        ("动火点周边可燃物未清理", "清扫积尘"),  # 清理 of other things is not cleaning dust
        ("除尘器泄爆口朝向人员通道", "电气防爆"),  # a vent is not explosion-proof electrics
        ("落实防爆措施", "电气防爆"),
        ("事故罐内有积水", "防水防潮"),  # water in a ladle is molten metal meeting water, not damp dust
        ("叉车没有年检", "持证上岗"),
        ("煤气管道支架锈蚀", "煤气泄漏"),
        ("下面的人员通道", "吊运影响范围"),
        ("冶金起重机钢丝绳断丝", "冶金起重机"),  # the crane named for its rope, not its kind
        ("卷扬使用非钢芯钢丝绳", "吊具检查"),
        ("保温炉炉门密封损坏", "防冻保温"),  # a holding furnace is not frost protection
        ("安全出口应急照明灯损坏", "通道占用"),
        ("消防栓被遮挡", "通道占用"),
        ("危废库未设置防渗漏措施", "漏油漏液"),  # no floor against leaks is not a leak
    ],
)
def test_words_that_look_alike_do_not_make_a_concept(text: str, not_about: str) -> None:
    assert not_about not in concepts(text)


def test_a_word_within_a_longer_word_names_the_same_concepts() -> None:
    # concepts() scans for the longest word at each position: a shorter word there must not name anything else.
    # (Unless the longer word is one the shorter's concept excludes: "进水流量" is not "进水".)
    by_word: dict[str, set[str]] = {}
    unless = {c.name: c.unless for c in CONCEPTS}
    for concept in CONCEPTS:
        for word in concept.words:
            if isinstance(word, str):
                by_word.setdefault(word, set()).add(concept.name)
    for long, names in by_word.items():
        for short, others in by_word.items():
            if short != long and long.startswith(short):
                lost = {n for n in others - names if not any(p in long for p in unless[n])}
                assert not lost, (short, long)


def test_the_fast_scan_agrees_with_the_plain_definition() -> None:
    texts = [text for forms in FORMS.values() for text in forms]
    for text in texts:
        plain = "".join(ch for ch in text.lower() if ch.isalnum())
        assert concepts(text) == {c.name for c in CONCEPTS if _names(plain, c)}, text


def test_unrelated_or_empty_text_has_no_concept() -> None:
    assert concepts("") == frozenset()
    assert concepts("铝锭堆垛超高") == frozenset()


def test_concepts_come_from_the_checklist() -> None:
    catalogue = tomllib.loads(CATALOGUE.read_text(encoding="utf-8"))
    texts = {item["code"]: item["text"] for item in catalogue["items"]}
    for concept in CONCEPTS:
        assert set(concept.items) <= set(texts), concept.name
    # Every key item (the catch-all ST-8 too: banned, obsolete equipment) is about at least one concept, and each item
    # a concept cites is tagged with it.
    for code, text in texts.items():
        if code.split("-")[0] in {"ST", "AL", "DU", "CS", "HW"}:
            assert concepts(text), code
    for concept in CONCEPTS:
        for code in concept.items:
            assert concept.name in concepts(texts[code]), (concept.name, code)


def test_a_tree_of_words_matches_the_longest_word_as_a_sorted_list_does() -> None:
    import re

    from server.domain.hazard_concepts import alternation

    words = ["报警", "报警器", "报警装置", "报", "警示", "防爆", "防爆门", "门"]
    listed = re.compile("(?=(" + "|".join(sorted(words, key=lambda w: (-len(w), w))) + "))")
    tree = re.compile("(?=(" + alternation(words) + "))")
    for text in ("未设置报警器和报警装置", "报警报", "防爆门警示门", "防爆", "无", ""):
        assert tree.findall(text) == listed.findall(text), text


def test_no_safeguard_or_machine_contains_another() -> None:
    # text._TERMS finds one term at each position: a term within another would be missed there.
    from server.domain.reconciliation import EQUIPMENT, SAFEGUARDS

    terms = {*SAFEGUARDS, *EQUIPMENT}
    assert not [(a, b) for a in terms for b in terms if a != b and a in b]
