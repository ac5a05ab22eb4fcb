"""The SQL of a job's video on disk: kept for review for its team's retention, and which files jobs still need."""

from __future__ import annotations

from uuid import UUID

import psycopg


def live_media_paths(conn: psycopg.Connection, retention_s: float) -> set[str]:
    """Files jobs still need: those of unfinished jobs, of retryable failures within the retention, and the
    videos kept for review."""
    rows = conn.execute(
        "SELECT media_path FROM jobs WHERE owns_media AND (status NOT IN ('succeeded', 'failed', 'cancelled') "
        "OR (status = 'failed' AND retryable AND finished_at > now() - make_interval(secs => %s)) "
        "OR media_kept_until > now())",
        (retention_s,),
    ).fetchall()
    return {row[0] for row in rows}


def keep_media(conn: psycopg.Connection, job_id: UUID, default_retention_s: float) -> bool:
    """Keep a succeeded job's video for review for its team's retention (or ``default_retention_s``); False if it
    is kept for no time at all (the caller removes it now)."""
    row = conn.execute(
        "UPDATE jobs j SET media_kept_until = now() + make_interval(secs => coalesce(t.media_retention_s, %s)) "
        "FROM teams t WHERE t.id = j.team_id AND j.id = %s AND coalesce(t.media_retention_s, %s) > 0 RETURNING j.id",
        (default_retention_s, job_id, default_retention_s)).fetchone()
    return row is not None


def kept_media(conn: psycopg.Connection, job_id: UUID, team_id: UUID) -> str | None:
    """The path of the team's job's video while it is kept for review (or, not owned, the server's own file)."""
    row = conn.execute(
        "SELECT media_path FROM jobs WHERE id = %s AND team_id = %s AND (NOT owns_media OR media_kept_until > now() "
        "OR status NOT IN ('succeeded', 'failed', 'cancelled'))", (job_id, team_id)).fetchone()
    return row[0] if row else None
