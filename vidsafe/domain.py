"""Domain types shared by the gateway, the workers and the UI."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, Field


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.succeeded, JobStatus.failed)


class ErrorCode(StrEnum):
    """Why a job failed or an upload was refused; stable strings clients can switch on."""

    empty_file = "empty_file"
    file_too_large = "file_too_large"
    not_a_video = "not_a_video"
    no_video_stream = "no_video_stream"
    unreadable_media = "unreadable_media"
    truncated_media = "truncated_media"
    too_long = "too_long"
    frame_too_large = "frame_too_large"
    path_not_allowed = "path_not_allowed"
    file_missing = "file_missing"
    inference_failed = "inference_failed"
    internal_error = "internal_error"


class MediaError(Exception):
    """Input media that cannot be analysed; carries the code a client sees."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class MediaInfo(BaseModel):
    container: str
    codec: str
    width: int
    height: int
    duration_s: float
    fps: float
    size_bytes: int
    has_audio: bool


class Job(BaseModel):
    id: UUID
    status: JobStatus
    source_name: str
    progress: float = Field(ge=0, le=1)
    frames_analyzed: int
    media: MediaInfo | None
    error_code: ErrorCode | None
    error_message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class Detection(BaseModel):
    """One detected region in one sampled frame; box is x1, y1, x2, y2 in frame pixels."""

    label: str
    score: float
    box: tuple[float, float, float, float]


class Finding(Detection):
    module: str
    frame_index: int
    timestamp_s: float
