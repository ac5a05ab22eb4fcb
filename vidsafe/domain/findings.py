"""What the modules find: findings at a frame or over a time, segments that group them, the risk they make,
frames found again by similarity."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from vidsafe.catalogue import Module, entry


class RiskReason(BaseModel):
    """A segment that raises a job's risk: its severity (its category's, in the team's policy) times its score."""

    module: Module
    label: str
    category: str | None = Field(default=None, description="The policy category whose signal gives the severity")
    start_s: float
    end_s: float
    score: float
    severity: float
    contribution: float


class Detection(BaseModel):
    """One detected region in one sampled frame; box is x1, y1, x2, y2 in frame pixels."""

    label: str
    score: float
    box: tuple[float, float, float, float]


class Finding(BaseModel):
    """Something one module found, at a frame (frame_index) or over a time range (end_s)."""

    id: int | None = Field(default=None, description="Set once stored")
    module: Module
    label: str
    score: float
    timestamp_s: float
    end_s: float | None = None
    frame_index: int | None = None
    box: tuple[float, float, float, float] | None = Field(default=None, description="x1, y1, x2, y2, frame pixels")
    polygon: list[tuple[float, float]] | None = Field(default=None, description="Text outline, frame pixels")
    text: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    # Stored in pgvector (faces, CLIP), never returned by the API.
    embedding: list[float] | None = Field(default=None, exclude=True)

    @property
    def is_index_entry(self) -> bool:
        """An entry of the similarity index (CLIP's embedding of every frame: its module's ``index_labels``), not
        something seen: no segment, thumbnail, timeline point or rule takes it for a finding."""
        return self.label in entry(self.module).index_labels


class Segment(BaseModel):
    """Findings of one module and label grouped into a time range, as Rekognition and Video Indexer
    report them."""

    module: Module
    label: str
    start_s: float
    end_s: float
    max_score: float
    mean_score: float
    count: int


class FrameHit(BaseModel):
    """A frame found by similarity (a face, or CLIP's picture of a frame)."""

    job_id: UUID
    source_name: str
    finding: Finding
    cosine_distance: float
