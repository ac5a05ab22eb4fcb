"""API keys: random tokens handed out once; only their sha256 is stored.

A key looks like ``vsk_<8 characters>_<43 characters>``: 32 random bytes, so a plain sha256 is as
good as a slow password hash here, and lets the gateway find the key with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from pathlib import Path
from uuid import UUID

import psycopg

from vidsafe.db import teams
from vidsafe.db.teams import KeyHolder
from vidsafe.domain.teams import ApiKey, Scope
from vidsafe.settings import Settings


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(conn: psycopg.Connection, team_id: UUID, name: str, scopes: list[Scope]) -> tuple[ApiKey, str]:
    """Create a key of the team; returns its record and the key itself, which is shown once and never stored."""
    prefix = secrets.token_hex(4)
    key = f"vsk_{prefix}_{secrets.token_urlsafe(32)}"
    return teams.create_api_key(conn, uuid.uuid4(), team_id, name, prefix, hash_key(key), scopes), key


def check_key(conn: psycopg.Connection, key: str) -> KeyHolder | None:
    return teams.api_key_by_hash(conn, hash_key(key))


def local_key_path(settings: Settings) -> Path:
    return settings.state_dir / "cli-api-key"


# The CLI's own key, of the operator team: the machine's operator, who can read state_dir (and so the embedded
# database), manages teams and keys through the API with it too.
LOCAL_KEY_SCOPES = [Scope.submit, Scope.review, Scope.admin]


def ensure_local_key(conn: psycopg.Connection, settings: Settings) -> str:
    """The key the CLI on this machine uses against its own stack, kept in state_dir with owner-only
    permissions, as SSH and kube configs keep theirs; issued on first use (and again when its scopes change)."""
    path = local_key_path(settings)
    if path.exists() and (holder := check_key(conn, key := path.read_text().strip())) \
            and set(holder.key.scopes) == set(LOCAL_KEY_SCOPES) and holder.operator:
        return key
    name = f"local-cli-{hashlib.sha256(str(settings.state_dir.resolve()).encode()).hexdigest()[:8]}"
    with conn.transaction():
        teams.delete_api_key(conn, teams.OPERATOR_TEAM_ID, name)
        _, key = issue_key(conn, teams.OPERATOR_TEAM_ID, name, LOCAL_KEY_SCOPES)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    os.chmod(path, 0o600)
    path.write_text(key)
    return key
