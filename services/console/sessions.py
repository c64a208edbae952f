"""Who is signed in: the credential check at sign-in, the signed session cookie that carries
the user's own credential, and the CSRF token every form sends back.

The session is stateless (a signed cookie), so any number of console replicas share it and a
restart signs nobody out. It holds the credential the user signed in with, because every page
calls the services with it: the services, not the console, decide what the user may read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, ValidationError

from services.runtime.api_keys import KEY_PREFIX, ApiKeys
from services.runtime.auth import InvalidToken, Principal, Role, verify_token

SESSION_COOKIE = "ld_session"
CSRF_COOKIE = "ld_csrf"
CSRF_FIELD = "csrf"


class Session(BaseModel):
    """What the session cookie carries (signed, HttpOnly; the browser's script never reads it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    credential: str
    api_key: bool  # sent as X-API-Key, else as a bearer token
    principal: Principal
    expires_at: int  # the session's own end, never later than the token's

    @property
    def role(self) -> Role:
        return self.principal.role

    def headers(self) -> dict[str, str]:
        """How the services are called on this user's behalf."""
        if self.api_key:
            return {"X-API-Key": self.credential}
        return {"Authorization": f"Bearer {self.credential}"}


class CredentialRefused(Exception):
    """Why a credential cannot sign in, in Chinese, for the sign-in page."""


@dataclass(frozen=True)
class CredentialChecker:
    """Checks a credential as the services do: a JWT's signature and expiry, or a known key."""

    secret: str
    api_keys: ApiKeys
    public_key: str | None = None
    issuer: str | None = None

    def principal(self, credential: str, *, now: datetime) -> tuple[Principal, bool]:
        """(the principal, whether it is an API key); raises CredentialRefused."""
        credential = credential.strip()
        if not credential:
            raise CredentialRefused("请输入令牌或 API 密钥")
        if credential.startswith(KEY_PREFIX):
            found = self.api_keys.principal_for(credential)
            if found is None:
                raise CredentialRefused("API 密钥无效或已吊销")
            principal, api_key = found, True
        else:
            try:
                principal = verify_token(
                    credential,
                    secret=self.secret,
                    now=now,
                    public_key=self.public_key,
                    issuer=self.issuer,
                )
            except InvalidToken as exc:
                reason = "令牌已过期" if "expired" in str(exc) else "令牌无效（签名或格式不对）"
                raise CredentialRefused(reason) from exc
            api_key = False
        if principal.role is Role.channel:
            raise CredentialRefused("渠道凭据用于前端系统提交诉求，不能登录控制台")
        return principal, api_key


class SessionCodec:
    """Signs and reads the session cookie and derives CSRF tokens, with one key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def from_secret(cls, secret: str) -> SessionCodec:
        # A key of its own, derived from the shared secret: a session cookie can never pass
        # for a token or a tracking token, nor the other way round.
        return cls(hmac.new(secret.encode(), b"liandong-console-session", hashlib.sha256).digest())

    def _mac(self, purpose: bytes, payload: bytes) -> str:
        digest = hmac.new(self._key, purpose + b":" + payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def encode(self, session: Session) -> str:
        payload = base64.urlsafe_b64encode(session.model_dump_json().encode()).rstrip(b"=")
        return payload.decode() + "." + self._mac(b"session", payload)

    def decode(self, cookie: str | None, *, now: datetime) -> Session | None:
        """The session, or None when the cookie is missing, forged or expired."""
        if not cookie or "." not in cookie:
            return None
        payload, _, mac = cookie.rpartition(".")
        if not hmac.compare_digest(mac.encode(), self._mac(b"session", payload.encode()).encode()):
            return None
        try:
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            session = Session.model_validate(json.loads(raw))
        except (ValueError, ValidationError):
            return None
        if session.expires_at <= now.timestamp():
            return None
        return session

    def csrf_token(self, nonce: str) -> str:
        """The token forms carry: bound to the browser's CSRF cookie, which another site can
        neither read nor set (HttpOnly, SameSite=Strict)."""
        return self._mac(b"csrf", nonce.encode())

    def csrf_matches(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token:
            return False
        return hmac.compare_digest(self.csrf_token(nonce).encode(), token.encode())


def new_nonce() -> str:
    return secrets.token_urlsafe(24)
