"""The field types that bodies and entities share: strict models, client text, priorities, scores."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field


class StrictModel(BaseModel):
    """A request body or options object: an unknown (or misspelt) key is refused, never ignored."""

    model_config = ConfigDict(extra="forbid")


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _no_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    return value


# Text a client sends that is stored or used as a path: NUL is refused (Postgres text and file names cannot hold it).
Text = Annotated[str, AfterValidator(_no_nul)]
MIN_PRIORITY, MAX_PRIORITY, DEFAULT_PRIORITY = 0, 9, 5
Priority = Annotated[int, BeforeValidator(_no_bool), Field(ge=MIN_PRIORITY, le=MAX_PRIORITY,
                                                         description="0..9; higher runs first")]
Score = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
# Sampling rates a job may ask for: one frame a minute at the least, as many as 30 a second at the most.
MIN_SAMPLE_FPS, MAX_SAMPLE_FPS = 1 / 60, 30.0


class BackgroundState(StrEnum):
    """Where a piece of background work (re-matching a hash list, re-judging past jobs) stands."""

    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
