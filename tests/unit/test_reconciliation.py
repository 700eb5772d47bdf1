"""Reconciling inspector findings with the self-inspection ledger: similarity, matching, categories."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.clearance import ItemResultValue
from server.domain.hazards import HazardLevel, HazardState
from server.domain.reconciliation import (
    DESCRIPTION_ALONE_MIN,
    DESCRIPTION_MIN,
    PLACE_MIN,
    Finding,
    ItemVerdict,
    LedgerEntry,
    compare_item,
    match,
    normalise,
    pair_score,
    place_similarity,
    reconcile,
    text_similarity,
)

R = ItemResultValue
S = HazardState
T0 = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)
TODAY = date(2026, 7, 1)

VENT = "除尘器泄爆口朝向人员通道"
VENT_PARAPHRASE = "除尘系统泄爆口正对人员通行通道"
VENT_OTHER_DEFECT = "除尘器未设置泄爆装置"
GAS_ALARM = "煤气柜区域未设置固定式一氧化碳监测报警装置"
DUST = "作业现场积尘未及时清扫"


def finding(
    id: str, description: str, *, item: str | None = None, place: str | None = None, day: int = 0,
    state: HazardState = S.found, deadline: date | None = None,
) -> Finding:  # fmt: skip
    return Finding(
        id=id, item_code=item, place=place, description=description, found_at=T0 + timedelta(days=day),
        level=HazardLevel.general, state=state, deadline=deadline,
    )  # fmt: skip


def entry(
    id: str, description: str, *, item: str | None = None, place: str | None = None, day: int = -5,
    state: HazardState = S.found, claimed: int | None = None, deadline: date | None = None,
) -> LedgerEntry:  # fmt: skip
    return LedgerEntry(
        id=id, item_code=item, place=place, description=description, found_at=T0 + timedelta(days=day),
        level=HazardLevel.general, state=state, deadline=deadline,
        claimed_fixed_at=T0 + timedelta(days=claimed) if claimed is not None else None,
    )  # fmt: skip


# --- normalising and similarity ---------------------------------------------------------------------------


def test_normalise_folds_width_and_drops_punctuation_spaces_and_fillers() -> None:
    assert normalise("１＃高炉 主控室，存在未设置报警仪问题。") == "1高炉主控室设置报警"
    # One spelling for the site's many: synonyms, abbreviations and the unit number's marker.
    assert normalise("2号转炉CO报警器") == normalise("2#转炉一氧化碳报警装置") == "2转炉一氧化碳报警"
    assert normalise("行车限位器失灵") == normalise("桥式起重机限位失效") == "起重机限位坏"
    assert normalise("没有设置") == normalise("未设置") == normalise("无设置") == "设置"
    assert normalise("作业现场积尘未及时清扫") == "作业积尘及时清扫"  # 及时 is a word, not the filler 及
    assert normalise(None) == normalise("") == normalise(" ，。") == ""


def test_near_duplicate_descriptions_are_similar_and_unrelated_ones_are_not() -> None:
    assert text_similarity(VENT, VENT_PARAPHRASE) >= DESCRIPTION_MIN
    # Same equipment, another defect: alike in words (泄爆口 is a 泄爆装置), but one vent is there and points the
    # wrong way, the other is missing.
    other_defect = pair_score(
        finding("f", VENT, place="除尘系统"), entry("e", VENT_OTHER_DEFECT, place="除尘系统")
    )
    assert not other_defect.compatible
    assert text_similarity(VENT, GAS_ALARM) < 0.1  # single characters in common ("置"), no word
    assert text_similarity(VENT, DUST) < 0.1
    assert text_similarity(VENT, VENT) == 1.0
    assert text_similarity("", VENT) == 0.0


def test_negation_is_not_what_tells_hazards_apart() -> None:
    assert text_similarity("配电箱未接地", "配电箱没有接地") == 1.0
    assert text_similarity("配电箱未接地", "配电箱接地线缺失") >= DESCRIPTION_MIN


def test_two_kinds_of_safeguard_are_two_hazards_however_much_else_they_share() -> None:
    sign = finding("f", "有限空间作业场所未设置安全警示标志", place="污水池")
    approval = entry("e", "有限空间作业未审批", place="污水池")
    assert not pair_score(sign, approval).compatible
    same = entry("e2", "污水池没有有限空间警示牌", place="污水处理站污水池")  # 警示牌 is a 警示标志
    assert pair_score(sign, same).compatible
    assert reconcile([sign], [approval, same], TODAY).self_reported[0].entry.id == "e2"


def test_short_texts_compare_single_characters() -> None:
    # Bigrams alone would give 0.5 for these three-character names.
    assert place_similarity("皮带机", "皮带廊") == 2 * 2 / 6
    assert place_similarity("配电室", "配电间") == 1.0  # synonyms
    assert text_similarity("报警", "警报") == 1.0


def test_place_containment_counts_and_numbered_units_conflict() -> None:
    assert place_similarity("1#高炉主控室", "高炉主控室") == 1.0
    assert place_similarity("１＃高炉主控室", "1#高炉 主控室") == 1.0
    assert place_similarity("1#高炉主控室", "2#高炉主控室") == 0.0
    assert place_similarity("1#高炉2号风口", "1#高炉") == 1.0  # a part of the same unit
    assert place_similarity("除尘器", "除尘系统") >= PLACE_MIN  # type: ignore[operator]
    assert place_similarity("生产车间", "原料库") == 0.0
    assert place_similarity(None, "原料库") is None and place_similarity("", "") is None
    assert place_similarity("炉", "熔炼炉") == 2 * 1 / 4  # one character is too little to contain


def test_a_unit_number_is_one_however_written() -> None:
    assert (
        normalise("二号高炉") == normalise("2#高炉") == normalise("#2高炉") == normalise("2号高炉") == "2高炉"
    )
    assert normalise("十二号炉") == normalise("12#炉") and normalise("二十一号炉") == normalise("21#炉")
    assert normalise("5t行车") == normalise("5吨天车")
    assert normalise("No.2高炉") == normalise("贰号高炉") == normalise("2#高炉")
    assert normalise("NO2浓度超标") != normalise("2#浓度超标")  # nitrogen dioxide, not a unit
    assert place_similarity("二车间", "2#车间") == place_similarity("第三车间", "3号车间") == 1.0
    assert place_similarity("第一车间", "2车间") == 0.0
    assert place_similarity("三号高炉", "3#高炉") == 1.0
    assert place_similarity("三号高炉", "1#高炉") == 0.0  # two furnaces, whichever way they are numbered
    two = pair_score(
        finding("f", "卸料口护栏缺失", place="#2料仓"), entry("e", "卸料口栏杆缺失", place="一号料仓")
    )
    assert not two.compatible


def pair(f_place: str, f_text: str, e_place: str, e_text: str, *, item: str | None = None) -> bool:
    """Whether the matcher pairs the finding with the entry (the entry carries the same item code, if any)."""
    return pair_score(
        finding("f", f_text, place=f_place, item=item), entry("e", e_text, place=e_place, item=item)
    ).compatible


def test_the_same_defect_written_in_another_order_or_other_words_matches() -> None:
    assert pair("喷漆房", "喷漆房防爆灯具损坏", "喷漆房", "损坏的防爆灯未更换")
    assert pair("打磨车间", "打磨除尘设备未设置泄爆口", "打磨车间", "打磨除尘器无泄爆片")
    assert pair("焊接车间", "乙炔气瓶未设置防倾倒装置", "焊接车间", "乙炔瓶没有防倒链条")
    # The same place and the same kind of safeguard (积尘) need fewer words in common.
    assert pair("抛光车间", "设备设施积尘未及时清扫", "抛光车间", "抛光机和管道上积灰多，未按时清理")


def test_a_place_written_at_another_depth_agrees_through_the_description() -> None:
    assert pair("转炉煤气回收", "风机房未设置固定式一氧化碳报警", "煤气风机房", "风机房内没有CO检测报警仪")
    assert pair("铸造车间", "固定式浇铸炉铝液出口未设置机械锁紧装置", "浇铸炉出口", "浇铸炉出铝口缺机械锁紧")


def test_general_safety_vocabulary_is_one_whichever_word_is_written() -> None:
    assert normalise("配电房") == normalise("配电间") == normalise("配电室")
    assert normalise("铸井") == normalise("铸造井") and normalise("循环水") == normalise("冷却水")
    assert normalise("除尘器防爆门") == normalise("除尘器泄爆片") == normalise("除尘器泄压口")
    assert normalise("煤气报警器") == normalise("CO报警仪") == normalise("一氧化碳检测仪")
    assert normalise("动火作业证") == normalise("动火票") and normalise("审批票") == normalise("作业票")
    assert normalise("叉车年检") == normalise("叉车定期检验") == normalise("叉车校验")
    assert pair("空压站", "储气罐压力表未定期检验", "空压机房", "储气罐压力表年检过期")
    assert pair("危废暂存间", "危废暂存间未设置防渗漏措施", "危废库", "危废库地面没做防渗")


def test_casting_furnace_and_permit_vocabulary_is_one_whichever_word_is_written() -> None:
    assert normalise("2#深井铸造机") == normalise("2号铸井") == normalise("二号铸造井")
    assert normalise("熔铝炉") == normalise("熔炼炉") and normalise("水泵故障") == normalise("水泵损坏")
    assert normalise("动火作业许可") == normalise("动火审批") == normalise("动火证")
    assert normalise("抽水泵") == normalise("排水泵") and normalise("垃圾") == normalise("杂物")
    assert normalise("1#深井") == normalise("1#铸井") and normalise("深井泵") != normalise("铸井泵")
    assert normalise("报警与风机联动") == normalise("报警与风机连锁") and normalise("校准") == normalise(
        "校验"
    )
    assert normalise("应急钢包") == normalise("事故钢包") == normalise("事故罐")
    assert normalise("CO探头") == normalise("煤气报警器") and normalise("扶栏") == normalise("护栏")
    # A spare pump missing and the pump broken are two hazards of one pit (a pump is a machine).
    assert not pair("2#铸井", "铸井排水泵未设置备用泵", "2号铸井", "抽水泵坏了，井里积水")
    assert pair("3#熔铝炉", "熔铝炉炉门水冷元件未设置应急水源", "3#熔炼炉", "炉门水套没备用水，停电就断水")


def test_a_generic_ending_of_a_place_is_not_a_place() -> None:
    # "车间", "厂房", "区域" say only "a part of the works": the works' own name decides.
    assert place_similarity("炼钢车间", "炼钢厂房") == 1.0
    assert place_similarity("煤气区域", "煤气管道") == 1.0
    assert place_similarity("抛光车间", "包装车间") < PLACE_MIN  # type: ignore[operator]
    assert place_similarity("机修车间", "机加车间") < PLACE_MIN  # type: ignore[operator]
    assert pair("轧钢车间", "休息室设置在钢水吊运影响范围内", "轧钢厂房", "休息室在钢包吊运路线下方")
    assert not pair("抛光车间", "积尘未及时清扫", "包装车间", "地面积尘较多")


def test_a_missing_safeguard_and_one_there_but_wrong_are_two_hazards() -> None:
    assert not pair("抛光车间", "除尘器泄爆口朝向人员通道", "抛光车间", "除尘器未设置泄爆片")
    assert not pair("抛光车间", "除尘器泄爆口朝向人员通道", "抛光车间", "除尘器未设置泄爆片", item="DU-2")
    assert not pair("主控室", "主控室CO报警仪失效", "主控室", "主控室未设置CO报警仪")
    # Not connected ("未接地", "没做静电跨接") is missing; a damaged casing is there and wrong.
    assert not pair("空压站", "空压机外壳未接地", "空压站", "空压机外壳损坏")


def test_another_machine_or_another_device_is_another_hazard() -> None:
    assert not pair("机加车间", "砂轮机防护罩缺失", "机加车间", "台钻防护罩缺失")
    assert not pair("空压站", "储气罐安全阀未定期校验", "空压站", "储气罐压力表未定期校验")
    assert not pair("冲压车间", "冲床未设置急停按钮", "冲压车间", "剪板机未设置急停按钮")
    assert not pair("机修车间", "电焊机一次线过长", "机修车间", "切割机一次线过长")


def test_what_one_says_is_missing_and_the_other_says_is_there_are_two_hazards() -> None:
    # Something wrong with a safeguard (low pressure, overdue calibration, not interlocked) says it is there.
    assert not pair("配电室", "配电室灭火器压力不足", "配电室", "配电室没有配备灭火器")
    assert not pair("主控室", "主控室CO报警器超期未校验", "主控室", "主控室未设置CO报警器")
    assert not pair(
        "3#铸造机", "结晶器冷却水压力报警未与快速切断阀联锁", "3#铸造机", "结晶器冷却水没有压力报警"
    )
    # Clause by clause: the vent is there (its guide pipe is missing, and it points at people).
    assert not pair("除尘器", "除尘器泄爆口未设置导流管，泄爆口朝向人员通道", "除尘器", "除尘器没有泄爆片")
    # A missing safeguard of a machine and a damaged part of it.
    assert not pair("空压站", "空压机外壳未接地", "空压站", "空压机外壳损坏")
    # But the same missing thing, however written, is one hazard; so is a missing safeguard and its consequence.
    assert pair("机修车间", "砂轮机防护罩缺失", "机修车间", "砂轮机没有防护罩")
    assert pair("3#铸造机", "压力报警未与快速切断阀联锁", "3号铸造机", "压力报警与快速切断阀没联锁")
    assert pair("熔铸车间", "铝灰暂存点未设置防雨设施", "熔铸车间", "铝灰堆在外面，下雨全淋湿了")
    assert pair("2号破碎线", "破碎机进料口未设置除铁器", "2#破碎间", "破碎机料里有铁块")
    assert pair(
        "抛光车间", "没有及时清扫地面积尘", "抛光车间", "地面积尘较多"
    )  # dust is a state, not a thing lacked


def test_an_act_left_undone_and_another_defect_of_the_thing_are_two_hazards() -> None:
    # Not interlocked (联锁) is one defect of an alarm; its signal not sent on, or its probe broken, another.
    assert not pair(
        "加压机房", "一氧化碳报警器未与事故排风机联锁", "加压机房", "CO报警器装了，信号没接到中控室"
    )
    assert not pair("1#流槽", "液位报警装置未与快速切断阀联锁", "1号流槽", "流槽液位报警探头坏了，不报警")
    # But what a missing interlock lets happen names the interlock.
    assert pair("熔铸车间", "倾动式浇铸炉未与结晶器冷却水报警联锁", "熔铸车间", "冷却水报警了浇铸炉还能倾动")
    # A permit signed without the site check is there; one never issued is another hazard.
    assert not pair("铸造车间", "动火作业票审批人未到现场确认即签字", "铸造车间", "流槽边动火没开票")
    # The parts of a crane's lifting gear are inspected each for its own defects.
    assert not pair("2#铸造起重机", "龙门钩耳轴销磨损量超标", "2号行车", "主钩钢丝绳有断丝，还没换")
    # A state of a thing (water in it) says it is there: not "there is none".
    assert not pair("连铸平台", "未设置事故钢包", "连铸平台", "事故钢包内有积水未烘烤")
    # A ladder's cage and a platform's railing, a box's lock and its earthing: two safeguards each.
    assert not pair("脱硫区域", "脱硫塔未设置爬梯护笼", "脱硫区域", "脱硫塔平台护栏锈蚀")
    assert not pair("配电室", "配电箱门未上锁", "配电室", "配电箱没接地")
    # A pull-cord stop and a belt-drift switch; a permit and the combustibles around the job; an isolation device
    # missing and one rusted fast: two hazards each.
    assert not pair("原料场", "皮带机拉绳开关失效", "原料场", "皮带机没有防跑偏开关")
    assert not pair("焊接车间", "动火作业未办理动火证", "焊接车间", "动火作业周边可燃物没清理")
    assert not pair("1#高炉", "热风炉煤气管道未设置隔断装置", "1号高炉", "热风炉煤气管道盲板锈死打不开")
    # Tramp-iron removal and spark detection are two safeguards of one crusher (DU-5).
    assert not pair("破碎间", "破碎机进料口未设置除铁器", "破碎间", "破碎机没装火花探测")
    # Expired is overdue for inspection: the act is named without its word.
    assert pair("空压站", "储气罐安全阀超期未校验", "空压站", "储气罐安全阀过期了")
    assert pair("空压站", "储气罐压力表未定期校验", "空压站", "储气罐压力表好几年没检了")
    # Bonding a flange and earthing a collector are two safeguards; a bonding wire fallen off is missing.
    assert not pair("抛光车间", "除尘器本体接地线断开", "抛光车间", "除尘管道法兰没跨接")
    assert pair("制氧站", "氧气管道法兰未设置跨接线", "制氧站", "氧气管道法兰跨接线掉了")


def test_the_kind_of_a_crane_and_its_gear_are_two_hazards() -> None:
    # A text naming a metallurgical crane for its rope is about the rope (ST-2), not the crane's kind (ST-1).
    assert not pair("铸铁车间", "吊运铁水的起重机不是冶金起重机", "铸铁车间", "冶金起重机主钩钢丝绳断丝")
    assert pair("铸铁车间", "吊运铁水的起重机不符合冶金起重机要求", "铸铁车间", "吊铁水的天车是普通行车")


def test_opposite_sides_of_one_thing_are_two_places() -> None:
    assert place_similarity("3#转炉炉后操作室", "三号转炉炉前操作室") == 0.0
    assert place_similarity("烧结机头", "烧结机尾") == 0.0 and place_similarity("流槽入口", "流槽出口") == 0.0
    assert place_similarity("转炉炉前", "3#转炉炉前操作室") == 1.0
    assert place_similarity("东区除尘器", "西区除尘器") == 0.0  # a side at the start of the place too


def test_a_furnace_numbered_without_a_mark_is_numbered() -> None:
    assert normalise("三高炉") == normalise("3#高炉") and normalise("二铸井") == normalise("2号铸井")
    assert normalise("一氧化碳") != normalise("1氧化碳") and normalise("三级教育") == "三级教育"
    assert not pair("#2高炉", "2#高炉出铁场平台护栏缺失", "三高炉", "出铁场平台栏杆缺了")
    assert pair("#2高炉", "2#高炉出铁场平台护栏缺失", "二高炉", "出铁场平台栏杆缺了")


def test_units_lettered_instead_of_numbered_are_units() -> None:
    assert place_similarity("A线除尘器", "B线除尘器") == 0.0 and place_similarity("A线除尘器", "a线") == 1.0
    assert not pair("抛光车间", "A线抛光机除尘器未设置泄爆装置", "抛光车间", "B线抛光机除尘器没有泄爆片")
    assert pair("抛光车间", "A线抛光机除尘器未设置泄爆装置", "抛光车间", "A线抛光除尘器没有泄爆片")
    assert not pair(
        "3#转炉炉后操作室", "未设置固定式一氧化碳报警器", "三号转炉炉前操作室", "未设置固定式CO报警器"
    )


def test_a_thing_there_but_not_enough_or_not_kept_is_not_a_thing_missing() -> None:
    # 不足/不全 say it is there and wrong; an attendant who left, an exhaust too weak, a respirator expired were there.
    assert not pair("检修车间", "动火作业票填写不全", "检修车间", "动火没开票")
    assert not pair("喷漆房", "喷漆房排风量不足", "喷漆房", "喷漆房没装排风")
    assert not pair("污水池", "有限空间作业监护人离岗", "污水池", "下池子没人监护")
    assert not pair("煤气站", "正压式空气呼吸器超期", "煤气站", "煤气站没配空呼")
    assert pair("煤气站", "煤气区域未配备正压式空气呼吸器", "煤气站", "煤气站没配空呼")
    assert pair("喷漆房", "喷漆房未设置机械排风", "喷漆房", "喷漆房没装排风")


def test_what_a_negation_follows_at_once_is_what_is_missing() -> None:
    # "报警器没装": the alarm is missing; one set too high, or not interlocked, is there.
    assert not pair("2#值班室", "值班室一氧化碳报警器报警值设定过高", "2号值班室", "值班室CO报警器没装")
    assert not pair("1#铸井", "冷却水流量报警装置未与紧急排放阀联锁", "1号铸井", "冷却水流量报警器没装")
    # One that says a thing missing and also there (only portable ones) does not contradict another saying missing.
    assert pair(
        "2#操作室",
        "未设置固定式一氧化碳报警器，仅配备便携式检测仪",
        "2号操作室",
        "没装固定的CO报警器，靠手持的",
    )
    # "缺失" follows what is missing: "缺失一段" names nothing else missing.
    assert pair("高炉炉顶", "炉顶平台护栏缺失", "1#高炉炉顶", "炉顶平台栏杆缺失一段")


def test_places_are_compared_by_their_names_and_the_whole_works_is_no_place() -> None:
    # Both end in an area's or a generic word: the names before it decide.
    assert place_similarity("喷砂房", "喷漆房") < PLACE_MIN  # type: ignore[operator]
    assert place_similarity("面粉车间", "淀粉车间") < PLACE_MIN  # type: ignore[operator]
    assert place_similarity("危化品仓库", "危化品库") == 1.0
    assert not pair("木粉车间", "除尘管道积粉未清理", "面粉车间", "除尘管道积粉没清")
    assert place_similarity("全厂", "安全科") is None
    assert pair("全厂", "未制定有限空间专项应急预案", "安全科", "有限空间的应急预案没编")
    # A plan and a drill are two safeguards, though both are about one emergency.
    assert not pair("全厂", "未制定有限空间专项应急预案", "全厂", "有限空间应急演练未开展")


def test_a_consequence_or_another_name_of_a_general_safeguard_is_one_concept() -> None:
    assert pair("煤气管网", "煤气管道水封未设置防冻措施", "煤气管网", "水封冬天没有伴热会冻住")
    assert pair("办公楼", "疏散指示标志损坏", "办公楼", "楼道安全出口指示灯不亮")
    assert not pair("办公楼", "应急照明灯损坏", "办公楼", "疏散通道被杂物堵塞")
    assert pair("检修车间", "动火作业未办理动火审批手续", "检修车间", "切割管道没开票")
    # A shock is the consequence of either of two safeguards; the two safeguards stay two hazards.
    assert pair("焊接车间", "电焊机外壳未接地", "焊接车间", "电焊机外壳带电，碰了会电人")
    assert pair("焊接车间", "电焊机未安装漏电保护器", "焊接车间", "电焊机漏电麻手")
    assert not pair("配电室", "配电箱未接地", "配电室", "配电箱未安装漏电保护器")
    assert pair("机修车间", "皮带轮未设置防护罩", "机修车间", "皮带轮露着容易把手卷进去")
    # Places near (one numbered unit, other words) and one concept: the concept decides.
    assert pair("1号浇铸机", "流槽未设置液位监测报警", "1#浇铸区", "流槽液面高了没报警")


def test_a_ledger_note_writing_the_consequence_matches_the_missing_safeguard() -> None:
    # What a missing alarm or ladle lets happen, written instead of it (my own sentences, not labelled pairs).
    assert pair("2#转炉氧枪", "氧枪冷却水未设置进出水流量差报警", "2号转炉", "氧枪漏水了也不报警")
    assert pair("连铸", "连铸未设置事故钢水罐", "连铸平台", "连铸漏钢了钢水没地方倒")
    assert pair("检修车间", "动火作业未办理作业审批", "检修车间", "电焊直接干，没人批")
    # No place (the whole works): one concept and a quarter of the words (CONCEPT_PLACELESS_MIN).
    assert pair("全厂", "未对员工开展安全培训", "全厂", "工人没上过安全课")
    assert not pair("全厂", "未对员工开展安全培训", "全厂", "电工没上过岗就无证作业")
    # One hazard concept (server.domain.hazard_concepts) at one place: the words barely overlap.
    assert pair("打磨间", "镁粉收集桶存放未采取防潮措施", "打磨间", "收集桶放在窗下，雨天会进水")
    assert pair("砂光间", "砂光机周边积尘未及时清扫", "砂光间", "砂光机旁边灰大")
    assert pair("调压站", "调压站未设置一氧化碳报警仪", "调压站", "调压站里没装煤气报警")


def test_two_hazard_concepts_at_one_place_are_two_hazards() -> None:
    # A rope's inspection and the kind of rope are two concepts, though both name the rope.
    assert not pair("铸造机", "卷扬钢丝绳未定期检查", "铸造机", "卷扬使用非钢芯钢丝绳")
    assert not pair("打磨间", "打磨间地面积尘未清扫", "打磨间", "打磨间的镁粉桶受潮")
    assert not pair("熔炼炉", "熔炼炉冷却水出水温度未设置监测报警", "熔炼炉", "熔炼炉没有应急水源")


def test_two_areas_of_one_kind_are_two_places_but_other_names_of_one_area_are_not() -> None:
    assert not pair("成品库", "叉车通道堆放杂物", "原料库", "叉车通道堆放杂物")
    assert not pair("制氧站", "氧气管道法兰未做静电跨接", "煤气加压站", "煤气管道法兰未做静电跨接")
    assert pair("喷粉房", "粉尘清理制度未制定", "喷涂车间", "没有粉尘清扫制度")


# --- matching ----------------------------------------------------------------------------------------------


def test_paraphrase_at_the_same_place_is_self_reported_and_unrelated_is_missed() -> None:
    result = reconcile(
        [finding("f1", VENT, place="1#除尘器"), finding("f2", GAS_ALARM, place="煤气柜")],
        [entry("e1", VENT_PARAPHRASE, place="除尘器"), entry("e2", DUST, place="生产车间")],
        TODAY,
    )
    assert [(m.finding.id, m.entry.id) for m in result.self_reported] == [("f1", "e1")]
    assert [f.id for f in result.missed] == ["f2"]
    assert [e.id for e in result.ledger_only] == ["e2"]
    assert result.reliability == 0.5
    similarity = result.self_reported[0].similarity
    assert not similarity.same_item and similarity.place == 1.0 and similarity.description >= DESCRIPTION_MIN


def test_similar_description_at_a_different_place_does_not_match() -> None:
    result = reconcile(
        [finding("f", VENT, place="成品库")], [entry("e", VENT_PARAPHRASE, place="原料车间")], TODAY
    )
    assert not result.self_reported and [f.id for f in result.missed] == ["f"]
    # A near-copy needs no place to agree with.
    copy = reconcile(
        [finding("f", VENT, place="成品库")], [entry("e", "除尘器泄爆口朝向人员通道。", place=None)], TODAY
    )
    assert [m.entry.id for m in copy.self_reported] == ["e"]
    assert text_similarity(VENT, "除尘器泄爆口朝向人员通道。") >= DESCRIPTION_ALONE_MIN


def test_numbered_units_keep_same_descriptions_apart() -> None:
    result = reconcile([finding("f", "1#除尘器泄爆片损坏")], [entry("e", "2#除尘器泄爆片损坏")], TODAY)
    assert not result.self_reported and len(result.missed) == 1 and len(result.ledger_only) == 1


def test_same_key_item_matches_whatever_the_words() -> None:
    result = reconcile(
        [finding("f", "主控室CO报警仪失效", item="ST-6", place="转炉主控室")],
        [entry("e", "煤气区域一氧化碳报警器未校验", item="ST-6", place="煤气加压站")],
        TODAY,
    )
    assert [m.entry.id for m in result.self_reported] == ["e"] and result.self_reported[
        0
    ].similarity.same_item


def test_different_key_items_never_match_even_with_the_same_words() -> None:
    result = reconcile(
        [finding("f", VENT, item="DU-2", place="除尘器")],
        [entry("e", VENT, item="DU-1", place="除尘器")],
        TODAY,
    )
    assert result.missed and result.ledger_only and not result.self_reported
    # One side without a code falls back on place and description.
    mixed = reconcile(
        [finding("f", VENT, item="DU-2", place="除尘器")], [entry("e", VENT, place="除尘器")], TODAY
    )
    assert [m.entry.id for m in mixed.self_reported] == ["e"]


def test_the_same_item_found_twice_takes_one_ledger_entry_each() -> None:
    findings = [
        finding("f1", "1#高炉主控室未设置固定式一氧化碳报警装置", item="ST-6", place="1#高炉主控室", day=0),
        finding("f2", "转炉休息室一氧化碳报警仪损坏", item="ST-6", place="转炉休息室", day=3),
    ]
    one = reconcile(
        findings, [entry("e1", "高炉主控室没有安装一氧化碳报警器", item="ST-6", place="高炉主控室")], TODAY
    )
    assert [(m.finding.id, m.entry.id) for m in one.self_reported] == [("f1", "e1")]  # the better match
    assert [f.id for f in one.missed] == ["f2"]
    two = reconcile(
        findings,
        [
            entry("e1", "高炉主控室没有安装一氧化碳报警器", item="ST-6", place="高炉主控室"),
            entry("e2", "转炉休息室CO报警仪坏了", item="ST-6", place="转炉休息室"),
        ],
        TODAY,
    )
    assert sorted((m.finding.id, m.entry.id) for m in two.self_reported) == [("f1", "e1"), ("f2", "e2")]
    assert not two.missed and not two.ledger_only and two.reliability == 1.0


def test_one_ledger_entry_for_two_near_duplicate_findings_is_used_once() -> None:
    result = reconcile(
        [finding("f1", VENT, place="除尘器", day=0), finding("f2", VENT_PARAPHRASE, place="除尘器", day=1)],
        [entry("e", VENT, place="除尘器")],
        TODAY,
    )
    assert [(m.finding.id, m.entry.id) for m in result.self_reported] == [("f1", "e")]
    assert [f.id for f in result.missed] == ["f2"]


def test_entry_written_after_the_finding_is_recorded_after_not_self_reported() -> None:
    result = reconcile(
        [finding("f", VENT, place="除尘器")], [entry("late", VENT, place="除尘器", day=2)], TODAY
    )
    assert [f.id for f in result.missed] == ["f"] and not result.self_reported
    assert [(m.finding.id, m.entry.id) for m in result.recorded_after] == [("f", "late")]
    assert not result.ledger_only and result.reliability == 0.0


def test_an_earlier_entry_is_preferred_to_a_later_copy() -> None:
    result = reconcile(
        [finding("f", VENT, place="除尘器")],
        [
            entry("early", VENT_PARAPHRASE, place="除尘器", day=-10),
            entry("copy", VENT, place="除尘器", day=1),
        ],
        TODAY,
    )
    assert [m.entry.id for m in result.self_reported] == ["early"]
    assert [e.id for e in result.ledger_only] == ["copy"]


def test_claimed_fixed_before_the_finding_is_flagged() -> None:
    result = reconcile(
        [finding("f1", VENT, place="除尘器"), finding("f2", GAS_ALARM, place="煤气柜")],
        [
            entry("e1", VENT_PARAPHRASE, place="除尘器", state=S.accepted, claimed=-2),
            entry("e2", GAS_ALARM, place="煤气柜", state=S.reported, claimed=1),  # claimed after the finding
        ],
        TODAY,
    )
    assert [(m.finding.id, m.entry.id) for m in result.claimed_fixed_but_present] == [("f1", "e1")]
    assert [m.finding.id for m in result.self_reported] == ["f2"]
    assert result.reliability == 0.5


def test_overdue_follows_the_hazard_rules() -> None:
    past = TODAY - timedelta(days=4)
    result = reconcile(
        [
            finding("open", VENT, place="除尘器", deadline=past),
            finding("reported", GAS_ALARM, state=S.reported, deadline=past),  # awaiting acceptance
            finding("future", DUST, deadline=TODAY + timedelta(days=1)),
        ],
        [
            entry("ledger", "消防通道堆放杂物", state=S.planned, deadline=past - timedelta(days=2)),
            entry("done", "配电箱未接地", state=S.accepted, deadline=past),
        ],
        TODAY,
    )
    assert [(o.record.id, o.days, o.is_finding) for o in result.overdue] == [
        ("ledger", 6, False),
        ("open", 4, True),
    ]


def test_self_assessment_against_the_inspectors_result() -> None:
    assert compare_item(R.compliant, R.non_compliant) is ItemVerdict.overstated
    assert compare_item(R.not_applicable, R.non_compliant) is ItemVerdict.overstated
    assert compare_item(R.non_compliant, R.compliant) is ItemVerdict.differ
    assert compare_item(R.compliant, R.not_applicable) is ItemVerdict.differ
    assert compare_item(R.compliant, R.compliant) is ItemVerdict.agree
    assert compare_item(R.compliant, None) is ItemVerdict.incomplete
    assert compare_item(R.not_checked, R.compliant) is ItemVerdict.incomplete
    result = reconcile(
        [], [], TODAY,
        self_assessment={"ST-6": R.compliant, "ST-1": R.compliant, "DU-1": R.non_compliant},
        inspector_results={"ST-6": R.non_compliant, "ST-1": R.compliant, "ST-7": R.compliant},
        item_order=["ST-1", "ST-6", "ST-7"],
    )  # fmt: skip
    assert [(i.code, i.verdict) for i in result.items] == [
        ("ST-1", ItemVerdict.agree), ("ST-6", ItemVerdict.overstated), ("ST-7", ItemVerdict.incomplete),
        ("DU-1", ItemVerdict.incomplete),
    ]  # fmt: skip
    assert result.overstated_items == 1 and result.reliability is None


# --- properties ---------------------------------------------------------------------------------------------

FRAGMENTS = ["除尘器", "泄爆口", "朝向", "人员通道", "未设置", "一氧化碳", "报警装置", "煤气柜", "积尘", "清扫",
             "没有", "存在", "问题", "钢丝绳", "，", " "]  # fmt: skip
PLACES = [None, "", "1#高炉主控室", "高炉主控室", "2#高炉主控室", "除尘器", "除尘系统", "生产车间"]
texts = st.lists(st.sampled_from(FRAGMENTS), min_size=0, max_size=6).map("".join)


@st.composite
def records(draw: st.DrawFn) -> tuple[list[Finding], list[LedgerEntry]]:
    def common(prefix: str, n: int) -> dict[str, object]:
        return {
            "id": f"{prefix}{n}", "item_code": draw(st.sampled_from([None, "ST-6", "DU-1", "DU-2"])),
            "place": draw(st.sampled_from(PLACES)), "description": draw(texts),
            "found_at": T0 + timedelta(days=draw(st.integers(-10, 10))), "level": HazardLevel.general,
            "state": draw(st.sampled_from(list(S))),
            "deadline": draw(st.none() | st.dates(TODAY - timedelta(days=20), TODAY + timedelta(days=20))),
        }  # fmt: skip

    findings = [Finding(**common("f", n)) for n in range(draw(st.integers(0, 6)))]  # type: ignore[arg-type]
    entries = [
        LedgerEntry(**common("e", n), claimed_fixed_at=draw(st.none() | st.just(T0)))  # type: ignore[arg-type]
        for n in range(draw(st.integers(0, 6)))
    ]
    return findings, entries


@given(texts, texts)
def test_similarity_is_symmetric_and_bounded(a: str, b: str) -> None:
    assert text_similarity(a, b) == text_similarity(b, a)
    assert 0.0 <= text_similarity(a, b) <= 1.0
    assert place_similarity(a, b) == place_similarity(b, a)


@given(records())
@settings(max_examples=150)
def test_matching_is_one_to_one_and_every_record_has_exactly_one_category(
    data: tuple[list[Finding], list[LedgerEntry]],
) -> None:
    findings, entries = data
    result = reconcile(findings, entries, TODAY)
    finding_ids = [m.finding.id for m in (*result.self_reported, *result.claimed_fixed_but_present)]
    finding_ids += [f.id for f in result.missed]
    assert sorted(finding_ids) == sorted(f.id for f in findings)
    entry_ids = [
        m.entry.id for m in (*result.self_reported, *result.claimed_fixed_but_present, *result.recorded_after)
    ]
    entry_ids += [e.id for e in result.ledger_only]
    assert sorted(entry_ids) == sorted(e.id for e in entries)
    assert {m.finding.id for m in result.recorded_after} <= {f.id for f in result.missed}
    for m in (*result.self_reported, *result.claimed_fixed_but_present):
        assert m.entry.found_at <= m.finding.found_at and pair_score(m.finding, m.entry).compatible
    for m in result.recorded_after:
        assert m.entry.found_at > m.finding.found_at
    if result.reliability is not None:
        assert 0.0 <= result.reliability <= 1.0
    # Greedy leaves no compatible pair unmatched (the matcher's fast path agrees with pair_score).
    later = {m.finding.id for m in result.recorded_after}
    for f in result.missed:
        for e in result.ledger_only:
            if e.found_at <= f.found_at or f.id not in later:
                assert not pair_score(f, e).compatible, (f, e)


@given(records(), st.randoms(use_true_random=False))
@settings(max_examples=100)
def test_the_result_does_not_depend_on_input_order(
    data: tuple[list[Finding], list[LedgerEntry]], rng: object
) -> None:
    findings, entries = data
    shuffled_f, shuffled_e = list(findings), list(entries)
    rng.shuffle(shuffled_f)  # type: ignore[attr-defined]
    rng.shuffle(shuffled_e)  # type: ignore[attr-defined]
    assert reconcile(findings, entries, TODAY) == reconcile(shuffled_f, shuffled_e, TODAY)
    assert match(findings, entries) == match(shuffled_f, shuffled_e)
