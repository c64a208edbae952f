"""A second `liandong run` on a state directory in use refuses, and leaves the first run alone:
its PostgreSQL keeps running and its demo API key stays valid."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import asyncpg
import pytest

from services.runtime.embedded import EmbeddedPostgres
from services.runtime.migrations import SERVICES

# The first run, cut down to what a second one could break: it holds the state directory the
# way the launcher does, runs the embedded PostgreSQL in it and has issued a demo key.
HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from services.runtime.embedded import EmbeddedPostgres
    from services.runtime.launcher import _demo_api_key, hold_state_dir

    state = Path(sys.argv[1])
    with hold_state_dir(state):
        postgres = EmbeddedPostgres(state / "pgdata", durable=False)
        url = postgres.start()
        try:
            _demo_api_key(state / "api-keys.json")
            print("HOLDING", url, flush=True)
            sys.stdin.read()  # until the test closes stdin
        finally:
            postgres.stop()
    """
)


async def _select_one(url: str) -> int:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        value: int = await conn.fetchval("SELECT 1")
        return value
    finally:
        await conn.close()


def test_a_second_run_on_a_busy_state_dir_refuses_and_leaves_the_first_alone(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(state)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    # Every service port is taken, so even a launcher that did not refuse would end soon.
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        assert holder.stdout is not None
        url = ""
        for line in holder.stdout:  # past the holder's log lines
            if line.startswith("HOLDING "):
                url = line.split()[1]
                break
        assert url.startswith("postgresql://"), "the holder did not start"
        keys_before = (state / "api-keys.json").read_bytes()
        pid_file_before = (state / "pgdata" / "postmaster.pid").read_bytes()

        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
        }
        env["LIANDONG_STATE_DIR"] = str(state)
        env.pop("LIANDONG_API_KEYS_FILE", None)
        for name in SERVICES:
            env[f"LIANDONG_{name.upper()}_PORT"] = str(taken.getsockname()[1])
        second = subprocess.run(
            [sys.executable, "-m", "services.cli", "run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

        assert second.returncode != 0
        assert f"another liandong run holds {state} (pid {holder.pid}); stop it first" in (
            second.stderr
        )
        assert "starting infrastructure" not in second.stdout
        assert asyncio.run(_select_one(url)) == 1, "the first run's PostgreSQL was stopped"
        assert (state / "pgdata" / "postmaster.pid").read_bytes() == pid_file_before
        assert (state / "api-keys.json").read_bytes() == keys_before
        assert json.loads(keys_before), "the holder issued no demo key"
        assert holder.poll() is None

        # Without the lock (a launcher of an older version, a script), the embedded
        # PostgreSQL itself refuses a data directory whose server is alive.
        with pytest.raises(RuntimeError, match=r"PostgreSQL server \(pid \d+\) still runs"):
            EmbeddedPostgres(state / "pgdata", durable=False).start()
        assert asyncio.run(_select_one(url)) == 1, "the first run's PostgreSQL was stopped"
    finally:
        taken.close()
        if holder.stdin is not None:
            holder.stdin.close()
        holder.wait(timeout=30)
