"""What every step of a job's analysis needs: the job as Postgres has it, and how a job ends badly."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from uuid import UUID

import psycopg

from vidsafe.catalogue import Module
from vidsafe.db import jobs, teams
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.jobs import Job, JobOptions, JobStatus
from vidsafe.media.ingest import ingested_path, team_ingest_roots
from vidsafe.observability import count_job_end
from vidsafe.settings import Settings

log = logging.getLogger(__name__)

ACTOR = "worker"  # how the audit trail names the workers
# Sends a part's task: (job, kind, index, priority).
SendPart = Callable[[UUID, str, int, int], None]


@dataclass(frozen=True)
class JobSource:
    job: Job
    path: Path
    owns_media: bool
    url: str | None  # fetched into ``path`` as the job's first step
    options: JobOptions
    team_id: UUID

    @property
    def modules(self) -> set[Module]:
        """The modules fixed when the job was planned."""
        assert self.job.modules is not None, "a planned job has its modules"
        return set(self.job.modules)


def connect(settings: Settings) -> psycopg.Connection:
    return psycopg.connect(settings.effective_database_url, autocommit=True, connect_timeout=5)


def load_source(conn: psycopg.Connection, job_id: UUID) -> JobSource | None:
    job = jobs.get_job(conn, job_id, None)
    source = jobs.get_media_source(conn, job_id)
    if job is None or source is None:
        return None
    return JobSource(job, Path(source.path), source.owns_media, source.url, source.options, source.team_id)


def checked_again(conn: psycopg.Connection, source: JobSource, settings: Settings) -> JobSource:
    """The source about to be read: a path job's file checked again now, by its real path, against its team's
    roots (a symlink swapped in since the gateway checked it is refused); MediaError path_not_allowed."""
    if source.owns_media or source.url is not None:
        return source
    team = teams.get_team(conn, source.team_id)
    return replace(source, path=ingested_path(source.path, team_ingest_roots(settings, team.name, team.operator)))


def superseded(job: Job, sent_priority: int) -> bool:
    """A message sent before the job's priority changed: the one sent at the new priority does the work."""
    if job.priority == sent_priority:
        return False
    log.info("job %s: a message at its former priority %d; the one at %d does the work", job.id, sent_priority,
             job.priority)
    return True


def remove_media(source: JobSource) -> None:
    if source.owns_media:
        source.path.unlink(missing_ok=True)


def fail(conn: psycopg.Connection, source: JobSource, code: ErrorCode, message: str, retryable: bool) -> None:
    """End the job as failed. A bad video's file goes now; a retryable failure keeps it for the retry (the
    maintenance sweep removes it after ``failed_media_retention_s``)."""
    ended = jobs.transition(conn, source.job.id, [JobStatus.queued, JobStatus.running], JobStatus.failed, ACTOR,
                               error=(code, message), retryable=retryable)
    if ended is not None:
        count_job_end(JobStatus.failed, code)
    if not retryable:
        remove_media(source)
