"""The review workflow: the queues' items, reviewers' decisions, people seen across videos, search hits."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, Field

from vidsafe.catalogue import Module
from vidsafe.domain.findings import FrameHit, RiskReason

# ---- review -------------------------------------------------------------------------------------


class ReviewState(StrEnum):
    open = "open"  # waiting, or claimed by a reviewer under a lease
    decided = "decided"


class ReviewItem(BaseModel):
    """An analysed job in its team's review queue."""

    job_id: UUID
    source_name: str
    batch_id: UUID | None
    queue: str = Field(description="review, escalation, or a queue of the team's policy that a rule routed it to")
    priority: int = Field(description="Its place in its queue before risk: a rule's route gives it (0 by default)")
    reviews_required: int = Field(description="2 where a rule requires two reviewers: the item is decided by the "
                                  "second reviewer's approval or rejection")
    state: ReviewState
    risk: float
    risk_reasons: list[RiskReason]
    claimed_by: str | None = Field(description="The reviewer (key name) holding the item, while the lease runs")
    lease_until: datetime | None
    assigned_to: str | None = Field(description="The reviewer a lead assigned the item to: only they claim it")
    created_at: datetime
    duration_s: float | None = Field(default=None, description="The video's length")
    cover_frame: int | None = Field(default=None, description="The sampled frame of its best-scoring finding of a "
                                    "category the policy rates (its thumbnail is the item's picture)")


class DecisionAction(StrEnum):
    approve = "approve"
    reject = "reject"
    escalate = "escalate"  # the item moves to the escalation queue


class Decision(BaseModel):
    """A reviewer's decision, on record for good (decisions are append-only)."""

    id: int
    job_id: UUID
    action: DecisionAction
    start_s: float | None
    end_s: float | None
    policy_label: str
    note: str
    actor: str
    at: datetime


class DecisionRow(Decision):
    """A decision as the team's export lists it: with its video's name, its risk, and its item's state now."""

    source_name: str
    risk: float | None
    review_state: ReviewState | None = Field(description="The item's state now (None: the job is in no queue)")


class SegmentDecision(BaseModel):
    action: DecisionAction
    actor: str
    at: datetime


class FlaggedSegment(BaseModel):
    """A segment the job's policy flags (a category of it rates the segment above 0), with the decisions on it: a
    reviewer's review is done when they decided every flagged segment, or the whole video."""

    module: Module
    label: str
    start_s: float
    end_s: float
    max_score: float
    category: str
    severity: float
    contribution: float = Field(description="severity x max_score: what the segment adds to the job's risk")
    decisions: list[SegmentDecision] = Field(description="Approvals and rejections on it (or on the whole video), "
                                             "oldest first")


class SearchHit(BaseModel):
    """A transcript line or on-screen text that matched, with where it is."""

    job_id: UUID
    source_name: str
    finding_id: int
    module: Module
    text: str
    timestamp_s: float
    end_s: float | None
    score: float = Field(description="Reciprocal rank fusion of the exact-word and the meaning rankings")
    matched_by: list[str] = Field(description="words (full-text search), meaning (embedding similarity), or both")


class Person(BaseModel):
    """Faces across the team's videos grouped into one person."""

    id: UUID
    name: str | None
    hidden: bool
    faces: int
    jobs: int
    cover: FrameHit | None = Field(description="A face of the person to show")
    created_at: datetime
