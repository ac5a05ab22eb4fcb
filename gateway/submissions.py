"""Creating jobs: from an upload, a server-side path or a URL, for the jobs and batches resources alike.

Every submission goes the same way: an idempotent replay is answered with the job already made; the
placement (status, priority, batch, callback) and the options are checked; the video is checked (an upload
or a path is probed here, a URL is only checked against the SSRF guard: the worker fetches it as the job's
first step); the job is recorded and, unless it waits in pending, its plan task is sent. These functions
block (Postgres, Redis, the file system): the routes call them from the threadpool.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from celery import Celery
from kombu.exceptions import OperationalError as QueueUnreachable
from pydantic import BaseModel, Field, ValidationError

from vidsafe import outbound
from vidsafe.catalogue import resolve_modules
from vidsafe.db import queries
from vidsafe.db.queries import NewJob
from vidsafe.domain import DEFAULT_PRIORITY, ApiKey, ErrorCode, Job, JobOptions, JobStatus, MediaError, Priority
from vidsafe.gateway.refusals import Refusal, media_refusal, outbound_refusal
from vidsafe.media import probe_video
from vidsafe.queue import send_plan
from vidsafe.settings import Settings


class Placement(BaseModel):
    """How a submitted job is run: its batch, priority, callback, and whether it starts at once."""

    batch_id: uuid.UUID | None = Field(default=None, description="Add the job to this batch")
    priority: Priority | None = Field(default=None, description="0..9, higher runs first. Unset: the batch's, else 5")
    callback_url: str | None = Field(default=None, max_length=2000,
                                     description="Receives a signed JSON event when the job ends. Unset: the batch's")
    start: bool | None = Field(default=None, description="Queue at once (true) or wait in pending until started "
                               "(false). Unset: the batch's auto_start, else the auto_process setting")


@dataclass(frozen=True)
class Submitter:
    """Who submits, under which idempotency key, to which deployment."""

    conn: psycopg.Connection
    queue: Celery
    settings: Settings
    caller: ApiKey
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Created:
    """The job, and whether this submission made it (False: an idempotent replay of an earlier one)."""

    job: Job
    new: bool


def parse_options(raw: bytes) -> JobOptions:
    try:
        return JobOptions.model_validate_json(raw) if raw.strip() else JobOptions()
    except ValidationError as error:
        raise Refusal(422, ErrorCode.invalid_options,
                      f"the options field is not valid: {error.errors()[0]['msg']}") from None


def check_options(options: JobOptions, settings: Settings) -> None:
    try:
        resolve_modules(options, settings)
    except MediaError as error:
        raise media_refusal(error) from None


def check_callback(url: str | None, settings: Settings) -> None:
    if url is None:
        return
    if not settings.webhook_secret:
        raise Refusal(422, ErrorCode.webhooks_disabled, "callback URLs need VIDSAFE_WEBHOOK_SECRET, the key their "
                      "events are signed with")
    try:
        outbound.check_url(url, settings.allow_private_urls)
    except outbound.OutboundRefused as error:
        raise outbound_refusal(error) from None


def replay(submitter: Submitter) -> Created | None:
    """The job this key already created under this idempotency key."""
    if submitter.idempotency_key is None:
        return None
    job = queries.job_by_idempotency_key(submitter.conn, submitter.caller.id, submitter.idempotency_key)
    return Created(job, new=False) if job else None


def place(submitter: Submitter, placement: Placement) -> dict:
    """The NewJob fields the placement decides: status, priority, batch, callback."""
    settings = submitter.settings
    batch = queries.get_batch(submitter.conn, placement.batch_id) if placement.batch_id else None
    if placement.batch_id and batch is None:
        raise Refusal(404, ErrorCode.batch_not_found, f"no batch {placement.batch_id}")
    check_callback(placement.callback_url, settings)
    start = placement.start if placement.start is not None else (batch.auto_start if batch else settings.auto_process)
    return {"status": JobStatus.queued if start else JobStatus.pending,
            "priority": placement.priority if placement.priority is not None
            else (batch.priority if batch else DEFAULT_PRIORITY),
            "batch_id": placement.batch_id,
            "callback_url": placement.callback_url or (batch.callback_url if batch else None)}


def _probe(path: Path, settings: Settings) -> None:
    try:
        probe_video(path, settings)
    except MediaError as error:
        raise media_refusal(error) from None


def _record(submitter: Submitter, job_id: uuid.UUID, new: NewJob) -> Created:
    """Record the job and, unless it waits in pending, send its plan task."""
    conn = submitter.conn
    job = queries.create_job(conn, job_id, new, submitter.caller.id, submitter.idempotency_key,
                             actor=submitter.caller.name)
    if job is None:  # a concurrent retry with the same idempotency key created it first
        if new.owns_media:
            Path(new.media_path).unlink(missing_ok=True)
        replayed = replay(submitter)
        assert replayed is not None
        return replayed
    if job.status == JobStatus.queued:
        try:
            send_plan(submitter.queue, job_id, job.priority)
        except QueueUnreachable as error:
            # A job that never reached the queue would wait forever: take it back and say why.
            queries.delete_job(conn, job_id)
            raise Refusal(503, ErrorCode.queue_unavailable, f"the job queue (Redis) is unreachable: {error}") from None
    return Created(job, new=True)


def upload_target(settings: Settings) -> tuple[uuid.UUID, Path]:
    """The id of a job about to be uploaded, and where its file goes."""
    job_id = uuid.uuid4()
    return job_id, settings.uploads_dir / str(job_id)


def submit_upload(submitter: Submitter, job_id: uuid.UUID, target: Path, filename: str, raw_options: bytes,
                  placed: dict) -> Created:
    """A job for a file already received at ``target`` (``placed``: what ``place`` decided before it was
    received); the file is removed if the job is not made."""
    try:
        options = parse_options(raw_options)
        check_options(options, submitter.settings)
        _probe(target, submitter.settings)
        return _record(submitter, job_id, NewJob(filename, str(target), True, options, **placed))
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def submit_path(submitter: Submitter, path: str, options: JobOptions, placement: Placement) -> Created:
    """A job for a video already on the server, inside one of the ``ingest_roots``."""
    if replayed := replay(submitter):
        return replayed
    placed = place(submitter, placement)
    check_options(options, submitter.settings)
    settings = submitter.settings
    resolved = Path(path).resolve()
    if not any(resolved.is_relative_to(root.resolve()) for root in settings.ingest_roots):
        raise Refusal(403, ErrorCode.path_not_allowed,
                      "server-side paths must lie inside VIDSAFE_INGEST_ROOTS" if settings.ingest_roots
                      else "server-side paths are disabled: set VIDSAFE_INGEST_ROOTS to allow folders")
    if not resolved.is_file():
        raise Refusal(404, ErrorCode.file_missing, "no such file under the ingest roots")
    _probe(resolved, settings)
    return _record(submitter, uuid.uuid4(), NewJob(resolved.name, str(resolved), False, options, **placed))


def submit_url(submitter: Submitter, url: str, options: JobOptions, placement: Placement) -> Created:
    """A job whose first step, in a worker, fetches ``url`` (size-limited, through the SSRF guard): the request
    answers at once, and a download that fails fails the job with its reason."""
    if replayed := replay(submitter):
        return replayed
    placed = place(submitter, placement)
    check_options(options, submitter.settings)
    try:
        outbound.check_url(url, submitter.settings.allow_private_urls)
    except outbound.OutboundRefused as error:
        raise outbound_refusal(error) from None
    job_id, target = upload_target(submitter.settings)
    return _record(submitter, job_id, NewJob(outbound.display_name(url), str(target), True, options, **placed,
                                             source_url=url))
