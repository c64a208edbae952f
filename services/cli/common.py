"""What the command groups share: where the database and the broker are found, and one
short-lived session for offline database commands."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from services.runtime.kafka_clients import KafkaClientSettings

T = TypeVar("T")

NOT_SET = "is not set and no `liandong run` (make run) is running here"


def find_database_url(whose: str) -> str | None:
    """DATABASE_URL, else the database of the running `make run`; None, said on stderr, when
    there is neither."""
    from services.runtime.launcher import LauncherSettings

    database_url = LauncherSettings().with_running_system().database_url
    if database_url is None:
        print(f"DATABASE_URL: {NOT_SET} ({whose})", file=sys.stderr)
    return database_url


def in_session(database_url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """`work` in one transaction of a short-lived engine on that database (offline commands)."""

    async def run() -> T:
        from services.runtime.db import create_engine, create_session_factory
        from services.runtime.launcher import async_url

        engine = create_engine(async_url(database_url))
        try:
            async with create_session_factory(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def bootstrap_of(args: argparse.Namespace) -> str | None:
    """--bootstrap, else KAFKA_BOOTSTRAP_SERVERS, else the broker of the running `make run`."""
    from services.runtime.launcher import LauncherSettings

    found: str | None = (
        args.bootstrap or LauncherSettings().with_running_system().kafka_bootstrap_servers
    )
    return found or None


def kafka_security() -> KafkaClientSettings | None:
    """The process's Kafka user from LIANDONG_KAFKA_SECURITY_PROTOCOL and the SASL variables;
    None, with one line per mistake on stderr, when they are incomplete."""
    from pydantic import ValidationError

    from services.runtime.kafka_clients import KafkaClientSettings
    from services.runtime.settings import describe_validation_error

    try:
        return KafkaClientSettings()
    except ValidationError as exc:
        for line in describe_validation_error(exc)[1]:
            print(line, file=sys.stderr)
        return None
