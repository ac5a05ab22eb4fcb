"""Creating jobs: from an upload, a server-side path or a URL, for the jobs and batches resources alike.

Every submission goes the same way: an idempotent replay of the same request (same fingerprint) is answered
with the job already made; the placement (status, priority, batch, callback) and the options are checked; the
video is checked (an upload or a path is probed here, a URL is only checked against the SSRF guard: the worker
fetches it as the job's first step); the job is recorded for the caller's team, within its limits, and,
unless it waits in pending, its plan task is sent. These functions block (Postgres, Redis, the file system):
the routes call them from the threadpool.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from celery import Celery
from pydantic import ValidationError

from vidsafe import outbound
from vidsafe.db import batches, jobs, teams, webhook_secrets
from vidsafe.db.jobs import NewJob
from vidsafe.domain.errors import ErrorCode, MediaError
from vidsafe.domain.fields import DEFAULT_PRIORITY
from vidsafe.domain.jobs import Job, JobOptions, JobStatus, MediaInfo
from vidsafe.domain.requests import Placement
from vidsafe.gateway.dependencies import Caller
from vidsafe.gateway.refusals import Refusal, media_refusal, outbound_refusal
from vidsafe.gateway.services.queueing import sending
from vidsafe.gateway.uploads import ReceivedUpload
from vidsafe.media.ingest import ingested_path, team_ingest_roots
from vidsafe.media.probe import probe_video
from vidsafe.queue import send_plan
from vidsafe.serving import resolve_modules
from vidsafe.settings import Settings


@dataclass(frozen=True)
class Submitter:
    """Who submits (for which team), under which idempotency key, to which deployment."""

    conn: psycopg.Connection
    queue: Celery
    settings: Settings
    caller: Caller
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Created:
    """The job, and whether this submission made it (False: an idempotent replay of an earlier one)."""

    job: Job
    new: bool


def options_problems(error: ValidationError) -> str:
    """Each problem as ``where: what``, naming the key: ``modules: List should have at least 1 item``."""
    return "; ".join(f"{'.'.join(str(part) for part in problem['loc']) or 'options'}: {problem['msg']}"
                     for problem in error.errors())


def parse_options(raw: bytes) -> JobOptions:
    try:
        return JobOptions.model_validate_json(raw) if raw.strip() else JobOptions()
    except ValidationError as error:
        raise Refusal(422, ErrorCode.invalid_options, f"the options field is not valid: {options_problems(error)}") \
            from None


def check_options(options: JobOptions, settings: Settings) -> None:
    try:
        resolve_modules(options, settings)
    except MediaError as error:
        raise media_refusal(error) from None


def check_callback(conn: psycopg.Connection, team_id: uuid.UUID, url: str | None, settings: Settings) -> None:
    if url is None:
        return
    if webhook_secrets.state(conn, team_id).created_at is None:
        raise Refusal(422, ErrorCode.webhooks_disabled, "callback URLs need the team's webhook secret, the key their "
                      "events are signed with: an admin key makes one with POST /v1/webhook-secret")
    try:
        outbound.check_url(url, settings.allow_private_urls)
    except outbound.OutboundRefused as error:
        raise outbound_refusal(error) from None


def fingerprint(endpoint: str, video: str, options: JobOptions, placement: Placement) -> str:
    """What an idempotency key is bound to: the endpoint, the video (an upload's sha256, a path, a URL), the
    canonical options and the placement. The same key with another fingerprint is a different request."""
    canonical = json.dumps({"endpoint": endpoint, "video": video,
                            "options": options.model_dump(mode="json", exclude_none=True),
                            "placement": placement.model_dump(mode="json", exclude_none=True)},
                           sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def replay(submitter: Submitter, request_fingerprint: str) -> Created | None:
    """The job this key already created under this idempotency key for this same request; 409 for another
    request under the same key."""
    if submitter.idempotency_key is None:
        return None
    found = jobs.job_by_idempotency_key(submitter.conn, submitter.caller.key.id, submitter.idempotency_key,
                                           submitter.settings.idempotency_ttl_s)
    if found is None:
        return None
    job, bound_to = found
    if bound_to is not None and bound_to != request_fingerprint:  # (keys used before 0006 are bound to nothing)
        raise Refusal(409, ErrorCode.idempotency_mismatch, "this Idempotency-Key was used for a different request "
                      f"(another endpoint, video, options or placement), job {job.id}; use a new key")
    return Created(job, new=False)


def place(submitter: Submitter, placement: Placement) -> dict:
    """The NewJob fields the placement decides: status, priority, batch, callback."""
    settings = submitter.settings
    batch = (batches.get_batch(submitter.conn, placement.batch_id, submitter.caller.team_id)
             if placement.batch_id else None)
    if placement.batch_id and batch is None:
        raise Refusal(404, ErrorCode.batch_not_found, f"no batch {placement.batch_id}")
    check_callback(submitter.conn, submitter.caller.team_id, placement.callback_url, settings)
    start = placement.start if placement.start is not None else (batch.auto_start if batch else settings.auto_process)
    return {"status": JobStatus.queued if start else JobStatus.pending,
            "priority": placement.priority if placement.priority is not None
            else (batch.priority if batch else DEFAULT_PRIORITY),
            "batch_id": placement.batch_id,
            "callback_url": placement.callback_url or (batch.callback_url if batch else None)}


def _probe(path: Path, settings: Settings) -> MediaInfo:
    try:
        return probe_video(path, settings)
    except MediaError as error:
        raise media_refusal(error) from None


# When a team's queue is full, a guess at when to try again: jobs leave it as workers take them.
QUEUE_FULL_RETRY_AFTER_S = 60


def check_limits(conn: psycopg.Connection, settings: Settings, team_id: uuid.UUID, media: MediaInfo | None) -> None:
    """429 if one more job (of ``media``'s duration) would take the team past its queued-jobs limit or its video
    hours in 24 h. Call it in the transaction that adds the job, after ``teams.lock_team``."""
    team, usage = teams.get_team(conn, team_id), teams.team_usage(conn, team_id)
    limits = team.or_defaults(settings.team_limits)
    max_waiting, max_hours = limits.max_queued_jobs, limits.max_video_hours_per_day
    if max_waiting is not None and usage.waiting >= max_waiting:
        raise Refusal(429, ErrorCode.team_queue_full, f"team {team.name} has {usage.waiting} jobs pending or queued, "
                      f"its limit; submit again when some have started",
                      headers={"Retry-After": str(QUEUE_FULL_RETRY_AFTER_S)})
    adding = (media.duration_s if media else 0.0) / 3600
    if max_hours is not None and usage.video_hours_24h + adding > max_hours:
        # The window frees up as its oldest job turns 24 h old.
        wait_s = max(1, math.ceil(86400 - (usage.oldest_in_window_s or 0.0)))
        raise Refusal(429, ErrorCode.team_quota_exceeded, f"team {team.name} submitted {usage.video_hours_24h:.2f} "
                      f"h of video in the last 24 h; {adding:.2f} h more would pass its limit of {max_hours:g} h",
                      headers={"Retry-After": str(wait_s)})


def _record(submitter: Submitter, job_id: uuid.UUID, new: NewJob, request_fingerprint: str) -> Created:
    """Record the job (within the team's limits) and, unless it waits in pending, send its plan task."""
    conn, caller = submitter.conn, submitter.caller
    idempotency = (jobs.Idempotency(submitter.idempotency_key, request_fingerprint)
                   if submitter.idempotency_key else None)
    with conn.transaction():
        teams.lock_team(conn, caller.team_id)
        check_limits(conn, submitter.settings, caller.team_id, new.media)
        job = jobs.create_job(conn, job_id, new, caller.key.id, idempotency, actor=caller.actor)
    if job is None:  # a concurrent retry with the same idempotency key created it first
        if new.owns_media:
            Path(new.media_path).unlink(missing_ok=True)
        replayed = replay(submitter, request_fingerprint)
        assert replayed is not None
        return replayed
    if job.status == JobStatus.queued:
        # A job that never reached the queue would wait forever: taken back, and the request refused.
        with sending(undo=lambda: jobs.delete_job(conn, job_id)):
            send_plan(submitter.queue, job_id, job.priority)
    return Created(job, new=True)


def upload_target(settings: Settings, team_id: uuid.UUID) -> tuple[uuid.UUID, Path]:
    """The id of a job about to be uploaded, and where its file goes: its team's own folder (no file of one team is
    beside another's, so no name in one team's upload can reach another's)."""
    job_id = uuid.uuid4()
    folder = settings.uploads_dir / str(team_id)
    folder.mkdir(parents=True, exist_ok=True)
    return job_id, folder / str(job_id)


def submit_upload(submitter: Submitter, job_id: uuid.UUID, target: Path, received: ReceivedUpload,
                  placement: Placement, placed: dict) -> Created:
    """A job for a file already received at ``target`` (``placed``: what ``place`` decided before it was
    received). A replay removes the file; on a refusal the route removes it (as it does when the client goes
    away before this runs)."""
    options = parse_options(received.options)
    request_fingerprint = fingerprint("upload", received.sha256, options, placement)
    if replayed := replay(submitter, request_fingerprint):
        target.unlink(missing_ok=True)
        return replayed
    check_options(options, submitter.settings)
    media = _probe(target, submitter.settings)
    return _record(submitter, job_id, NewJob(submitter.caller.team_id, received.filename, str(target), True,
                                             options, media, **placed), request_fingerprint)


def submit_path(submitter: Submitter, path: str, options: JobOptions, placement: Placement) -> Created:
    """A job for a video already on the server, inside one of the team's ingest roots (``vidsafe/media/ingest.py``:
    missing, outside or not a file, the answer is the same)."""
    request_fingerprint = fingerprint("path", path, options, placement)
    if replayed := replay(submitter, request_fingerprint):
        return replayed
    placed = place(submitter, placement)
    check_options(options, submitter.settings)
    settings, caller = submitter.settings, submitter.caller
    try:
        resolved = ingested_path(path, team_ingest_roots(settings, caller.team, caller.operator))
    except MediaError as error:
        raise media_refusal(error) from None
    media = _probe(resolved, settings)
    return _record(submitter, uuid.uuid4(), NewJob(submitter.caller.team_id, resolved.name, str(resolved), False,
                                                   options, media, **placed), request_fingerprint)


def submit_url(submitter: Submitter, url: str, options: JobOptions, placement: Placement) -> Created:
    """A job whose first step, in a worker, fetches ``url`` (size-limited, through the SSRF guard): the request
    answers at once, and a download that fails fails the job with its reason."""
    request_fingerprint = fingerprint("url", url, options, placement)
    if replayed := replay(submitter, request_fingerprint):
        return replayed
    placed = place(submitter, placement)
    check_options(options, submitter.settings)
    try:
        outbound.check_url(url, submitter.settings.allow_private_urls)
    except outbound.OutboundRefused as error:
        raise outbound_refusal(error) from None
    job_id, target = upload_target(submitter.settings, submitter.caller.team_id)
    return _record(submitter, job_id, NewJob(submitter.caller.team_id, outbound.display_name(url), str(target), True,
                                             options, **placed, source_url=url), request_fingerprint)
