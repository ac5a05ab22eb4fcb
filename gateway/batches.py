"""The batches resource: a named group of videos submitted together, with aggregate progress and control."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from gateway.dependencies import ConnDep, QueueDep, ReaderDep, SettingsDep, SubmitterDep
from gateway.job_control import Action, ControlError, allowed_from, apply, reprioritise
from gateway.jobs import (
    PathJobRequest,
    PriorityRequest,
    UrlJobRequest,
    check_callback,
    create_job_from_path,
    create_job_from_url,
)
from vidsafe.db import queries
from vidsafe.domain import DEFAULT_PRIORITY, Batch, Job, JobOptions, JobStatus, Priority

router = APIRouter(prefix="/v1/batches", tags=["batches"])

MAX_ITEMS = 1000


class BatchRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    auto_start: bool | None = Field(default=None, description="Queue its jobs at once. Unset: the auto_process "
                                    "setting")
    priority: Priority = DEFAULT_PRIORITY
    callback_url: str | None = Field(default=None, max_length=2000, description="Receives each job's end event")
    options: JobOptions = Field(default_factory=JobOptions, description="Options of every job of the batch")
    paths: list[str] = Field(default_factory=list, max_length=MAX_ITEMS, description="Server-side videos")
    urls: list[str] = Field(default_factory=list, max_length=MAX_ITEMS, description="Videos to download")


class ItemError(BaseModel):
    item: str
    code: str
    message: str


class BatchCreated(BaseModel):
    batch: Batch
    jobs: list[Job]
    errors: list[ItemError] = Field(description="Items refused, each with why; the others are in the batch")


class BatchActionResult(BaseModel):
    batch: Batch
    changed: list[uuid.UUID]
    skipped: int = Field(description="Jobs whose status the action does not apply to")


def _batch_or_404(conn: ConnDep, batch_id: uuid.UUID) -> Batch:
    batch = queries.get_batch(conn, batch_id)
    if batch is None:
        raise HTTPException(404, {"code": "batch_not_found", "message": f"no batch {batch_id}"})
    return batch


@router.post("", status_code=status.HTTP_201_CREATED, response_model=BatchCreated)
async def create_batch(body: BatchRequest, settings: SettingsDep, conn: ConnDep, queue: QueueDep,
                       caller: SubmitterDep) -> BatchCreated:
    """Create a batch, with jobs for its server-side ``paths`` and ``urls``. Upload more videos into it with
    ``POST /v1/jobs?batch_id=...``. An item that cannot be submitted is listed in ``errors``."""
    check_callback(body.callback_url, settings)
    auto_start = settings.auto_process if body.auto_start is None else body.auto_start
    batch = queries.create_batch(conn, uuid.uuid4(), body.name, auto_start, body.priority, body.callback_url,
                                 caller.id)
    jobs: list[Job] = []
    errors: list[ItemError] = []
    items = [PathJobRequest(path=path, options=body.options, batch_id=batch.id) for path in body.paths] + \
        [UrlJobRequest(url=url, options=body.options, batch_id=batch.id) for url in body.urls]
    for item in items:
        try:
            if isinstance(item, PathJobRequest):
                job = await create_job_from_path(item, settings, conn, queue, caller)
            else:
                job = await create_job_from_url(item, settings, conn, queue, caller)
        except HTTPException as error:
            detail = error.detail if isinstance(error.detail, dict) else {"code": "refused", "message": error.detail}
            errors.append(ItemError(item=getattr(item, "path", None) or getattr(item, "url", ""), **detail))
            continue
        assert isinstance(job, Job)
        jobs.append(job)
    return BatchCreated(batch=_batch_or_404(conn, batch.id), jobs=jobs, errors=errors)


@router.get("", response_model=list[Batch])
def list_batches(conn: ConnDep, _: ReaderDep, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[Batch]:
    return queries.list_batches(conn, limit)


@router.get("/{batch_id}", response_model=Batch)
def get_batch(batch_id: uuid.UUID, conn: ConnDep, _: ReaderDep) -> Batch:
    """The batch with its jobs' counts per status and mean progress."""
    return _batch_or_404(conn, batch_id)


@router.get("/{batch_id}/jobs", response_model=list[Job])
def list_batch_jobs(batch_id: uuid.UUID, conn: ConnDep, _: ReaderDep, status: JobStatus | None = None,
                    limit: Annotated[int, Query(ge=1, le=MAX_ITEMS)] = MAX_ITEMS) -> list[Job]:
    _batch_or_404(conn, batch_id)
    return queries.list_jobs(conn, limit, status, batch_id)


@router.post("/{batch_id}/{action}", response_model=BatchActionResult)
def control_batch(batch_id: uuid.UUID, action: Action, conn: ConnDep, queue: QueueDep, caller: SubmitterDep,
                  from_scratch: bool = False) -> BatchActionResult:
    """Apply an action to every job of the batch it applies to. ``retry`` retries the failed jobs from their
    finished chunks; with ``from_scratch`` it redoes every ended job from the start."""
    _batch_or_404(conn, batch_id)
    statuses = allowed_from(action, from_scratch) if action != Action.retry or from_scratch else (JobStatus.failed,)
    targets = queries.batch_job_ids(conn, batch_id, statuses)
    changed = []
    for job_id in targets:
        try:
            changed.append(apply(conn, queue, job_id, action, caller.name, from_scratch).id)
        except ControlError as error:
            if error.status_code == 503:
                raise
    skipped = len(queries.batch_job_ids(conn, batch_id)) - len(changed)
    return BatchActionResult(batch=_batch_or_404(conn, batch_id), changed=changed, skipped=skipped)


@router.put("/{batch_id}/priority", response_model=Batch)
def set_batch_priority(batch_id: uuid.UUID, body: PriorityRequest, conn: ConnDep, queue: QueueDep,
                       caller: SubmitterDep) -> Batch:
    """The batch's priority, and that of each of its jobs."""
    if not queries.set_batch_priority(conn, batch_id, body.priority):
        raise HTTPException(404, {"code": "batch_not_found", "message": f"no batch {batch_id}"})
    for job_id in queries.batch_job_ids(conn, batch_id):
        reprioritise(conn, queue, job_id, body.priority, caller.name)
    return _batch_or_404(conn, batch_id)
