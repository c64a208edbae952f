"""`liandong token` and `principals add|list|revoke`: who may call the APIs."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime


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


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pathlib import Path

    from contracts.lists import DEFAULT_LISTS
    from services.runtime.auth import Role

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
