"""`make bench-console`: server time of each console page for a department with 10,000 tasks
and a city with a month of 100,000 demands.

Starts PostgreSQL and the broker (embedded unless DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS are
set), migrates, seeds the month through SQL (tests/bench/console_seed.py), recomputes the
three-rate counters with `liandong rates recompute`, starts the four services and the console
as processes, signs in as each role through the sign-in form, and asks every page `--requests`
times one after another (after `--warm` unmeasured requests). The time of a page is the
console's `Server-Timing` total (from the request's arrival to its answer, the services' calls
included), printed as p50/p95/max per page with the client's wall time beside it and the time
the console waited on each service. Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from services.runtime.auth import Role, issue_token, tracking_token
from services.runtime.embedded import free_port
from services.runtime.launcher import (
    RUN,
    ServiceProcesses,
    console_env,
    prepare,
    start_infrastructure,
)
from tests.bench import console_seed

BENCH_SECRET = "bench-console-" + "x" * 24
CITY = "330500000000"
CSRF = re.compile(r'name="(?P<name>[a-z_]+)" value="(?P<value>[^"]+)"')


async def _signed_in(base: str, token: str) -> httpx.AsyncClient:
    """A client holding the session cookie of the token's principal (the real sign-in form)."""
    client = httpx.AsyncClient(base_url=base, timeout=60)
    page = await client.get("/sign-in")
    match = CSRF.search(page.text)
    assert match is not None, "the sign-in form carries no CSRF field"
    answer = await client.post(
        "/sign-in", data={match["name"]: match["value"], "credential": token, "next": "/"}
    )
    assert answer.status_code == 303, answer.text[:500]
    return client


def _timings(response: httpx.Response) -> dict[str, float]:
    """The console's own measures of the page, from its Server-Timing header: `total`, and the
    time it waited on each service."""
    timing = response.headers.get("server-timing", "")
    return {name: float(ms) for name, ms in re.findall(r"([a-z]+);dur=([0-9.]+)", timing)}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Measured:
    server: list[float] = field(default_factory=list)  # the console's total, ms
    wall: list[float] = field(default_factory=list)  # the client's, ms
    services: dict[str, list[float]] = field(default_factory=dict)  # waited on each, ms
    size: int = 0


async def _measure(
    client: httpx.AsyncClient, paths: Callable[[int], str], *, requests: int, warm: int
) -> Measured:
    measured = Measured()
    for n in range(warm + requests):
        started = time.perf_counter()
        response = await client.get(paths(n))
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{paths(n)} answered {response.status_code}: {response.text[:300]}")
        if n >= warm:
            timings = _timings(response)
            measured.server.append(timings.pop("total", float("nan")))
            measured.wall.append(elapsed)
            for service, ms in timings.items():
                measured.services.setdefault(service, []).append(ms)
            measured.size = len(response.content)
    return measured


async def _bench(console_url: str, seeded: console_seed.Seeded, args: argparse.Namespace) -> None:
    now = datetime.now(UTC)

    def token(role: Role, subject: str) -> str:
        return issue_token(
            BENCH_SECRET,
            sub=f"{role.value}:{subject}",
            role=role,
            now=now,
            department_id=subject if role is Role.department else None,
            unit_code=subject if role is Role.coordinator else None,
        )

    department = await _signed_in(console_url, token(Role.department, console_seed.DEPARTMENT))
    city = await _signed_in(console_url, token(Role.coordinator, CITY))
    operator = await _signed_in(console_url, token(Role.operator, "bench"))
    citizen = httpx.AsyncClient(base_url=console_url, timeout=60)
    tasks, demands = seeded.department_tasks, seeded.demands

    def track(n: int) -> str:
        demand = demands[n % len(demands)]
        return f"/track/{demand}?token={tracking_token(BENCH_SECRET, demand)}"

    pages: list[tuple[str, httpx.AsyncClient, Callable[[int], str]]] = [
        ("workbench /department", department, lambda n: "/department"),
        ("task page", department, lambda n: f"/department/tasks/{tasks[n % len(tasks)]}"),
        ("coordinator desk (city)", city, lambda n: "/coordinator"),
        (
            "open tasks, late (city)",
            city,
            lambda n: f"/coordinator/tasks?late=yes&offset={n % 5 * 50}",
        ),
        ("dashboard (city)", city, lambda n: "/leaders"),
        ("operator desk", operator, lambda n: "/operator"),
        ("citizen page", citizen, track),
    ]
    print(
        f"\nbench-console {now:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}; {args.requests} requests a page after {args.warm} "
        "unmeasured, one at a time"
    )
    print(
        f"  seeded {args.demands:,} demands of the month ({args.department_tasks:,} of them the "
        f"department's tasks) in {seeded.seconds:.1f} s"
    )
    print(
        f"  {'page':<26}{'server p50':>11}{'p95':>8}{'max':>8}{'wall p50':>10}{'p95':>8}"
        f"{'KiB':>6}  p95 <= {args.budget_ms:.0f} ms?  p50 waited on each service"
    )
    for name, client, paths in pages:
        m = await _measure(client, paths, requests=args.requests, warm=args.warm)
        verdict = "yes" if _pct(m.server, 0.95) <= args.budget_ms else "NO"
        waited = ", ".join(f"{s} {_pct(v, 0.5):.0f} ms" for s, v in sorted(m.services.items()))
        print(
            f"  {name:<26}{_pct(m.server, 0.5):>9.0f}ms{_pct(m.server, 0.95):>6.0f}ms"
            f"{max(m.server):>6.0f}ms{_pct(m.wall, 0.5):>8.0f}ms{_pct(m.wall, 0.95):>6.0f}ms"
            f"{m.size / 1024:>6.0f}  {verdict:<16}{waited}"
        )
    for client in (department, city, operator, citizen):
        await client.aclose()


def _recompute_rates(env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "services.cli", "rates", "recompute"], env=env, check=True
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demands", type=int, default=100_000, help="the city's month")
    parser.add_argument("--department-tasks", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=40, help="measured requests a page")
    parser.add_argument("--warm", type=int, default=3, help="unmeasured requests a page first")
    parser.add_argument("--budget-ms", type=float, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="liandong-bench-console-") as state:
        infra = start_infrastructure(
            database_url=os.environ.get("DATABASE_URL"),
            kafka_bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
            state_dir=Path(state),
        )
        processes = None
        try:
            print("migrating and creating the topics ...", flush=True)
            prepare(infra, partitions=1)
            print(f"seeding {args.demands:,} demands through SQL ...", flush=True)
            seeded = asyncio.run(
                console_seed.seed(
                    infra.database_url,
                    demands=args.demands,
                    department_tasks=args.department_tasks,
                    now=datetime.now(UTC),
                )
            )
            env = {
                **os.environ,
                **infra.env(),
                "LIANDONG_AUTH_SECRET": BENCH_SECRET,
                "LIANDONG_LOG_LEVEL": "WARNING",
            }
            print(f"rate counters recomputed in {_recompute_rates(env):.1f} s", flush=True)
            ports = {name: free_port() for name in RUN}
            env.update(console_env(ports.__getitem__))
            env["LIANDONG_CONSOLE_DEMO"] = "false"
            processes = ServiceProcesses(env, log_dir=Path(state) / "logs")
            for name in RUN:
                processes.start(name, port=ports[name])
            processes.wait_ready(timeout_s=120)
            asyncio.run(_bench(processes.running["console"].url, seeded, args))
        finally:
            if processes is not None:
                processes.stop()
            infra.stop()


if __name__ == "__main__":
    main()
