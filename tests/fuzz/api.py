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
from tests.fuzz import consumers

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


def command(url: str, header: list[str], seconds: int) -> list[str]:
    """One schemathesis run against one service. One worker: schemathesis' threads trip
    CPython 3.11's ast.parse (a runtime error of the tool, not of the API)."""
    return [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{url}/openapi.json",
        "--checks",
        CHECKS,
        "--max-time",
        str(seconds),
        "--workers",
        "1",
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


def fuzz_all(
    urls: dict[str, str], role: str, header: list[str], seconds: int, out: Path
) -> list[str]:
    """The four services at once with one role's credential; the runs that found something."""
    started = time.monotonic()
    runs = {}
    for name, url in urls.items():
        log = (out / f"{name}-{role}.txt").open("wb")
        runs[name] = (
            subprocess.Popen(command(url, header, seconds), stdout=log, stderr=subprocess.STDOUT),
            log,
        )
    failed = []
    for name, (process, log) in runs.items():
        process.wait()
        log.close()
        took = time.monotonic() - started
        ok = process.returncode == 0
        verdict = "ok" if ok else f"FAILED (see {out}/{name}-{role}.txt)"
        print(f"{name:15} {role:12} {took:6.1f} s  {verdict}", flush=True)
        if not ok:
            failed.append(f"{name} as {role}")
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=20, help="budget of one run")
    parser.add_argument("--records", type=int, default=300, help="hostile Kafka records")
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
                # thousands of calls with one key from one address: a 429 would hide the rest
                "LIANDONG_RATE_LIMIT_EXEMPT": "127.0.0.1",
                "LIANDONG_RATE_LIMIT_PER_CREDENTIAL": "0",
            }
            processes = ServiceProcesses(env, log_dir=args.out / "logs")
            for name in SERVICES:
                processes.start(name, port=free_port())
            processes.wait_ready(timeout_s=120)
            urls = {name: processes.running[name].url for name in SERVICES}
            failed = [
                failure
                for role, header in roles.items()
                for failure in fuzz_all(urls, role, header, args.seconds, args.out)
            ]
            problems = consumers.run(infra.kafka_bootstrap_servers, count=args.records)
            print(f"consumers: {args.records} hostile records, {len(problems)} problems")
            failed += problems
            failed += [
                f"{name} exited with {p.process.returncode}"
                for name, p in processes.running.items()
                if p.process.poll() is not None
            ]
            processes.wait_ready(timeout_s=60)  # every one still answers, loops alive
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
