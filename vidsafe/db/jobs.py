"""The SQL of jobs: recording a submission (idempotently), reading it, its plan, and every change of its status or
priority, each kept in its audit trail."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from vidsafe.catalogue import Module
from vidsafe.db.paging import Page, decode_cursor, identifier, page_of, timestamp
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.jobs import Coverage, Job, JobEvent, JobOptions, JobStatus, JobWarning, MediaInfo

_JOB_COLUMNS = (
    "id, status, source_name, source_url, batch_id, priority, callback_url, progress, frames_analyzed, media, "
    "options, modules, step, coverage, warnings, risk, risk_reasons, policy_version, media_kept_until, error_code, "
    "error_message, retryable, created_at, started_at, finished_at"
)


def _job(row: dict) -> Job:
    return Job.model_validate(row)


@dataclass(frozen=True)
class NewJob:
    """What the gateway records for a submitted video."""

    team_id: UUID
    source_name: str
    media_path: str
    owns_media: bool  # an upload or a download, removed when no longer needed
    options: JobOptions
    media: MediaInfo | None = None  # probed at submission (None: a URL, fetched and probed by a worker)
    status: JobStatus = JobStatus.queued
    priority: int = 5
    batch_id: UUID | None = None
    callback_url: str | None = None
    source_url: str | None = None


@contextmanager
def acting(conn: psycopg.Connection, actor: str, reason: str | None = None) -> Iterator[None]:
    """A transaction whose job changes the audit trail records as made by ``actor``, for ``reason``."""
    with conn.transaction():
        conn.execute("SELECT set_config('vidsafe.actor', %s, true), set_config('vidsafe.reason', %s, true)",
                     (actor, reason or ""))
        yield


@dataclass(frozen=True)
class Idempotency:
    """A submission's idempotency key, and the fingerprint of the request it is bound to."""

    key: str
    fingerprint: str


def create_job(conn: psycopg.Connection, job_id: UUID, new: NewJob, api_key_id: UUID | None = None,
               idempotency: Idempotency | None = None, actor: str = "system") -> Job | None:
    """The new job; None if this API key already created a job with this idempotency key."""
    with acting(conn, actor, "submitted"):
        row = conn.cursor(row_factory=dict_row).execute(
            "INSERT INTO jobs (id, team_id, status, source_name, media_path, owns_media, options, media, api_key_id, "
            "idempotency_key, idempotency_fingerprint, priority, batch_id, callback_url, source_url) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (api_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING "
            f"RETURNING {_JOB_COLUMNS}",
            (job_id, new.team_id, new.status, new.source_name, new.media_path, new.owns_media,
             Jsonb(new.options.model_dump(mode="json", exclude_none=True)),
             Jsonb(new.media.model_dump()) if new.media else None, api_key_id,
             idempotency.key if idempotency else None, idempotency.fingerprint if idempotency else None,
             new.priority, new.batch_id, new.callback_url, new.source_url),
        ).fetchone()
    return _job(row) if row else None


def job_by_idempotency_key(conn: psycopg.Connection, api_key_id: UUID, idempotency_key: str,
                           ttl_s: float) -> tuple[Job, str | None] | None:
    """The job this key created under ``idempotency_key`` within ``ttl_s``, with the request's fingerprint. An
    older use of the key is forgotten here (the key may be used again, as Stripe's expire after 24 h)."""
    conn.execute("UPDATE jobs SET idempotency_key = NULL WHERE api_key_id = %s AND idempotency_key = %s "
                 "AND created_at < now() - make_interval(secs => %s)", (api_key_id, idempotency_key, ttl_s))
    row = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_JOB_COLUMNS}, idempotency_fingerprint FROM jobs WHERE api_key_id = %s AND idempotency_key = %s",
        (api_key_id, idempotency_key),
    ).fetchone()
    if row is None:
        return None
    fingerprint = row.pop("idempotency_fingerprint")
    return _job(row), fingerprint


def delete_job(conn: psycopg.Connection, job_id: UUID) -> None:
    conn.execute("DELETE FROM jobs WHERE id = %s", (job_id,))


def get_job(conn: psycopg.Connection, job_id: UUID, team_id: UUID | None) -> Job | None:
    """The job, if it belongs to ``team_id`` (None: to any team, as the workers read it)."""
    row = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = %(job)s AND (%(team)s::uuid IS NULL OR team_id = %(team)s)",
        {"job": job_id, "team": team_id},
    ).fetchone()
    return _job(row) if row else None


def list_jobs(conn: psycopg.Connection, team_id: UUID, limit: int, status: JobStatus | None = None,
              batch_id: UUID | None = None, cursor: str | None = None) -> Page[Job]:
    """A page of the team's jobs, newest first (InvalidCursor for a cursor of another list)."""
    after = decode_cursor(cursor, {"t": timestamp, "id": identifier})
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_JOB_COLUMNS} FROM jobs WHERE team_id = %(team)s AND (%(status)s::text IS NULL OR status = "
        "%(status)s) AND (%(batch)s::uuid IS NULL OR batch_id = %(batch)s) "
        "AND (%(t)s::timestamptz IS NULL OR (created_at, id) < (%(t)s::timestamptz, %(id)s::uuid)) "
        "ORDER BY created_at DESC, id DESC LIMIT %(limit)s",
        {"team": team_id, "status": status, "batch": batch_id, "limit": limit + 1,
         "t": after["t"] if after else None, "id": after["id"] if after else None},
    ).fetchall()
    return page_of([_job(row) for row in rows], limit,
                   lambda job: {"t": job.created_at.isoformat(), "id": str(job.id)})


@dataclass(frozen=True)
class MediaSource:
    """Where the worker reads a job's video, whether the job owns (and so removes) that file, the URL it is
    fetched from first (None: it was uploaded or named on the server), the job's options and its team."""

    path: str
    owns_media: bool
    url: str | None
    options: JobOptions
    team_id: UUID


def job_team(conn: psycopg.Connection, job_id: UUID) -> UUID | None:
    row = conn.execute("SELECT team_id FROM jobs WHERE id = %s", (job_id,)).fetchone()
    return row[0] if row else None


def get_media_source(conn: psycopg.Connection, job_id: UUID) -> MediaSource | None:
    row = conn.execute("SELECT media_path, owns_media, source_url, options, team_id FROM jobs WHERE id = %s",
                       (job_id,)).fetchone()
    return MediaSource(row[0], row[1], row[2], JobOptions.model_validate(row[3]), row[4]) if row else None


def set_plan(conn: psycopg.Connection, job_id: UUID, media: MediaInfo, modules: list[Module]) -> None:
    """What planning found and fixed: the probed media and the modules the job runs; the job analyses now."""
    conn.execute("UPDATE jobs SET media = %s, modules = %s, step = 'analysing' WHERE id = %s",
                 (Jsonb(media.model_dump()), [str(m) for m in modules], job_id))


def set_coverage(conn: psycopg.Connection, job_id: UUID, coverage: Coverage | None,
                 warnings: list[JobWarning]) -> None:
    conn.execute("UPDATE jobs SET coverage = %s, warnings = %s WHERE id = %s",
                 (Jsonb(coverage.model_dump(mode="json")) if coverage else None,
                  Jsonb([w.model_dump(mode="json") for w in warnings]), job_id))


def set_step(conn: psycopg.Connection, job_id: UUID, step: str) -> None:
    conn.execute("UPDATE jobs SET step = %s WHERE id = %s", (step, job_id))


# ---- job control, audit trail, webhooks ----------------------------------------------------------

def transition(conn: psycopg.Connection, job_id: UUID, allowed: Iterable[JobStatus], to: JobStatus, actor: str,
               reason: str | None = None, error: tuple[ErrorCode, str] | None = None,
               retryable: bool = False) -> Job | None:
    """Move a job from one of the ``allowed`` statuses to ``to``; None if it was in none of them.

    Entering a final status queues the job's webhook event in the same transaction, so an event is
    neither lost nor sent for a change that did not happen.
    """
    with acting(conn, actor, reason):
        row = conn.cursor(row_factory=dict_row).execute(
            "UPDATE jobs SET status = %(to)s, "
            "started_at = CASE WHEN %(to)s = 'running' THEN coalesce(started_at, now()) ELSE started_at END, "
            "finished_at = CASE WHEN %(final)s THEN now() END, step = CASE WHEN %(final)s THEN NULL ELSE step END, "
            "progress = CASE WHEN %(to)s = 'succeeded' THEN 1 ELSE progress END, "
            "error_code = %(code)s, error_message = %(message)s, retryable = %(retryable)s "
            f"WHERE id = %(job)s AND status = ANY(%(allowed)s) RETURNING {_JOB_COLUMNS}",
            {"to": to, "final": to.is_final, "code": error[0] if error else None,
             "message": error[1] if error else None, "retryable": retryable, "job": job_id,
             "allowed": [str(status) for status in allowed]},
        ).fetchone()
        job = _job(row) if row else None
        if job is not None and to.is_final and job.callback_url:
            conn.execute("INSERT INTO webhook_deliveries (job_id, url, event, status) VALUES (%s, %s, %s, 'pending')",
                         (job_id, job.callback_url, Jsonb(job_event_payload(job))))
    return job


def job_event_payload(job: Job) -> dict:
    """The JSON a webhook receives when a job ends."""
    return {"type": f"job.{job.status}", "job": job.model_dump(mode="json", exclude={"media", "options"})}


def set_priority(conn: psycopg.Connection, job_id: UUID, priority: int, actor: str) -> Job | None:
    """The job at its new priority; None if it has ended meanwhile (an ended job's priority stays)."""
    with acting(conn, actor, f"priority {priority}"):
        row = conn.cursor(row_factory=dict_row).execute(
            f"UPDATE jobs SET priority = %s WHERE id = %s AND status NOT IN ('succeeded', 'failed', 'cancelled') "
            f"RETURNING {_JOB_COLUMNS}", (priority, job_id)
        ).fetchone()
    return _job(row) if row else None


def job_events(conn: psycopg.Connection, job_id: UUID) -> list[JobEvent]:
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT at, kind, from_status, to_status, priority, actor, reason FROM job_events WHERE job_id = %s "
        "ORDER BY id",
        (job_id,),
    ).fetchall()
    return [JobEvent.model_validate(row) for row in rows]


def still_waiting(conn: psycopg.Connection, job_id: UUID) -> None:
    """A queued job that waits for its team's slot has a plan task looking after it: not stale."""
    conn.execute("UPDATE jobs SET updated_at = now() WHERE id = %s", (job_id,))


def stale_queued_jobs(conn: psycopg.Connection, after_s: float) -> list[tuple[UUID, int]]:
    """Jobs queued this long with no worker having planned them (their message was lost), marked as resent."""
    rows = conn.execute(
        "UPDATE jobs SET updated_at = now() WHERE status = 'queued' AND updated_at < now() - make_interval(secs => %s) "
        "RETURNING id, priority", (after_s,)).fetchall()
    return [(row[0], row[1]) for row in rows]
