"""Apache Kafka on this machine: the broker's jars fetched by Maven (`make kafka`), single KRaft
nodes for `make run` and the tests, a three-node cluster for the failure tests, and the choice
between Apache Kafka and the tansu fallback (docs/kafka.md)."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import structlog
from aiokafka.admin import AIOKafkaAdminClient

from services.runtime.embedded import free_port

log = structlog.get_logger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
POM = REPO_ROOT / "deploy" / "kafka" / "pom.xml"
LOG4J_CONFIG = REPO_ROOT / "deploy" / "kafka" / "log4j2.properties"
DEFAULT_LIBS = REPO_ROOT / ".liandong" / "kafka" / "libs"
RESOLVED_STAMP = ".resolved"  # in the libs directory: the descriptor whose jars were verified
MIN_JAVA = 17  # Apache Kafka 4 brokers need Java 17 or later
INSTALL_JAVA = "install a JDK 17 or later (Debian: apt-get install openjdk-17-jdk-headless)"
INSTALL_MAVEN = "install Maven (Debian: apt-get install maven)"

BrokerKind = Literal["kafka", "tansu"]
T = TypeVar("T")


class BrokerUnavailable(RuntimeError):
    """Apache Kafka cannot run here; the message names what is missing and how to get it."""


def pinned_version() -> str:
    """The Kafka version of deploy/kafka/pom.xml, the one place it is pinned."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(POM).getroot().find("m:properties/m:kafka.version", ns)  # noqa: S314 - ours
    if node is None or not node.text:
        raise BrokerUnavailable(f"{POM} has no kafka.version property")
    return node.text.strip()


def libs_dir() -> Path:
    """Where `make kafka` puts the broker's jars: LIANDONG_KAFKA_LIBS, else .liandong/kafka/libs
    of this checkout (git-ignored)."""
    configured = os.environ.get("LIANDONG_KAFKA_LIBS")
    return Path(configured).resolve() if configured else DEFAULT_LIBS


def _descriptor_digest() -> str:
    """The version and a digest of the descriptor: any change to it resolves the jars again."""
    return f"{pinned_version()} {hashlib.sha256(POM.read_bytes()).hexdigest()[:16]}"


def libs_ready(libs: Path | None = None) -> bool:
    """Whether the descriptor's jars, as it is now, were resolved and verified into `libs`."""
    stamp = (libs or libs_dir()) / RESOLVED_STAMP
    try:
        return stamp.read_text(encoding="utf-8").strip() == _descriptor_digest()
    except OSError:
        return False


def find_java() -> Path:
    """The `java` of JAVA_HOME, else of PATH, if it is Java 17 or later."""
    home = os.environ.get("JAVA_HOME")
    found = Path(home) / "bin" / "java" if home else None
    if found is None or not found.exists():
        which = shutil.which("java")
        if which is None:
            raise BrokerUnavailable(f"no `java` on PATH and no JAVA_HOME: {INSTALL_JAVA}")
        found = Path(which)
    version = java_version(found)
    if version < MIN_JAVA:
        raise BrokerUnavailable(
            f"{found} is Java {version}; Apache Kafka needs {MIN_JAVA} or later: {INSTALL_JAVA} "
            "and put it first on PATH or in JAVA_HOME"
        )
    return found


def java_version(java: Path) -> int:
    """The feature release of a `java` (8 for 1.8.0_x, 17 for 17.0.15)."""
    try:
        result = subprocess.run(  # noqa: S603 - the java found above, no shell
            [str(java), "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BrokerUnavailable(f"{java} -version failed ({exc}): {INSTALL_JAVA}") from exc
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if match is None:
        raise BrokerUnavailable(f"{java} -version printed no version: {INSTALL_JAVA}")
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    return minor if major == 1 else major


def resolve(libs: Path | None = None, *, java: Path | None = None) -> Path:
    """Copy the pinned broker and its runtime dependencies into `libs` with Maven, then check
    that the jars start `kafka.Kafka` and report the pinned version. Idempotent: a verified
    directory of the same version is left as it is."""
    libs = libs or libs_dir()
    if libs_ready(libs):
        return libs
    java = java or find_java()
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerUnavailable(
            f"no `mvn` on PATH to fetch the Kafka broker's jars into {libs}: {INSTALL_MAVEN}"
        )
    version = pinned_version()
    if libs.exists():
        shutil.rmtree(libs)  # another version's jars, or a half-finished copy
    libs.parent.mkdir(parents=True, exist_ok=True)
    log.info("fetching the Kafka broker's jars with Maven", version=version, into=str(libs))
    result = subprocess.run(  # noqa: S603 - Maven on the checked-in descriptor, no shell
        [
            mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
            "-DincludeScope=runtime", f"-DoutputDirectory={libs}",
        ],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise BrokerUnavailable(
            f"Maven could not resolve {POM} (exit {result.returncode}); it needs Maven Central "
            f"or a mirror in ~/.m2/settings.xml:\n{tail}"
        )
    check = subprocess.run(  # noqa: S603 - the jars just resolved
        [str(java), "-cp", f"{libs}/*", "kafka.Kafka", "--version"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    reported = check.stdout.strip().splitlines()[:1]
    if check.returncode != 0 or reported != [version]:
        raise BrokerUnavailable(
            f"the jars in {libs} do not start kafka.Kafka {version} "
            f"(exit {check.returncode}): {(check.stdout + check.stderr).strip()[-500:]}"
        )
    (libs / RESOLVED_STAMP).write_text(_descriptor_digest() + "\n", encoding="utf-8")
    return libs


@dataclass(frozen=True)
class BrokerChoice:
    kind: BrokerKind
    reason: str


def choose_broker(env: Mapping[str, str] | None = None) -> BrokerChoice:
    """LIANDONG_BROKER=kafka|tansu when set; otherwise Apache Kafka when Java 17+ runs here and
    its jars are resolved or Maven can resolve them, else tansu. An explicit `kafka` that cannot
    run raises BrokerUnavailable instead of quietly falling back."""
    env = os.environ if env is None else env
    wanted = env.get("LIANDONG_BROKER", "").strip().lower()
    if wanted not in ("", "kafka", "tansu"):
        raise ValueError("LIANDONG_BROKER must be `kafka` or `tansu`")
    if wanted == "tansu":
        return BrokerChoice("tansu", "LIANDONG_BROKER=tansu")
    try:
        java = find_java()
        if not libs_ready() and shutil.which("mvn") is None:
            raise BrokerUnavailable(
                f"the Kafka broker's jars are not in {libs_dir()} (`make kafka`) and there is "
                f"no `mvn` to fetch them: {INSTALL_MAVEN}"
            )
    except BrokerUnavailable:
        if wanted == "kafka":
            raise
        return BrokerChoice("tansu", _fallback_reason())
    source = "LIANDONG_BROKER=kafka" if wanted else f"Java {java_version(java)} found"
    return BrokerChoice("kafka", f"{source}, broker {pinned_version()} from {libs_dir()}")


def _fallback_reason() -> str:
    try:
        find_java()
    except BrokerUnavailable as exc:
        return f"Apache Kafka cannot run: {exc}"
    return f"Apache Kafka cannot run: no jars in {libs_dir()} and no `mvn` ({INSTALL_MAVEN})"


def _run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, whether or not this thread already
    runs an event loop (the tests' fixtures do)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _describe(bootstrap: str) -> dict[str, Any]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await asyncio.wait_for(admin.start(), timeout=5)
        cluster: dict[str, Any] = await asyncio.wait_for(admin.describe_cluster(), timeout=5)
        return cluster
    finally:
        await admin.close()


def check_reachable(bootstrap: str, *, timeout_s: float = 15) -> None:
    """Raise BrokerUnavailable naming the address when no broker answers there."""
    try:
        _run_async(asyncio.wait_for(_describe(bootstrap), timeout=timeout_s))
    except Exception as exc:
        raise BrokerUnavailable(
            f"no Kafka broker answers at {bootstrap} ({type(exc).__name__}): start it, or "
            "unset KAFKA_BOOTSTRAP_SERVERS to run the embedded broker"
        ) from exc


def cluster_id() -> str:
    """A new KRaft cluster id: 16 random bytes, URL-safe base64 without padding, as
    `kafka-storage random-uuid` prints it. Like Kafka's own Uuid.randomUuid, an id that
    starts with "-" is drawn again: `kafka-storage format --cluster-id -x…` reads it as an
    option and the format fails."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


@dataclass(frozen=True)
class Ports:
    broker: int
    controller: int


class KafkaNode:
    """One KRaft node, broker and controller in one JVM (as deploy/compose.yaml runs it), whose
    log directory is on disk: a restart keeps every topic, offset and committed event."""

    def __init__(
        self,
        node_id: int,
        directory: Path,
        *,
        ports: Ports,
        voters: Mapping[int, int],
        config: Mapping[str, str],
        heap: str = "512m",
    ) -> None:
        self.node_id = node_id
        self.directory = directory.resolve()
        self.ports = ports
        self.voters = dict(voters)  # node id -> controller port
        self.config = dict(config)
        self.heap = heap
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports.broker}"

    @property
    def log_path(self) -> Path:
        return self.directory / "server.log"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def properties(self) -> dict[str, str]:
        voters = ",".join(f"{i}@127.0.0.1:{port}" for i, port in sorted(self.voters.items()))
        return {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": voters,
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.ports.broker},"
                f"CONTROLLER://127.0.0.1:{self.ports.controller}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.ports.broker}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            # topics come from `liandong topics` / the launcher only, as in production
            "auto.create.topics.enable": "false",
            "num.partitions": "3",
            "group.initial.rebalance.delay.ms": "0",
            # the tests' consumers use session timeouts down to 1 s (the default floor is 6 s)
            "group.min.session.timeout.ms": "500",
            **self.config,
        }

    def _write_properties(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / "server.properties"
        path.write_text(
            "".join(f"{k}={v}\n" for k, v in self.properties().items()), encoding="utf-8"
        )
        return path

    def _java(self, java: Path, libs: Path, main: str, *args: str) -> list[str]:
        return [
            str(java),
            f"-Xmx{self.heap}",
            "-XX:+UseSerialGC",  # one small heap: the fastest start and the least memory
            "-XX:TieredStopAtLevel=1",  # C1 only: starts in about half the time
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            f"-Dkafka.logs.dir={self.directory}",
            "-cp",
            f"{libs}/*",
            main,
            *args,
        ]

    def format(self, java: Path, libs: Path, cluster: str) -> None:
        """Format the log directory for `cluster` unless it holds a formatted one already."""
        properties = self._write_properties()
        if (self.data_dir / "meta.properties").exists():
            return
        command = self._java(
            java, libs, "kafka.tools.StorageTool", "format",
            "-t", cluster, "-c", str(properties), "--ignore-formatted",
        )  # fmt: skip
        result = subprocess.run(  # noqa: S603 - our java and jars, no shell
            command, capture_output=True, text=True, timeout=180, check=False
        )
        if result.returncode != 0:
            raise BrokerUnavailable(
                f"formatting {self.data_dir} failed (exit {result.returncode}): "
                f"{(result.stdout + result.stderr).strip()[-800:]}"
            )

    def start(self, java: Path, libs: Path) -> None:
        """Start the JVM; `wait_answering` waits for the broker."""
        if self.running():
            return
        properties = self._write_properties()
        command = self._java(java, libs, "kafka.Kafka", str(properties))
        with self.log_path.open("ab") as out:
            self._process = subprocess.Popen(  # noqa: S603 - our java and jars, no shell
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a terminal's Ctrl-C reaches the launcher only
            )
        log.info("kafka node starting", node=self.node_id, bootstrap=self.bootstrap)

    def check_alive(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            code = self._process.returncode
            self._process = None
            raise BrokerUnavailable(
                f"Kafka node {self.node_id} exited with {code} at start: "
                f"{self.log_tail()} (whole log: {self.log_path})"
            )

    def log_tail(self, lines: int = 8) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self, *, timeout_s: float = 30) -> None:
        """SIGTERM (a controlled shutdown: leadership moves, the log is flushed), then SIGKILL
        if the JVM is still there after `timeout_s`."""
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("kafka node did not stop in time; killed", node=self.node_id)
            self._process.kill()
            self._process.wait()
        self._process = None

    def kill(self) -> None:
        """SIGKILL, as in a crash: no controlled shutdown, no flush."""
        if self._process is None:
            return
        self._process.kill()
        self._process.wait()
        self._process = None


def wait_answering(
    nodes: Sequence[KafkaNode], *, brokers: int, timeout_s: float = 120
) -> dict[str, Any]:
    """Wait until a broker answers a metadata request listing `brokers` brokers; fails early,
    with the log's last lines, when a node's JVM exits."""
    deadline = time.monotonic() + timeout_s
    bootstrap = ",".join(n.bootstrap for n in nodes if n.running())
    last: BaseException | None = None
    while time.monotonic() < deadline:
        for node in nodes:
            node.check_alive()
        if not any(_listening(node.ports.broker) for node in nodes if node.running()):
            time.sleep(0.3)  # the JVM is still starting: no client, whose errors would be logged
            continue
        try:
            cluster = _run_async(_describe(bootstrap))
            if len(cluster["brokers"]) >= brokers:
                return cluster
        except Exception as exc:  # not up yet: refused, timed out, no metadata
            last = exc
        time.sleep(0.5)
    raise BrokerUnavailable(
        f"Apache Kafka at {bootstrap} did not answer within {timeout_s:.0f}s "
        f"({type(last).__name__ if last else 'too few brokers'}); see {nodes[0].log_path}"
    )


class EmbeddedApacheKafka:
    """One KRaft node for `make run` and the tests, its log directory under the state dir: a
    restart keeps every topic; it comes back on the same ports when they are still free."""

    def __init__(self, directory: Path, *, heap: str = "512m") -> None:
        self.directory = directory.resolve()
        self.heap = heap
        self.node: KafkaNode | None = None
        self.java: Path | None = None

    @property
    def bootstrap_servers(self) -> str:
        assert self.node is not None, "not started"
        return self.node.bootstrap

    @property
    def port(self) -> int | None:
        return self.node.ports.broker if self.node is not None else None

    @property
    def log_path(self) -> Path:
        return self.directory / "server.log"

    def _ports(self) -> Ports:
        """The previous run's ports when both are free again, else two new ones."""
        path = self.directory / "ports.json"
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            saved = json.loads(path.read_text(encoding="utf-8"))
            ports = Ports(int(saved["broker"]), int(saved["controller"]))
            if _free(ports.broker) and _free(ports.controller):
                return ports
        ports = Ports(free_port(), free_port())
        while ports.controller == ports.broker:
            ports = Ports(ports.broker, free_port())
        self.directory.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(ports.__dict__), encoding="utf-8")
        return ports

    def start(self, port: int | None = None) -> str:
        """Start, or start again on the same log directory and, when they are still free, the
        same ports (`port` is accepted for EmbeddedKafka's signature: the saved one is it)."""
        if port is not None and port != self.port and self.port is not None:
            raise ValueError(f"this broker listens on {self.port}, not {port}")
        self.java = find_java()
        libs = resolve(java=self.java)
        ports = self._ports()
        node = KafkaNode(
            1,
            self.directory,
            ports=ports,
            voters={1: ports.controller},
            config={
                "offsets.topic.replication.factor": "1",
                "transaction.state.log.replication.factor": "1",
                "transaction.state.log.min.isr": "1",
                "share.coordinator.state.topic.replication.factor": "1",
                "share.coordinator.state.topic.min.isr": "1",
            },
            heap=self.heap,
        )
        node.format(self.java, libs, cluster_id())
        node.start(self.java, libs)
        self.node = node
        try:
            wait_answering([node], brokers=1)
        except BaseException:
            node.stop(timeout_s=10)
            raise
        log.info("embedded apache kafka started", bootstrap_servers=node.bootstrap)
        return node.bootstrap

    def restart(self) -> str:
        """Stop cleanly and start again on the same log directory."""
        self.stop()
        return self.start()

    def stop(self, *, timeout_s: float = 30) -> None:
        if self.node is not None:
            self.node.stop(timeout_s=timeout_s)


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def _free(port: int) -> bool:
    """Whether the JVM can listen on the port: SO_REUSEADDR as it binds, so connections a
    killed broker left in TIME_WAIT do not count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def main() -> int:
    """`make kafka`: resolve and verify the broker's jars; say what is missing if it cannot."""
    import sys

    try:
        java = find_java()
        libs = resolve(java=java)
    except BrokerUnavailable as exc:
        print(f"make kafka: {exc}", file=sys.stderr, flush=True)
        return 1
    jars = len(list(libs.glob("*.jar")))
    print(
        f"Apache Kafka {pinned_version()}: {jars} jars in {libs}, kafka.Kafka starts on "
        f"Java {java_version(java)} ({java})",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
