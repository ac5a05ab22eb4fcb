"""The jobs resource: submit a video, follow its analysis, read its findings."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from vidsafe.db import queries
from vidsafe.domain import (
    ErrorCode,
    FindingsResponse,
    Job,
    JobEvent,
    JobOptions,
    JobStatus,
    Priority,
    SegmentsResponse,
    WebhookDelivery,
)
from vidsafe.gateway.dependencies import ConnDep, QueueDep, ReaderDep, ReviewerDep, SettingsDep, SubmitterDep
from vidsafe.gateway.job_control import Action, apply, reprioritise
from vidsafe.gateway.refusals import Refusal
from vidsafe.gateway.submissions import (
    Created,
    Placement,
    Submitter,
    place,
    replay,
    submit_path,
    submit_upload,
    submit_url,
    upload_target,
)
from vidsafe.gateway.uploads import FILE_FIELD, OPTIONS_FIELD, receive_upload

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

IdempotencyKey = Annotated[str | None, Header(
    max_length=200, description="Retries with the same key (per API key) return the job already created")]


class PathJobRequest(Placement):
    path: str
    options: JobOptions = Field(default_factory=JobOptions)


class UrlJobRequest(Placement):
    url: str = Field(max_length=2000, description="http(s) URL of the video, fetched by a worker as the job's first "
                     "step; private addresses are refused unless VIDSAFE_ALLOW_PRIVATE_URLS is set")
    options: JobOptions = Field(default_factory=JobOptions)


class PriorityRequest(BaseModel):
    priority: Priority


def _answer(created: Created) -> Job | JSONResponse:
    """201 with a new job; 200 with the job an earlier request under the same idempotency key made."""
    return created.job if created.new else JSONResponse(created.job.model_dump(mode="json"))


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=Job,
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": [FILE_FIELD],
        "properties": {FILE_FIELD: {"type": "string", "format": "binary"},
                       OPTIONS_FIELD: {"type": "string", "description": "JobOptions as JSON"}}}}}}},
)
async def create_job_from_upload(request: Request, settings: SettingsDep, conn: ConnDep, queue: QueueDep,
                                 caller: SubmitterDep, placement: Annotated[Placement, Query()],
                                 idempotency_key: IdempotencyKey = None) -> Job | JSONResponse:
    """Upload a video (multipart field ``file``, optional ``options`` JSON); it is probed, stored under the
    job's id, and queued (or left pending). A retry with the same ``Idempotency-Key`` gets the same job back
    (200). The query parameters place the job: batch, priority, callback URL, start."""
    submitter = Submitter(conn, queue, settings, caller, idempotency_key)
    if replayed := await run_in_threadpool(replay, submitter):
        return _answer(replayed)
    placed = await run_in_threadpool(place, submitter, placement)
    job_id, target = upload_target(settings)
    received = await receive_upload(request, target, settings.max_upload_bytes, settings.upload_idle_timeout_s)
    return _answer(await run_in_threadpool(submit_upload, submitter, job_id, target, received.filename,
                                           received.options, placed))


@router.post("/from-path", status_code=status.HTTP_201_CREATED, response_model=Job)
def create_job_from_path(body: PathJobRequest, settings: SettingsDep, conn: ConnDep, queue: QueueDep,
                         caller: SubmitterDep, idempotency_key: IdempotencyKey = None) -> Job | JSONResponse:
    """Analyse a video already on the server, inside one of the configured ``ingest_roots``."""
    return _answer(submit_path(Submitter(conn, queue, settings, caller, idempotency_key), body.path, body.options,
                               body))


@router.post("/from-url", status_code=status.HTTP_201_CREATED, response_model=Job)
def create_job_from_url(body: UrlJobRequest, settings: SettingsDep, conn: ConnDep, queue: QueueDep,
                        caller: SubmitterDep, idempotency_key: IdempotencyKey = None) -> Job | JSONResponse:
    """Analyse a video at an http(s) URL. The answer comes at once; a worker fetches the video as the job's
    first step (``step`` is ``fetching`` meanwhile), and a download that fails fails the job with its code."""
    return _answer(submit_url(Submitter(conn, queue, settings, caller, idempotency_key), body.url, body.options,
                              body))


@router.get("", response_model=list[Job])
def list_jobs(conn: ConnDep, _: ReaderDep, status: JobStatus | None = None, batch_id: uuid.UUID | None = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[Job]:
    return queries.list_jobs(conn, limit, status, batch_id)


def job_or_404(conn: ConnDep, job_id: uuid.UUID) -> Job:
    job = queries.get_job(conn, job_id)
    if job is None:
        raise Refusal(404, ErrorCode.job_not_found, f"no job {job_id}")
    return job


@router.get("/{job_id}", response_model=Job)
def get_job(job_id: uuid.UUID, conn: ConnDep, _: ReaderDep) -> Job:
    return job_or_404(conn, job_id)


@router.get("/{job_id}/findings", response_model=FindingsResponse)
def get_findings(job_id: uuid.UUID, conn: ConnDep, _: ReviewerDep, module: str | None = None) -> FindingsResponse:
    job = job_or_404(conn, job_id)
    return FindingsResponse(job_id=job.id, status=job.status, findings=queries.get_findings(conn, job_id, module))


@router.get("/{job_id}/segments", response_model=SegmentsResponse)
def get_segments(job_id: uuid.UUID, conn: ConnDep, _: ReviewerDep, module: str | None = None) -> SegmentsResponse:
    """Findings grouped into time ranges per module and label, with max and mean scores."""
    job = job_or_404(conn, job_id)
    return SegmentsResponse(job_id=job.id, status=job.status, segments=queries.get_segments(conn, job_id, module))


@router.get("/{job_id}/events", response_model=list[JobEvent])
def get_events(job_id: uuid.UUID, conn: ConnDep, _: ReaderDep) -> list[JobEvent]:
    """The job's audit trail: every change of status or priority, who made it (API key name, worker,
    system) and why."""
    job_or_404(conn, job_id)
    return queries.job_events(conn, job_id)


@router.get("/{job_id}/webhooks", response_model=list[WebhookDelivery])
def get_webhook_deliveries(job_id: uuid.UUID, conn: ConnDep, _: ReaderDep) -> list[WebhookDelivery]:
    """Deliveries of the job's webhook event: status, attempts, last error."""
    job_or_404(conn, job_id)
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
