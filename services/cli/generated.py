"""`liandong contracts`, `asyncapi`, `k8s topics`: write (or `--check`) the committed files
generated from the code and the lists."""

from __future__ import annotations

import argparse
import sys


def _contracts(args: argparse.Namespace) -> int:
    from contracts.schema_export import SCHEMA_DIR, render_schemas, write_schemas

    if args.check:
        stale = [
            name
            for name, text in render_schemas().items()
            if not (SCHEMA_DIR / name).exists()
            or (SCHEMA_DIR / name).read_text(encoding="utf-8") != text
        ]
        if stale:
            print(f"out of date: {', '.join(stale)}; run `make contracts`", file=sys.stderr)
            return 1
        print("contracts/schemas is up to date")
        return 0
    for path in write_schemas():
        print(f"wrote {path}")
    return 0


def _asyncapi(args: argparse.Namespace) -> int:
    from contracts.asyncapi import ASYNCAPI_PATH, render_asyncapi
    from contracts.lists import load_lists

    text = render_asyncapi(load_lists(args.lists))
    if args.check:
        if not ASYNCAPI_PATH.is_file() or ASYNCAPI_PATH.read_text(encoding="utf-8") != text:
            print(
                "contracts/asyncapi.yaml is out of date; run `liandong asyncapi`", file=sys.stderr
            )
            return 1
        print("contracts/asyncapi.yaml is up to date")
        return 0
    ASYNCAPI_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {ASYNCAPI_PATH}")
    return 0


def _k8s_topics(args: argparse.Namespace) -> int:
    from contracts.lists import load_lists
    from k8s.render import K8S_DIR, render_generated, stale_files, write_generated

    rendered = render_generated(load_lists(args.lists), args.lists)
    if args.check:
        stale = stale_files(rendered)
        if stale:
            names = ", ".join(str(path) for path in stale)
            print(f"out of date under k8s/: {names}; run `liandong k8s topics`", file=sys.stderr)
            return 1
        print("k8s/ generated files are up to date")
        return 0
    written = write_generated(rendered)
    print(f"wrote {len(written)} files under {K8S_DIR}")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pathlib import Path

    from contracts.lists import DEFAULT_LISTS

    contracts = sub.add_parser("contracts", help="write the JSON Schemas of every event")
    contracts.add_argument(
        "--check", action="store_true", help="fail if the committed files are stale"
    )
    contracts.set_defaults(func=_contracts)

    asyncapi = sub.add_parser("asyncapi", help="write contracts/asyncapi.yaml (every topic)")
    asyncapi.add_argument("--lists", type=Path, default=DEFAULT_LISTS)
    asyncapi.add_argument(
        "--check", action="store_true", help="fail if the committed file is stale"
    )
    asyncapi.set_defaults(func=_asyncapi)

    k8s = sub.add_parser("k8s", help="generated Kubernetes files")
    k8s_sub = k8s.add_subparsers(dest="k8s_command", required=True)
    k8s_topics = k8s_sub.add_parser(
        "topics",
        help="write the Strimzi KafkaTopics and KafkaUsers (and the lists copy) under k8s/",
    )
    k8s_topics.add_argument("--lists", type=Path, default=DEFAULT_LISTS)
    k8s_topics.add_argument(
        "--check", action="store_true", help="fail if committed files are stale"
    )
    k8s_topics.set_defaults(func=_k8s_topics)
