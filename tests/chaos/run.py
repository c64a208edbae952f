"""`make chaos`: the whole system on loopback under a steady stream of real demands while each
service is killed, PostgreSQL and the broker restart, consumers pause and poison arrives; then,
after a drain, the counts that must be zero (docs/reliability.md).

Run: `python -m tests.chaos.run` (make chaos) or `--short` (make chaos-short, CI). Exits 1 when
a count that must be zero is not, or a fault could not be done.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.chaos.check import Findings, run_check, states, unsettled, where_stuck
from tests.chaos.faults import Fault, Poison, faults, inject
from tests.chaos.load import Department, Load, bring_timers_forward
from tests.chaos.system import ChaosSystem


class Traffic:
    """The load, the department's round and the fast timers, on an event loop of their own
    thread while the main thread does the faults."""

    def __init__(self, system: ChaosSystem, rate: float, seed: int) -> None:
        self.load = Load(system.url("intake"), rate, seed=seed)
        self.department = Department(
            system.database_url,
            [system.url("routing"), system.url("routing-1")],
            system.url("feedback"),
            self.load,
        )
        self.database_url = system.database_url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()
        self.posting = asyncio.run_coroutine_threadsafe(self._events(), self.loop).result()
        self.load_done = asyncio.run_coroutine_threadsafe(self.load.run(self.posting), self.loop)
        self.rounds = asyncio.run_coroutine_threadsafe(self._rounds(), self.loop)

    async def _rounds(self) -> None:
        await asyncio.gather(
            self.department.run(self.working),
            bring_timers_forward(self.database_url, self.load, self.working),
        )

    async def _events(self) -> asyncio.Event:
        self.working = asyncio.Event()
        return asyncio.Event()

    def stop_posting(self) -> None:
        self.loop.call_soon_threadsafe(self.posting.set)
        self.load_done.result(timeout=300)  # every post answered or given up

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.working.set)
        self.rounds.result(timeout=120)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)


def drain(system: ChaosSystem, traffic: Traffic, timeout_s: float) -> float:
    """Wait until every accepted demand is where it should end, or `timeout_s`; the time."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        found = asyncio.run(states(system.database_url, traffic.load.accepted()))
        left = unsettled(found, traffic.load)
        if not left:
            break
        time.sleep(2)
    else:
        by_status = Counter(each.split()[1] for each in left)
        print(f"after {timeout_s:.0f} s of drain, still unsettled by status: {dict(by_status)}")
        stuck = asyncio.run(where_stuck(system.database_url, [e.split()[0] for e in left[:10]]))
        print("  " + "\n  ".join(stuck))
    return time.monotonic() - started


def recovery(fault: Fault, traffic: Traffic, findings: Findings) -> str:
    """Seconds from the fault until the first demand posted after it was routed (or triaged)."""
    assert fault.started_at is not None
    after = [
        findings.handled_at[p.demand_id]
        for p in traffic.load.accepted()
        if p.posted_at >= fault.started_at and p.demand_id in findings.handled_at
    ]
    return f"{(min(after) - fault.started_at).total_seconds():.1f}" if after else "never"


def fault_table(done: list[Fault], traffic: Traffic, findings: Findings, gap_s: float) -> None:
    """Per fault: the demands posted from its start to the end of the traffic after it, those
    answered 5xx, or not at all within 30 s, at least once, and how many of those a retry got
    accepted; and the time until a demand posted after it was routed."""
    print(
        f"\n{'fault':30} {'at (UTC)':>9} {'took s':>6} {'posted':>6} {'5xx':>5} "
        f"{'no answer':>9} {'then 2xx':>8} {'recover s':>9}"
    )
    for fault in done:
        assert fault.started_at is not None
        end = fault.started_at + timedelta(seconds=fault.took_s + gap_s)
        window = [p for p in traffic.load.posted if fault.started_at <= p.posted_at < end]
        troubled = [p for p in window if p.troubled]
        print(
            f"{fault.name:30} {fault.started_at:%H:%M:%S} {fault.took_s:6.1f} {len(window):6} "
            f"{sum(1 for p in window if any(a >= 500 for a in p.answers)):5} "
            f"{sum(1 for p in window if 0 in p.answers):9} "
            f"{sum(1 for p in troubled if p.demand_id is not None):8} "
            f"{recovery(fault, traffic, findings):>9}"
            + (f"  FAILED: {fault.error}" if fault.error else "")
        )


def latency(traffic: Traffic, findings: Findings) -> str:
    """Posted to routed (or triaged), over every accepted demand: median, 95th, max."""
    took = sorted(
        (findings.handled_at[p.demand_id] - p.posted_at).total_seconds()
        for p in traffic.load.accepted()
        if p.demand_id in findings.handled_at
    )
    if not took:
        return "no demand routed"
    p50, p95 = took[len(took) // 2], took[min(len(took) - 1, int(len(took) * 0.95))]
    return f"posted -> routed or triaged: median {p50:.1f} s, p95 {p95:.1f} s, max {took[-1]:.1f} s"


def summary(traffic: Traffic, findings: Findings, drained_s: float, system: ChaosSystem) -> None:
    posted = traffic.load.posted
    print(f"\n{'figure':52} {'count':>7}")
    rows = {
        "demands sent": len(posted),
        "accepted (2xx)": len(traffic.load.accepted()),
        "answered 5xx, or not within 30 s, at least once": sum(1 for p in posted if p.troubled),
        "  ... of them accepted on a retry (same key)": sum(
            1 for p in posted if p.troubled and p.demand_id
        ),
        "never accepted (gave up, not lost)": sum(
            1 for p in posted if p.demand_id is None and not p.refused_4xx
        ),
        "refused 4xx": sum(1 for p in posted if p.refused_4xx),
        **findings.figures,
    }
    for name, count in rows.items():
        print(f"{name:52} {count:7}")
    print(latency(traffic, findings))
    print(f"drained in {drained_s:.0f} s; processes dead at the end: {len(system.dead())}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--short", action="store_true", help="CI: shorter gaps and drain")
    parser.add_argument("--rate", type=float, default=10, help="demands posted per second")
    parser.add_argument("--gap", type=float, help="seconds of traffic between two faults")
    parser.add_argument("--drain", type=float, help="longest wait for the last demands")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--keep", type=Path, help="copy the services' logs here")
    args = parser.parse_args()
    gap = args.gap or (5.0 if args.short else 12.0)
    drain_s = args.drain or (240.0 if args.short else 300.0)
    started = time.monotonic()
    print(
        f"chaos run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.rate:g} demands/s, gap {gap:g} s"
    )
    with tempfile.TemporaryDirectory(prefix="liandong-chaos-") as scratch:
        system = ChaosSystem(Path(scratch))
        try:
            return _run(system, args, gap, drain_s, started)
        finally:
            if args.keep:
                import shutil

                shutil.copytree(Path(scratch) / "logs", args.keep, dirs_exist_ok=True)
            system.stop()


def _run(
    system: ChaosSystem, args: argparse.Namespace, gap: float, drain_s: float, started: float
) -> int:
    system.start()
    print(f"system ready in {time.monotonic() - started:.0f} s", flush=True)
    traffic = Traffic(system, args.rate, args.seed)
    traffic.start()
    time.sleep(gap)
    poison = Poison()
    done = faults(poison, short=args.short)
    for fault in done:
        inject(fault, system)
        print(f"{fault.name:34} done in {fault.took_s:5.1f} s {fault.error or ''}", flush=True)
        time.sleep(gap)
    traffic.stop_posting()
    drained = drain(system, traffic, drain_s)
    traffic.stop()
    findings = run_check(system.database_url, system.bootstrap, traffic.load, poison.expected())
    fault_table(done, traffic, findings, gap)
    summary(traffic, findings, drained, system)
    problems = findings.problems + [f"{f.name}: {f.error}" for f in done if f.error]
    problems += system.dead()
    print(f"wall time {time.monotonic() - started:.0f} s")
    if problems:
        print("CHAOS FAILED:\n  " + "\n  ".join(problems))
        return 1
    print(
        "chaos: every accepted demand where it should be, exactly once; nothing fired or sent twice"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
