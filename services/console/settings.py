"""Console settings (env prefix LIANDONG_CONSOLE_): its port, the four services' base URLs,
the session cookie, and demo mode."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.runtime.settings import HttpLimitSettings, LogLevel, Port


class ConsoleSettings(HttpLimitSettings):
    model_config = SettingsConfigDict(
        env_prefix="LIANDONG_CONSOLE_", extra="ignore", populate_by_name=True, frozen=True
    )

    host: str = "127.0.0.1"
    port: Port = 8080
    intake_url: str = Field(default="http://127.0.0.1:8000", description="intake's base URL")
    classification_url: str = Field(default="http://127.0.0.1:8001")
    routing_url: str = Field(default="http://127.0.0.1:8002")
    feedback_url: str = Field(default="http://127.0.0.1:8003")
    request_timeout_s: float = Field(default=10, gt=0, description="per call to a service")

    # The console checks a credential at sign-in the way the services do (signature, expiry,
    # known API key), so it shares their secret and key file; the services check it again on
    # every call, so authorisation stays with them.
    auth_secret: SecretStr = Field(validation_alias="LIANDONG_AUTH_SECRET", min_length=32)
    jwt_public_key: str | None = Field(default=None, validation_alias="LIANDONG_JWT_PUBLIC_KEY")
    jwt_issuer: str | None = Field(default=None, validation_alias="LIANDONG_JWT_ISSUER")
    api_keys_file: Path = Field(
        default=Path(".liandong/api-keys.json"), validation_alias="LIANDONG_API_KEYS_FILE"
    )
    log_level: LogLevel = Field(default="INFO", validation_alias="LIANDONG_LOG_LEVEL")

    session_hours: float = Field(
        default=8, gt=0, le=24, description="a session ends after this long (or with its token)"
    )
    secure_cookies: bool = Field(
        default=False,
        description="mark the session cookie Secure: set it when the console is served over TLS",
    )
    demo: bool = Field(
        default=False,
        description="offer one-click demo users of every role on the sign-in page (`make run`); "
        "never in production: anyone reaching the page could sign in",
    )
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
