"""`liandong run`, `serve`, `escalator`, `migrate`, `revision`, `topics`: run the system or one
service and set up its database and topics."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys

from services.cli.common import NOT_SET


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from services.runtime.limits import uvicorn_limits
    from services.runtime.logging import configure_logging

    name = args.service
    module = "services.routing.escalator" if name == "escalator" else f"services.{name}.app"
    app_module = importlib.import_module(module)
    settings = app_module.SETTINGS_CLASS()
    configure_logging(service=name, level=settings.log_level)
    app = app_module.create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,  # our request log omits query strings (tracking tokens)
        log_config=None,
        timeout_graceful_shutdown=15,
        **uvicorn_limits(settings),
    )
    uvicorn.Server(config).run()
    return 0


def _run(_args: argparse.Namespace) -> int:
    from services.runtime.launcher import run_system

    return run_system()


def _migrate(args: argparse.Namespace) -> int:
    from services.runtime.launcher import LauncherSettings, async_url
    from services.runtime.migrations import SERVICES, upgrade

    settings = LauncherSettings().with_running_system()
    if settings.database_url is None:
        print(f"DATABASE_URL: {NOT_SET}", file=sys.stderr)
        return 2
    unknown = sorted(set(args.services) - set(SERVICES))
    if unknown:
        print(f"unknown services {unknown}; choose from {list(SERVICES)}", file=sys.stderr)
        return 2
    if args.wait is not None:
        return _wait_for_migrations(tuple(args.services or SERVICES), settings.database_url, args)
    for service in args.services or SERVICES:
        upgrade(service, async_url(settings.database_url))
        print(f"migrated {service}")
    return 0


def _wait_for_migrations(
    services: tuple[str, ...], database_url: str, args: argparse.Namespace
) -> int:
    """`migrate --wait S`: a Deployment's init container, holding the pod until the migration
    Job brought every schema to this code's head; it never migrates itself."""
    import time

    from services.runtime.launcher import async_url
    from services.runtime.migrations import behind

    deadline = time.monotonic() + args.wait
    while True:
        try:
            late = asyncio.run(behind(services, async_url(database_url)))
        except OSError as exc:  # the database is not reachable yet
            late = [f"database unreachable ({type(exc).__name__})"]
        if not late:
            print(f"schemas at head: {', '.join(services)}")
            return 0
        if time.monotonic() > deadline:
            print(f"not migrated after {args.wait} s: {', '.join(late)}", file=sys.stderr)
            return 1
        time.sleep(2)


def _revision(args: argparse.Namespace) -> int:
    from alembic import command

    from services.runtime.launcher import LauncherSettings, async_url
    from services.runtime.migrations import alembic_config

    settings = LauncherSettings().with_running_system()
    if settings.database_url is None:
        print(f"DATABASE_URL: {NOT_SET} (an up-to-date database to compare with)", file=sys.stderr)
        return 2
    config = alembic_config(args.service, async_url(settings.database_url))
    command.revision(config, message=args.message, autogenerate=True, rev_id=args.rev_id)
    return 0


def _topics(args: argparse.Namespace) -> int:
    from contracts.lists import load_lists
    from contracts.topics import all_topics
    from services.runtime.kafka import create_topics
    from services.runtime.launcher import LauncherSettings

    settings = LauncherSettings().with_running_system()
    names = all_topics(u.code for u in load_lists(args.lists).units)
    if args.dry_run:
        print("\n".join(names))
        return 0
    if settings.kafka_bootstrap_servers is None:
        print(f"KAFKA_BOOTSTRAP_SERVERS: {NOT_SET}", file=sys.stderr)
        return 2
    asyncio.run(
        create_topics(settings.kafka_bootstrap_servers, names, partitions=settings.topic_partitions)
    )
    print(f"{len(names)} topics present")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pathlib import Path

    from contracts.lists import DEFAULT_LISTS
    from services.runtime.migrations import SERVICES

    sub.add_parser(
        "run", help="the whole system (embedded infrastructure unless configured)"
    ).set_defaults(func=_run)
    serve = sub.add_parser("serve", help="one service")
    serve.add_argument("service", choices=(*SERVICES, "console"))  # the console has no schema
    serve.set_defaults(func=_serve)
    sub.add_parser(
        "escalator", help="the deadline sweeper and auditor of routing as their own process"
    ).set_defaults(func=_serve, service="escalator")

    migrate = sub.add_parser(
        "migrate", help="apply the migrations of the given services (default all)"
    )
    migrate.add_argument("services", nargs="*", metavar="service", help=", ".join(SERVICES))
    migrate.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="do not migrate: wait until the schemas are at this code's head (exit 1 after "
        "SECONDS), as an init container waits for the migration Job",
    )
    migrate.set_defaults(func=_migrate)

    revision = sub.add_parser("revision", help="autogenerate a migration for one service")
    revision.add_argument("service", choices=SERVICES)
    revision.add_argument("-m", "--message", required=True)
    revision.add_argument("--rev-id", default=None)
    revision.set_defaults(func=_revision)

    topics = sub.add_parser("topics", help="create the pipeline, dead-letter and chain topics")
    topics.add_argument("--lists", type=Path, default=DEFAULT_LISTS)
    topics.add_argument("--dry-run", action="store_true", help="print the names only")
    topics.set_defaults(func=_topics)
