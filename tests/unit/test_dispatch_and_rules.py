from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from contracts.events import DemandType, Location, Urgency
from contracts.jurisdiction import Level
from contracts.lists import LocatedAboveHandlingLevel, NoOwner, load_lists
from services.classification import rules
from services.routing.deadlines import deadlines

LISTS = load_lists()
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_noise_in_a_community_goes_to_the_district_law_enforcement_bureau():
    ownership = LISTS.owner("ENV-NOISE-LIFE", "330502001016")
    assert ownership.lead.name == "吴兴区综合行政执法局"
    assert ownership.rule == "power:ENV-NOISE-LIFE@district->urban_management"
    assert [d.name for d in ownership.co_handlers] == ["湖州市公安局吴兴分局"]


def test_garbage_goes_directly_to_the_street_of_the_community():
    assert LISTS.owner("CITY-GARBAGE", "330502002009").lead.name == "朝阳街道办事处"


def test_a_unit_override_replaces_the_rule_beneath_that_unit_only():
    ownership = LISTS.owner("CITY-GARBAGE", "330502100011")  # a village of 织里镇
    assert ownership.rule == "override:CITY-GARBAGE@330502100000->urban_management"
    assert ownership.lead.name == "吴兴区综合行政执法局"
    assert LISTS.owner("CITY-GARBAGE", "330502101001").lead.name == "八里店镇人民政府"


def test_county_departments_are_named_as_the_county_names_them():
    assert LISTS.owner("ENV-NOISE-LIFE", "330521001001").co_handlers[0].name == "德清县公安局"


def test_unknown_matter_has_no_owner():
    with pytest.raises(NoOwner, match="not in the catalogue"):
        LISTS.owner("NOPE", "330502001016")


def test_demand_located_only_above_the_handling_level_uses_the_rule_of_its_own_level():
    """An address that names only a street (or a district) is routed by the power list's rule at
    that level when the list has one, and the rule string says why."""
    ownership = LISTS.owner("CITY-COMMUNITY-ENV", "330502001000")  # 月河街道, a community matter
    assert (ownership.lead.id, ownership.level) == ("330502001000.street_office", Level.street)
    assert ownership.rule.startswith("power:CITY-COMMUNITY-ENV@street->street_office")
    assert "only a street" in ownership.rule
    assert "community" in ownership.rule
    assert LISTS.owner("CIVIL-NEIGHBOUR", "330502001000").lead.id == "330502001000.street_office"
    garbage = LISTS.owner("CITY-GARBAGE", "330502000000")  # a street matter, a district named
    assert garbage.lead.id == "330502000000.urban_management"
    assert garbage.rule.startswith("power:CITY-GARBAGE@district->urban_management")
    # A district named for a community matter with a district rule: that rule, co-handlers too.
    env = LISTS.owner("CITY-COMMUNITY-ENV", "330502000000")
    assert env.lead.id == "330502000000.urban_management"
    assert env.co_handlers
    # At the handling level and beneath it nothing changes.
    assert LISTS.owner("CITY-COMMUNITY-ENV", "330502001016").rule == (
        "power:CITY-COMMUNITY-ENV@community->community_committee"
    )


def test_demand_above_the_handling_level_with_no_rule_at_its_level_has_no_owner():
    # CIVIL-NEIGHBOUR has community and street rules only: a district alone is not enough.
    with pytest.raises(LocatedAboveHandlingLevel, match="above the handling level"):
        LISTS.owner("CIVIL-NEIGHBOUR", "330502000000")
    with pytest.raises(NoOwner):  # still a NoOwner for every caller
        LISTS.owner("CIVIL-NEIGHBOUR", "330502000000")


def test_owner_answers_are_remembered_and_stay_the_same():
    lists = load_lists()  # a fresh snapshot: nothing asked of it yet
    first = lists.owner("ENV-NOISE-LIFE", "330502001016")
    assert lists.owner("ENV-NOISE-LIFE", "330502001016") is first
    for _ in range(2):  # a remembered refusal is raised again, with its reason
        with pytest.raises(LocatedAboveHandlingLevel, match="above the handling level"):
            lists.owner("CIVIL-NEIGHBOUR", "330502000000")


def test_deadlines_are_remembered_per_start_and_limit():
    now = datetime(2026, 11, 27, 16, tzinfo=SHANGHAI)
    first = deadlines(LISTS, matter_code="ENV-NOISE-LIFE", urgency=Urgency.normal, now=now)
    # the same instant written in UTC is the same start
    again = deadlines(
        LISTS, matter_code="ENV-NOISE-LIFE", urgency=Urgency.normal, now=now.astimezone(UTC)
    )
    assert again == first
    later = deadlines(
        LISTS, matter_code="ENV-NOISE-LIFE", urgency=Urgency.normal, now=now.replace(hour=17)
    )
    assert later.sign_due_at > first.sign_due_at


def test_deadlines_follow_the_matter_limits_and_the_calendar():
    # Friday 27 Nov 2026 16:00 Shanghai, a normal noise complaint: sign within 2 working hours.
    now = datetime(2026, 11, 27, 16, tzinfo=SHANGHAI).astimezone(UTC)
    due = deadlines(LISTS, matter_code="ENV-NOISE-LIFE", urgency=Urgency.normal, now=now)
    assert due.sign_due_at.astimezone(SHANGHAI) == datetime(2026, 11, 30, 9, tzinfo=SHANGHAI)
    assert due.reply_due_at.astimezone(SHANGHAI) == datetime(2026, 12, 4, 16, tzinfo=SHANGHAI)
    assert due.provisional is False
    critical = deadlines(LISTS, matter_code="ENV-NOISE-LIFE", urgency=Urgency.critical, now=now)
    assert (critical.sign_due_at - now).total_seconds() == 30 * 60


def test_keywords_choose_the_matter_and_name_the_rule():
    answer = rules.classify_matter(LISTS, "楼下广场舞音响太大，每晚扰民")
    assert answer.matter.code == "ENV-NOISE-LIFE"
    assert answer.rule == "keywords:广场舞,音响,扰民"
    assert 0 < answer.confidence <= 0.95


def test_the_longest_keyword_wins_over_words_inside_it():
    assert (
        rules.classify_matter(LISTS, "家里天然气泄漏了有很大的味道").matter.code
        == "SAFETY-GAS-LEAK"
    )


def test_text_without_keywords_is_not_guessed():
    with pytest.raises(rules.NotConfident, match="no matter keyword"):
        rules.classify_matter(LISTS, "我想表扬一下你们的工作人员态度很好")


def test_address_naming_district_street_and_community_locates_the_community():
    answer = rules.locate(LISTS, Location(address="吴兴区朝阳街道车站社区3幢"))
    assert answer.unit.code == "330502002009"
    assert answer.confidence == 0.95


def test_a_name_inside_a_longer_name_does_not_count():
    # 朝阳 is also a community and a village elsewhere; the address names 朝阳街道.
    assert rules.locate(LISTS, Location(address="朝阳街道某路口")).unit.code == "330502002000"


def test_ambiguous_or_unknown_address_is_not_guessed():
    with pytest.raises(rules.NotConfident, match="several units"):
        rules.locate(LISTS, Location(address="月河社区和车站社区交界处"))
    with pytest.raises(rules.NotConfident, match="names no known"):
        rules.locate(LISTS, Location(address="北京市朝外大街"))


def test_unit_code_outside_the_registry_is_not_accepted():
    with pytest.raises(rules.NotConfident, match="not in the jurisdiction registry"):
        rules.locate(LISTS, Location(unit_code="330599001001"))


def test_critical_cue_overrides_the_matter_urgency():
    matter = LISTS.matters_by_code["HOUSING-PROPERTY-MGMT"]
    assert rules.urgency_of("小区电梯故障有人被困", matter) == (Urgency.critical, "被困")
    assert rules.urgency_of("物业费太贵", matter) == (matter.urgency, None)


def test_a_demand_without_a_certain_matter_is_critical_on_a_cue_else_normal():
    """What the triage queue stores when the matter is not settled."""
    assert rules.urgency_of("我家楼下燃气泄漏了", None) == (Urgency.critical, "燃气泄漏")
    assert rules.urgency_of("物业费太贵", None) == (Urgency.normal, None)


def test_given_demand_type_wins_over_the_matter_default():
    matter = LISTS.matters_by_code["ENV-NOISE-LIFE"]
    assert rules.demand_type_of(DemandType.suggestion, matter) is DemandType.suggestion
    assert rules.demand_type_of(None, matter) is matter.demand_types[0]
