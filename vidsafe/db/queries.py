"""The SQL the services share, behind small typed functions."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from vidsafe.domain import ErrorCode, Finding, Job, JobStatus, MediaInfo

_JOB_COLUMNS = (
    "id, status, source_name, progress, frames_analyzed, media, error_code, error_message, "
    "created_at, started_at, finished_at"
)


def _job(row: dict) -> Job:
    return Job.model_validate(row)


def create_job(conn: psycopg.Connection, job_id: UUID, source_name: str, media_path: str, owns_media: bool) -> Job:
    row = conn.cursor(row_factory=dict_row).execute(
        f"INSERT INTO jobs (id, status, source_name, media_path, owns_media) VALUES (%s, 'queued', %s, %s, %s) "
        f"RETURNING {_JOB_COLUMNS}",
        (job_id, source_name, media_path, owns_media),
    ).fetchone()
    assert row is not None
    return _job(row)


def delete_job(conn: psycopg.Connection, job_id: UUID) -> None:
    conn.execute("DELETE FROM jobs WHERE id = %s", (job_id,))


def get_job(conn: psycopg.Connection, job_id: UUID) -> Job | None:
    row = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = %s", (job_id,)
    ).fetchone()
    return _job(row) if row else None


def list_jobs(conn: psycopg.Connection, limit: int, status: JobStatus | None = None) -> list[Job]:
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_JOB_COLUMNS} FROM jobs WHERE %(status)s::text IS NULL OR status = %(status)s "
        "ORDER BY created_at DESC LIMIT %(limit)s",
        {"status": status, "limit": limit},
    ).fetchall()
    return [_job(row) for row in rows]


def get_media_source(conn: psycopg.Connection, job_id: UUID) -> tuple[str, bool] | None:
    """Where the worker reads the job's video, and whether the job owns (and so removes) that file."""
    row = conn.execute("SELECT media_path, owns_media FROM jobs WHERE id = %s", (job_id,)).fetchone()
    return (row[0], row[1]) if row else None


def start_job(conn: psycopg.Connection, job_id: UUID) -> bool:
    """Mark a job running and forget any findings of an earlier, interrupted attempt.

    Returns False when the job does not exist or has already ended, so a redelivered task is a no-op.
    """
    with conn.transaction():
        cur = conn.execute(
            "UPDATE jobs SET status = 'running', started_at = now(), progress = 0, frames_analyzed = 0 "
            "WHERE id = %s AND status IN ('queued', 'running')",
            (job_id,),
        )
        if cur.rowcount != 1:
            return False
        conn.execute("DELETE FROM findings WHERE job_id = %s", (job_id,))
    return True


def set_media(conn: psycopg.Connection, job_id: UUID, media: MediaInfo) -> None:
    conn.execute("UPDATE jobs SET media = %s WHERE id = %s", (Jsonb(media.model_dump()), job_id))


def add_findings(conn: psycopg.Connection, job_id: UUID, findings: Iterable[Finding], frames_analyzed: int,
                 progress: float) -> None:
    """Store one batch's findings and advance the job's progress in the same transaction."""
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO findings (job_id, module, label, score, frame_index, timestamp_s, box) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(job_id, f.module, f.label, f.score, f.frame_index, f.timestamp_s, list(f.box)) for f in findings],
        )
        cur.execute(
            "UPDATE jobs SET frames_analyzed = %s, progress = %s WHERE id = %s",
            (frames_analyzed, min(progress, 1.0), job_id),
        )


def finish_job(conn: psycopg.Connection, job_id: UUID) -> None:
    conn.execute(
        "UPDATE jobs SET status = 'succeeded', progress = 1, finished_at = now() WHERE id = %s", (job_id,)
    )


def fail_job(conn: psycopg.Connection, job_id: UUID, code: ErrorCode, message: str) -> None:
    conn.execute(
        "UPDATE jobs SET status = 'failed', error_code = %s, error_message = %s, finished_at = now() "
        "WHERE id = %s",
        (code, message, job_id),
    )


def get_findings(conn: psycopg.Connection, job_id: UUID, module: str | None = None) -> list[Finding]:
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT module, label, score, frame_index, timestamp_s, box FROM findings "
        "WHERE job_id = %(job)s AND (%(module)s::text IS NULL OR module = %(module)s) "
        "ORDER BY timestamp_s, id",
        {"job": job_id, "module": module},
    ).fetchall()
    return [Finding.model_validate({**row, "box": tuple(row["box"])}) for row in rows]
