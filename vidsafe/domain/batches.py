"""Batches: videos submitted together, followed and controlled as one."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from vidsafe.domain.fields import Priority
from vidsafe.domain.jobs import JobStatus


class Batch(BaseModel):
    """A named group of jobs submitted together, with their aggregate progress."""

    id: UUID
    name: str
    auto_start: bool
    priority: Priority
    callback_url: str | None
    created_at: datetime
    jobs: int = 0
    counts: dict[JobStatus, int] = Field(default_factory=dict, description="Jobs per status")
    progress: float = Field(default=0, ge=0, le=1, description="Mean progress of the batch's jobs")
