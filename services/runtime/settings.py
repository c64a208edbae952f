"""Settings common to every service. Each service subclasses with its own env prefix.

The infrastructure variables are shared and unprefixed (`DATABASE_URL`,
`KAFKA_BOOTSTRAP_SERVERS`, `LIANDONG_AUTH_SECRET`), so one environment drives all services.
Nothing else in the code base reads `os.environ`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
]
_POSTGRESQL_SCHEMES = ("postgresql+asyncpg://", "postgresql://", "postgres://")
# Subclasses that change a default must keep the bound: `port: Port = 8001`.
Port = Annotated[int, Field(ge=1, le=65535)]


class HttpLimitSettings(BaseSettings):
    """Abuse limits every HTTP process shares (services/runtime/limits.py); one environment
    sets them for all, so they are unprefixed."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    rate_limit_per_address: int = Field(
        default=120,
        ge=0,
        validation_alias="LIANDONG_RATE_LIMIT_PER_ADDRESS",
        description="requests a minute one client address may send to the public endpoints, "
        "per process (0: no limit)",
    )
    rate_limit_per_credential: int = Field(
        default=60,
        ge=0,
        validation_alias="LIANDONG_RATE_LIMIT_PER_CREDENTIAL",
        description="requests a minute one tracking token or key may send to them (0: none)",
    )
    rate_limit_exempt: str = Field(
        default="",
        validation_alias="LIANDONG_RATE_LIMIT_EXEMPT",
        description="comma-separated client addresses not limited per address (the console, "
        "an ingress that does not forward the client's address)",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        validation_alias="LIANDONG_FORWARDED_ALLOW_IPS",
        description="proxies whose X-Forwarded-For names the client (uvicorn's setting)",
    )
    cors_allow_origins: str = Field(
        default="",
        validation_alias="LIANDONG_CORS_ALLOW_ORIGINS",
        description="comma-separated origins allowed cross-site; empty: CORS off",
    )
    max_headers: int = Field(default=64, ge=8, validation_alias="LIANDONG_MAX_HEADERS")
    max_header_bytes: int = Field(
        default=16 * 1024, ge=1024, validation_alias="LIANDONG_MAX_HEADER_BYTES"
    )
    max_json_depth: int = Field(default=32, ge=2, validation_alias="LIANDONG_MAX_JSON_DEPTH")
    header_timeout_s: float = Field(
        default=10.0, gt=0, validation_alias="LIANDONG_HEADER_TIMEOUT_S"
    )
    body_timeout_s: float = Field(default=30.0, gt=0, validation_alias="LIANDONG_BODY_TIMEOUT_S")
    keep_alive_timeout_s: int = Field(
        default=5, ge=1, validation_alias="LIANDONG_KEEP_ALIVE_TIMEOUT_S"
    )
    max_connections: int = Field(
        default=0, ge=0, validation_alias="LIANDONG_MAX_CONNECTIONS", description="0: no limit"
    )


class ServiceSettings(HttpLimitSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    database_url: str = Field(
        validation_alias="DATABASE_URL",
        description="PostgreSQL URL, e.g. postgresql://user:pass@host:5432/liandong",
    )
    kafka_bootstrap_servers: str = Field(
        validation_alias="KAFKA_BOOTSTRAP_SERVERS",
        min_length=1,
        description="host:port[,host:port]",
    )
    kafka_enable_idempotence: bool = Field(
        default=True,
        validation_alias="KAFKA_ENABLE_IDEMPOTENCE",
        description="idempotent producer (off for the embedded broker, which refuses it)",
    )
    auth_secret: SecretStr = Field(
        validation_alias="LIANDONG_AUTH_SECRET",
        min_length=32,
        description="HMAC key (HS256, at least 32 characters) of bearer and tracking tokens",
    )
    jwt_public_key: str | None = Field(
        default=None,
        validation_alias="LIANDONG_JWT_PUBLIC_KEY",
        description="PEM public key of the city's identity provider (RS256/ES256/EdDSA tokens)",
    )
    jwt_issuer: str | None = Field(
        default=None, validation_alias="LIANDONG_JWT_ISSUER", description="required `iss` of those"
    )
    api_keys_file: Path = Field(
        default=Path(".liandong/api-keys.json"),
        validation_alias="LIANDONG_API_KEYS_FILE",
        description="hashes of the API keys and their claims (`liandong principals add`)",
    )
    log_level: LogLevel = Field(default="INFO", validation_alias="LIANDONG_LOG_LEVEL")
    otel_enabled: bool = Field(
        default=False,
        validation_alias="LIANDONG_OTEL_ENABLED",
        description="send OpenTelemetry traces (HTTP, Kafka, SQL) to LIANDONG_OTEL_ENDPOINT",
    )
    otel_endpoint: str = Field(
        default="http://127.0.0.1:4318",
        validation_alias="LIANDONG_OTEL_ENDPOINT",
        pattern=r"^https?://",
        description="OTLP/HTTP base URL of a collector (spans go to <url>/v1/traces)",
    )
    otel_sample_ratio: float = Field(
        default=1.0,
        ge=0,
        le=1,
        validation_alias="LIANDONG_OTEL_SAMPLE_RATIO",
        description="share of new traces kept (by trace id); a trace's later spans follow",
    )
    otel_export_delay_ms: int = Field(
        default=5_000,
        ge=10,
        validation_alias="LIANDONG_OTEL_EXPORT_DELAY_MS",
        description="spans are buffered and sent at most this long after they end",
    )

    host: str = "127.0.0.1"
    port: Port = 8000
    max_body_bytes: int = Field(
        default=64 * 1024, gt=0, description="larger request bodies get 413"
    )

    consumer_max_attempts: int = Field(
        default=5, ge=1, description="tries of a failing handler before the dead-letter topic"
    )
    consumer_retry_backoff_ms: int = Field(default=200, ge=0)
    consumer_session_timeout_ms: int = Field(default=10_000, ge=1_000)
    consumer_partitions_in_flight: int = Field(
        default=4,
        ge=1,
        description="partitions of one poll processed side by side, each holding a database "
        "connection (the pool has 5, plus 10 on demand)",
    )
    consumer_max_poll_records: int = Field(
        default=500,
        ge=1,
        description="records per poll, over all partitions; a partition's share of a poll is "
        "one transaction, so larger polls mean fewer round trips per event",
    )
    relay_interval_ms: int = Field(default=500, ge=10, description="outbox poll when idle")
    relay_batch_size: int = Field(
        default=1000, ge=1, description="outbox rows published per relay transaction"
    )
    metrics_refresh_ms: int = Field(
        default=5_000,
        ge=100,
        description="how often consumer lag and the outbox backlog are measured for /metrics",
    )

    fault_pause_before_offset_commit_s: float = Field(
        default=0.0,
        ge=0,
        description="fault injection for tests: sleep between the database commit and the "
        "offset commit, so a crash there can be shown to change nothing",
    )

    @field_validator("database_url")
    @classmethod
    def _postgresql(cls, value: str) -> str:
        if not value.startswith(_POSTGRESQL_SCHEMES):
            raise ValueError("must be a postgresql:// URL")
        return value

    @property
    def async_database_url(self) -> str:
        """The URL with the asyncpg driver, whatever scheme the operator gave."""
        url = self.database_url
        for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        raise ValueError("DATABASE_URL must be a postgresql:// URL")


def _variable(model: type[BaseModel] | None, name: str) -> str:
    """The environment variable a settings field is read from: its alias, else the model's
    env_prefix and the field name, upper case (pydantic-settings' default)."""
    field = model.model_fields.get(name) if model is not None else None
    if field is not None:
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            alias = alias.choices[0]
        if isinstance(alias, str):
            return alias.upper()
        prefix = str(model.model_config.get("env_prefix", "")) if model is not None else ""
        return (prefix + name).upper()
    return name.upper()  # already an alias (pydantic reports an aliased field by its alias)


def _settings_class(title: str) -> type[BaseSettings] | None:
    pending: list[type[BaseSettings]] = [BaseSettings]
    while pending:
        cls = pending.pop()
        if cls.__name__ == title and cls is not BaseSettings:
            return cls
        pending.extend(cls.__subclasses__())
    return None


def describe_validation_error(exc: ValidationError) -> tuple[bool, list[str]]:
    """(is a settings error, one `VARIABLE: reason` line per error). Never the value given:
    settings carry secrets (LIANDONG_AUTH_SECRET, a DATABASE_URL's password), and pydantic's
    own text (`input_value=...`) would print them."""
    model = _settings_class(exc.title)
    lines = []
    for error in exc.errors(include_url=False, include_context=False):
        loc = error["loc"]
        name = str(loc[0]) if loc else ""
        where = _variable(model, name) if model is not None else ".".join(map(str, loc))
        reason = "is not set" if error["type"] == "missing" else error["msg"]
        reason = reason.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        given = error.get("input")
        if isinstance(given, str) and given:  # a validator that quoted what it was given
            reason = reason.replace(repr(given), "(the value given)")
        lines.append(f"{where or exc.title}: {reason}")
    return model is not None, lines
