"""The jobs resource: submit a video, follow its analysis, read its findings."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError
from pydantic import BaseModel, Field, ValidationError

from gateway.dependencies import ConnDep, QueueDep, ReaderDep, ReviewerDep, SettingsDep, SubmitterDep
from gateway.job_control import Action, apply, reprioritise
from gateway.uploads import FILE_FIELD, OPTIONS_FIELD, UploadError, receive_upload
from vidsafe import outbound
from vidsafe.catalogue import resolve_modules
from vidsafe.db import queries
from vidsafe.db.queries import NewJob
from vidsafe.domain import (
    DEFAULT_PRIORITY,
    ApiKey,
    ErrorCode,
    Finding,
    Job,
    JobEvent,
    JobOptions,
    JobStatus,
    MediaError,
    Priority,
    Segment,
    WebhookDelivery,
)
from vidsafe.media import probe_video
from vidsafe.queue import send_plan
from vidsafe.settings import Settings

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

IdempotencyKey = Annotated[str | None, Header(
    max_length=200, description="Retries with the same key (per API key) return the job already created")]

# How a refused video maps to HTTP: the client sent something unusable (4xx), never a server error.
_MEDIA_ERROR_STATUS = {
    ErrorCode.empty_file: 400,
    ErrorCode.not_a_video: 415,
    ErrorCode.no_video_stream: 415,
    ErrorCode.unsupported_codec: 415,
    ErrorCode.file_missing: 404,
}


class Submission(BaseModel):
    """How a submitted job is run: its batch, priority, callback, and whether it starts at once."""

    batch_id: uuid.UUID | None = Field(default=None, description="Add the job to this batch")
    priority: Priority | None = Field(default=None, description="0..9, higher runs first. Unset: the batch's, else 5")
    callback_url: str | None = Field(default=None, max_length=2000,
                                     description="Receives a signed JSON event when the job ends. Unset: the batch's")
    start: bool | None = Field(default=None, description="Queue at once (true) or wait in pending until started "
                               "(false). Unset: the batch's auto_start, else the auto_process setting")


class PathJobRequest(Submission):
    path: str
    options: JobOptions = Field(default_factory=JobOptions)


class UrlJobRequest(Submission):
    url: str = Field(max_length=2000, description="http(s) URL of the video; private addresses are refused "
                     "unless VIDSAFE_ALLOW_PRIVATE_URLS is set")
    options: JobOptions = Field(default_factory=JobOptions)


class PriorityRequest(BaseModel):
    priority: Priority


class FindingsResponse(BaseModel):
    job_id: uuid.UUID
    status: JobStatus
    findings: list[Finding]


class SegmentsResponse(BaseModel):
    job_id: uuid.UUID
    status: JobStatus
    segments: list[Segment]


def _refuse(status_code: int, code: str, message: str) -> HTTPException:
    return HTTPException(status_code, {"code": code, "message": message})


async def _probe_or_refuse(path: Path, settings: Settings) -> None:
    try:
        await run_in_threadpool(probe_video, path, settings)
    except MediaError as error:
        raise _refuse(_MEDIA_ERROR_STATUS.get(error.code, 422), error.code, error.message) from None


def _check_options(options: JobOptions, settings: Settings) -> None:
    try:
        resolve_modules(options, settings)
    except MediaError as error:
        raise _refuse(422, error.code, error.message) from None


def _parse_options(raw: bytes) -> JobOptions:
    try:
        return JobOptions.model_validate_json(raw) if raw.strip() else JobOptions()
    except ValidationError as error:
        raise _refuse(422, "invalid_options", f"the options field is not valid: {error.errors()[0]['msg']}") from None


def check_callback(url: str | None, settings: Settings) -> None:
    if url is None:
        return
    if not settings.webhook_secret:
        raise _refuse(422, "webhooks_disabled", "callback URLs need VIDSAFE_WEBHOOK_SECRET, the key their events "
                      "are signed with")
    try:
        outbound.check_url(url, settings.allow_private_urls)
    except outbound.OutboundRefused as error:
        raise _refuse(422, error.code, error.message) from None


def _placement(conn: ConnDep, submission: Submission, settings: Settings) -> dict:
    """The NewJob fields a submission decides: status, priority, batch, callback."""
    batch = queries.get_batch(conn, submission.batch_id) if submission.batch_id else None
    if submission.batch_id and batch is None:
        raise _refuse(404, "batch_not_found", f"no batch {submission.batch_id}")
    check_callback(submission.callback_url, settings)
    start = submission.start if submission.start is not None else (batch.auto_start if batch
                                                                      else settings.auto_process)
    return {"status": JobStatus.queued if start else JobStatus.pending,
            "priority": submission.priority if submission.priority is not None
            else (batch.priority if batch else DEFAULT_PRIORITY),
            "batch_id": submission.batch_id,
            "callback_url": submission.callback_url or (batch.callback_url if batch else None)}


def _replay(conn: ConnDep, caller: ApiKey, idempotency_key: str | None) -> JSONResponse | None:
    """The job this key already created under this idempotency key, answered as 200 instead of 201."""
    job = queries.job_by_idempotency_key(conn, caller.id, idempotency_key) if idempotency_key else None
    return JSONResponse(job.model_dump(mode="json")) if job else None


def _enqueue(conn: ConnDep, queue: QueueDep, job_id: uuid.UUID, new: NewJob, caller: ApiKey,
            idempotency_key: str | None) -> Job | JSONResponse:
    """Record the job and, unless it waits in pending, send its plan task."""
    job = queries.create_job(conn, job_id, new, caller.id, idempotency_key, actor=caller.name)
    if job is None:  # a concurrent retry with the same idempotency key created it first
        if new.owns_media:
            Path(new.media_path).unlink(missing_ok=True)
        replay = _replay(conn, caller, idempotency_key)
        assert replay is not None
        return replay
    if job.status == JobStatus.queued:
        try:
            send_plan(queue, job_id, job.priority)
        except OperationalError as error:
            # A job that never reached the queue would wait forever: take it back and say why.
            queries.delete_job(conn, job_id)
            raise _refuse(503, "queue_unavailable", f"the job queue (Redis) is unreachable: {error}") from None
    return job


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=Job,
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": [FILE_FIELD],
        "properties": {FILE_FIELD: {"type": "string", "format": "binary"},
                       OPTIONS_FIELD: {"type": "string", "description": "JobOptions as JSON"}}}}}}},
)
async def create_job_from_upload(request: Request, settings: SettingsDep, conn: ConnDep, queue: QueueDep,
                                 caller: SubmitterDep, submission: Annotated[Submission, Query()],
                                 idempotency_key: IdempotencyKey = None) -> Job | JSONResponse:
    """Upload a video (multipart field ``file``, optional ``options`` JSON); it is probed, stored under the
    job's id, and queued (or left pending). A retry with the same ``Idempotency-Key`` gets the same job back
    (200). The query parameters place the job: batch, priority, callback URL, start."""
    if replay := _replay(conn, caller, idempotency_key):
        return replay
    placement = _placement(conn, submission, settings)
    job_id = uuid.uuid4()
    target = settings.uploads_dir / str(job_id)
    try:
        received = await receive_upload(request, target, settings.max_upload_bytes, settings.upload_idle_timeout_s)
    except UploadError as error:
        raise _refuse(error.status, error.code, error.message) from None
    try:
        options = _parse_options(received.options)
        _check_options(options, settings)
        await _probe_or_refuse(target, settings)
        return _enqueue(conn, queue, job_id, NewJob(received.filename, str(target), True, options, **placement),
                       caller, idempotency_key)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


@router.post("/from-path", status_code=status.HTTP_201_CREATED, response_model=Job)
async def create_job_from_path(body: PathJobRequest, settings: SettingsDep, conn: ConnDep, queue: QueueDep,
                               caller: SubmitterDep, idempotency_key: IdempotencyKey = None) -> Job | JSONResponse:
    """Analyse a video already on the server, inside one of the configured ``ingest_roots``."""
    if replay := _replay(conn, caller, idempotency_key):
        return replay
    placement = _placement(conn, body, settings)
    path = Path(body.path).resolve()
    if not any(path.is_relative_to(root.resolve()) for root in settings.ingest_roots):
        raise _refuse(403, ErrorCode.path_not_allowed,
                      "server-side paths must lie inside VIDSAFE_INGEST_ROOTS" if settings.ingest_roots
                      else "server-side paths are disabled: set VIDSAFE_INGEST_ROOTS to allow folders")
    if not path.is_file():
        raise _refuse(404, ErrorCode.file_missing, "no such file under the ingest roots")
    _check_options(body.options, settings)
    await _probe_or_refuse(path, settings)
    return _enqueue(conn, queue, uuid.uuid4(), NewJob(path.name, str(path), False, body.options, **placement),
                   caller, idempotency_key)


@router.post("/from-url", status_code=status.HTTP_201_CREATED, response_model=Job)
async def create_job_from_url(body: UrlJobRequest, settings: SettingsDep, conn: ConnDep, queue: QueueDep,
                              caller: SubmitterDep, idempotency_key: IdempotencyKey = None) -> Job | JSONResponse:
    """Download a video from an http(s) URL (size-limited, through the SSRF guard) and analyse it."""
    if replay := _replay(conn, caller, idempotency_key):
        return replay
    placement = _placement(conn, body, settings)
    _check_options(body.options, settings)
    job_id = uuid.uuid4()
    target = settings.uploads_dir / str(job_id)
    try:
        name = await run_in_threadpool(outbound.download, body.url, target, max_bytes=settings.max_upload_bytes,
                                       timeout_s=settings.outbound_timeout_s,
                                       allow_private=settings.allow_private_urls)
    except outbound.OutboundRefused as error:
        status_code = {ErrorCode.file_too_large: 413, ErrorCode.download_failed: 502}.get(error.code, 422)
        raise _refuse(status_code, error.code, error.message) from None
    try:
        await _probe_or_refuse(target, settings)
        return _enqueue(conn, queue, job_id, NewJob(name, str(target), True, body.options, **placement,
                                                   source_url=body.url), caller, idempotency_key)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


@router.get("", response_model=list[Job])
def list_jobs(conn: ConnDep, _: ReaderDep, status: JobStatus | None = None, batch_id: uuid.UUID | None = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[Job]:
    return queries.list_jobs(conn, limit, status, batch_id)


def _job_or_404(conn: ConnDep, job_id: uuid.UUID) -> Job:
    job = queries.get_job(conn, job_id)
    if job is None:
        raise _refuse(404, "job_not_found", f"no job {job_id}")
    return job


@router.get("/{job_id}", response_model=Job)
def get_job(job_id: uuid.UUID, conn: ConnDep, _: ReaderDep) -> Job:
    return _job_or_404(conn, job_id)


@router.get("/{job_id}/findings", response_model=FindingsResponse)
def get_findings(job_id: uuid.UUID, conn: ConnDep, _: ReviewerDep, module: str | None = None) -> FindingsResponse:
    job = _job_or_404(conn, job_id)
    return FindingsResponse(job_id=job.id, status=job.status, findings=queries.get_findings(conn, job_id, module))


@router.get("/{job_id}/segments", response_model=SegmentsResponse)
def get_segments(job_id: uuid.UUID, conn: ConnDep, _: ReviewerDep, module: str | None = None) -> SegmentsResponse:
    """Findings grouped into time ranges per module and label, with max and mean scores."""
    job = _job_or_404(conn, job_id)
    return SegmentsResponse(job_id=job.id, status=job.status, segments=queries.get_segments(conn, job_id, module))


@router.get("/{job_id}/events", response_model=list[JobEvent])
def get_events(job_id: uuid.UUID, conn: ConnDep, _: ReaderDep) -> list[JobEvent]:
    """The job's audit trail: every change of status or priority, who made it (API key name, worker,
    system) and why."""
    _job_or_404(conn, job_id)
    return queries.job_events(conn, job_id)


@router.get("/{job_id}/webhooks", response_model=list[WebhookDelivery])
def get_webhook_deliveries(job_id: uuid.UUID, conn: ConnDep, _: ReaderDep) -> list[WebhookDelivery]:
    """Deliveries of the job's webhook event: status, attempts, last error."""
    _job_or_404(conn, job_id)
    return queries.deliveries(conn, job_id)


@router.post("/{job_id}/{action}", response_model=Job)
def control_job(job_id: uuid.UUID, action: Action, conn: ConnDep, queue: QueueDep, caller: SubmitterDep,
                from_scratch: bool = False) -> Job:
    """Start a pending job, pause, resume, cancel, or retry a failed or cancelled one: from its finished
    chunks, or ``from_scratch`` (which may also redo a job that succeeded). 409 if the job's status does
    not allow it."""
    return apply(conn, queue, job_id, action, caller.name, from_scratch)


@router.put("/{job_id}/priority", response_model=Job)
def set_priority(job_id: uuid.UUID, body: PriorityRequest, conn: ConnDep, queue: QueueDep,
                 caller: SubmitterDep) -> Job:
    return reprioritise(conn, queue, job_id, body.priority, caller.name)
