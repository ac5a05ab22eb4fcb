"""The SQL of reviewers' exposure: the unblurred seconds of sensitive stretches each played, per day (UTC)."""

from __future__ import annotations

from uuid import UUID

import psycopg


def add(conn: psycopg.Connection, team_id: UUID, key_id: UUID, seconds: float) -> float:
    """Add to the reviewer's seconds of today; the day's total."""
    row = conn.execute(
        "INSERT INTO reviewer_exposure (api_key_id, team_id, day, seconds) "
        "VALUES (%s, %s, (now() AT TIME ZONE 'UTC')::date, %s) ON CONFLICT (api_key_id, day) "
        "DO UPDATE SET seconds = reviewer_exposure.seconds + excluded.seconds RETURNING seconds",
        (key_id, team_id, seconds)).fetchone()
    assert row is not None
    return float(row[0])


def today(conn: psycopg.Connection, key_id: UUID) -> float:
    row = conn.execute("SELECT seconds FROM reviewer_exposure WHERE api_key_id = %s "
                       "AND day = (now() AT TIME ZONE 'UTC')::date", (key_id,)).fetchone()
    return float(row[0]) if row else 0.0


def team_today(conn: psycopg.Connection, team_id: UUID) -> dict[str, float]:
    """Each of the team's reviewers (by key name) with exposure today, most exposed first."""
    rows = conn.execute(
        "SELECT k.name, e.seconds FROM reviewer_exposure e JOIN api_keys k ON k.id = e.api_key_id "
        "WHERE e.team_id = %s AND e.day = (now() AT TIME ZONE 'UTC')::date ORDER BY e.seconds DESC",
        (team_id,)).fetchall()
    return {name: float(seconds) for name, seconds in rows}


def past_limit(conn: psycopg.Connection, team_id: UUID, key_id: UUID) -> bool:
    """Whether the reviewer's exposure today has reached their team's soft limit (none set: never)."""
    row = conn.execute(
        "SELECT t.exposure_soft_limit_s IS NOT NULL AND coalesce(e.seconds, 0) >= t.exposure_soft_limit_s "
        "FROM teams t LEFT JOIN reviewer_exposure e ON e.api_key_id = %s "
        "AND e.day = (now() AT TIME ZONE 'UTC')::date WHERE t.id = %s", (key_id, team_id)).fetchone()
    return bool(row and row[0])
