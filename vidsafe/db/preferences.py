"""The SQL of a reviewer's own settings, kept with their key; and a team's reviewer found by their key's name."""

from __future__ import annotations

from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from vidsafe.domain.teams import Preferences, TeamReviewSettings


def team_key_id(conn: psycopg.Connection, team_id: UUID, name: str) -> UUID | None:
    """The team's live key named ``name``."""
    row = conn.execute("SELECT id FROM api_keys WHERE team_id = %s AND name = %s AND revoked_at IS NULL",
                       (team_id, name)).fetchone()
    return row[0] if row else None


# ---- a reviewer's preferences --------------------------------------------------------------------


def preferences(conn: psycopg.Connection, key_id: UUID) -> Preferences:
    """The reviewer's own preferences where they saved them, else their team's defaults."""
    row = conn.execute("SELECT t.review_defaults || k.preferences FROM api_keys k JOIN teams t ON t.id = k.team_id "
                       "WHERE k.id = %s", (key_id,)).fetchone()
    return Preferences.model_validate(row[0] if row else {})


def review_settings(conn: psycopg.Connection, team_id: UUID) -> TeamReviewSettings:
    row = conn.execute("SELECT review_defaults, exposure_soft_limit_s FROM teams WHERE id = %s", (team_id,)).fetchone()
    assert row is not None, "every key's team exists"
    return TeamReviewSettings(defaults=Preferences.model_validate(row[0]), exposure_soft_limit_s=row[1])


def set_review_settings(conn: psycopg.Connection, team_id: UUID, settings: TeamReviewSettings) -> TeamReviewSettings:
    conn.execute("UPDATE teams SET review_defaults = %s, exposure_soft_limit_s = %s WHERE id = %s",
                 (Jsonb(settings.defaults.model_dump()), settings.exposure_soft_limit_s, team_id))
    return settings


def set_preferences(conn: psycopg.Connection, key_id: UUID, prefs: Preferences) -> Preferences:
    conn.execute("UPDATE api_keys SET preferences = %s WHERE id = %s", (Jsonb(prefs.model_dump()), key_id))
    return prefs
