"""The console's session cookie, CSRF tokens, credential check and form reasons."""

from datetime import UTC, datetime, timedelta

import pytest

from services.console.schemas import CallForm, EvaluationForm, read_form
from services.console.sessions import CredentialChecker, CredentialRefused, Session, SessionCodec
from services.runtime.api_keys import ApiKeys, add_key
from services.runtime.auth import Principal, Role, issue_token

SECRET = "s" * 40
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _session(expires: datetime) -> Session:
    principal = Principal(sub="department:x", role=Role.department, department_id="x")
    return Session(
        credential="tok", api_key=False, principal=principal, expires_at=int(expires.timestamp())
    )


def test_a_session_cookie_reads_back_until_it_expires():
    codec = SessionCodec.from_secret(SECRET)
    cookie = codec.encode(_session(NOW + timedelta(hours=1)))
    assert codec.decode(cookie, now=NOW) == _session(NOW + timedelta(hours=1))
    assert codec.decode(cookie, now=NOW + timedelta(hours=1)) is None


def test_a_changed_or_foreign_cookie_is_no_session():
    codec = SessionCodec.from_secret(SECRET)
    cookie = codec.encode(_session(NOW + timedelta(hours=1)))
    payload, _, mac = cookie.rpartition(".")
    assert codec.decode(payload[:-2] + "AA." + mac, now=NOW) is None
    assert SessionCodec.from_secret("t" * 40).decode(cookie, now=NOW) is None
    assert codec.decode("garbage", now=NOW) is None


def test_a_csrf_token_matches_only_its_own_browser_nonce():
    codec = SessionCodec.from_secret(SECRET)
    token = codec.csrf_token("nonce-a")
    assert codec.csrf_matches("nonce-a", token)
    assert not codec.csrf_matches("nonce-b", token)
    assert not codec.csrf_matches("nonce-a", None)
    assert not codec.csrf_matches(None, token)


def test_credentials_are_checked_as_the_services_check_them(tmp_path):
    keys_file = tmp_path / "keys.json"
    key, _ = add_key(keys_file, sub="dept-sys", role=Role.department, department_id="d.x")
    channel_key, _ = add_key(keys_file, sub="app", role=Role.channel)
    checker = CredentialChecker(secret=SECRET, api_keys=ApiKeys(keys_file))
    principal, api_key = checker.principal(key, now=NOW)
    assert (principal.department_id, api_key) == ("d.x", True)
    token = issue_token(SECRET, sub="operator:a", role=Role.operator, now=NOW)
    assert checker.principal(token, now=NOW)[0].role is Role.operator
    with pytest.raises(CredentialRefused, match="令牌已过期"):
        checker.principal(token, now=NOW + timedelta(days=1))
    with pytest.raises(CredentialRefused, match="令牌无效"):
        checker.principal(issue_token("o" * 40, sub="a", role=Role.operator, now=NOW), now=NOW)
    with pytest.raises(CredentialRefused, match="已吊销"):
        checker.principal("ld_unknown", now=NOW)
    with pytest.raises(CredentialRefused, match="渠道凭据"):
        checker.principal(channel_key, now=NOW)


def test_a_refused_form_names_each_field_with_a_chinese_reason():
    call, errors = read_form(CallForm, {"content": "吵", "phone": "abc", "demand_type": "x"})
    assert call is None
    assert errors == {
        "content": "至少 5 个字",
        "phone": "格式不正确",
        "place": "必填",
        "demand_type": "请从选项中选择一项",
    }
    evaluation, errors = read_form(EvaluationForm, {"resolved": "yes"})
    assert evaluation is None
    assert errors == {"satisfaction": "必填"}
