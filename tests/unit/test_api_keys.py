"""API keys: stored as hashes only, looked up, revoked, reloaded when the file changes."""

import json
import stat
from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI

from services.cli import main
from services.runtime.api_keys import (
    ApiKeys,
    InvalidKeyFile,
    add_key,
    hash_key,
    read_key_file,
    revoke_keys,
)
from services.runtime.auth import CurrentPrincipal, Role, issue_token
from services.runtime.clock import FixedClock

SECRET = "s" * 32
NOW = datetime(2026, 11, 26, 9, tzinfo=UTC)


def test_a_key_is_stored_only_as_its_sha256(tmp_path):
    path = tmp_path / "keys.json"
    key, entry = add_key(path, sub="app-wx", role=Role.channel, now=NOW)
    assert key.startswith("ld_")
    assert len(key) > 40
    text = path.read_text()
    assert key not in text
    assert entry.sha256 == hash_key(key)
    assert entry.sha256 in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    other, _ = add_key(path, sub="app-wx", role=Role.channel, now=NOW)
    assert other != key
    assert len(read_key_file(path).keys) == 2


def test_lookup_gives_the_principal_of_a_known_key_only(tmp_path):
    path = tmp_path / "keys.json"
    key, _ = add_key(
        path, sub="dept-sys", role=Role.department, department_id="330502000000.urban_management"
    )
    keys = ApiKeys(path)
    principal = keys.principal_for(key)
    assert principal is not None
    assert (principal.sub, principal.role, principal.department_id) == (
        "dept-sys",
        Role.department,
        "330502000000.urban_management",
    )
    assert principal.exp is None
    assert keys.principal_for(key + "x") is None
    assert keys.principal_for("") is None
    assert keys.principal_for("密钥") is None


def test_a_missing_file_holds_no_keys_until_it_is_created(tmp_path):
    path = tmp_path / "keys.json"
    keys = ApiKeys(path)
    assert keys.principal_for("ld_anything") is None
    key, _ = add_key(path, sub="app", role=Role.channel)
    assert keys.principal_for(key) is not None  # reloaded without a restart


def test_revoked_keys_stop_working_without_a_restart(tmp_path):
    path = tmp_path / "keys.json"
    first, first_entry = add_key(path, sub="app-wx", role=Role.channel)
    second, _ = add_key(path, sub="app-wx", role=Role.channel)
    kept, _ = add_key(path, sub="app-web", role=Role.channel)
    keys = ApiKeys(path)
    assert keys.principal_for(first) is not None

    removed = revoke_keys(path, sub="app-wx", hash_prefix=first_entry.sha256[:12])
    assert [e.sha256 for e in removed] == [first_entry.sha256]
    assert keys.principal_for(first) is None
    assert keys.principal_for(second) is not None

    assert len(revoke_keys(path, sub="app-wx")) == 1
    assert keys.principal_for(second) is None
    assert keys.principal_for(kept) is not None
    assert revoke_keys(path, sub="nobody") == []


def test_a_malformed_file_stops_the_start_but_a_bad_edit_keeps_the_loaded_keys(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text('{"keys": [{"sha256": "not-a-hash"}]}')
    with pytest.raises(InvalidKeyFile):
        ApiKeys(path)

    path.unlink()
    key, _ = add_key(path, sub="app", role=Role.channel)
    keys = ApiKeys(path)
    path.write_text("{ half written")
    assert keys.principal_for(key) is not None


def _app(keys_file):
    app = FastAPI()
    app.state.runtime = SimpleNamespace(
        api_keys=ApiKeys(keys_file),
        settings=SimpleNamespace(
            auth_secret=SimpleNamespace(get_secret_value=lambda: SECRET),
            jwt_public_key=None,
            jwt_issuer=None,
        ),
        clock=FixedClock(NOW),
    )

    @app.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, str]:
        return {"sub": principal.sub, "role": principal.role.value}

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_services_accept_an_api_key_or_a_bearer_token(tmp_path):
    path = tmp_path / "keys.json"
    key, _ = add_key(path, sub="app-wx", role=Role.channel)
    token = issue_token(SECRET, sub="channel:hotline", role=Role.channel, now=NOW)
    async with _app(path) as client:
        by_key = await client.get("/whoami", headers={"X-API-Key": key})
        assert by_key.json() == {"sub": "app-wx", "role": "channel"}
        by_token = await client.get("/whoami", headers={"Authorization": f"Bearer {token}"})
        assert by_token.status_code == 200
        unknown = await client.get("/whoami", headers={"X-API-Key": "ld_unknown"})
        assert unknown.status_code == 401
        assert unknown.json()["detail"] == "unknown API key"
        both = await client.get(
            "/whoami", headers={"X-API-Key": key, "Authorization": f"Bearer {token}"}
        )
        assert both.status_code == 401
        assert (await client.get("/whoami")).status_code == 401


def test_principals_commands_print_the_key_once(tmp_path, monkeypatch, capsys):
    path = tmp_path / "keys.json"
    monkeypatch.setenv("LIANDONG_API_KEYS_FILE", str(path))

    assert main(["principals", "add", "--role", "channel", "--sub", "app-wx"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("ld_")
    assert ApiKeys(path).principal_for(key) is not None

    assert (
        main(
            [
                "principals",
                "add",
                "--role",
                "coordinator",
                "--sub",
                "wuxing-centre",
                "--unit",
                "330502000000",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["principals", "add", "--role", "department", "--sub", "x"]) == 2
    assert "needs --department" in capsys.readouterr().err
    assert (
        main(["principals", "add", "--role", "department", "--sub", "x", "--department", "no.pe"])
        == 2
    )
    assert main(["principals", "add", "--role", "channel", "--sub", "x", "--unit", "1"]) == 2
    capsys.readouterr()

    assert main(["principals", "list"]) == 0
    listed = capsys.readouterr().out
    assert "app-wx" in listed
    assert "wuxing-centre" in listed
    assert "330502000000" in listed
    assert key not in listed
    assert hash_key(key)[:12] in listed
    assert hash_key(key) not in listed  # a prefix only

    assert main(["principals", "revoke", "--sub", "app-wx"]) == 0
    assert ApiKeys(path).principal_for(key) is None
    assert main(["principals", "revoke", "--sub", "app-wx"]) == 1
    stored = json.loads(path.read_text())
    assert [k["sub"] for k in stored["keys"]] == ["wuxing-centre"]
