"""API keys for front ends and department systems, stored only as SHA-256 hashes.

`liandong principals add` draws a random key (`ld_…`), prints it once and appends its hash
with the principal's claims to the keys file (`LIANDONG_API_KEYS_FILE`; in Kubernetes a mounted
Secret). A service loads the file at start and reloads it when it changes on disk, so a key
added or revoked takes effect without a restart. The key itself is never stored nor logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts.jurisdiction import UnitCode
from services.runtime.auth import Principal, Role

log = structlog.get_logger(__name__)

KEY_PREFIX = "ld_"
HASH_PREFIX_LENGTH = 12  # what `principals list` shows of a hash


class ApiKeyEntry(BaseModel):
    """One key of the file: the hash of the key and the claims it stands for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    sub: str = Field(min_length=1, max_length=200)
    role: Role
    department_id: str | None = None
    unit_code: UnitCode | None = None
    created_at: datetime

    def principal(self) -> Principal:
        # An API key has no expiry: it lasts until it is revoked.
        return Principal(
            sub=self.sub,
            role=self.role,
            department_id=self.department_id,
            unit_code=self.unit_code,
            exp=None,
        )


class ApiKeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    keys: list[ApiKeyEntry] = Field(default_factory=list)


class InvalidKeyFile(Exception):
    pass


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def read_key_file(path: Path) -> ApiKeyFile:
    """The keys in `path`; a missing file holds none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ApiKeyFile()
    try:
        return ApiKeyFile.model_validate_json(text)
    except ValidationError as exc:
        raise InvalidKeyFile(f"{path}: {exc}") from exc


def write_key_file(path: Path, content: ApiKeyFile) -> None:
    """Atomically (write a temporary file, then rename), readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(content.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_key(
    path: Path,
    *,
    sub: str,
    role: Role,
    department_id: str | None = None,
    unit_code: str | None = None,
    now: datetime | None = None,
) -> tuple[str, ApiKeyEntry]:
    """A new key for the principal; returns the key (shown once) and the entry stored."""
    key = new_key()
    entry = ApiKeyEntry(
        sha256=hash_key(key),
        sub=sub,
        role=role,
        department_id=department_id,
        unit_code=unit_code,
        created_at=now or datetime.now(UTC),
    )
    content = read_key_file(path)
    content.keys.append(entry)
    write_key_file(path, content)
    return key, entry


def revoke_keys(path: Path, *, sub: str, hash_prefix: str | None = None) -> list[ApiKeyEntry]:
    """Remove every key of `sub` (only the one whose hash starts with `hash_prefix`, if given);
    returns the entries removed."""
    content = read_key_file(path)
    removed = [
        e
        for e in content.keys
        if e.sub == sub and (hash_prefix is None or e.sha256.startswith(hash_prefix))
    ]
    if removed:
        content.keys = [e for e in content.keys if e not in removed]
        write_key_file(path, content)
    return removed


@dataclass(frozen=True, slots=True)
class _Loaded:
    stamp: tuple[int, int, int] | None  # (inode, size, mtime_ns); None: no file
    entries: tuple[tuple[bytes, Principal], ...]


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


class ApiKeys:
    """The keys file as a service sees it: loaded at start, reloaded when it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._loaded = self._load()  # a malformed file stops the service at start

    def _load(self) -> _Loaded:
        stamp = _stamp(self.path)
        content = read_key_file(self.path)
        entries = tuple((e.sha256.encode(), e.principal()) for e in content.keys)
        return _Loaded(stamp, entries)

    def _current(self) -> _Loaded:
        stamp = _stamp(self.path)
        if stamp != self._loaded.stamp:
            try:
                self._loaded = self._load()
                log.info("api keys reloaded", path=str(self.path), keys=len(self._loaded.entries))
            except (InvalidKeyFile, OSError) as exc:
                # Keep the keys we have rather than lock every client out over a bad edit; try
                # again when the file changes next.
                self._loaded = _Loaded(stamp, self._loaded.entries)
                log.error("api keys file not reloaded", path=str(self.path), error=str(exc))
        return self._loaded

    def principal_for(self, key: str) -> Principal | None:
        """The principal of `key`, or None for an unknown key. Every stored hash is compared
        in constant time, so the answer's timing says nothing about the stored hashes."""
        digest = hash_key(key).encode()
        found = None
        for stored, principal in self._current().entries:
            if hmac.compare_digest(stored, digest):
                found = principal
        return found
