"""The SQL of the monitoring figures: a team's jobs and throughput."""

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
