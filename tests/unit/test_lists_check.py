"""`liandong lists check`: the shipped lists pass; each kind of broken list fails with its file,
line and a plain message, and nothing loads."""

import csv
import shutil
from collections import Counter

import pytest
import yaml

from contracts.jurisdiction import Level, chain_of
from contracts.lists import DEFAULT_LISTS, ListsInvalid, load_lists
from contracts.lists.loader import load_lists_dir
from services.cli import main
from tests.conftest import SHARED_DATA


@pytest.fixture
def lists_dir(tmp_path):
    target = tmp_path / "lists"
    shutil.copytree(DEFAULT_LISTS, target)
    return target


def append(path, text):
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


def problems(lists_dir):
    with pytest.raises(ListsInvalid) as info:
        load_lists_dir(lists_dir)
    return [str(e) for e in info.value.errors]


def first_matter(lists_dir):
    return yaml.safe_load((lists_dir / "matters.yaml").read_text(encoding="utf-8"))["matters"][0]


def test_shipped_lists_pass_and_print_a_summary(capsys):
    assert main(["lists", "check"]) == 0
    out = capsys.readouterr().out
    assert "are valid" in out
    assert "1301 community" in out


def test_registry_holds_every_unit_of_the_city_and_every_chain_ends_there():
    lists = load_lists()
    with (SHARED_DATA / "divisions" / "huzhou-330500.csv").open(encoding="utf-8") as f:
        source = Counter(row["level"] for row in csv.DictReader(f))
    counts = Counter(u.level for u in lists.units)
    assert counts[Level.city] == source["city"] == 1
    assert counts[Level.district] == source["district_or_county"] == 5
    assert counts[Level.street] == source["street_or_township"] == 72
    assert counts[Level.community] == source["community_or_village"] == 1301
    for unit in lists.units:
        chain = chain_of(unit.code)
        assert chain[-1] == lists.city_code
        assert all(code in lists.units_by_code for code in chain)


def test_every_matter_has_an_owner_at_every_unit_of_the_city():
    lists = load_lists()
    assert len(lists.matters) >= 80
    communities = [u for u in lists.units if u.level is Level.community]
    for matter in lists.matters:
        for unit in communities[::97]:
            ownership = lists.owner(matter.code, unit.code)
            assert ownership.lead.unit_code in chain_of(unit.code)
            assert lists.version


def test_invalid_yaml_names_the_line(lists_dir):
    append(lists_dir / "power.yaml", "\nrules: [unclosed\n")
    [problem] = [p for p in problems(lists_dir) if "not valid YAML" in p]
    assert problem.startswith("power.yaml:")


def test_unknown_unit_code_in_an_override(lists_dir):
    code = first_matter(lists_dir)["code"]
    append(
        lists_dir / "power.yaml",
        f'\n  - matter: {code}\n    unit: "330599001001"\n    lead: urban_management\n    reason: test\n',
    )
    found = problems(lists_dir)
    assert any(
        "power.yaml:" in p and "330599001001" in p and "not in the jurisdiction registry" in p
        for p in found
    ), found


def test_unknown_unit_code_in_the_registry(lists_dir):
    append(
        lists_dir / "units.csv",
        "330502001999,测试社区,community_or_village,330502001000,\n33050200199,坏代码,community_or_village,330502001000,\n",
    )
    found = problems(lists_dir)
    assert any(p.startswith("units.csv:1382:") and "exactly 12 digits" in p for p in found), found


def test_unit_whose_parent_is_missing(lists_dir):
    append(lists_dir / "units.csv", "330502777001,悬空社区,community_or_village,330502777000,\n")
    found = problems(lists_dir)
    assert any(
        "units.csv:1381:" in p and "parent unit 330502777000 is not listed" in p for p in found
    ), found


def test_department_type_with_no_department_at_the_rule_level(lists_dir):
    code = first_matter(lists_dir)["code"]
    text = (lists_dir / "power.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "rules:\n",
        f"rules:\n  - matter: {code}\n    level: street\n    lead: urban_management\n",
        1,
    )
    (lists_dir / "power.yaml").write_text(text, encoding="utf-8")
    found = problems(lists_dir)
    assert any("power.yaml:" in p and "has no department at level street" in p for p in found), (
        found
    )


def test_removed_department_leaves_a_rule_without_owner_somewhere(lists_dir):
    (lists_dir / "departments.yaml").write_text(
        "rename: []\nremove:\n  - id: 330502001000.street_office\n    reason: test\n",
        encoding="utf-8",
    )
    found = problems(lists_dir)
    assert any(
        p.startswith("power.yaml:")
        and "no street_office department at 1 unit(s): 330502001000" in p
        for p in found
    ), found


def test_matter_with_no_owner(lists_dir):
    append(
        lists_dir / "matters.yaml",
        "\n  - code: TEST-ORPHAN\n    name: 无主事项\n    category: 城乡建设\n    demand_types: [complaint]\n"
        "    keywords: [无主]\n    urgency: normal\n    limits: standard\n    handling_level: district\n"
        "    legal_basis: 测试\n",
    )
    found = problems(lists_dir)
    assert any(
        p.startswith("matters.yaml:") and "matter TEST-ORPHAN has no owner" in p for p in found
    ), found


def test_limits_that_do_not_parse(lists_dir):
    text = (lists_dir / "limits.yaml").read_text(encoding="utf-8")
    (lists_dir / "limits.yaml").write_text(
        text.replace("reply: 5 working_days", "reply: five days", 1), encoding="utf-8"
    )
    found = problems(lists_dir)
    assert any(p.startswith("limits.yaml:") and "'five days' is not" in p for p in found), found


def test_duplicate_matter_code(lists_dir):
    matter = first_matter(lists_dir)
    append(
        lists_dir / "matters.yaml",
        f"\n  - code: {matter['code']}\n    name: 重复\n    category: 城乡建设\n    demand_types: [complaint]\n"
        "    keywords: [重复]\n    urgency: normal\n    limits: standard\n    handling_level: district\n"
        "    legal_basis: 测试\n",
    )
    found = problems(lists_dir)
    assert any(f"duplicate matter code {matter['code']}" in p for p in found), found


def test_cycle_of_same_as_rules(lists_dir):
    for code in ("TEST-A", "TEST-B"):
        append(
            lists_dir / "matters.yaml",
            f"\n  - code: {code}\n    name: 循环\n    category: 城乡建设\n    demand_types: [complaint]\n"
            f"    keywords: [循环{code}]\n    urgency: normal\n    limits: standard\n    handling_level: district\n"
            "    legal_basis: 测试\n",
        )
    text = (lists_dir / "power.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "rules:\n",
        "rules:\n  - matter: TEST-A\n    level: district\n    same_as: TEST-B\n"
        "  - matter: TEST-B\n    level: district\n    same_as: TEST-A\n",
        1,
    )
    (lists_dir / "power.yaml").write_text(text, encoding="utf-8")
    found = problems(lists_dir)
    assert any("same_as cycle TEST-A -> TEST-B -> TEST-A" in p for p in found), found


def test_data_list_naming_an_undeclared_field(lists_dir):
    text = (lists_dir / "data_list.yaml").read_text(encoding="utf-8")
    (lists_dir / "data_list.yaml").write_text(
        text.replace("public: [demand_id,", "public: [id_number, demand_id,"), encoding="utf-8"
    )
    found = problems(lists_dir)
    assert any("role public: fields ['id_number'] are not declared" in p for p in found), found


def test_command_lists_every_problem_and_exits_non_zero(lists_dir, capsys):
    append(lists_dir / "units.csv", "330502777001,悬空社区,community_or_village,330502777000,\n")
    text = (lists_dir / "limits.yaml").read_text(encoding="utf-8")
    (lists_dir / "limits.yaml").write_text(
        text.replace("sign: 2 working_hours", "sign: soon", 1), encoding="utf-8"
    )
    assert main(["lists", "check", str(lists_dir)]) == 1
    err = capsys.readouterr().err
    assert "units.csv:1381:" in err
    assert "limits.yaml:" in err
    assert "2 problem(s)" in err


def test_a_co_handler_named_twice_is_refused(lists_dir):
    code = first_matter(lists_dir)["code"]
    text = (lists_dir / "power.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "rules:\n",
        f"rules:\n  - matter: {code}\n    level: city\n    lead: transport\n    co_handlers: [transport]\n",
        1,
    )
    (lists_dir / "power.yaml").write_text(text, encoding="utf-8")
    assert any("named twice" in p for p in problems(lists_dir))


def test_only_the_lead_may_see_the_citizen_in_the_data_list(lists_dir):
    text = (lists_dir / "data_list.yaml").read_text(encoding="utf-8")
    (lists_dir / "data_list.yaml").write_text(
        text.replace("public: [demand_id,", "public: [citizen, demand_id,"), encoding="utf-8"
    )
    assert any("role public may not see the citizen" in p for p in problems(lists_dir))


def test_profiles_written_as_a_list_are_reported_not_crashed_on(lists_dir):
    (lists_dir / "limits.yaml").write_text("profiles:\n  - standard\n", encoding="utf-8")
    assert any(
        p.startswith("limits.yaml") and "'profiles' must map" in p for p in problems(lists_dir)
    )
