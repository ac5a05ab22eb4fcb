"""What a person can do to a job: start, pause, resume, cancel, retry, reprioritise; for the jobs and batches
resources alike. Each action is one status transition (kept in the audit trail with the caller's key name)
and, where work must begin, a plan task; the worker side takes it from there (``workers/pipeline.py``).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from uuid import UUID

import psycopg
from celery import Celery
from fastapi import HTTPException
from kombu.exceptions import OperationalError

from vidsafe.db import parts, queries
from vidsafe.domain import Job, JobStatus
from vidsafe.queue import send_part, send_plan


class Action(StrEnum):
    start = "start"
    pause = "pause"
    resume = "resume"
    cancel = "cancel"
    retry = "retry"


# Where each action may come from, and where it leads.
_FROM: dict[Action, tuple[JobStatus, ...]] = {
    Action.start: (JobStatus.pending,),
    Action.pause: (JobStatus.pending, JobStatus.queued, JobStatus.running),
    Action.resume: (JobStatus.paused,),
    Action.cancel: (JobStatus.pending, JobStatus.queued, JobStatus.running, JobStatus.paused),
    Action.retry: (JobStatus.failed, JobStatus.cancelled),
}
_TO = {Action.start: JobStatus.queued, Action.pause: JobStatus.paused, Action.resume: JobStatus.queued,
       Action.cancel: JobStatus.cancelled, Action.retry: JobStatus.queued}


class ControlError(HTTPException):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, {"code": code, "message": message})


def allowed_from(action: Action, from_scratch: bool = False) -> tuple[JobStatus, ...]:
    """Statuses ``action`` applies to; a retry from scratch may also redo a job that succeeded."""
    return _FROM[action] + ((JobStatus.succeeded,) if action == Action.retry and from_scratch else ())


def _send_plan(conn: psycopg.Connection, queue: Celery, job: Job, back_to: JobStatus, actor: str) -> None:
    try:
        send_plan(queue, job.id, job.priority)
    except OperationalError as error:
        # A queued job with no message would wait for the maintenance loop: undo and say why instead.
        queries.transition(conn, job.id, [JobStatus.queued], back_to, actor, "the queue was unreachable")
        raise ControlError(503, "queue_unavailable", f"the job queue (Redis) is unreachable: {error}") from None


def apply(conn: psycopg.Connection, queue: Celery, job_id: UUID, action: Action, actor: str,
          from_scratch: bool = False) -> Job:
    job = queries.get_job(conn, job_id)
    if job is None:
        raise ControlError(404, "job_not_found", f"no job {job_id}")
    allowed = allowed_from(action, from_scratch)
    if job.status not in allowed:
        raise ControlError(409, "invalid_state", f"cannot {action} a job that is {job.status}; {action} applies to "
                           f"{', '.join(allowed)} jobs")
    source = queries.get_media_source(conn, job_id)
    assert source is not None
    media, owns_media = Path(source[0]), source[1]
    if action == Action.retry:
        if not media.is_file():
            raise ControlError(409, "media_gone", "the job's video is no longer stored (an upload is removed when "
                               "its job ends, unless it failed retryably); submit it again")
        if from_scratch:
            parts.reset(conn, job_id)
    changed = queries.transition(conn, job_id, allowed, _TO[action], actor,
                                 f"{action} from scratch" if from_scratch else str(action))
    if changed is None:  # it changed under us: report the status it has now
        raise ControlError(409, "invalid_state", f"the job changed meanwhile; {action} it again if still needed")
    if _TO[action] == JobStatus.queued:
        _send_plan(conn, queue, changed, job.status, actor)
    elif action == Action.cancel and owns_media:
        media.unlink(missing_ok=True)
    return changed


def reprioritise(conn: psycopg.Connection, queue: Celery, job_id: UUID, priority: int, actor: str) -> Job:
    """Set a job's priority; work already queued is sent again at the new priority (the copies left at the old
    one are skipped by the worker: each message carries the priority it was sent at)."""
    job = queries.set_priority(conn, job_id, priority, actor)
    if job is None:
        raise ControlError(404, "job_not_found", f"no job {job_id}")
    try:
        if job.status == JobStatus.queued:
            send_plan(queue, job.id, priority)
        elif job.status == JobStatus.running:
            for kind, index in parts.parts_to_send(conn, job_id):
                send_part(queue, job_id, kind, index, priority)
    except OperationalError as error:
        raise ControlError(503, "queue_unavailable", f"the job queue (Redis) is unreachable: {error}") from None
    return job
