"""Planning a job: probe its video, fix its modules, record its parts, and send the parts' tasks.

A job's parts are its frames in time chunks of ``chunk_s``, its audio track, and the rules that read their
findings (face identities, restraint, text embeddings, segments), which wait until every other part is
done. A job submitted by URL is first planned as one ``fetch`` part (``workers/fetching.py``), which plans
the rest once the video is there. The plan, the modules and the done parts survive a crash, a pause or a
failure: a job resumes from them.
"""

from __future__ import annotations

import logging
import math
import time
from uuid import UUID

import psycopg
from kombu.exceptions import OperationalError as QueueUnreachable

from vidsafe.catalogue import Module, ModuleKind, entries_of
from vidsafe.db import jobs, parts, teams
from vidsafe.db.parts import PartPlan
from vidsafe.domain.errors import MediaError
from vidsafe.domain.jobs import JobStatus, MediaInfo
from vidsafe.media.probe import decode_end_s, probe_video
from vidsafe.observability import time_stage
from vidsafe.serving import resolve_modules
from vidsafe.settings import Settings
from vidsafe.workers.jobs import (
    ACTOR,
    JobSource,
    SendPart,
    checked_again,
    connect,
    fail,
    load_source,
    superseded,
)

log = logging.getLogger(__name__)


def plan(media: MediaInfo, modules: set[Module], chunk_s: float) -> list[PartPlan]:
    """The job's parts: chunks of frames, the audio, the rules. The last chunk and the audio end a margin past the
    probed duration: nothing a file holds beyond it is analysed (or charged)."""
    chunks = max(1, math.ceil(media.duration_s / chunk_s - 1e-9))
    end_s = decode_end_s(media)
    planned = [PartPlan("frames", i, i * chunk_s, (i + 1) * chunk_s if i < chunks - 1 else end_s)
               for i in range(chunks)]
    if media.has_audio and any(e.module in modules for e in entries_of(ModuleKind.audio)):
        planned.append(PartPlan("audio", 0, 0.0, end_s))
    return [*planned, PartPlan("rules", 0, 0.0, None)]


def plan_media(conn: psycopg.Connection, source: JobSource, settings: Settings) -> bool:
    """Probe the job's video, fix its modules and record its parts (once: a resumed job keeps the plan it has);
    False, with the job failed, if the video or the options cannot be analysed."""
    try:
        with time_stage("all", "probe"):
            media = probe_video(checked_again(conn, source, settings).path, settings)
        modules = set(source.job.modules) if source.job.modules is not None else resolve_modules(source.options,
                                                                                               settings)
    except MediaError as error:
        fail(conn, source, error.code, error.message, retryable=False)
        return False
    with conn.transaction():
        jobs.set_plan(conn, source.job.id, media, sorted(modules))
        parts.plan_parts(conn, source.job.id, plan(media, modules, settings.chunk_s))
    return True


def _start(conn: psycopg.Connection, settings: Settings, source: JobSource) -> bool | None:
    """Mark the queued job running if its team has a free slot (``max_running_jobs``); False: no slot yet, None:
    the job was paused or cancelled meanwhile (a resume plans again)."""
    with conn.transaction():
        teams.lock_team(conn, source.team_id)
        limit = teams.get_team(conn, source.team_id).or_defaults(settings.team_limits).max_running_jobs
        if limit is not None and teams.team_usage(conn, source.team_id).running >= limit:
            jobs.still_waiting(conn, source.job.id)  # so the maintenance loop sends no second plan task
            return False
        return jobs.transition(conn, source.job.id, [JobStatus.queued, JobStatus.running], JobStatus.running,
                                  ACTOR) is not None


def plan_job(job_id: UUID, sent_priority: int, settings: Settings, send_part: SendPart) -> bool:
    """Start the job within its team's running limit, plan it (or its fetch, for a URL whose video is not there
    yet) and send the parts still to do. False: the team runs its limit of jobs; plan again later."""
    with connect(settings) as conn:
        source = load_source(conn, job_id)
        if source is None or source.job.status not in (JobStatus.queued, JobStatus.running):
            log.info("job %s is unknown or not queued; nothing to plan", job_id)
            return True
        if superseded(source.job, sent_priority):
            return True
        if source.job.status == JobStatus.queued and not (started := _start(conn, settings, source)):
            if started is False:
                log.info("job %s waits: its team runs its limit of jobs", job_id)
            return started is None
        if source.url is not None and not source.path.is_file():
            with conn.transaction():
                parts.plan_fetch(conn, job_id)
                jobs.set_step(conn, job_id, "fetching")
        elif not plan_media(conn, source, settings):
            return True
        send_parts(conn, settings, send_part, job_id,
                   parts.parts_to_send(conn, job_id, settings.effective_job_parts_in_flight, resend=True),
                   source.job.priority)
        return True


def send_parts(conn: psycopg.Connection, settings: Settings, send_part: SendPart, job_id: UUID,
               todo: list[tuple[str, int]], priority: int) -> None:
    """Send the parts' tasks, waiting up to ``dependency_retry_deadline_s`` for an unreachable queue (Redis).
    Past that the parts are marked unsent, for the maintenance loop to send: the job's done work is kept and
    the job not failed, as a Redis restart must not lose jobs."""
    deadline = time.monotonic() + settings.dependency_retry_deadline_s
    for position, (kind, index) in enumerate(todo):
        while True:
            try:
                send_part(job_id, kind, index, priority)
                break
            except QueueUnreachable as error:
                if time.monotonic() >= deadline:
                    log.error("job %s: the queue is unreachable (%s); %d parts left to the maintenance loop",
                              job_id, error, len(todo) - position)
                    parts.unsent(conn, job_id, todo[position:])
                    return
                log.warning("job %s: the queue is unreachable (%s); sending part %s %s again in 1 s",
                            job_id, error, kind, index)
                time.sleep(1.0)
