"""`make fuzz`: schemathesis against the OpenAPI document of every running service, every
operation, once with each role's credential and once with none; zero 5xx and zero responses
breaking their own schema, within a fixed time budget per run.

Run: `python -m tests.fuzz.api --seconds 20` (make fuzz) or `--seconds 4` (make fuzz-short).
The services run as processes on an embedded PostgreSQL and broker (or DATABASE_URL and
KAFKA_BOOTSTRAP_SERVERS), exactly as the end-to-end tests start them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.runtime.api_keys import add_key
from services.runtime.auth import Role, issue_token
from services.runtime.embedded import free_port
from services.runtime.launcher import ServiceProcesses, prepare, start_infrastructure
from services.runtime.migrations import SERVICES

SECRET = "fuzz-secret-" + "x" * 20
CHECKS = "not_a_server_error,response_schema_conformance"
DISTRICT = "330502000000"


def credentials(keys_file: Path) -> dict[str, list[str]]:
    """Role → the header schemathesis sends with every request (none: no header at all)."""
    now = datetime.now(UTC)

    def bearer(role: Role, sub: str, **claims: str) -> list[str]:
        token = issue_token(SECRET, sub=sub, role=role, now=now, ttl=timedelta(hours=2), **claims)
        return ["-H", f"Authorization: Bearer {token}"]

    channel_key, _ = add_key(keys_file, sub="fuzz-open311", role=Role.channel)
    return {
        "channel": ["-H", f"X-API-Key: {channel_key}"],
        "department": bearer(
            Role.department, "clerk", department_id=f"{DISTRICT}.urban_management"
        ),
        "coordinator": bearer(Role.coordinator, "coordinator", unit_code=DISTRICT),
        "operator": bearer(Role.operator, "operator"),
        "none": [],
    }


def fuzz(url: str, name: str, role: str, header: list[str], seconds: int, out: Path) -> bool:
    """One schemathesis run; True when it found nothing."""
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{url}/openapi.json",
        "--checks",
        CHECKS,
        "--max-time",
        str(seconds),
        "--workers",
        "2",
        "--seed",
        "22",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--warnings",
        "off",
        *header,
    ]
    started = time.monotonic()
    with (out / f"{name}-{role}.txt").open("wb") as log:
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
    took = time.monotonic() - started
    verdict = "ok" if result.returncode == 0 else f"FAILED (see {out}/{name}-{role}.txt)"
    print(f"{name:15} {role:12} {took:6.1f} s  {verdict}", flush=True)
    return result.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=20, help="budget of one run")
    parser.add_argument("--out", type=Path, default=Path(".liandong/fuzz"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="liandong-fuzz-") as scratch:
        state = Path(scratch)
        infra = start_infrastructure(
            database_url=os.environ.get("DATABASE_URL"),
            kafka_bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
            state_dir=state,
            durable=False,
        )
        processes = None
        try:
            prepare(infra, partitions=1)
            keys_file = state / "api-keys.json"
            roles = credentials(keys_file)
            env = {
                **os.environ,
                **infra.env(),
                "LIANDONG_AUTH_SECRET": SECRET,
                "LIANDONG_API_KEYS_FILE": str(keys_file),
                "LIANDONG_LOG_LEVEL": "WARNING",
            }
            processes = ServiceProcesses(env, log_dir=args.out / "logs")
            for name in SERVICES:
                processes.start(name, port=free_port())
            processes.wait_ready(timeout_s=120)
            failed = [
                f"{name} as {role}"
                for name in SERVICES
                for role, header in roles.items()
                if not fuzz(processes.running[name].url, name, role, header, args.seconds, args.out)
            ]
        finally:
            if processes is not None:
                processes.stop()
            infra.stop()
    if failed:
        print("schemathesis found failures: " + ", ".join(failed))
        return 1
    print(f"no 5xx, no response off its schema: {len(SERVICES)} services x {len(roles)} roles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
