"""The lists' governance parts: whom a coordinator may summon across levels (the power list's
owners and its summons list) and the supervision chain a late department climbs; a broken
entry of either is refused with its file, line and reason."""

import shutil

import pytest

from contracts.lists import DEFAULT_LISTS, ListsInvalid, load_lists
from contracts.lists.loader import load_lists_dir

COMMUNITY = "330502001016"  # a community of 吴兴区 龙泉街道
STREET, DISTRICT, CITY = "330502001000", "330502000000", "330500000000"
LISTS = load_lists()


@pytest.fixture
def lists_dir(tmp_path):
    target = tmp_path / "lists"
    shutil.copytree(DEFAULT_LISTS, target)
    return target


def _add_summons(lists_dir, entries):
    """Entries added to the summons list (the section before the overrides of power.yaml)."""
    path = lists_dir / "power.yaml"
    text = path.read_text(encoding="utf-8")
    at = text.index("\noverrides:")
    path.write_text(text[:at] + "\n" + entries + text[at:], encoding="utf-8")


def _problems(lists_dir):
    with pytest.raises(ListsInvalid) as info:
        load_lists_dir(lists_dir)
    return [str(e) for e in info.value.errors]


def test_a_street_may_summon_the_district_bureaus_the_summons_list_names_for_a_matter():
    summonable = LISTS.summonable("CIVIL-NEIGHBOUR", COMMUNITY)
    assert summonable[f"{DISTRICT}.urban_management"] == "summons:CIVIL-NEIGHBOUR@district"
    assert summonable[f"{DISTRICT}.public_security"] == "summons:CIVIL-NEIGHBOUR@district"
    # the owners on the demand's chain, whatever their level
    assert summonable[f"{COMMUNITY}.community_committee"] == "power:CIVIL-NEIGHBOUR@community"
    assert summonable[f"{STREET}.street_office"] == "power:CIVIL-NEIGHBOUR@street"
    assert f"{DISTRICT}.education" not in summonable


def test_every_owner_of_a_matter_on_the_demands_chain_may_be_summoned():
    summonable = LISTS.summonable("ENV-NOISE-LIFE", COMMUNITY)
    assert summonable[f"{DISTRICT}.urban_management"] == "power:ENV-NOISE-LIFE@district"
    assert summonable[f"{DISTRICT}.public_security"] == "power:ENV-NOISE-LIFE@district"
    assert summonable[f"{DISTRICT}.ecology_environment"] == "summons:ENV-NOISE-LIFE@district"
    # another district's bureau owns nothing here
    assert "330503000000.urban_management" not in summonable


def test_a_late_district_bureau_climbs_to_its_districts_sub_centre_first_then_the_city():
    assert LISTS.supervision_chain(DISTRICT) == [DISTRICT, CITY]
    assert LISTS.supervision_chain(STREET) == [DISTRICT, CITY]
    assert LISTS.supervision_chain(COMMUNITY) == [STREET, DISTRICT, CITY]
    assert LISTS.supervision_chain(CITY) == [CITY]


def test_without_a_supervision_section_a_district_bureau_climbs_to_the_city(lists_dir):
    manifest = lists_dir / "lists.yaml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text[: text.index("supervision:")], encoding="utf-8")
    lists = load_lists_dir(lists_dir)
    assert lists.supervision_chain(DISTRICT) == [CITY]
    assert lists.supervision_chain(COMMUNITY) == [STREET, DISTRICT, CITY]


def test_a_supervision_chain_going_down_or_stopping_short_of_the_city_is_refused(lists_dir):
    manifest = lists_dir / "lists.yaml"
    text = manifest.read_text(encoding="utf-8")
    text = text.replace("street: [district, city]", "street: [community, city]")
    text = text.replace("district: [district, city]", "district: [district]")
    manifest.write_text(text, encoding="utf-8")
    found = _problems(lists_dir)
    assert any("lists.yaml" in p and "supervision street" in p for p in found), found
    assert any("supervision district" in p and "end at city" in p for p in found), found


def test_a_summons_entry_with_an_unknown_type_a_wrong_level_or_no_reason_is_refused(lists_dir):
    _add_summons(
        lists_dir,
        "  - {matter: CIVIL-NEIGHBOUR, level: street, departments: [urban_management],"
        " reason: 示例}\n"
        "  - {matter: CIVIL-ELDERLY, level: district, departments: [no_such_type], reason: 示例}\n"
        "  - {matter: CIVIL-HARDSHIP, level: district, departments: [civil_affairs]}\n"
        "  - {matter: NO-SUCH-MATTER, level: district, departments: [civil_affairs], reason: x}\n"
        "  - {matter: CIVIL-NEIGHBOUR, level: district, departments: [health], reason: 重复}\n",
    )
    found = _problems(lists_dir)
    expected = [
        "summons CIVIL-NEIGHBOUR@street: department type urban_management has no department"
        " at level street",
        "summons CIVIL-ELDERLY@district: unknown department type 'no_such_type'",
        "summons CIVIL-HARDSHIP@district: give the 'reason'",
        "summons NO-SUCH-MATTER@district: unknown matter",
        "summons CIVIL-NEIGHBOUR@district: duplicate entry",
    ]
    for message in expected:
        assert any(message in p and p.startswith("power.yaml:") for p in found), (message, found)
