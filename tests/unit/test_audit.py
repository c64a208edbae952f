"""`make audit` passes without an audit only when no package could be audited at all."""

from tests.audit import verdict

OK = {"name": "fastapi", "version": "0.165.0", "vulns": []}
VULNERABLE = {
    "name": "jinja2",
    "version": "3.1.0",
    "vulns": [{"id": "GHSA-xxxx", "fix_versions": ["3.1.6"]}],
}
NOT_FOUND = {"name": "aiokafka", "skip_reason": "Dependency not found on PyPI"}


def test_a_known_vulnerability_fails():
    code, lines = verdict("pypi", [OK, VULNERABLE])
    assert code == 1
    assert "jinja2 3.1.0: GHSA-xxxx (3.1.6)" in lines


def test_a_clean_audit_passes():
    assert verdict("pypi", [OK])[0] == 0


def test_a_partial_audit_fails_naming_what_was_not_audited():
    code, lines = verdict("pypi", [OK, NOT_FOUND])
    assert code == 1
    assert any(line.startswith("not audited: aiokafka") for line in lines)


def test_nothing_audited_means_the_service_was_not_reached():
    code, lines = verdict("pypi", [NOT_FOUND])
    assert code is None
    assert "no package could be audited" in lines[0]
