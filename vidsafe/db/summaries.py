"""The SQL of jobs' summaries: requested, made (the last good one kept), failed."""

from __future__ import annotations

from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from vidsafe.domain.summaries import JobSummary, SummaryRecord

_UPSERT = ("INSERT INTO job_summaries AS s (job_id, state, provider, model, summary, error, requested_at, "
           "generated_at) "
           "VALUES (%(job)s, %(state)s, %(provider)s, %(model)s, %(summary)s, %(error)s, now(), %(generated)s) "
           "ON CONFLICT (job_id) DO UPDATE SET state = excluded.state, provider = excluded.provider, "
           "model = excluded.model, summary = coalesce(excluded.summary, s.summary), error = excluded.error, "
           "generated_at = coalesce(excluded.generated_at, s.generated_at)")


def request(conn: psycopg.Connection, job_id: UUID, provider: str, model: str | None) -> None:
    """A new summary is on its way; the last one stays until it comes."""
    conn.execute(_UPSERT + ", requested_at = now()", {"job": job_id, "state": "queued", "provider": provider,
                                                      "model": model, "summary": None, "error": None,
                                                      "generated": None})


def store(conn: psycopg.Connection, job_id: UUID, provider: str, model: str | None, summary: JobSummary) -> None:
    conn.execute(_UPSERT, {"job": job_id, "state": "ready", "provider": provider, "model": model,
                           "summary": Jsonb(summary.model_dump(mode="json")), "error": None, "generated": "now"})


def fail(conn: psycopg.Connection, job_id: UUID, provider: str, model: str | None, error: str) -> None:
    conn.execute(_UPSERT, {"job": job_id, "state": "failed", "provider": provider, "model": model, "summary": None,
                           "error": error, "generated": None})


def get(conn: psycopg.Connection, job_id: UUID, team_id: UUID) -> SummaryRecord | None:
    return conn.cursor(row_factory=class_row(SummaryRecord)).execute(
        "SELECT s.job_id, s.state, s.provider, s.model, s.summary, s.error, s.requested_at, s.generated_at "
        "FROM job_summaries s JOIN jobs j ON j.id = s.job_id WHERE s.job_id = %s AND j.team_id = %s",
        (job_id, team_id)).fetchone()
