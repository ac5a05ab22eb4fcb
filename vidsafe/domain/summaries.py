"""Summaries: a job's findings summed up for its reviewer, by the template or an LLM."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field


class SuggestedAction(StrEnum):
    approve = "approve"  # nothing found that a policy forbids
    review = "review"  # a human should look at the listed times
    escalate = "escalate"  # severe: to the escalation queue
    remove = "remove"  # known violating content (a hash list's match)


class SummaryItem(BaseModel):
    what: str = Field(description="What was found, in a reviewer's words")
    start_s: float = Field(description="Where it starts, seconds into the video")
    end_s: float = Field(description="Where it ends, seconds into the video")
    severity: Literal["low", "medium", "high"]


class JobSummary(BaseModel):
    """A job's findings summed up for a reviewer: the structured output every summary provider returns."""

    headline: str = Field(description="One sentence: what the video holds and how risky it is")
    findings: list[SummaryItem] = Field(description="What was found and where, most severe first")
    risk: float = Field(description="The job's risk, 0-1, as vidsafe computed it")
    suggested_action: SuggestedAction
    rationale: str = Field(description="Why that action, in two or three sentences")


class SummaryState(StrEnum):
    queued = "queued"
    ready = "ready"
    failed = "failed"


class SummaryRecord(BaseModel):
    """A job's summary: the last one made (``summary``), and the state of the newest request for one."""

    job_id: UUID
    state: SummaryState
    provider: str = Field(description="template (offline), openai, gemini or anthropic")
    model: str | None
    summary: JobSummary | None = Field(description="The last summary made; kept while a new one is made or fails")
    error: str | None = Field(description="Why the newest request failed")
    requested_at: datetime
    generated_at: datetime | None
