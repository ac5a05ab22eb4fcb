"""The jobs resource: submit a video, follow its analysis, read its findings."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from kombu.exceptions import OperationalError
from pydantic import BaseModel, Field, ValidationError

from gateway.dependencies import ConnDep, QueueDep, SettingsDep
from gateway.uploads import FILE_FIELD, OPTIONS_FIELD, UploadError, receive_upload
from vidsafe.catalogue import resolve_modules
from vidsafe.db import queries
from vidsafe.domain import ErrorCode, Finding, Job, JobOptions, JobStatus, MediaError, Segment
from vidsafe.media import probe_video
from vidsafe.queue import ANALYZE_VIDEO_TASK
from vidsafe.settings import Settings

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

# How a refused video maps to HTTP: the client sent something unusable (4xx), never a server error.
_MEDIA_ERROR_STATUS = {
    ErrorCode.empty_file: 400,
    ErrorCode.not_a_video: 415,
    ErrorCode.no_video_stream: 415,
    ErrorCode.file_missing: 404,
}


class PathJobRequest(BaseModel):
    path: str
    options: JobOptions = Field(default_factory=JobOptions)


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


def _enqueue(conn: ConnDep, queue: QueueDep, job_id: uuid.UUID, name: str, path: Path, owns: bool,
             options: JobOptions) -> Job:
    job = queries.create_job(conn, job_id, name, str(path), owns, options)
    try:
        queue.send_task(ANALYZE_VIDEO_TASK, args=[str(job_id)])
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
async def create_job_from_upload(request: Request, settings: SettingsDep, conn: ConnDep, queue: QueueDep) -> Job:
    """Upload a video (multipart field ``file``, optional ``options`` JSON); it is probed, stored under the
    job's id, and queued."""
    job_id = uuid.uuid4()
    target = settings.uploads_dir / str(job_id)
    try:
        received = await receive_upload(request, target, settings.max_upload_bytes)
    except UploadError as error:
        raise _refuse(error.status, error.code, error.message) from None
    try:
        options = _parse_options(received.options)
        _check_options(options, settings)
        await _probe_or_refuse(target, settings)
        return _enqueue(conn, queue, job_id, received.filename, target, owns=True, options=options)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


@router.post("/from-path", status_code=status.HTTP_201_CREATED, response_model=Job)
async def create_job_from_path(body: PathJobRequest, settings: SettingsDep, conn: ConnDep, queue: QueueDep) -> Job:
    """Analyse a video already on the server, inside one of the configured ``ingest_roots``."""
    path = Path(body.path).resolve()
    if not any(path.is_relative_to(root.resolve()) for root in settings.ingest_roots):
        raise _refuse(403, ErrorCode.path_not_allowed,
                      "server-side paths must lie inside VIDSAFE_INGEST_ROOTS" if settings.ingest_roots
                      else "server-side paths are disabled: set VIDSAFE_INGEST_ROOTS to allow folders")
    if not path.is_file():
        raise _refuse(404, ErrorCode.file_missing, "no such file under the ingest roots")
    _check_options(body.options, settings)
    await _probe_or_refuse(path, settings)
    return _enqueue(conn, queue, uuid.uuid4(), path.name, path, owns=False, options=body.options)


@router.get("", response_model=list[Job])
def list_jobs(conn: ConnDep, status: JobStatus | None = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[Job]:
    return queries.list_jobs(conn, limit, status)


@router.get("/{job_id}", response_model=Job)
def get_job(job_id: uuid.UUID, conn: ConnDep) -> Job:
    job = queries.get_job(conn, job_id)
    if job is None:
        raise _refuse(404, "job_not_found", f"no job {job_id}")
    return job


@router.get("/{job_id}/findings", response_model=FindingsResponse)
def get_findings(job_id: uuid.UUID, conn: ConnDep, module: str | None = None) -> FindingsResponse:
    job = get_job(job_id, conn)
    return FindingsResponse(job_id=job.id, status=job.status, findings=queries.get_findings(conn, job_id, module))


@router.get("/{job_id}/segments", response_model=SegmentsResponse)
def get_segments(job_id: uuid.UUID, conn: ConnDep, module: str | None = None) -> SegmentsResponse:
    """Findings grouped into time ranges per module and label, with max and mean scores."""
    job = get_job(job_id, conn)
    return SegmentsResponse(job_id=job.id, status=job.status, segments=queries.get_segments(conn, job_id, module))
