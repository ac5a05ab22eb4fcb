"""Summaries: a job's summary read, or asked for again (made in the background by the configured provider)."""

from __future__ import annotations

import math
import uuid

import psycopg
from celery import Celery

from vidsafe.db import audit, summaries, teams
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.jobs import JobStatus
from vidsafe.domain.summaries import SummaryRecord
from vidsafe.gateway.dependencies import Caller
from vidsafe.gateway.refusals import Refusal, found_or_404
from vidsafe.gateway.services import owned
from vidsafe.gateway.services.queueing import sending
from vidsafe.queue import send_summary
from vidsafe.settings import Settings


def get(conn: psycopg.Connection, team_id: uuid.UUID, job_id: uuid.UUID) -> SummaryRecord:
    """The job's summary; 404 summary_not_found until the job has succeeded."""
    owned.job(conn, team_id, job_id)
    return found_or_404(summaries.get(conn, job_id, team_id), ErrorCode.summary_not_found,
                        f"job {job_id} has no summary yet: one is made when it succeeds")


REGENERATED = "summary.regenerated"
HOUR_S = 3600.0


def regenerate(conn: psycopg.Connection, queue: Celery, settings: Settings, caller: Caller,
               job_id: uuid.UUID) -> SummaryRecord:
    """The summary asked for again, its state queued until it is made or fails (the last one stays meanwhile); at
    most ``summary_regenerations_per_hour`` a team (each one a paid request to an LLM provider), each in the
    team's audit trail."""
    team_id = caller.team_id
    job = owned.job(conn, team_id, job_id)
    if job.status != JobStatus.succeeded:
        raise Refusal(409, ErrorCode.invalid_state, f"job {job_id} is {job.status}: only an analysed job is "
                      "summed up")
    limit = settings.summary_regenerations_per_hour
    with conn.transaction():
        teams.lock_team(conn, team_id)
        count, oldest_s = audit.recent(conn, team_id, REGENERATED, HOUR_S)
        if count >= limit:
            wait_s = max(1, math.ceil(HOUR_S - (oldest_s or 0.0)))
            raise Refusal(429, ErrorCode.summary_rate_limited, f"team {caller.team} asked for {count} summaries "
                          f"again in the last hour, its limit (VIDSAFE_SUMMARY_REGENERATIONS_PER_HOUR = {limit})",
                          headers={"Retry-After": str(wait_s)})
        audit.record(conn, team_id, caller.actor, REGENERATED, str(job_id))
    summaries.request(conn, job_id, settings.summary_provider, settings.effective_summary_model)
    with sending():
        send_summary(queue, job_id)
    return get(conn, team_id, job_id)
