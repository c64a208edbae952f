"""`liandong watch escalations`, `notifications log`, `rates recompute`, `lists check`: look at
and look after a running system."""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.cli import routing
from services.cli.common import (
    NOT_SET,
    bootstrap_of,
    find_database_url,
    in_session,
    kafka_security,
)


def _watch_escalations(args: argparse.Namespace) -> int:
    import contextlib

    from contracts.jurisdiction import validate_code
    from contracts.lists import load_lists
    from services.routing.watch import watch_escalations
    from services.runtime.kafka_clients import KafkaConnection

    try:
        validate_code(args.unit)
    except ValueError as exc:
        print(f"--unit {args.unit}: {exc}", file=sys.stderr)
        return 2
    lists = load_lists(args.lists)
    if args.unit not in lists.units_by_code:
        print(f"--unit {args.unit}: no such unit in the lists {lists.version}", file=sys.stderr)
        return 2
    bootstrap = bootstrap_of(args)
    if bootstrap is None:
        print(f"KAFKA_BOOTSTRAP_SERVERS: {NOT_SET} (or --bootstrap)", file=sys.stderr)
        return 2
    security = kafka_security()
    if security is None:
        return 2
    print(f"watching escalations at and beneath {args.unit} on {bootstrap}", file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            watch_escalations(
                KafkaConnection(bootstrap, security),
                args.unit,
                lists,
                out=sys.stdout,
                from_beginning=args.from_beginning,
                as_json=args.json,
                on_ready=lambda: print("ready", file=sys.stderr, flush=True),
            )
        )
    return 0


def _notifications_log(args: argparse.Namespace) -> int:
    import contextlib

    from contracts.lists import load_lists
    from services.feedback.notifications import log_notifications

    bootstrap = bootstrap_of(args)
    if bootstrap is None:
        print(f"KAFKA_BOOTSTRAP_SERVERS: {NOT_SET} (or --bootstrap)", file=sys.stderr)
        return 2
    security = kafka_security()
    if security is None:
        return 2
    zone = load_lists(args.lists).calendar.zone  # deadlines in the city's time zone
    print(f"logging citizen.notifications on {bootstrap}", file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            log_notifications(
                bootstrap,
                out=sys.stdout,
                zone=zone,
                group=None if args.no_group else args.group,
                from_beginning=not args.latest,
                on_ready=lambda: print("ready", file=sys.stderr, flush=True),
                security=security,
            )
        )
    return 0


def _rates_recompute(_args: argparse.Namespace) -> int:
    from contracts.lists import load_lists
    from services.feedback.repository import counters
    from services.feedback.settings import FeedbackListsSettings

    # Only what it uses: the database and feedback's lists (not Kafka, not the secret).
    database_url = find_database_url("feedback's database")
    if database_url is None:
        return 2
    zone = load_lists(FeedbackListsSettings().lists_path).calendar.zone
    recomputed = in_session(database_url, lambda session: counters.recompute(session, zone))
    print(f"{recomputed} counters recomputed from the stored facts")
    return 0


def _lists_check(args: argparse.Namespace) -> int:
    from collections import Counter

    from contracts.lists import ListsInvalid, load_lists

    try:
        lists = load_lists(args.path)
    except ListsInvalid as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"{len(exc.errors)} problem(s) in {args.path}", file=sys.stderr)
        return 1
    levels = Counter(unit.level.value for unit in lists.units)
    print(f"lists {lists.version} ({args.path}) are valid")
    print("  units        " + ", ".join(f"{n} {level}" for level, n in levels.items()))
    print(f"  departments  {len(lists.departments)} of {len(lists.department_types)} types")
    print(f"  matters      {len(lists.matters)}")
    print(f"  power list   {len(lists.rules)} rules, {len(lists.overrides)} unit overrides")
    years = ", ".join(map(str, sorted(lists.calendar.published_years)))
    print(f"  calendar     holidays published for {years}")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pathlib import Path

    from contracts.lists import DEFAULT_LISTS

    watch = sub.add_parser("watch", help="live views for command centres")
    watch_sub = watch.add_subparsers(dest="watch_command", required=True)
    escalations = watch_sub.add_parser(
        "escalations", help="print every escalation at and beneath a unit as it happens"
    )
    escalations.add_argument("--unit", required=True, help="12-digit unit code")
    escalations.add_argument(
        "--from-beginning", action="store_true", help="replay what the topics still hold"
    )
    escalations.add_argument("--json", action="store_true", help="one JSON event per line")
    escalations.add_argument(
        "--bootstrap", help="Kafka bootstrap servers (KAFKA_BOOTSTRAP_SERVERS)"
    )
    escalations.add_argument("--lists", type=Path, default=DEFAULT_LISTS, help="for unit names")
    escalations.set_defaults(func=_watch_escalations)

    notifications = sub.add_parser("notifications", help="the citizen notification topic")
    notifications_sub = notifications.add_subparsers(dest="notifications_command", required=True)
    notifications_log = notifications_sub.add_parser(
        "log", help="reference gateway: print what each callback request would send (masked)"
    )
    notifications_log.add_argument(
        "--bootstrap", help="Kafka bootstrap servers (KAFKA_BOOTSTRAP_SERVERS)"
    )
    notifications_log.add_argument("--group", default="liandong-notifier", help="consumer group")
    notifications_log.add_argument(
        "--no-group", action="store_true", help="read without a group (commit nothing)"
    )
    notifications_log.add_argument(
        "--latest", action="store_true", help="only new notifications (a new group's start)"
    )
    notifications_log.add_argument(
        "--lists", type=Path, default=DEFAULT_LISTS, help="for the city's time zone"
    )
    notifications_log.set_defaults(func=_notifications_log)

    rates = sub.add_parser("rates", help="the three rates kept by feedback")
    rates_sub = rates.add_subparsers(dest="rates_command", required=True)
    rates_sub.add_parser(
        "recompute", help="rebuild every counter from the stored facts (uses DATABASE_URL)"
    ).set_defaults(func=_rates_recompute)

    lists = sub.add_parser("lists", help="the three lists")
    lists_sub = lists.add_subparsers(dest="lists_command", required=True)
    check = lists_sub.add_parser("check", help="validate a lists directory; every problem listed")
    check.add_argument("path", nargs="?", type=Path, default=DEFAULT_LISTS)
    check.set_defaults(func=_lists_check)
    routing.add_lists_commands(lists_sub)
