"""`liandong`: run the system or one service, migrate, create topics, export contracts, tokens."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

NOT_SET = "is not set and no `liandong run` (make run) is running here"


def _database_url(whose: str) -> str | None:
    """DATABASE_URL, else the database of the running `make run`; None, said on stderr, when
    there is neither."""
    from services.runtime.launcher import LauncherSettings

    database_url = LauncherSettings().with_running_system().database_url
    if database_url is None:
        print(f"DATABASE_URL: {NOT_SET} ({whose})", file=sys.stderr)
    return database_url


def _in_session(database_url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
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


def _bootstrap(args: argparse.Namespace) -> str | None:
    """--bootstrap, else KAFKA_BOOTSTRAP_SERVERS, else the broker of the running `make run`."""
    from services.runtime.launcher import LauncherSettings

    found: str | None = (
        args.bootstrap or LauncherSettings().with_running_system().kafka_bootstrap_servers
    )
    return found or None


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

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
    for service in args.services or SERVICES:
        upgrade(service, async_url(settings.database_url))
        print(f"migrated {service}")
    return 0


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
    from services.k8s import K8S_DIR, render_generated, stale_files, write_generated

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


def _token(args: argparse.Namespace) -> int:
    from services.runtime.auth import Role, issue_token
    from services.runtime.launcher import LauncherSettings, _auth_secret

    secret = _auth_secret(LauncherSettings())
    role = Role(args.role)
    token = issue_token(
        secret,
        sub=args.subject or f"{role.value}:{args.id}",
        role=role,
        now=datetime.now(UTC),
        department_id=args.id if role is Role.department else None,
        unit_code=args.id if role is Role.coordinator else None,
    )
    print(token)
    return 0


def _principal_claims(args: argparse.Namespace) -> tuple[str | None, str | None] | str:
    """(department_id, unit_code) the role needs, checked against the lists; or an error."""
    from contracts.lists import load_lists
    from services.runtime.auth import Role

    role = Role(args.role)
    if role is Role.department:
        if args.department is None or args.unit is not None:
            return "a department key needs --department (and no --unit)"
        if args.department not in load_lists(args.lists).departments_by_id:
            return f"no department {args.department} in the lists"
        return args.department, None
    if role is Role.coordinator:
        if args.unit is None or args.department is not None:
            return "a coordinator key needs --unit (and no --department)"
        if args.unit not in load_lists(args.lists).units_by_code:
            return f"no unit {args.unit} in the lists"
        return None, args.unit
    if args.department is not None or args.unit is not None:
        return f"a {role.value} key takes neither --department nor --unit"
    return None, None


def _principals_add(args: argparse.Namespace) -> int:
    from services.runtime.api_keys import HASH_PREFIX_LENGTH, add_key
    from services.runtime.auth import Role
    from services.runtime.launcher import LauncherSettings

    claims = _principal_claims(args)
    if isinstance(claims, str):
        print(claims, file=sys.stderr)
        return 2
    path = LauncherSettings().api_keys_path
    key, entry = add_key(
        path, sub=args.sub, role=Role(args.role), department_id=claims[0], unit_code=claims[1]
    )
    print(
        f"API key of {entry.sub} ({entry.role.value}); it is shown only now, keep it safe.\n"
        f"Its SHA-256 ({entry.sha256[:HASH_PREFIX_LENGTH]}…) is stored in {path}.",
        file=sys.stderr,
    )
    print(key)
    return 0


def _principals_list(_args: argparse.Namespace) -> int:
    from services.runtime.api_keys import HASH_PREFIX_LENGTH, read_key_file
    from services.runtime.launcher import LauncherSettings

    path = LauncherSettings().api_keys_path
    keys = read_key_file(path).keys
    print(f"{len(keys)} API key(s) in {path}")
    for e in keys:
        scope = e.department_id or e.unit_code or "-"
        print(
            f"  {e.sub:<24} {e.role.value:<12} {scope:<32} "
            f"sha256:{e.sha256[:HASH_PREFIX_LENGTH]}  {e.created_at:%Y-%m-%d %H:%M}Z"
        )
    return 0


def _principals_revoke(args: argparse.Namespace) -> int:
    from services.runtime.api_keys import HASH_PREFIX_LENGTH, revoke_keys
    from services.runtime.launcher import LauncherSettings

    path = LauncherSettings().api_keys_path
    removed = revoke_keys(path, sub=args.sub, hash_prefix=args.hash)
    if not removed:
        print(f"no API key of {args.sub} in {path}", file=sys.stderr)
        return 1
    for e in removed:
        print(f"revoked {e.sub} sha256:{e.sha256[:HASH_PREFIX_LENGTH]}")
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


def _model_train(_args: argparse.Namespace) -> int:
    from contracts.lists import load_lists
    from services.classification.model import DEFAULT_ARTIFACT, train_artifact

    model, seconds, files, rare = train_artifact(load_lists())
    print(f"trained {model.version} on {', '.join(f.name for f in files)} in {seconds:.1f} s")
    print(f"  classes      {', '.join(model.classes)} -> {DEFAULT_ARTIFACT}")
    for label, count in sorted(rare.items()):
        print(f"  left out     {label}: {count} examples (a category needs 20 to be learnt)")
    return 0


def _model_export(args: argparse.Namespace) -> int:
    from services.classification.examples import export_labelled

    database_url = _database_url("the classification service's database")
    if database_url is None:
        return 2
    exported = _in_session(
        database_url, lambda session: export_labelled(session, sys.stdout, since=args.since)
    )
    print(f"{exported} operator decisions exported", file=sys.stderr)
    return 0


def _model_eval(args: argparse.Namespace) -> int:
    from contracts.lists import load_lists
    from services.classification.evaluation import evaluate

    evaluate(load_lists(), threshold=args.threshold)
    return 0


def _model_cv(args: argparse.Namespace) -> int:
    from contracts.lists import load_lists
    from services.classification.evaluation import cross_validate

    cross_validate(load_lists(), folds=args.folds)
    return 0


def _model_bench(args: argparse.Namespace) -> int:
    from contracts.lists import load_lists
    from services.classification.evaluation import bench
    from services.classification.model import DEFAULT_ARTIFACT

    bench(load_lists(), DEFAULT_ARTIFACT, count=args.count, batch=args.batch)
    return 0


def _classify(args: argparse.Namespace) -> int:
    import csv
    import itertools

    from contracts.lists import load_lists
    from services.classification.classifier import Classifier, Undecided
    from services.classification.model import DEFAULT_ARTIFACT, CategoryModel

    classifier = Classifier(load_lists(), CategoryModel.load(DEFAULT_ARTIFACT))
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["id", "category", "matter", "confidence"])
    with args.file.open(encoding="utf-8") as f:
        reader = csv.DictReader(f)
        while rows := list(itertools.islice(reader, 1000)):  # a file of any length, in chunks
            texts = [f"{row.get('title') or ''}。{row.get('text') or ''}" for row in rows]
            answers = classifier.classify_many(texts)
            for row, (categories, answer) in zip(rows, answers, strict=True):
                category = categories[0][0] if categories else ""
                if isinstance(answer, Undecided):
                    confidence = f"{categories[0][1]:.3f}" if categories else "0"
                    writer.writerow([row["id"], category, "", confidence])
                else:
                    matter, confidence = answer.matter.code, f"{answer.confidence:.3f}"
                    writer.writerow([row["id"], category, matter, confidence])
    return 0


def _watch_escalations(args: argparse.Namespace) -> int:
    import contextlib

    from contracts.jurisdiction import validate_code
    from contracts.lists import load_lists
    from services.routing.watch import watch_escalations

    try:
        validate_code(args.unit)
    except ValueError as exc:
        print(f"--unit {args.unit}: {exc}", file=sys.stderr)
        return 2
    lists = load_lists(args.lists)
    if args.unit not in lists.units_by_code:
        print(f"--unit {args.unit}: no such unit in the lists {lists.version}", file=sys.stderr)
        return 2
    bootstrap = _bootstrap(args)
    if bootstrap is None:
        print(f"KAFKA_BOOTSTRAP_SERVERS: {NOT_SET} (or --bootstrap)", file=sys.stderr)
        return 2
    print(f"watching escalations at and beneath {args.unit} on {bootstrap}", file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            watch_escalations(
                bootstrap,
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

    bootstrap = _bootstrap(args)
    if bootstrap is None:
        print(f"KAFKA_BOOTSTRAP_SERVERS: {NOT_SET} (or --bootstrap)", file=sys.stderr)
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
            )
        )
    return 0


def _rates_recompute(_args: argparse.Namespace) -> int:
    from contracts.lists import load_lists
    from services.feedback import counters
    from services.feedback.settings import FeedbackListsSettings

    # Only what it uses: the database and feedback's lists (not Kafka, not the secret).
    database_url = _database_url("feedback's database")
    if database_url is None:
        return 2
    zone = load_lists(FeedbackListsSettings().lists_path).calendar.zone
    recomputed = _in_session(database_url, lambda session: counters.recompute(session, zone))
    print(f"{recomputed} counters recomputed from the stored facts")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from contracts.lists import DEFAULT_LISTS
    from services.runtime.auth import Role
    from services.runtime.migrations import SERVICES

    parser = argparse.ArgumentParser(prog="liandong", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser(
        "run", help="the whole system (embedded infrastructure unless configured)"
    ).set_defaults(func=_run)
    serve = sub.add_parser("serve", help="one service")
    serve.add_argument("service", choices=(*SERVICES, "console"))  # the console has no schema
    serve.set_defaults(func=_serve)
    sub.add_parser(
        "escalator", help="the deadline sweeper and auditor of routing as their own process"
    ).set_defaults(func=_serve, service="escalator")
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

    migrate = sub.add_parser(
        "migrate", help="apply the migrations of the given services (default all)"
    )
    migrate.add_argument("services", nargs="*", metavar="service", help=", ".join(SERVICES))
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

    token = sub.add_parser("token", help="issue a staff bearer token (uses LIANDONG_AUTH_SECRET)")
    token.add_argument("role", choices=["channel", "department", "coordinator", "operator"])
    token.add_argument(
        "id", help="channel name, department id, coordinator unit code, or operator name"
    )
    token.add_argument("--subject", default=None, help="who acts (defaults to role:id)")
    token.set_defaults(func=_token)

    principals = sub.add_parser(
        "principals", help="API keys (stored as SHA-256 hashes in LIANDONG_API_KEYS_FILE)"
    )
    principals_sub = principals.add_subparsers(dest="principals_command", required=True)
    add = principals_sub.add_parser("add", help="a new API key, printed once")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--sub", required=True, help="who uses the key, e.g. app-wx")
    add.add_argument("--department", default=None, help="department id (role department)")
    add.add_argument("--unit", default=None, help="unit code (role coordinator)")
    add.add_argument("--lists", type=Path, default=DEFAULT_LISTS)
    add.set_defaults(func=_principals_add)
    principals_sub.add_parser(
        "list", help="subjects, roles and hash prefixes (never keys)"
    ).set_defaults(func=_principals_list)
    revoke = principals_sub.add_parser("revoke", help="remove the keys of a subject")
    revoke.add_argument("--sub", required=True)
    revoke.add_argument("--hash", default=None, help="only the key whose hash starts with this")
    revoke.set_defaults(func=_principals_revoke)

    model = sub.add_parser("model", help="the category model of the classifier")
    model_sub = model.add_subparsers(dest="model_command", required=True)
    model_sub.add_parser("train", help="train on every labelled message (make model)").set_defaults(
        func=_model_train
    )
    export = model_sub.add_parser(
        "export-labelled",
        help="operators' triage decisions as training CSV on stdout (uses DATABASE_URL); save as"
        " services/classification/training/operator-<date>.csv for `make model`",
    )
    export.add_argument(
        "--since",
        type=datetime.fromisoformat,
        default=None,
        help="only decisions from this time on (ISO 8601 with offset)",
    )
    export.set_defaults(func=_model_export)
    evaluation = model_sub.add_parser("eval", help="train on a split, print held-out figures")
    evaluation.add_argument("--threshold", type=float, default=0.5)
    evaluation.set_defaults(func=_model_eval)
    folds = model_sub.add_parser(
        "cv", help="GroupKFold on the training part only: the figures to choose a change by"
    )
    folds.add_argument("--folds", type=int, default=5)
    folds.set_defaults(func=_model_cv)
    bench = model_sub.add_parser("bench", help="classification speed per core")
    bench.add_argument("--count", type=int, default=3000)
    bench.add_argument("--batch", type=int, default=100, help="demands per batch (one poll)")
    bench.set_defaults(func=_model_bench)

    classify = sub.add_parser("classify", help="CSV id,title,text -> id,category,matter,confidence")
    classify.add_argument("file", type=Path)
    classify.set_defaults(func=_classify)

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
            print(f"{len(lines)} setting(s) invalid; see README.md, Configuration", file=sys.stderr)
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


if __name__ == "__main__":
    sys.exit(main())
