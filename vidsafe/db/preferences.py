"""The SQL of a reviewer's own settings, kept with their key; and a team's reviewer found by their key's name."""

from __future__ import annotations

from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from vidsafe.domain.teams import Preferences


def team_key_id(conn: psycopg.Connection, team_id: UUID, name: str) -> UUID | None:
    """The team's live key named ``name``."""
    row = conn.execute("SELECT id FROM api_keys WHERE team_id = %s AND name = %s AND revoked_at IS NULL",
                       (team_id, name)).fetchone()
    return row[0] if row else None


# ---- a reviewer's preferences --------------------------------------------------------------------


def preferences(conn: psycopg.Connection, key_id: UUID) -> Preferences:
    row = conn.execute("SELECT preferences FROM api_keys WHERE id = %s", (key_id,)).fetchone()
    return Preferences.model_validate(row[0] if row else {})


def set_preferences(conn: psycopg.Connection, key_id: UUID, prefs: Preferences) -> Preferences:
    conn.execute("UPDATE api_keys SET preferences = %s WHERE id = %s", (Jsonb(prefs.model_dump()), key_id))
    return prefs
