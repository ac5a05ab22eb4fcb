"""What a person can do to a job: start, pause, resume, cancel, retry, reprioritise; for the jobs and batches
resources alike. Each action is one status transition (kept in the audit trail with the caller's key name)
and, where work must begin, a plan task; the worker side takes it from there (``workers/planning.py``).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import psycopg
from celery import Celery

from vidsafe.db import jobs, parts
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.jobs import Job, JobStatus
from vidsafe.gateway.refusals import Refusal
from vidsafe.gateway.services.queueing import sending
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


class NotApplicable(Refusal):
    """The job's state does not allow the action (409): a batch's action skips such a job."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(409, code, message)


class _ChangedMeanwhile(Exception):
    """The job left the statuses the action applies to between reading it and changing it."""


def allowed_from(action: Action, from_scratch: bool = False) -> tuple[JobStatus, ...]:
    """Statuses ``action`` applies to; a retry from scratch may also redo a job that succeeded."""
    return _FROM[action] + ((JobStatus.succeeded,) if action == Action.retry and from_scratch else ())


def statuses_for(action: Action, from_scratch: bool, batch: bool = False) -> tuple[JobStatus, ...]:
    """The jobs an action is applied to; a batch's plain retry takes only its failed jobs (not the cancelled)."""
    if batch and action == Action.retry and not from_scratch:
        return (JobStatus.failed,)
    return allowed_from(action, from_scratch)


def _send_plan(conn: psycopg.Connection, queue: Celery, job: Job, back_to: JobStatus, actor: str) -> None:
    # A queued job with no message would wait for the maintenance loop: undone, and the request refused.
    with sending(undo=lambda: jobs.transition(conn, job.id, [JobStatus.queued], back_to, actor,
                                             "the queue was unreachable")):
        send_plan(queue, job.id, job.priority)


def apply(conn: psycopg.Connection, queue: Celery, job: Job, action: Action, actor: str,
          from_scratch: bool = False) -> Job:
    """Apply ``action`` to ``job`` (which the caller's team owns: the routes look it up in the team); NotApplicable
    where the job's state does not allow it."""
    job_id = job.id
    allowed = allowed_from(action, from_scratch)
    if job.status not in allowed:
        raise NotApplicable(ErrorCode.invalid_state, f"cannot {action} a job that is {job.status}; {action} applies "
                      f"to {', '.join(allowed)} jobs")
    source = jobs.get_media_source(conn, job_id)
    assert source is not None
    media, owns_media = Path(source.path), source.owns_media
    # A job whose first step fetches its URL has no video yet, and fetches it again on retry.
    if action == Action.retry and source.url is None and not media.is_file():
        raise NotApplicable(ErrorCode.media_gone, "the job's video is no longer stored (an upload is removed when "
                      "its job ends, unless it failed retryably); submit it again")
    try:
        # One transaction: a retry from scratch that loses a race with another change forgets nothing.
        with conn.transaction():
            if action == Action.retry and from_scratch:
                parts.reset(conn, job_id)
            changed = jobs.transition(conn, job_id, allowed, _TO[action], actor,
                                         f"{action} from scratch" if from_scratch else str(action))
            if changed is None:
                raise _ChangedMeanwhile
    except _ChangedMeanwhile:
        raise NotApplicable(ErrorCode.invalid_state, f"the job changed meanwhile; {action} it again if still "
                      "needed") from None
    if _TO[action] == JobStatus.queued:
        _send_plan(conn, queue, changed, job.status, actor)
    elif action == Action.cancel and owns_media:
        media.unlink(missing_ok=True)
    return changed


def reprioritise(conn: psycopg.Connection, queue: Celery, current: Job, priority: int, actor: str,
                 in_flight: int) -> Job:
    """Set a job's priority; work already queued is sent again at the new priority (the copies left at the old
    one are skipped by the worker: each message carries the priority it was sent at). 409 for a job that has
    ended: its priority no longer means anything."""
    job_id = current.id
    job = jobs.set_priority(conn, job_id, priority, actor)
    if job is None:
        raise NotApplicable(ErrorCode.invalid_state, f"the job has ended ({current.status}): its priority cannot "
                            "change")
    with sending():
        if job.status == JobStatus.queued:
            send_plan(queue, job.id, priority)
        elif job.status == JobStatus.running:
            for kind, index in parts.parts_to_send(conn, job_id, in_flight, resend=True):
                send_part(queue, job_id, kind, index, priority)
    return job
