import json
from datetime import UTC, datetime, timedelta

import pytest

from services.runtime.auth import (
    InvalidToken,
    Role,
    issue_token,
    tracking_token,
    tracking_token_matches,
    verify_token,
)
from services.runtime.logging import mask_text, redact_personal_data

SECRET = "s" * 32
NOW = datetime(2026, 11, 26, 9, tzinfo=UTC)


def test_department_token_round_trips():
    token = issue_token(SECRET, sub="clerk-1", role=Role.department, department_id="d.1", now=NOW)
    principal = verify_token(token, secret=SECRET, now=NOW)
    assert principal.role is Role.department
    assert principal.department_id == "d.1"


def test_tampered_token_is_refused():
    token = issue_token(SECRET, sub="clerk-1", role=Role.department, department_id="d.1", now=NOW)
    signature = token.split(".")[2]
    forged = issue_token(
        "other-secret-xxxxxxxx", sub="x", role=Role.department, department_id="d.2", now=NOW
    )
    with pytest.raises(InvalidToken, match="bad signature"):
        verify_token(".".join([*forged.split(".")[:2], signature]), secret=SECRET, now=NOW)
    with pytest.raises(InvalidToken):
        verify_token("garbage", secret=SECRET, now=NOW)


def test_expired_token_is_refused():
    token = issue_token(SECRET, sub="c", role=Role.operator, now=NOW, ttl=timedelta(minutes=5))
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(token, secret=SECRET, now=NOW + timedelta(minutes=6))


def test_tracking_token_belongs_to_one_demand():
    token = tracking_token(SECRET, "demand-a")
    assert tracking_token_matches(SECRET, "demand-a", token)
    assert not tracking_token_matches(SECRET, "demand-b", token)


def test_phone_and_id_numbers_are_masked_in_free_text():
    text = "我的电话13812345678，身份证330502199001011234"
    masked = mask_text(text)
    assert "13812345678" not in masked
    assert "330502199001011234" not in masked
    assert "138****5678" in masked


def test_personal_fields_are_redacted_from_log_events():
    event = redact_personal_data(
        None,
        "info",
        {
            "event": "x",
            "citizen": {"name": "张三"},
            "phone": "13812345678",
            "nested": {"name": "李四"},
        },
    )
    rendered = json.dumps(event, ensure_ascii=False)
    assert "张三" not in rendered
    assert "李四" not in rendered
    assert "13812345678" not in rendered


def _identity_provider_token(private_key, **claims):
    import jwt

    payload = {"sub": "zhang.clerk", "role": "department", "department_id": "d.1",
               "exp": int((NOW + timedelta(hours=1)).timestamp()), "iss": "https://idp.huzhou.example"}  # fmt: skip
    return jwt.encode({**payload, **claims}, private_key, algorithm="ES256")


def test_tokens_of_the_citys_identity_provider_are_verified_with_its_public_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    token = _identity_provider_token(key)
    principal = verify_token(
        token, secret=SECRET, now=NOW, public_key=public, issuer="https://idp.huzhou.example"
    )
    assert (principal.role, principal.department_id) == (Role.department, "d.1")
    with pytest.raises(InvalidToken, match="not accepted"):
        verify_token(token, secret=SECRET, now=NOW)  # no identity provider configured
    with pytest.raises(InvalidToken):
        verify_token(token, secret=SECRET, now=NOW, public_key=public, issuer="someone-else")
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(InvalidToken, match="bad signature"):
        verify_token(_identity_provider_token(other), secret=SECRET, now=NOW, public_key=public)


def test_the_public_key_is_never_used_as_an_hmac_secret():
    import jwt

    public = "-----BEGIN PUBLIC KEY-----\nMFkw...\n-----END PUBLIC KEY-----\n"
    forged = jwt.encode(
        {"sub": "x", "role": "department", "exp": 9999999999}, "guess", algorithm="HS256"
    )
    with pytest.raises(InvalidToken, match="bad signature"):
        verify_token(forged, secret=SECRET, now=NOW, public_key=public)
