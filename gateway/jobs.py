"""The jobs resource: submit a video, follow its analysis, read its findings."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Annotated, TypeVar

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from vidsafe.catalogue import Module
from vidsafe.db import deliveries, findings, jobs
from vidsafe.domain.api import FindingsResponse, SegmentsResponse
from vidsafe.domain.jobs import Job, JobEvent, JobStatus, WebhookDelivery
from vidsafe.domain.requests import PathJobRequest, PriorityRequest, UrlJobRequest
from vidsafe.domain.teams import Scope
from vidsafe.gateway.connections import borrowed_connection
from vidsafe.gateway.convertors import JOB_ACTION
from vidsafe.gateway.dependencies import (
    ConnDep,
    PoolDep,
    QueueDep,
    ReaderDep,
    ReviewerDep,
    SettingsDep,
    SubmitterDep,
)
from vidsafe.gateway.openapi import job_links
from vidsafe.gateway.paging import PAGED_HEADERS, CursorParam, paged
from vidsafe.gateway.services import owned
from vidsafe.gateway.services.job_control import Action, apply, reprioritise
from vidsafe.gateway.services.submissions import (
    Created,
    Placement,
    Submitter,
    place,
    submit_path,
    submit_upload,
    submit_url,
    upload_target,
)
from vidsafe.gateway.uploads import FILE_FIELD, OPTIONS_FIELD, UploadPace, receive_upload

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
Submitted = TypeVar("Submitted")

# A created job, or (200) the one an earlier request with the same Idempotency-Key made.
_CREATED_RESPONSES = {**job_links(201), 200: {"model": Job, "description": "The job an earlier request with this "
                                              "Idempotency-Key (and the same video, options, placement) made"}}

IdempotencyKey = Annotated[str | None, Header(
    max_length=200, description="Retries with the same key (per API key) return the job already created")]


def _answer(created: Created) -> Job | JSONResponse:
    """201 with a new job; 200 with the job an earlier request under the same idempotency key made."""
    return created.job if created.new else JSONResponse(created.job.model_dump(mode="json"))


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=Job, responses=_CREATED_RESPONSES,
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": [FILE_FIELD],
        "properties": {FILE_FIELD: {"type": "string", "format": "binary"},
                       OPTIONS_FIELD: {"type": "string", "description": "JobOptions as JSON"}}}}}}},
)
async def create_job_from_upload(request: Request, settings: SettingsDep, pool: PoolDep, queue: QueueDep,
                                 caller: SubmitterDep, placement: Annotated[Placement, Query()],
                                 idempotency_key: IdempotencyKey = None) -> Job | JSONResponse:
    """Upload a video (multipart field ``file``, optional ``options`` JSON); it is probed, stored under the
    job's id, and queued (or left pending). A retry with the same ``Idempotency-Key`` and the same file,
    options and placement gets the same job back (200); anything else under that key is a 409. The query
    parameters place the job: batch, priority, callback URL, start."""

    def submitting(work: Callable[[Submitter], Submitted]) -> Submitted:
        # A connection before and after the body, none while it streams: slow clients cannot take the pool.
        with borrowed_connection(pool) as conn:
            return work(Submitter(conn, queue, settings, caller, idempotency_key))

    placed = await run_in_threadpool(submitting, partial(place, placement=placement))
    job_id, target = upload_target(settings, caller.team_id)
    pace = UploadPace(settings.upload_idle_timeout_s, settings.upload_min_bytes_per_s, settings.upload_deadline_s)
    try:
        received = await receive_upload(request, target, settings.max_upload_bytes, pace)
        return _answer(await run_in_threadpool(submitting, partial(
            submit_upload, job_id=job_id, target=target, received=received, placement=placement, placed=placed)))
    except BaseException:
        # A refusal, or the client gone between receiving and recording: the file must not stay.
        target.unlink(missing_ok=True)
        raise


@router.post("/from-path", status_code=status.HTTP_201_CREATED, response_model=Job, responses=_CREATED_RESPONSES)
def create_job_from_path(body: PathJobRequest, settings: SettingsDep, conn: ConnDep, queue: QueueDep,
                         caller: SubmitterDep, idempotency_key: IdempotencyKey = None) -> Job | JSONResponse:
    """Analyse a video already on the server, inside one of the configured ``ingest_roots``."""
    return _answer(submit_path(Submitter(conn, queue, settings, caller, idempotency_key), body.path, body.options,
                               body))


@router.post("/from-url", status_code=status.HTTP_201_CREATED, response_model=Job, responses=_CREATED_RESPONSES)
def create_job_from_url(body: UrlJobRequest, settings: SettingsDep, conn: ConnDep, queue: QueueDep,
                        caller: SubmitterDep, idempotency_key: IdempotencyKey = None) -> Job | JSONResponse:
    """Analyse a video at an http(s) URL. The answer comes at once; a worker fetches the video as the job's
    first step (``step`` is ``fetching`` meanwhile), and a download that fails fails the job with its code."""
    return _answer(submit_url(Submitter(conn, queue, settings, caller, idempotency_key), body.url, body.options,
                              body))


@router.get("", response_model=list[Job], responses={200: {"headers": PAGED_HEADERS}})
def list_jobs(request: Request, response: Response, conn: ConnDep, caller: ReaderDep, status: JobStatus | None = None,
              batch_id: uuid.UUID | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
              cursor: CursorParam = None) -> list[Job]:
    """The team's jobs, newest first, a page at a time."""
    return paged(request, response, jobs.list_jobs(conn, caller.team_id, limit, status, batch_id, cursor))


@router.get("/{job_id}", response_model=Job, operation_id="get_job")
def get_job(job_id: uuid.UUID, conn: ConnDep, caller: ReaderDep) -> Job:
    return owned.job(conn, caller.team_id, job_id)


@router.get("/{job_id}/findings", response_model=FindingsResponse, operation_id="get_findings")
def get_findings(job_id: uuid.UUID, conn: ConnDep, caller: ReviewerDep, module: Module | None = None,
                 limit: Annotated[int, Query(ge=1, le=10000)] = 1000, cursor: CursorParam = None) -> FindingsResponse:
    """A page of the job's findings in time order; ``next_cursor`` leads to the next page."""
    job = owned.job(conn, caller.team_id, job_id)
    page = findings.findings_page(conn, job_id, module, limit, cursor)
    return FindingsResponse(job_id=job.id, status=job.status, findings=page.items, next_cursor=page.next_cursor)


@router.get("/{job_id}/segments", response_model=SegmentsResponse, operation_id="get_segments")
def get_segments(job_id: uuid.UUID, conn: ConnDep, caller: ReviewerDep,
                 module: Module | None = None) -> SegmentsResponse:
    """Findings grouped into time ranges per module and label, with max and mean scores."""
    job = owned.job(conn, caller.team_id, job_id)
    return SegmentsResponse(job_id=job.id, status=job.status, segments=findings.get_segments(conn, job_id, module))


@router.get("/{job_id}/events", response_model=list[JobEvent], operation_id="get_events")
def get_events(job_id: uuid.UUID, conn: ConnDep, caller: ReaderDep) -> list[JobEvent]:
    """The job's audit trail: every change of status or priority, who made it (API key name, worker,
    system) and why; and, for a key with the review scope, the reviewers' decisions (their labels and notes)."""
    owned.job(conn, caller.team_id, job_id)
    events = jobs.job_events(conn, job_id)
    if caller.key.allows((Scope.review,)):
        return events
    return [event for event in events if event.kind != "decision"]


@router.get("/{job_id}/webhooks", response_model=list[WebhookDelivery], operation_id="get_webhook_deliveries")
def get_webhook_deliveries(job_id: uuid.UUID, conn: ConnDep, caller: ReaderDep) -> list[WebhookDelivery]:
    """Deliveries of the job's webhook event: status, attempts, last error."""
    owned.job(conn, caller.team_id, job_id)
    return deliveries.deliveries(conn, job_id)


@router.post(f"/{{job_id}}/{{action:{JOB_ACTION}}}", response_model=Job, operation_id="control_job",
             responses=job_links(200))
def control_job(job_id: uuid.UUID, action: Action, conn: ConnDep, queue: QueueDep, caller: SubmitterDep,
                from_scratch: bool = False) -> Job:
    """Start a pending job, pause, resume, cancel, or retry a failed or cancelled one: from its finished
    chunks, or ``from_scratch`` (which may also redo a job that succeeded). 409 if the job's status does
    not allow it."""
    return apply(conn, queue, owned.job(conn, caller.team_id, job_id), action, caller.actor, from_scratch)


@router.put("/{job_id}/priority", response_model=Job, operation_id="set_priority")
def set_priority(job_id: uuid.UUID, body: PriorityRequest, conn: ConnDep, queue: QueueDep, settings: SettingsDep,
                 caller: SubmitterDep) -> Job:
    """A waiting or running job's priority; 409 for a job that has ended."""
    return reprioritise(conn, queue, owned.job(conn, caller.team_id, job_id), body.priority, caller.actor,
                        settings.effective_job_parts_in_flight)
