"""One KRaft node with SASL/SCRAM-SHA-512 and the StandardAuthorizer, whose users and ACLs are
those of `contracts.kafka_access.principals`: the broker on which the ACL tests prove, with real
clients, what the Strimzi KafkaUsers deploy (docs/kafka.md, "Who may read what").

Clients and the broker's own inter-broker connections use SCRAM-SHA-512; the controller
listener uses SASL/PLAIN (KRaft controllers cannot take SCRAM, whose credentials live in the
metadata they serve). `admin` is the only super user and is bootstrapped into the storage at
format time; every other user and ACL is created by `deploy/kafka/KafkaAccess.java` through
Kafka's Admin client, as an operator would.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import time
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

import structlog
from aiokafka.admin import AIOKafkaAdminClient

from contracts.kafka_access import KafkaPrincipal
from services.runtime.apache_kafka import (
    REPO_ROOT,
    BrokerUnavailable,
    KafkaNode,
    Ports,
    cluster_id,
    find_java,
    resolve,
)
from services.runtime.embedded import free_port
from services.runtime.kafka_clients import KafkaClientSettings, client_options

log = structlog.get_logger(__name__)

ADMIN = "admin"
ACCESS_TOOL = REPO_ROOT / "deploy" / "kafka" / "KafkaAccess.java"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
SCRAM = "SCRAM-SHA-512"
_PATTERN = {"literal": "LITERAL", "prefix": "PREFIXED"}  # Kafka's PatternType names


def access_lines(principals: Iterable[KafkaPrincipal], passwords: Mapping[str, str]) -> list[str]:
    """The lines of KafkaAccess.java's input: every principal's allow ACLs, and a SCRAM user
    for each principal that has a password."""
    lines = []
    for principal in principals:
        if principal.name in passwords:
            lines.append(f"user\t{principal.name}\t{passwords[principal.name]}")
        for acl in principal.acls:
            for operation in acl.operations:
                lines.append(
                    f"acl\t{principal.name}\t{acl.resource}\t{_PATTERN[acl.pattern]}\t"
                    f"{acl.name}\t{operation}"
                )
    return lines


def _jaas(module: str, user: str, password: str, extra: str = "") -> str:
    return f'{module} required username="{user}" password="{password}"{extra};'


class SecureKafka:
    """A SASL-only single node; `client(name)` is the settings of one principal's clients."""

    def __init__(
        self,
        directory: Path,
        principals: Iterable[KafkaPrincipal],
        *,
        users: Collection[str] | None = None,
    ) -> None:
        """Every principal's ACLs; SCRAM users for `users` only when given (each user's salted
        password costs the Admin client 4,096 rounds of PBKDF2: about 0.1 s on this machine,
        minutes for all the principals of a city)."""
        self.directory = directory.resolve()
        self.principals = {p.name: p for p in principals}
        named = self.principals if users is None else [u for u in self.principals if u in users]
        self.passwords = {name: secrets.token_urlsafe(18) for name in [ADMIN, *named]}
        self.node: KafkaNode | None = None

    @property
    def bootstrap_servers(self) -> str:
        assert self.node is not None, "not started"
        return self.node.bootstrap

    def client(self, name: str) -> KafkaClientSettings:
        """The client security settings of user `name` (`admin` included)."""
        return KafkaClientSettings(
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_mechanism=SCRAM,
            kafka_sasl_username=name,
            kafka_sasl_password=self.passwords[name],
        )

    def _config(self, ports: Ports) -> dict[str, str]:
        admin = self.passwords[ADMIN]
        plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
        return {
            "listeners": (
                f"SASL_PLAINTEXT://127.0.0.1:{ports.broker},CONTROLLER://127.0.0.1:{ports.controller}"
            ),
            "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{ports.broker}",
            "inter.broker.listener.name": "SASL_PLAINTEXT",
            "listener.security.protocol.map": (
                "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
            ),
            "sasl.enabled.mechanisms": SCRAM,
            "sasl.mechanism.inter.broker.protocol": SCRAM,
            "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": _jaas(
                scram, ADMIN, admin
            ),
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": _jaas(
                plain, ADMIN, admin, f' user_{ADMIN}="{admin}"'
            ),
            "authorizer.class.name": AUTHORIZER,
            "super.users": f"User:{ADMIN}",
            "allow.everyone.if.no.acl.found": "false",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
        }

    def start(self, *, timeout_s: float = 120) -> str:
        """Format, start, wait for the admin to be answered, then create every user and ACL."""
        java = find_java()
        libs = resolve(java=java)
        ports = Ports(free_port(), free_port())
        while ports.controller == ports.broker:
            ports = Ports(ports.broker, free_port())
        scram = f"{SCRAM}=[name={ADMIN},password={self.passwords[ADMIN]}]"
        node = KafkaNode(
            1,
            self.directory,
            ports=ports,
            voters={1: ports.controller},
            config=self._config(ports),
            format_args=("--add-scram", scram),
        )
        node.format(java, libs, cluster_id())
        node.start(java, libs)
        self.node = node
        try:
            self._wait_answering(timeout_s)
            self._grant(java, libs)
        except BaseException:
            node.stop(timeout_s=10)
            raise
        log.info("sasl kafka started", bootstrap_servers=node.bootstrap, users=len(self.passwords))
        return node.bootstrap

    def _wait_answering(self, timeout_s: float) -> None:
        assert self.node is not None
        deadline = time.monotonic() + timeout_s
        while True:
            self.node.check_alive()
            try:
                asyncio.run(self._describe())
                return
            except Exception as exc:  # not up yet
                if time.monotonic() > deadline:
                    raise BrokerUnavailable(
                        f"SASL Kafka at {self.node.bootstrap} did not answer within "
                        f"{timeout_s:.0f}s ({type(exc).__name__}); see {self.node.log_path}"
                    ) from exc
                time.sleep(0.5)

    async def _describe(self) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers,
            request_timeout_ms=5000,
            **client_options(self.client(ADMIN)),
        )
        try:
            await asyncio.wait_for(admin.start(), timeout=5)
            await asyncio.wait_for(admin.describe_cluster(), timeout=5)
        finally:
            await admin.close()

    def _grant(self, java: Path, libs: Path) -> None:
        """Every user and ACL of the principals, through Kafka's own Admin client."""
        properties = self.directory / "admin.properties"
        access = self.directory / "access.tsv"
        jaas = _jaas(
            "org.apache.kafka.common.security.scram.ScramLoginModule", ADMIN, self.passwords[ADMIN]
        )
        properties.write_text(
            f"bootstrap.servers={self.bootstrap_servers}\nsecurity.protocol=SASL_PLAINTEXT\n"
            f"sasl.mechanism={SCRAM}\nsasl.jaas.config={jaas}\n"
            # a loaded 2-core machine: the defaults (30 s, 60 s) time out while the JVMs warm up
            "request.timeout.ms=120000\ndefault.api.timeout.ms=300000\n",
            encoding="utf-8",
        )
        lines = access_lines(self.principals.values(), self.passwords)
        access.write_text("\n".join(lines) + "\n", encoding="utf-8")
        properties.chmod(0o600)
        access.chmod(0o600)
        result = subprocess.run(  # noqa: S603 - our java, jars and source, no shell
            [str(java), "-cp", f"{libs}/*", str(ACCESS_TOOL), str(properties), str(access)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerUnavailable(
                f"{ACCESS_TOOL.name} failed (exit {result.returncode}): "
                f"{(result.stdout + result.stderr).strip()[-800:]}"
            )
        log.info("kafka users and acls created", result=result.stdout.strip())

    def stop(self) -> None:
        if self.node is not None:
            self.node.stop(timeout_s=30)
            self.node = None
