from datetime import UTC, datetime, timedelta

import pytest

from contracts.events import DemandType, Location, Urgency
from contracts.lists import load_lists
from services.classification import rules
from services.routing.dispatch import NoOwner, choose_lead, deadlines

LISTS = load_lists()


def test_noise_in_a_community_goes_to_the_district_law_enforcement_bureau():
    assignment = choose_lead(LISTS, matter_code="ENV-NOISE", unit_code="330502001016")
    assert assignment.department.name == "吴兴区综合行政执法局"
    assert assignment.rule == "power:ENV-NOISE@district->urban_management"
    assert assignment.lists_version == LISTS.version


def test_garbage_goes_directly_to_the_street_of_the_community():
    assignment = choose_lead(LISTS, matter_code="CITY-GARBAGE", unit_code="330502002009")
    assert assignment.department.name == "朝阳街道办事处"
    assignment = choose_lead(LISTS, matter_code="CITY-GARBAGE", unit_code="330502100011")
    assert assignment.department.name == "织里镇人民政府"


def test_unknown_matter_has_no_owner():
    with pytest.raises(NoOwner, match="not in the catalogue"):
        choose_lead(LISTS, matter_code="NOPE", unit_code="330502001016")


def test_demand_above_the_handling_level_has_no_owner():
    with pytest.raises(NoOwner, match="above the handling level"):
        choose_lead(LISTS, matter_code="CITY-GARBAGE", unit_code="330502000000")


def test_deadlines_follow_the_matter_limits_for_the_urgency():
    now = datetime(2026, 11, 26, 9, tzinfo=UTC)
    due = deadlines(LISTS, matter_code="ENV-NOISE", urgency=Urgency.critical, now=now)
    assert due.sign_due_at == now + timedelta(minutes=30)
    assert due.reply_due_at == now + timedelta(hours=24)


def test_keywords_choose_the_matter_and_name_the_rule():
    answer = rules.classify_matter(LISTS, "楼上每天晚上装修噪音太大，严重扰民")
    assert answer.matter.code == "ENV-NOISE"
    assert answer.rule == "keywords:噪音,扰民"
    assert 0 < answer.confidence <= 0.95


def test_text_without_keywords_is_not_guessed():
    with pytest.raises(rules.NotConfident, match="no matter keyword"):
        rules.classify_matter(LISTS, "请问社保卡怎么补办")


def test_tied_keywords_are_not_guessed():
    with pytest.raises(rules.NotConfident, match="several matters"):
        rules.classify_matter(LISTS, "物业不管垃圾")


def test_address_naming_a_community_locates_it():
    answer = rules.locate(LISTS, Location(address="湖州市吴兴区月河社区南街12号"))
    assert answer.unit.code == "330502001016"
    assert answer.how == "address name match"


def test_address_naming_only_a_street_locates_the_street():
    answer = rules.locate(LISTS, Location(address="朝阳街道某路口"))
    assert answer.unit.code == "330502002000"


def test_ambiguous_or_unknown_address_is_not_guessed():
    with pytest.raises(rules.NotConfident, match="several units"):
        rules.locate(LISTS, Location(address="月河社区和车站社区交界处"))
    with pytest.raises(rules.NotConfident, match="names no known"):
        rules.locate(LISTS, Location(address="北京市朝外大街"))


def test_unit_code_outside_the_registry_is_not_accepted():
    with pytest.raises(rules.NotConfident, match="not in the jurisdiction registry"):
        rules.locate(LISTS, Location(unit_code="330503001001"))


def test_critical_cue_overrides_the_matter_urgency():
    matter = LISTS.matters_by_code["HOUSING-PROPERTY"]
    assert rules.urgency_of("小区电梯故障有人被困", matter) == (Urgency.critical, "被困")
    assert rules.urgency_of("物业费太贵", matter) == (Urgency.normal, None)


def test_given_demand_type_wins_over_the_matter_default():
    matter = LISTS.matters_by_code["ENV-NOISE"]
    assert rules.demand_type_of(DemandType.suggestion, matter) is DemandType.suggestion
    assert rules.demand_type_of(None, matter) is DemandType.complaint
