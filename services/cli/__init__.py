"""`liandong`: run the system or one service, migrate, create topics, export contracts, tokens."""

from __future__ import annotations

import argparse
import sys

from services.cli import access, classifier, generated, operations, routing, system


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liandong", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (system, operations, generated, access, classifier, routing):
        group.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from services.runtime.settings import describe_validation_error

    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except ValidationError as exc:
        # One line per error naming the variable and the reason; never the value (a secret
        # would be printed) and no traceback: the operator has a setting to fix, not a bug.
        settings, lines = describe_validation_error(exc)
        for line in lines:
            print(line, file=sys.stderr)
        if settings:
            print(f"{len(lines)} setting(s) invalid; see docs/configuration.md", file=sys.stderr)
        return 2 if settings else 1
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    except Exception as exc:
        from services.runtime.kafka import is_outage

        if not is_outage(exc):
            raise
        print(f"cannot reach the database or the broker: {exc!r}", file=sys.stderr)
        return 1
    return result
