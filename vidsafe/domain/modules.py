"""What a deployment says of each analysis module (the modules themselves are the catalogue's entries)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class Module(StrEnum):
    """The analyses a job can run. Each is served by catalogue entries of the same name, except
    restraint, a rule over pose (and CLIP, when enabled) findings, and shots and known_content (the frames'
    perceptual hashes matched against the team's hash lists), found while decoding."""

    nudity = "nudity"
    ocr = "ocr"
    faces = "faces"
    speech = "speech"
    pose = "pose"
    clip = "clip"
    restraint = "restraint"
    text_embeddings = "text_embeddings"
    shots = "shots"
    known_content = "known_content"


class ModuleStatus(BaseModel):
    module: Module
    available: bool
    models: list[str] = Field(description="The Triton models that serve it (none for a rule over other modules)")
    how_to_enable: str | None = None
