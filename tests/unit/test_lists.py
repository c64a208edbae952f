import csv
import json

import pytest
from pydantic import ValidationError

from contracts.jurisdiction import level_of
from contracts.lists import SAMPLE_LISTS, Lists, load_lists
from tests.conftest import SHARED_DATA


def test_sample_units_are_real_division_codes_with_their_names():
    path = SHARED_DATA / "divisions" / "huzhou-330500.csv"
    if not path.exists():
        pytest.fail(f"shared data missing at {path}")
    with path.open(encoding="utf-8") as f:
        official = {row["code"]: row for row in csv.DictReader(f)}
    for unit in load_lists().units:
        assert unit.code in official, unit.code
        assert official[unit.code]["name"] == unit.name
        assert official[unit.code]["level"].startswith(level_of(unit.code).value)


def test_every_matter_has_a_power_rule_and_every_rule_a_department_type():
    lists = load_lists()
    assert len(lists.matters) == 5
    for matter in lists.matters:
        rule = lists.power_rule(matter.code, matter.handling_level)
        assert rule is not None
        assert rule.lead_type in lists.department_types


def test_a_list_with_dangling_references_does_not_load():
    doc = json.loads(SAMPLE_LISTS.read_text(encoding="utf-8"))
    doc["departments"].append(
        {
            "id": "ghost.dept",
            "type": "no_such_type",
            "unit_code": "330502009000",
            "name": "幽灵部门",
        }
    )
    doc["power"].append(
        {"matter_code": "NOPE", "level": "district", "lead_type": "urban_management"}
    )
    with pytest.raises(ValidationError) as info:
        Lists.model_validate(doc)
    message = str(info.value)
    assert "unit 330502009000 is not listed" in message
    assert "unknown type no_such_type" in message
    assert "unknown matter NOPE" in message
