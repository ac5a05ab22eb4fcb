"""The batches resource: a named group of videos submitted together, with aggregate progress and control."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import Field

from vidsafe.db import batches, jobs
from vidsafe.domain.api import BatchActionResult, BatchCreated, ItemError
from vidsafe.domain.batches import Batch
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.fields import DEFAULT_PRIORITY, Priority, StrictModel, Text
from vidsafe.domain.jobs import Job, JobOptions, JobStatus
from vidsafe.gateway.dependencies import Caller, ConnDep, QueueDep, ReaderDep, SettingsDep, SubmitterDep
from vidsafe.gateway.job_control import Action, apply, reprioritise, statuses_for
from vidsafe.gateway.jobs import PriorityRequest
from vidsafe.gateway.openapi import links
from vidsafe.gateway.paging import PAGED_HEADERS, CursorParam, paged
from vidsafe.gateway.refusals import Refusal
from vidsafe.gateway.submissions import Placement, Submitter, check_callback, submit_path, submit_url

router = APIRouter(prefix="/v1/batches", tags=["batches"])

MAX_ITEMS = 1000
_BATCH = {"batch_id": "$response.body#/batch/id"}


class BatchRequest(StrictModel):
    name: Text = Field(min_length=1, max_length=200)
    auto_start: bool | None = Field(default=None, description="Queue its jobs at once. Unset: the auto_process "
                                    "setting")
    priority: Priority = DEFAULT_PRIORITY
    callback_url: Text | None = Field(default=None, max_length=2000, description="Receives each job's end event")
    options: JobOptions = Field(default_factory=JobOptions, description="Options of every job of the batch")
    paths: list[Text] = Field(default_factory=list, max_length=MAX_ITEMS, description="Server-side videos")
    urls: list[Annotated[Text, Field(max_length=2000)]] = Field(default_factory=list, max_length=MAX_ITEMS,
                            description="Videos to download: each job fetches its own, in a worker")


def _batch_or_404(conn: ConnDep, batch_id: uuid.UUID, caller: Caller) -> Batch:
    """The batch, if it is the caller's team's."""
    batch = batches.get_batch(conn, batch_id, caller.team_id)
    if batch is None:
        raise Refusal(404, ErrorCode.batch_not_found, f"no batch {batch_id}")
    return batch


@router.post("", status_code=status.HTTP_201_CREATED, response_model=BatchCreated, responses=links(
    201, GetBatch=("get_batch", _BATCH), ListBatchJobs=("list_batch_jobs", _BATCH),
    ControlBatch=("control_batch", _BATCH), SetBatchPriority=("set_batch_priority", _BATCH)))
def create_batch(body: BatchRequest, settings: SettingsDep, conn: ConnDep, queue: QueueDep,
                 caller: SubmitterDep) -> BatchCreated:
    """Create a batch, with jobs for its server-side ``paths`` and ``urls``. Upload more videos into it with
    ``POST /v1/jobs?batch_id=...``. An item that cannot be submitted is listed in ``errors``."""
    check_callback(body.callback_url, settings)
    auto_start = settings.auto_process if body.auto_start is None else body.auto_start
    batch = batches.create_batch(conn, uuid.uuid4(), caller.team_id, body.name, auto_start, body.priority,
                                 body.callback_url, caller.key.id)
    submitter, placement = Submitter(conn, queue, settings, caller), Placement(batch_id=batch.id)
    created: list[Job] = []
    errors: list[ItemError] = []
    items = [(path, submit_path) for path in body.paths] + [(url, submit_url) for url in body.urls]
    for item, submit in items:
        try:
            created.append(submit(submitter, item, body.options, placement).job)
        except Refusal as refusal:
            errors.append(ItemError(item=item, code=refusal.code, message=refusal.message))
    return BatchCreated(batch=_batch_or_404(conn, batch.id, caller), jobs=created, errors=errors)


@router.get("", response_model=list[Batch])
def list_batches(conn: ConnDep, caller: ReaderDep, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[Batch]:
    """The team's batches, newest first."""
    return batches.list_batches(conn, caller.team_id, limit)


@router.get("/{batch_id}", response_model=Batch, operation_id="get_batch")
def get_batch(batch_id: uuid.UUID, conn: ConnDep, caller: ReaderDep) -> Batch:
    """The batch with its jobs' counts per status and mean progress."""
    return _batch_or_404(conn, batch_id, caller)


@router.get("/{batch_id}/jobs", response_model=list[Job], operation_id="list_batch_jobs",
            responses={200: {"headers": PAGED_HEADERS}})
def list_batch_jobs(request: Request, response: Response, batch_id: uuid.UUID, conn: ConnDep, caller: ReaderDep,
                    status: JobStatus | None = None, limit: Annotated[int, Query(ge=1, le=MAX_ITEMS)] = MAX_ITEMS,
                    cursor: CursorParam = None) -> list[Job]:
    """The batch's jobs, newest first, a page at a time."""
    _batch_or_404(conn, batch_id, caller)
    return paged(request, response, jobs.list_jobs(conn, caller.team_id, limit, status, batch_id, cursor))


@router.post("/{batch_id}/{action}", response_model=BatchActionResult, operation_id="control_batch")
def control_batch(batch_id: uuid.UUID, action: Action, conn: ConnDep, queue: QueueDep, caller: SubmitterDep,
                  from_scratch: bool = False) -> BatchActionResult:
    """Apply an action to every job of the batch it applies to. ``retry`` retries the failed jobs from their
    finished chunks; with ``from_scratch`` it redoes every ended job from the start."""
    _batch_or_404(conn, batch_id, caller)
    changed = []
    for job_id in batches.batch_job_ids(conn, batch_id, statuses_for(action, from_scratch, batch=True)):
        job = jobs.get_job(conn, job_id, caller.team_id)
        if job is None:
            continue  # removed meanwhile
        try:
            changed.append(apply(conn, queue, job, action, caller.actor, from_scratch).id)
        except Refusal as refusal:
            if refusal.code == ErrorCode.queue_unavailable:
                raise
    skipped = len(batches.batch_job_ids(conn, batch_id)) - len(changed)
    return BatchActionResult(batch=_batch_or_404(conn, batch_id, caller), changed=changed, skipped=skipped)


@router.put("/{batch_id}/priority", response_model=Batch, operation_id="set_batch_priority")
def set_batch_priority(batch_id: uuid.UUID, body: PriorityRequest, conn: ConnDep, queue: QueueDep,
                       caller: SubmitterDep) -> Batch:
    """The batch's priority, and that of each of its jobs that has not ended."""
    _batch_or_404(conn, batch_id, caller)
    batches.set_batch_priority(conn, batch_id, body.priority)
    unfinished = [s for s in JobStatus if not s.is_final]
    for job_id in batches.batch_job_ids(conn, batch_id, unfinished):
        if job := jobs.get_job(conn, job_id, caller.team_id):
            try:
                reprioritise(conn, queue, job, body.priority, caller.actor)
            except Refusal as refusal:
                if refusal.code != ErrorCode.invalid_state:  # it ended meanwhile
                    raise
    return _batch_or_404(conn, batch_id, caller)
