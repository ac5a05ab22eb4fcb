"""A policy's rules: conditions over a job's signals that lead to actions on its review item (a queue and priority,
escalation, a second reviewer, an automatic decision), each live, background (what it would do is recorded, nothing
changes) or draft; and the firings recorded on a job."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from vidsafe.catalogue import Module
from vidsafe.domain.fields import Score, StrictModel, Text

RULES_PER_POLICY = 100
CONDITIONS_PER_RULE = 20
QUEUES_PER_POLICY = 20
BUILT_IN_QUEUES = ("review", "escalation")
RESERVED_QUEUE_NAMES = (*BUILT_IN_QUEUES, "claimed")  # "claimed" is the count of claimed items beside the queues
NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"

RuleName = Annotated[str, Field(pattern=NAME_PATTERN, description="Lower-case letters, digits, _ and -")]
QueueName = Annotated[str, Field(pattern=NAME_PATTERN, description="review, escalation, or a queue the policy "
                                 "declares")]


class RuleState(StrEnum):
    live = "live"  # its actions are taken
    background = "background"  # what it would do is recorded on the job; nothing changes
    draft = "draft"  # only dry runs evaluate it


class Condition(StrictModel):
    """Holds when the job's segments that pass every filter given are at least ``min_count`` and last at least
    ``min_duration_s`` in all (and the job is in ``batch_id``, and its speech in ``language``, when given)."""

    module: Module | None = None
    category: Annotated[str, Field(max_length=63)] | None = Field(
        default=None, description="A category of the policy: the segments its signals rate above 0 (and text "
        "findings of that label)")
    label: Annotated[Text, Field(max_length=200)] | None = None
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}$")] | None = Field(
        default=None, description="The job's speech (or a text judged of it) was identified as this language")
    batch_id: UUID | None = None
    min_score: Score = 0.0
    min_duration_s: Annotated[float, Field(ge=0)] = 0.0
    min_count: Annotated[int, Field(ge=0, le=100_000)] | None = Field(
        default=None, description="Segments needed; none: 1 where the condition is about segments")

    @property
    def about_segments(self) -> bool:
        """Whether segments are counted: a condition with no module, category, label, minimum score, duration or
        count is about the job alone (its batch, its language)."""
        return bool(self.module or self.category or self.label or self.min_score or self.min_duration_s
                    or self.min_count is not None)


class Route(StrictModel):
    type: Literal["route"] = "route"
    queue: QueueName
    priority: Annotated[int, Field(ge=0, le=100)] = Field(default=0, description="Higher first in its queue")


class Escalate(StrictModel):
    type: Literal["escalate"] = "escalate"


class RequireTwoReviewers(StrictModel):
    type: Literal["require_two_reviewers"] = "require_two_reviewers"


class AutoApprove(StrictModel):
    """Approve without a reviewer while the job's risk is below ``max_risk``; ``sample_share`` of such jobs still
    go to review (chosen by the job's id, so the same job always is)."""

    type: Literal["auto_approve"] = "auto_approve"
    max_risk: Score
    sample_share: Score = 0.05


class AutoReject(StrictModel):
    """Reject without a reviewer: only on a known-content match (a condition of the rule names that module)."""

    type: Literal["auto_reject"] = "auto_reject"


RuleAction = Annotated[Route | Escalate | RequireTwoReviewers | AutoApprove | AutoReject, Field(discriminator="type")]


class Rule(StrictModel):
    name: RuleName
    description: Text = Field(default="", max_length=2000)
    state: RuleState = RuleState.draft
    match: Literal["any", "all"] = Field(default="all", description="Fires when all conditions hold, or any")
    conditions: list[Condition] = Field(min_length=1, description=f"At most {CONDITIONS_PER_RULE}")
    actions: list[RuleAction] = Field(min_length=1, max_length=5)

    @model_validator(mode="after")
    def _sound(self) -> Rule:
        kinds = [a.type for a in self.actions]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"rule {self.name!r}: an action repeats")
        if "auto_reject" in kinds and (self.match != "all" or not any(
                c.module == Module.known_content and (c.min_count is None or c.min_count >= 1)
                for c in self.conditions)):
            raise ValueError(f"rule {self.name!r}: auto_reject needs match 'all' and a condition on a known_content "
                             "match (min_count 1 or more)")
        if "auto_approve" in kinds and len(kinds) > 1:
            raise ValueError(f"rule {self.name!r}: auto_approve is the rule's only action")
        return self


class QueueSpec(StrictModel):
    name: QueueName
    description: Text = Field(default="", max_length=500)


class RuleFiring(BaseModel):
    """A rule that fired on a job: by which policy version, in which state, what it did (or would have), and why."""

    rule: str
    policy_version: int
    state: RuleState
    actions: list[dict] = Field(description="Its actions as the policy wrote them")
    taken: str = Field(description="What it did: e.g. 'routed to queue scams (priority 5)', 'approved', "
                       "'not approved: sampled for review'; background firings: what it would have done")
    why: str
    at: datetime


class RuleDryRun(BaseModel):
    """A rule of a policy evaluated on the team's past jobs."""

    rule: str
    state: RuleState
    fires_on: int = Field(description="Past jobs it fires on")
    fired_before: int = Field(description="Of those jobs, how many the live version's rule of that name fires on")
    examples: list[UUID] = Field(description="Some of the jobs it fires on")
