"""The batches resource: a named group of videos submitted together, with aggregate progress and control."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from vidsafe.db import batches, jobs
from vidsafe.domain.api import BatchActionResult, BatchCreated
from vidsafe.domain.batches import Batch
from vidsafe.domain.jobs import Job, JobStatus
from vidsafe.domain.requests import MAX_BATCH_ITEMS, BatchRequest, PriorityRequest
from vidsafe.gateway.convertors import JOB_ACTION
from vidsafe.gateway.dependencies import ConnDep, QueueDep, ReaderDep, SettingsDep, SubmitterDep
from vidsafe.gateway.openapi import links
from vidsafe.gateway.paging import PAGED_HEADERS, CursorParam, paged
from vidsafe.gateway.services import batches as batch_service
from vidsafe.gateway.services import owned
from vidsafe.gateway.services.job_control import Action

router = APIRouter(prefix="/v1/batches", tags=["batches"])

_BATCH = {"batch_id": "$response.body#/batch/id"}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=BatchCreated, responses=links(
    201, GetBatch=("get_batch", _BATCH), ListBatchJobs=("list_batch_jobs", _BATCH),
    ControlBatch=("control_batch", _BATCH), SetBatchPriority=("set_batch_priority", _BATCH)))
def create_batch(body: BatchRequest, settings: SettingsDep, conn: ConnDep, queue: QueueDep,
                 caller: SubmitterDep) -> BatchCreated:
    """Create a batch, with jobs for its server-side ``paths`` and ``urls``. Upload more videos into it with
    ``POST /v1/jobs?batch_id=...``. An item that cannot be submitted is listed in ``errors``."""
    return batch_service.create(conn, queue, settings, caller, body)


@router.get("", response_model=list[Batch])
def list_batches(conn: ConnDep, caller: ReaderDep, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[Batch]:
    """The team's batches, newest first."""
    return batches.list_batches(conn, caller.team_id, limit)


@router.get("/{batch_id}", response_model=Batch, operation_id="get_batch")
def get_batch(batch_id: uuid.UUID, conn: ConnDep, caller: ReaderDep) -> Batch:
    """The batch with its jobs' counts per status and mean progress."""
    return owned.batch(conn, caller.team_id, batch_id)


@router.get("/{batch_id}/jobs", response_model=list[Job], operation_id="list_batch_jobs",
            responses={200: {"headers": PAGED_HEADERS}})
def list_batch_jobs(request: Request, response: Response, batch_id: uuid.UUID, conn: ConnDep, caller: ReaderDep,
                    status: JobStatus | None = None,
                    limit: Annotated[int, Query(ge=1, le=MAX_BATCH_ITEMS)] = MAX_BATCH_ITEMS,
                    cursor: CursorParam = None) -> list[Job]:
    """The batch's jobs, newest first, a page at a time."""
    owned.batch(conn, caller.team_id, batch_id)
    return paged(request, response, jobs.list_jobs(conn, caller.team_id, limit, status, batch_id, cursor))


@router.post(f"/{{batch_id}}/{{action:{JOB_ACTION}}}", response_model=BatchActionResult,
             operation_id="control_batch")
def control_batch(batch_id: uuid.UUID, action: Action, conn: ConnDep, queue: QueueDep, caller: SubmitterDep,
                  from_scratch: bool = False) -> BatchActionResult:
    """Apply an action to every job of the batch it applies to. ``retry`` retries the failed jobs from their
    finished chunks; with ``from_scratch`` it redoes every ended job from the start."""
    return batch_service.control(conn, queue, caller, batch_id, action, from_scratch)


@router.put("/{batch_id}/priority", response_model=Batch, operation_id="set_batch_priority")
def set_batch_priority(batch_id: uuid.UUID, body: PriorityRequest, conn: ConnDep, queue: QueueDep,
                       settings: SettingsDep, caller: SubmitterDep) -> Batch:
    """The batch's priority, and that of each of its jobs that has not ended."""
    return batch_service.set_priority(conn, queue, caller, batch_id, body.priority,
                                      settings.effective_job_parts_in_flight)
