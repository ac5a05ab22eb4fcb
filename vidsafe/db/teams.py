"""The SQL of teams, their limits and usage, and their API keys (with each key's reviewer preferences)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from vidsafe.domain.teams import ApiKey, Scope, Team, TeamLimits

# ---- teams and API keys --------------------------------------------------------------------------

_TEAM_COLUMNS = ("id, name, operator, max_running_jobs, max_queued_jobs, max_video_hours_per_day, media_retention_s, "
                 "created_at")
# The team every deployment has: data from before teams moved into it, and its admins act for any team.
OPERATOR_TEAM_ID = UUID("00000000-0000-0000-0000-000000000001")


def create_team(conn: psycopg.Connection, team_id: UUID, name: str, limits: TeamLimits) -> Team:
    row = conn.cursor(row_factory=dict_row).execute(
        "INSERT INTO teams (id, name, max_running_jobs, max_queued_jobs, max_video_hours_per_day, media_retention_s) "
        f"VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_TEAM_COLUMNS}",
        (team_id, name, limits.max_running_jobs, limits.max_queued_jobs, limits.max_video_hours_per_day,
         limits.media_retention_s),
    ).fetchone()
    assert row is not None
    return Team.model_validate(row)


def team_by_name(conn: psycopg.Connection, name: str) -> Team | None:
    row = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_TEAM_COLUMNS} FROM teams WHERE name = %s", (name,)).fetchone()
    return Team.model_validate(row) if row else None


def get_team(conn: psycopg.Connection, team_id: UUID) -> Team:
    row = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_TEAM_COLUMNS} FROM teams WHERE id = %s", (team_id,)).fetchone()
    assert row is not None, "every key's team exists"
    return Team.model_validate(row)


def list_teams(conn: psycopg.Connection, team_id: UUID | None = None) -> list[Team]:
    """Every team, or only ``team_id``'s."""
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_TEAM_COLUMNS} FROM teams WHERE %(team)s::uuid IS NULL OR id = %(team)s ORDER BY name",
        {"team": team_id}).fetchall()
    return [Team.model_validate(row) for row in rows]


def set_team_limits(conn: psycopg.Connection, team_id: UUID, limits: TeamLimits) -> Team:
    row = conn.cursor(row_factory=dict_row).execute(
        "UPDATE teams SET max_running_jobs = %s, max_queued_jobs = %s, max_video_hours_per_day = %s, "
        f"media_retention_s = %s WHERE id = %s RETURNING {_TEAM_COLUMNS}",
        (limits.max_running_jobs, limits.max_queued_jobs, limits.max_video_hours_per_day, limits.media_retention_s,
         team_id),
    ).fetchone()
    assert row is not None
    return Team.model_validate(row)


@dataclass(frozen=True)
class TeamUsage:
    running: int
    waiting: int  # pending or queued
    video_hours_24h: float
    oldest_in_window_s: float | None  # seconds since the oldest job counted in video_hours_24h was submitted


def lock_team(conn: psycopg.Connection, team_id: UUID) -> None:
    """Serialise, until the transaction ends, what counts a team's jobs and then adds or starts one."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"team:{team_id}",))


def team_usage(conn: psycopg.Connection, team_id: UUID) -> TeamUsage:
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE status = 'running'), count(*) FILTER (WHERE status IN ('pending', 'queued')), "
        "coalesce(sum((media->>'duration_s')::float) FILTER (WHERE created_at > now() - interval '1 day'), 0) / 3600, "
        "extract(epoch FROM now() - min(created_at) FILTER (WHERE created_at > now() - interval '1 day' "
        "AND media IS NOT NULL)) FROM jobs WHERE team_id = %s", (team_id,)).fetchone()
    assert row is not None
    return TeamUsage(row[0], row[1], float(row[2]), float(row[3]) if row[3] is not None else None)


_API_KEY_COLUMNS = ("k.id, t.name AS team, k.name, k.prefix, k.scopes, k.created_at, k.last_used_at, k.revoked_at, "
                    "k.team_id, t.operator")


@dataclass(frozen=True)
class KeyHolder:
    """A live key with what the gateway needs to scope its requests: its team, and whether that is the operator."""

    key: ApiKey
    team_id: UUID
    operator: bool


def _key_holder(row: dict) -> KeyHolder:
    team_id, operator = row.pop("team_id"), row.pop("operator")
    return KeyHolder(ApiKey.model_validate(row), team_id, operator)


def create_api_key(conn: psycopg.Connection, key_id: UUID, team_id: UUID, name: str, prefix: str, key_sha256: str,
                   scopes: list[Scope]) -> ApiKey:
    conn.execute("INSERT INTO api_keys (id, team_id, name, prefix, key_sha256, scopes) VALUES (%s, %s, %s, %s, %s, %s)",
                 (key_id, team_id, name, prefix, key_sha256, [str(scope) for scope in scopes]))
    return _api_key(conn, key_id)


def _api_key(conn: psycopg.Connection, key_id: UUID) -> ApiKey:
    row = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_API_KEY_COLUMNS} FROM api_keys k JOIN teams t ON t.id = k.team_id WHERE k.id = %s",
        (key_id,)).fetchone()
    assert row is not None
    return _key_holder(row).key


# A key's last use is recorded at most this often: every request writing it would turn each read into a write.
LAST_USED_RESOLUTION = "1 minute"


def api_key_by_hash(conn: psycopg.Connection, key_sha256: str) -> KeyHolder | None:
    """The live (not revoked) key with this hash, marking it used (if its last use is older than a minute)."""
    row = conn.cursor(row_factory=dict_row).execute(
        f"WITH found AS (SELECT {_API_KEY_COLUMNS} FROM api_keys k JOIN teams t ON t.id = k.team_id "
        "WHERE k.key_sha256 = %s AND k.revoked_at IS NULL), "
        "used AS (UPDATE api_keys SET last_used_at = now() WHERE id IN (SELECT id FROM found WHERE last_used_at "
        f"IS NULL OR last_used_at < now() - interval '{LAST_USED_RESOLUTION}')) SELECT * FROM found",
        (key_sha256,),
    ).fetchone()
    return _key_holder(row) if row else None


def list_api_keys(conn: psycopg.Connection, team_id: UUID) -> list[ApiKey]:
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_API_KEY_COLUMNS} FROM api_keys k JOIN teams t ON t.id = k.team_id WHERE k.team_id = %s "
        "ORDER BY k.created_at", (team_id,)).fetchall()
    return [_key_holder(row).key for row in rows]


def revoke_api_key(conn: psycopg.Connection, team_id: UUID, name: str) -> ApiKey | None:
    """The team's key named ``name``, revoked now; None if the team has no live key of that name."""
    row = conn.execute("UPDATE api_keys SET revoked_at = now() WHERE team_id = %s AND name = %s "
                       "AND revoked_at IS NULL RETURNING id", (team_id, name)).fetchone()
    return _api_key(conn, row[0]) if row else None


def delete_api_key(conn: psycopg.Connection, team_id: UUID, name: str) -> None:
    conn.execute("DELETE FROM api_keys WHERE team_id = %s AND name = %s", (team_id, name))
