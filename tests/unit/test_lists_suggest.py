"""`liandong lists suggest`: power-list changes proposed from history, with counts and examples."""

from contracts.lists import load_lists
from services.classification.lists_suggest import Case, render, suggest


def _cases(matter, answered, n, start=0):
    return [Case(matter, answered, f"#{start + i} 标题{i}") for i in range(n)]


def test_a_matter_mostly_answered_at_another_level_is_proposed_that_level():
    lists = load_lists()
    # CITY-ILLEGAL-BUILD: handled at district (urban_management); its street rule names the
    # street office, which answered 6 of 8.
    history = _cases("CITY-ILLEGAL-BUILD", "street_office", 6) + _cases(
        "CITY-ILLEGAL-BUILD", "urban_management", 2, start=6
    )
    [s] = suggest(lists, history)
    assert s.matter_code == "CITY-ILLEGAL-BUILD"
    assert s.change.startswith("handling_level of CITY-ILLEGAL-BUILD")
    assert "district -> street" in s.change
    assert (s.answered, s.cases) == (6, 8)
    assert s.by_type == (("street_office", 6), ("urban_management", 2))
    assert len(s.examples) == 3
    assert "evidence: 6 of 8" in render([s])


def test_no_rule_for_the_type_proposes_a_new_lead_and_weak_evidence_proposes_nothing():
    lists = load_lists()
    lead = lists.rule("EDU-ENROL", lists.matters_by_code["EDU-ENROL"].handling_level)
    assert lead is not None
    assert lead.lead == "education"
    [s] = suggest(lists, _cases("EDU-ENROL", "public_security", 5))
    assert s.change == "power rule EDU-ENROL@district: lead education -> public_security"
    # Too few cases, no majority, the lead already right, a matter the lists do not know.
    assert suggest(lists, _cases("EDU-ENROL", "public_security", 4)) == []
    split = _cases("EDU-ENROL", "public_security", 3) + _cases("EDU-ENROL", "health", 3, 3)
    assert suggest(lists, split + _cases("EDU-ENROL", "transport", 2, 6)) == []
    assert suggest(lists, _cases("EDU-ENROL", "education", 9)) == []
    assert suggest(lists, _cases("NO-SUCH", "education", 9)) == []


def test_a_type_that_exists_only_at_another_level_is_proposed_as_a_new_rule_there():
    lists = load_lists()
    assert lists.rule("ENV-LIVESTOCK", lists.matters_by_code["ENV-LIVESTOCK"].handling_level)
    [s] = suggest(lists, _cases("ENV-LIVESTOCK", "street_office", 6))
    assert s.change.startswith("add the rule ENV-LIVESTOCK@street: lead street_office")
