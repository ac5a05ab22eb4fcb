"""A policy's rules applied to one job: which fire and why, and what the live ones decide together.

A condition looks at the job's segments rated by the policy (``vidsafe.policy.segment_severity`` gives each its
category), so a rule speaks the policy's language: "two minutes of scams in speech", not a model's labels. The live
firings combine into one ``Outcome``, the most severe action winning: an automatic rejection over an escalation over
a route, and an automatic approval only when no other live rule fired.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from uuid import UUID

from vidsafe.domain.findings import Segment
from vidsafe.domain.policies import PolicyDocument
from vidsafe.domain.rules import (
    AutoApprove,
    AutoReject,
    Condition,
    Escalate,
    RequireTwoReviewers,
    Route,
    Rule,
    RuleState,
)
from vidsafe.domain.summaries import SuggestedAction
from vidsafe.policy import segment_severity


@dataclass(frozen=True)
class JobSignals:
    """What rules look at: a job's segments, its batch, the languages its speech was identified as, its risk."""

    job_id: UUID
    segments: list[Segment]
    batch_id: UUID | None = None
    languages: frozenset[str] = frozenset()
    risk: float = 0.0


@dataclass(frozen=True)
class Firing:
    rule: Rule
    why: str
    taken: str  # what its actions came to on this job (for a background rule: would have)


@dataclass
class Outcome:
    """What the live rules decide for the job's review item."""

    queue: str = "review"
    priority: int = 0
    reviews_required: int = 1
    decision: str | None = None  # approve | reject, taken by the rule named in decided_by
    decided_by: str | None = None
    floor: SuggestedAction = SuggestedAction.approve  # a summary suggests nothing milder
    fired: list[str] = field(default_factory=list)


def _category(policy: PolicyDocument, segment: Segment) -> str | None:
    return segment_severity(policy, segment.module, segment.label, segment.max_score)[1]


def _holds(condition: Condition, job: JobSignals, policy: PolicyDocument) -> tuple[bool, str]:
    if condition.batch_id is not None and condition.batch_id != job.batch_id:
        return False, "not in the batch"
    if condition.language is not None and condition.language not in job.languages:
        return False, f"no speech in {condition.language}"
    if not condition.about_segments:
        return True, " ".join(filter(None, (f"in batch {condition.batch_id}" if condition.batch_id else "",
                                            f"speech in {condition.language}" if condition.language else "")))
    matching = [s for s in job.segments
                if (condition.module is None or s.module == condition.module)
                and (condition.label is None or s.label == condition.label)
                and s.max_score >= condition.min_score
                and (condition.category is None or _category(policy, s) == condition.category)]
    duration = sum(s.end_s - s.start_s for s in matching)
    held = len(matching) >= (1 if condition.min_count is None else condition.min_count) \
        and duration >= condition.min_duration_s
    what = " ".join(str(v) for v in (condition.category, condition.module, condition.label) if v) or "any signal"
    top = max((s.max_score for s in matching), default=0.0)
    return held, f"{len(matching)} segment(s) of {what} ({duration:.1f} s, top score {top:.2f})"


def fires(rule: Rule, job: JobSignals, policy: PolicyDocument) -> str | None:
    """Why the rule fires on the job (its conditions' evidence), or None."""
    results = [_holds(c, job, policy) for c in rule.conditions]
    held = [why for ok, why in results if ok]
    if (all if rule.match == "all" else any)(ok for ok, _ in results):
        return "; ".join(filter(None, held)) or "always"
    return None


def sampled(job_id: UUID, share: float) -> bool:
    """Whether an auto-approved job goes to review anyway: the same job always answers the same."""
    return int(hashlib.sha256(job_id.bytes).hexdigest()[:8], 16) / 0xFFFFFFFF < share


def _taken(rule: Rule, job: JobSignals) -> str:
    done = []
    for action in rule.actions:
        match action:
            case Route(queue=queue, priority=priority):
                done.append(f"routed to queue {queue} (priority {priority})")
            case Escalate():
                done.append("escalated")
            case RequireTwoReviewers():
                done.append("two reviewers required")
            case AutoReject():
                done.append("rejected")
            case AutoApprove(max_risk=bound, sample_share=share):
                if job.risk >= bound:
                    done.append(f"not approved: risk {job.risk:.2f} is not below {bound}")
                elif sampled(job.job_id, share):
                    done.append("approve: sampled for review instead")
                else:
                    done.append("approved")
    return ", ".join(done)


def evaluate(policy: PolicyDocument, job: JobSignals, states: tuple[RuleState, ...] = (RuleState.live,
                                                                                      RuleState.background)
             ) -> list[Firing]:
    """The policy's rules of ``states`` that fire on the job, in the policy's order."""
    found = []
    for rule in policy.rules:
        if rule.state in states and (why := fires(rule, job, policy)) is not None:
            found.append(Firing(rule, why, _taken(rule, job)))
    return found


def action_floor(kinds: set[str]) -> SuggestedAction:
    """The mildest action a summary may suggest where live rules with these kinds of action fired."""
    if "auto_reject" in kinds:
        return SuggestedAction.remove
    if "escalate" in kinds:
        return SuggestedAction.escalate
    if kinds & {"route", "require_two_reviewers"}:
        return SuggestedAction.review
    return SuggestedAction.approve


def outcome(firings: list[Firing], job: JobSignals) -> Outcome:
    """What the live firings decide together."""
    result = Outcome()
    live = [f for f in firings if f.rule.state == RuleState.live]
    routed_at = -1  # the highest priority routed to so far: the first rule of it wins
    for firing in live:
        result.fired.append(firing.rule.name)
        for action in firing.rule.actions:
            match action:
                case Route(queue=queue, priority=priority) if priority > routed_at:
                    if result.queue != "escalation":
                        result.queue = queue
                    result.priority = routed_at = priority
                case Escalate():
                    result.queue = "escalation"
                case RequireTwoReviewers():
                    result.reviews_required = 2
                case AutoReject() if result.decision != "reject":
                    result.decision, result.decided_by = "reject", firing.rule.name
    approvals = [f for f in live if isinstance(f.rule.actions[0], AutoApprove)]
    if result.decision is None and approvals and len(approvals) == len(live):
        action = approvals[0].rule.actions[0]
        assert isinstance(action, AutoApprove)
        if job.risk < action.max_risk and not sampled(job.job_id, action.sample_share):
            result.decision, result.decided_by = "approve", approvals[0].rule.name
    result.floor = action_floor({action.type for f in live for action in f.rule.actions})
    return result
