"""`liandong run`: infrastructure (embedded unless configured), migrations, topics, and the four
services as separate processes; Ctrl-C stops everything in reverse order.

`ServiceProcesses` is also what the end-to-end tests use to start the services."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.lists import load_lists
from contracts.topics import all_topics
from services.runtime.apache_kafka import (
    BrokerUnavailable,
    EmbeddedApacheKafka,
    check_reachable,
    choose_broker,
)
from services.runtime.api_keys import add_key, revoke_keys
from services.runtime.auth import Role, issue_token
from services.runtime.embedded import EmbeddedKafka, EmbeddedPostgres
from services.runtime.kafka import create_topics
from services.runtime.kafka_clients import wait_for_group_coordinator
from services.runtime.migrations import SERVICES, upgrade_all
from services.runtime.settings import Port

DEFAULT_PORTS = {
    "intake": 8000,
    "classification": 8001,
    "routing": 8002,
    "feedback": 8003,
    "console": 8080,
}
# What `liandong run` starts: the services with a schema, then the console (pages, no schema).
RUN = (*SERVICES, "console")


class LauncherSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    kafka_bootstrap_servers: str | None = Field(
        default=None, validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    auth_secret: str | None = Field(default=None, validation_alias="LIANDONG_AUTH_SECRET")
    state_dir: Path = Field(default=Path(".liandong"), validation_alias="LIANDONG_STATE_DIR")
    topic_partitions: int = Field(default=3, ge=1, validation_alias="LIANDONG_TOPIC_PARTITIONS")
    api_keys_file: Path | None = Field(default=None, validation_alias="LIANDONG_API_KEYS_FILE")
    # The services' ports, read here too so a bad one stops `liandong run` before it starts
    # anything (each service checks its own settings again).
    intake_port: Port = Field(
        default=DEFAULT_PORTS["intake"], validation_alias="LIANDONG_INTAKE_PORT"
    )
    classification_port: Port = Field(
        default=DEFAULT_PORTS["classification"], validation_alias="LIANDONG_CLASSIFICATION_PORT"
    )
    routing_port: Port = Field(
        default=DEFAULT_PORTS["routing"], validation_alias="LIANDONG_ROUTING_PORT"
    )
    feedback_port: Port = Field(
        default=DEFAULT_PORTS["feedback"], validation_alias="LIANDONG_FEEDBACK_PORT"
    )
    console_port: Port = Field(
        default=DEFAULT_PORTS["console"], validation_alias="LIANDONG_CONSOLE_PORT"
    )

    def port(self, service: str) -> int:
        port: int = getattr(self, f"{service}_port")
        return port

    @property
    def api_keys_path(self) -> Path:
        """The API keys file: LIANDONG_API_KEYS_FILE, else `api-keys.json` in the state dir."""
        return self.api_keys_file or self.state_dir / "api-keys.json"

    def with_running_system(self) -> LauncherSettings:
        """These settings, with the database URL and broker address a running `liandong run`
        recorded in the state dir filling in the variables that are not set."""
        state = read_run_state(self.state_dir)
        if state is None:
            return self
        return self.model_copy(
            update={
                "database_url": self.database_url or state.get("database_url"),
                "kafka_bootstrap_servers": self.kafka_bootstrap_servers
                or state.get("kafka_bootstrap_servers"),
            }
        )


RUN_STATE_FILE = "run.json"


def write_run_state(state_dir: Path, infra: Infrastructure) -> Path:
    """Record where the running system's infrastructure is, so `liandong` commands in another
    shell find it without DATABASE_URL or KAFKA_BOOTSTRAP_SERVERS. Mode 0600 from the start:
    a configured DATABASE_URL can carry a password."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / RUN_STATE_FILE
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(
            {
                "pid": os.getpid(),
                "database_url": infra.database_url,
                "kafka_bootstrap_servers": infra.kafka_bootstrap_servers,
            },
            f,
        )
    return path


def read_run_state(state_dir: Path) -> dict[str, str] | None:
    """What a running `liandong run` recorded; None when none runs (a launcher that was killed
    leaves the file behind, so its process must still be alive)."""
    path = state_dir / RUN_STATE_FILE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        pid = int(state["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except PermissionError:
        pass  # alive, another user's
    except OSError:
        return None
    return {k: v for k, v in state.items() if k != "pid" and isinstance(v, str)}


def remove_run_state(state_dir: Path) -> None:
    (state_dir / RUN_STATE_FILE).unlink(missing_ok=True)


@dataclass
class Infrastructure:
    database_url: str
    kafka_bootstrap_servers: str
    broker: str  # "kafka" or "tansu" when embedded, "external" for KAFKA_BOOTSTRAP_SERVERS
    broker_reason: str = ""
    _postgres: EmbeddedPostgres | None = None
    _kafka: EmbeddedKafka | EmbeddedApacheKafka | None = None

    @property
    def idempotence(self) -> bool:
        """Whether producers may be idempotent: tansu refuses it, Apache Kafka supports it."""
        return self.broker != "tansu"

    def env(self) -> dict[str, str]:
        env = {
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
        }
        if not self.idempotence:
            env["KAFKA_ENABLE_IDEMPOTENCE"] = "false"
        return env

    def kill_broker(self) -> None:
        """SIGKILL the embedded Apache Kafka, as a crash would (the restart tests)."""
        if isinstance(self._kafka, EmbeddedApacheKafka) and self._kafka.node is not None:
            self._kafka.node.kill()

    def stop(self) -> None:
        if self._kafka is not None:
            self._kafka.stop()
        if self._postgres is not None:
            self._postgres.stop()


def start_infrastructure(
    *,
    database_url: str | None,
    kafka_bootstrap_servers: str | None,
    state_dir: Path,
    durable: bool = True,
    on_fallback: Callable[[str], None] | None = None,
) -> Infrastructure:
    """PostgreSQL and a broker, embedded unless configured. The embedded broker is Apache Kafka
    or tansu as `choose_broker` says; Apache Kafka that fails to start (its jars cannot be
    resolved, its JVM exits) falls back to tansu, telling `on_fallback` why, unless
    LIANDONG_BROKER=kafka asked for it. A configured broker must answer."""
    postgres: EmbeddedPostgres | None = None
    kafka: EmbeddedKafka | EmbeddedApacheKafka | None = None
    broker, reason = "external", "KAFKA_BOOTSTRAP_SERVERS"
    try:
        if kafka_bootstrap_servers is None:
            choice = choose_broker()
            broker, reason = choice.kind, choice.reason
        else:
            check_reachable(kafka_bootstrap_servers)
        if database_url is None:
            postgres = EmbeddedPostgres(state_dir / "pgdata", durable=durable)
            database_url = postgres.start()
        if broker == "kafka":
            kafka = EmbeddedApacheKafka(state_dir / "kafka")
            try:
                kafka_bootstrap_servers = kafka.start()
            except BrokerUnavailable as exc:
                if os.environ.get("LIANDONG_BROKER", "").strip().lower() == "kafka":
                    raise
                broker, reason = "tansu", f"Apache Kafka did not start: {exc}"
                if on_fallback is not None:
                    on_fallback(reason)
        if broker == "tansu":
            kafka = EmbeddedKafka(state_dir / "tansu.log")
            kafka_bootstrap_servers = kafka.start()
    except BaseException:
        if postgres is not None:
            postgres.stop()
        raise
    assert kafka_bootstrap_servers is not None
    return Infrastructure(database_url, kafka_bootstrap_servers, broker, reason, postgres, kafka)


def async_url(database_url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+asyncpg://" + database_url[len(prefix) :]
    return database_url


def prepare(infra: Infrastructure, *, partitions: int, lists_path: Path | None = None) -> list[str]:
    """Migrate every schema and create every topic of the configured city."""
    upgrade_all(async_url(infra.database_url))
    lists = load_lists(lists_path) if lists_path else load_lists()
    names = all_topics(lists)
    asyncio.run(create_topics(infra.kafka_bootstrap_servers, names, partitions=partitions))
    asyncio.run(wait_for_group_coordinator(infra.kafka_bootstrap_servers))
    return names


def _command(name: str) -> list[str]:
    """`liandong serve <service>`, or `liandong escalator` (routing's sweeper on its own)."""
    return ["escalator"] if name == "escalator" else ["serve", name]


@dataclass
class ServiceProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class ServiceProcesses:
    """The four services, each its own `liandong serve` process."""

    def __init__(self, env: Mapping[str, str], *, log_dir: Path | None = None) -> None:
        self.env = dict(env)
        self.log_dir = log_dir
        self.running: dict[str, ServiceProcess] = {}

    def start(
        self,
        name: str,
        *,
        port: int,
        extra_env: Mapping[str, str] | None = None,
        replica: int = 0,
    ) -> ServiceProcess:
        """Start a service; `replica` > 0 starts one more process of it (a consumer group
        shares the partitions among them), known as `<name>-<replica>`."""
        key = f"{name}-{replica}" if replica else name
        env = {**self.env, f"LIANDONG_{name.upper()}_PORT": str(port), **(extra_env or {})}
        output: int | object = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = (self.log_dir / f"{key}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "services.cli", *_command(name)],
            env=env,
            stdout=output,  # type: ignore[arg-type]
            stderr=subprocess.STDOUT if output is not None else None,
            # Its own session: a terminal's Ctrl-C reaches only the launcher, which then stops
            # each service once, with SIGTERM, and waits for its graceful shutdown.
            start_new_session=True,
        )
        self.running[key] = ServiceProcess(key, port, process)
        return self.running[key]

    def wait_ready(self, *, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        for service in self.running.values():
            while True:
                if service.process.poll() is not None:
                    raise RuntimeError(f"{service.name} exited with {service.process.returncode}")
                ready_url = f"{service.url}/health/ready"  # always http://127.0.0.1
                with (
                    contextlib.suppress(OSError),
                    urllib.request.urlopen(ready_url, timeout=2) as response,  # noqa: S310
                ):
                    if response.status == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{service.name} not ready within {timeout_s}s")
                time.sleep(0.2)

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown hook runs, as in a crash."""
        service = self.running.pop(name)
        service.process.kill()
        service.process.wait()

    def stop(self, name: str | None = None, *, timeout_s: float = 20) -> None:
        names = [name] if name else list(self.running)
        for each in names:
            self.running[each].process.send_signal(signal.SIGTERM)
        for each in names:
            service = self.running.pop(each)
            try:
                service.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait()


class StateDirBusy(RuntimeError):
    """Another `liandong run` holds the state directory."""


LOCK_FILE = "lock"


@contextlib.contextmanager
def hold_state_dir(state_dir: Path) -> Iterator[None]:
    """An exclusive lock on `<state_dir>/lock` for as long as the block runs (the kernel drops
    it when the process ends, however it ends): two launchers on one state directory would
    share its PostgreSQL data, secret and API keys, and the second would break the first.
    Raises StateDirBusy, naming the holder's pid, when another process holds it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # not inherited by the services
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise StateDirBusy(
                f"another liandong run holds {state_dir} (pid {holder}); stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _auth_secret(settings: LauncherSettings) -> str:
    if settings.auth_secret:
        return settings.auth_secret
    path = settings.state_dir / "auth-secret"
    if not path.exists():
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


@contextlib.contextmanager
def _interrupts_as_exit() -> Iterator[None]:
    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_system() -> int:
    settings = LauncherSettings()
    try:
        with hold_state_dir(settings.state_dir):
            return _run_system(settings)
    except StateDirBusy as busy:
        print(f"Liandong: {busy}", file=sys.stderr, flush=True)
        return 1


def _run_system(settings: LauncherSettings) -> int:
    """`run_system` while this process holds the state directory."""
    print("Liandong: starting infrastructure ...", flush=True)
    try:
        infra = start_infrastructure(
            database_url=settings.database_url,
            kafka_bootstrap_servers=settings.kafka_bootstrap_servers,
            state_dir=settings.state_dir,
            on_fallback=lambda why: print(f"Liandong: {why}; using tansu instead.", flush=True),
        )
    except (BrokerUnavailable, ValueError) as exc:
        print(f"Liandong: {exc}", file=sys.stderr, flush=True)
        return 1
    processes: ServiceProcesses | None = None
    try:
        with _interrupts_as_exit():
            write_run_state(settings.state_dir, infra)
            topics = prepare(infra, partitions=settings.topic_partitions)
            keys_file = settings.api_keys_path.resolve()
            demo_key = _demo_api_key(keys_file)
            env = {
                **os.environ,
                **infra.env(),
                "LIANDONG_AUTH_SECRET": _auth_secret(settings),
                "LIANDONG_API_KEYS_FILE": str(keys_file),
            }
            env.update(console_env(settings.port))
            processes = ServiceProcesses(env, log_dir=None)
            for name in RUN:
                processes.start(name, port=settings.port(name))
            try:
                processes.wait_ready()
            except RuntimeError as exc:  # a service refused its settings: it said why above
                print(f"Liandong: {exc}; stopping everything.", flush=True)
                return 1
            _print_banner(infra, processes, topics, env["LIANDONG_AUTH_SECRET"], demo_key)
            while all(p.process.poll() is None for p in processes.running.values()):
                time.sleep(0.5)
            print("Liandong: a service exited; stopping everything.", flush=True)
            return 1
    except KeyboardInterrupt:
        print("\nLiandong: stopping ...", flush=True)
        return 0
    finally:
        if processes is not None:
            processes.stop()
        remove_run_state(settings.state_dir)
        infra.stop()
        print("Liandong: stopped.", flush=True)


def console_env(port: Callable[[str], int]) -> dict[str, str]:
    """Where the console finds the four services, and demo mode (its one-click demo users)."""
    env = {
        f"LIANDONG_CONSOLE_{name.upper()}_URL": f"http://127.0.0.1:{port(name)}"
        for name in SERVICES
    }
    return {**env, "LIANDONG_CONSOLE_DEMO": "true"}


DEMO_PRINCIPALS = (
    ("channel hotline (POST /v1/demands)", Role.channel, "hotline"),
    ("department 吴兴区综合行政执法局", Role.department, "330502000000.urban_management"),
    ("department 朝阳街道办事处", Role.department, "330502002000.street_office"),
    ("coordinator 吴兴区", Role.coordinator, "330502000000"),
    ("coordinator 湖州市", Role.coordinator, "330500000000"),
    ("operator (triage queue)", Role.operator, "demo"),
)


DEMO_API_KEY_SUB = "app-demo"


def _demo_api_key(keys_file: Path) -> str:
    """A fresh API key for the demo channel at every start (only its hash is kept, so the
    previous run's key cannot be shown again: it is revoked)."""
    revoke_keys(keys_file, sub=DEMO_API_KEY_SUB)
    key, _entry = add_key(keys_file, sub=DEMO_API_KEY_SUB, role=Role.channel)
    return key


def _broker_label(infra: Infrastructure) -> str:
    if infra.broker == "kafka":
        return f"embedded Apache Kafka, log on disk; {infra.broker_reason}"
    if infra.broker == "tansu":
        return f"embedded tansu, topics in memory; {infra.broker_reason}"
    return "KAFKA_BOOTSTRAP_SERVERS"


def _print_banner(
    infra: Infrastructure,
    processes: ServiceProcesses,
    topics: list[str],
    secret: str,
    demo_key: str,
) -> None:
    lines = [
        "",
        "Liandong is running (Ctrl-C stops everything)",
        f"  PostgreSQL  {infra.database_url}",
        f"  Kafka       {infra.kafka_bootstrap_servers}  ({_broker_label(infra)})",
        f"  topics      {len(topics)} created",
    ]
    for service in processes.running.values():
        if service.name == "console":
            lines.append(f"  {service.name:<15} {service.url}   pages; one-click demo users")
        else:
            lines.append(f"  {service.name:<15} {service.url}   docs {service.url}/docs")
    lines.append("Demo credentials for 湖州市 (12 h; more with `.venv/bin/liandong token ...`):")
    for name, role, subject in DEMO_PRINCIPALS:
        token = issue_token(
            secret,
            sub=f"{role.value}:{subject}",
            role=role,
            now=datetime.now(UTC),
            department_id=subject if role is Role.department else None,
            unit_code=subject if role is Role.coordinator else None,
        )
        lines.append(f"  {name:<34} {token}")
    lines.append(f"  {'channel app-demo (X-API-Key)':<34} {demo_key}")
    lines.append("  (API keys: `.venv/bin/liandong principals add|list|revoke ...`)")
    lines.append("Escalations of the whole city, live:")
    lines.append(
        f"  KAFKA_BOOTSTRAP_SERVERS={infra.kafka_bootstrap_servers} "
        ".venv/bin/liandong watch escalations --unit 330500000000"
    )
    print("\n".join(lines) + "\n", flush=True)
