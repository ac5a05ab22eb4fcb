"""The SQL of the monitoring figures: a team's jobs and throughput; every team's jobs and the webhook deliveries, as
the metrics count them."""

from __future__ import annotations

from uuid import UUID

import psycopg

# ---- monitoring ----------------------------------------------------------------------------------


def throughput(conn: psycopg.Connection, team_id: UUID) -> tuple[dict[str, int], int, float, int]:
    """(jobs per status, jobs finished in the last hour, their video seconds, their frames)."""
    counts = dict(conn.execute("SELECT status, count(*) FROM jobs WHERE team_id = %s GROUP BY status",
                               (team_id,)).fetchall())
    row = conn.execute(
        "SELECT count(*), coalesce(sum((media->>'duration_s')::float), 0), coalesce(sum(frames_analyzed), 0) "
        "FROM jobs WHERE team_id = %s AND status = 'succeeded' AND finished_at > now() - interval '1 hour'",
        (team_id,)).fetchone()
    assert row is not None
    return counts, row[0], float(row[1]), int(row[2])


def jobs_by_team(conn: psycopg.Connection, by_name: bool) -> list[tuple[str, str, int, float]]:
    """(team, status, jobs, seconds of video) of every team and status; the team by its name, or by its id."""
    team = "t.name" if by_name else "t.id::text"
    return conn.execute(
        f"SELECT {team}, j.status, count(*), coalesce(sum((j.media ->> 'duration_s')::float), 0) "
        f"FROM jobs j JOIN teams t ON t.id = j.team_id GROUP BY {team}, j.status").fetchall()


def deliveries_by_state(conn: psycopg.Connection) -> dict[str, int]:
    """Webhook deliveries by state: pending (first attempt due), retrying (failed at least once), delivered, failed."""
    return dict(conn.execute(
        "SELECT CASE WHEN status = 'pending' AND attempts > 0 THEN 'retrying' ELSE status END, count(*) "
        "FROM webhook_deliveries GROUP BY 1").fetchall())
