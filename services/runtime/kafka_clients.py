"""Liandong's Kafka clients and how they prove who they are: PLAINTEXT for the embedded broker,
or SASL (SCRAM-SHA-512 by default) over plain TCP or TLS with the process's own user.

`KafkaClientSettings` is shared by every service's settings and by `liandong watch` and
`liandong notifications log`; `client_options` turns it into the keyword arguments every
aiokafka producer, consumer and admin client of the code base takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.asyncapi import TASK_PARTITIONS
from contracts.topics import is_tasks_topic

if TYPE_CHECKING:
    from services.runtime.settings import ServiceSettings

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]


class KafkaClientSettings(BaseSettings):
    """The Kafka client security of one process (unprefixed, like KAFKA_BOOTSTRAP_SERVERS)."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    kafka_security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT",
        validation_alias="LIANDONG_KAFKA_SECURITY_PROTOCOL",
        description="PLAINTEXT (the embedded broker), SASL_PLAINTEXT, SASL_SSL or SSL",
    )
    kafka_sasl_mechanism: SaslMechanism = Field(
        default="SCRAM-SHA-512", validation_alias="LIANDONG_KAFKA_SASL_MECHANISM"
    )
    kafka_sasl_username: str | None = Field(
        default=None,
        validation_alias="LIANDONG_KAFKA_SASL_USERNAME",
        description="the process's own Kafka user (a service's name, `dept-...`, `coord-...`)",
    )
    kafka_sasl_password: SecretStr | None = Field(
        default=None, validation_alias="LIANDONG_KAFKA_SASL_PASSWORD"
    )
    kafka_sasl_password_file: Path | None = Field(
        default=None,
        validation_alias="LIANDONG_KAFKA_SASL_PASSWORD_FILE",
        description="a file holding the password (a mounted Secret), instead of the variable",
    )
    kafka_ssl_cafile: Path | None = Field(
        default=None,
        validation_alias="LIANDONG_KAFKA_SSL_CAFILE",
        description="CA certificate(s) the broker's TLS certificate is checked against "
        "(SSL and SASL_SSL; the system's CAs when unset)",
    )

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if not self.kafka_security_protocol.startswith("SASL_"):
            return self
        if not self.kafka_sasl_username:
            raise ValueError(
                f"LIANDONG_KAFKA_SASL_USERNAME is required with "
                f"LIANDONG_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol}"
            )
        if self.kafka_sasl_password is None and self.kafka_sasl_password_file is None:
            raise ValueError(
                "LIANDONG_KAFKA_SASL_PASSWORD or LIANDONG_KAFKA_SASL_PASSWORD_FILE is required "
                f"with LIANDONG_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol}"
            )
        password_file = self.kafka_sasl_password_file
        if password_file is not None and not password_file.is_file():
            raise ValueError(f"LIANDONG_KAFKA_SASL_PASSWORD_FILE: no file {password_file}")
        if self.kafka_ssl_cafile is not None and not self.kafka_ssl_cafile.is_file():
            raise ValueError(f"LIANDONG_KAFKA_SSL_CAFILE: no file {self.kafka_ssl_cafile}")
        return self

    def sasl_password(self) -> str:
        """The password, read from the file each time (a rotated Secret is picked up by the
        next connection's client)."""
        if self.kafka_sasl_password_file is not None:
            return self.kafka_sasl_password_file.read_text(encoding="utf-8").strip()
        return self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else ""


@dataclass(frozen=True, slots=True)
class KafkaConnection:
    """Where a command-line client connects, and as whom (None: PLAINTEXT)."""

    bootstrap_servers: str
    security: KafkaClientSettings | None = None

    def options(self) -> dict[str, Any]:
        """Keyword arguments of an aiokafka client: the servers and the security."""
        security = client_options(self.security) if self.security is not None else {}
        return {"bootstrap_servers": self.bootstrap_servers, **security}


def client_options(settings: KafkaClientSettings) -> dict[str, Any]:
    """Keyword arguments of an aiokafka client for these settings (none for PLAINTEXT)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl.create_default_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        )
    if protocol.startswith("SASL_"):
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.sasl_password(),
        }
    return options


def create_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        **client_options(settings),
        enable_idempotence=settings.kafka_enable_idempotence,
        acks="all",
        linger_ms=5,
    )


async def create_topics(
    bootstrap_servers: str, names: Iterable[str], *, partitions: int = 3, replicas: int = 1,
    configs: Mapping[str, str] | None = None, security: KafkaClientSettings | None = None,
) -> None:  # fmt: skip
    """Create topics that do not exist yet; existing ones are left as they are. A cluster gives
    `replicas` 3 and `min.insync.replicas` 2 in `configs`, as production does. A department's
    task topic gets one partition whatever `partitions` says (contracts/asyncapi.py)."""
    options = client_options(security) if security is not None else {}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **options)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name,
                TASK_PARTITIONS if is_tasks_topic(name) else partitions,
                replicas,
                topic_configs=dict(configs or {}),
            )
            for name in names
            if name not in existing
        ]
        if missing:
            # Another launcher may create them concurrently.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()


async def wait_for_group_coordinator(
    bootstrap_servers: str, *, security: KafkaClientSettings | None = None, timeout_s: float = 600
) -> None:
    """Wait until the broker names a group coordinator. A broker creates `__consumer_offsets`
    on the first request for one, after the topics it is still creating: with a topic per
    department (1,500 partitions for the sample city) that is a minute or more on a loaded
    machine, and until then every consumer group fails with GroupCoordinatorNotAvailable."""
    options = client_options(security) if security is not None else {}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **options)
    await admin.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            try:
                await admin.find_coordinator("liandong-startup-probe")
                return
            except KafkaError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(1)
    finally:
        await admin.close()
