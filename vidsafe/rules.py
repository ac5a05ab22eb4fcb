"""A policy's rules applied to one job: which fire and why, and what the live ones decide together.

A condition looks at the job's segments rated by the policy (``vidsafe.policy.segment_categories`` gives each the
categories whose signals rate it), so a rule speaks the policy's language: "two minutes of scams in speech", not a
model's labels. The live firings combine into one ``Outcome``, the most severe action winning: an automatic
rejection over an escalation over a route, and an automatic approval only when no other live rule fired.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from uuid import UUID

from vidsafe.catalogue import Module
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
from vidsafe.policy import segment_categories


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
    would: str  # what its actions come to on this job by themselves (a background rule: what it would have done)


@dataclass
class Outcome:
    """What the live rules decide for the job's review item, and what each live firing came to beside the others."""

    queue: str = "review"
    priority: int = 0
    reviews_required: int = 1
    decision: str | None = None  # approve | reject, taken by the rule named in decided_by
    decided_by: str | None = None
    applied: dict[str, str] = field(default_factory=dict)  # live rule -> what it did

    def taken(self, firing: Firing) -> str:
        """What the firing did (live), or would have done (background)."""
        if firing.rule.state == RuleState.live:
            return self.applied[firing.rule.name]
        return f"would have: {firing.would}"


def rated(policy: PolicyDocument, segments: list[Segment]) -> list[frozenset[str]]:
    """Each segment's categories: those whose signals rate it above 0 (``vidsafe.policy.segment_categories``)."""
    return [segment_categories(policy, s.module, s.label, s.max_score) for s in segments]


def _holds(condition: Condition, job: JobSignals, categories: list[frozenset[str]]) -> tuple[bool, str]:
    if condition.batch_id is not None and condition.batch_id != job.batch_id:
        return False, "not in the batch"
    if condition.language is not None and condition.language not in job.languages:
        return False, f"no speech in {condition.language}"
    if not condition.about_segments:
        return True, " ".join(filter(None, (f"in batch {condition.batch_id}" if condition.batch_id else "",
                                            f"speech in {condition.language}" if condition.language else "")))
    matching = [s for s, category in zip(job.segments, categories, strict=True)
                if (condition.module is None or s.module == condition.module)
                and (condition.label is None or s.label == condition.label)
                and s.max_score >= condition.min_score
                and (condition.category is None or condition.category in category)]
    duration = sum(s.end_s - s.start_s for s in matching)
    held = len(matching) >= (1 if condition.min_count is None else condition.min_count) \
        and duration >= condition.min_duration_s
    what = " ".join(str(v) for v in (condition.category, condition.module, condition.label) if v) or "any signal"
    top = max((s.max_score for s in matching), default=0.0)
    return held, f"{len(matching)} segment(s) of {what} ({duration:.1f} s, top score {top:.2f})"


def fires(rule: Rule, job: JobSignals, categories: list[frozenset[str]]) -> str | None:
    """Why the rule fires on the job (its conditions' evidence), or None; ``categories``: ``rated(policy,
    job.segments)``, worked out once per job."""
    results = [_holds(c, job, categories) for c in rule.conditions]
    held = [why for ok, why in results if ok]
    if (all if rule.match == "all" else any)(ok for ok, _ in results):
        return "; ".join(filter(None, held)) or "always"
    return None


def sampled(job_id: UUID, share: float) -> bool:
    """Whether an auto-approved job goes to review anyway: the same job always answers the same."""
    return int(hashlib.sha256(job_id.bytes).hexdigest()[:8], 16) / 0xFFFFFFFF < share


def _known(job: JobSignals) -> bool:
    return any(s.module == Module.known_content for s in job.segments)


def _approval(action: AutoApprove, job: JobSignals) -> str | None:
    """Why the auto-approval does not approve this job by itself, or None."""
    if _known(job):
        return "not approved: it matches known content"
    if job.risk >= action.max_risk:
        return f"not approved: risk {job.risk:.2f} is not below {action.max_risk}"
    if sampled(job.job_id, action.sample_share):
        return "not approved: sampled for review"
    return None


def _by_itself(action: object, job: JobSignals) -> str:
    """What an action comes to on the job, with no other rule beside it."""
    match action:
        case Route(queue=queue, priority=priority):
            return f"routed to queue {queue} (priority {priority})"
        case Escalate():
            return "escalated"
        case RequireTwoReviewers():
            return "two reviewers required"
        case AutoReject():
            return "rejected" if _known(job) else "not rejected: no known-content match"
        case AutoApprove():
            return _approval(action, job) or "approved"
    raise TypeError(action)


def _would(rule: Rule, job: JobSignals) -> str:
    return ", ".join(_by_itself(action, job) for action in rule.actions)


def evaluate(policy: PolicyDocument, job: JobSignals, states: tuple[RuleState, ...] = (RuleState.live,
                                                                                      RuleState.background)
             ) -> list[Firing]:
    """The policy's rules of ``states`` that fire on the job, in the policy's order."""
    categories = rated(policy, job.segments)
    found = []
    for rule in policy.rules:
        if rule.state in states and (why := fires(rule, job, categories)) is not None:
            found.append(Firing(rule, why, _would(rule, job)))
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
    """What the live firings decide together: the most severe action wins (a rejection, an escalation, the
    highest-priority route, the first of equals), an approval only where no other live rule fired."""
    result = Outcome()
    live = [f for f in firings if f.rule.state == RuleState.live]
    routed_by, route = None, None
    for firing in live:
        for action in firing.rule.actions:
            match action:
                case Route(priority=priority) if route is None or priority > route.priority:
                    routed_by, route, result.priority = firing.rule.name, action, priority
                case Escalate():
                    result.queue = "escalation"
                case RequireTwoReviewers():
                    result.reviews_required = 2
                case AutoReject() if result.decision is None and _known(job):
                    result.decision, result.decided_by = "reject", firing.rule.name
    if result.queue != "escalation" and route is not None:
        result.queue = route.queue
    approvals = [f for f in live if isinstance(f.rule.actions[0], AutoApprove)]
    if result.decision is None and approvals and len(approvals) == len(live):
        # the first approval rule whose bound and sample let the job through
        approving = next((f for f in approvals if _approval(f.rule.actions[0], job) is None), None)
        if approving is not None:
            result.decision, result.decided_by = "approve", approving.rule.name
    for firing in live:
        result.applied[firing.rule.name] = ", ".join(_applied(action, firing, result, routed_by, job)
                                                     for action in firing.rule.actions)
    return result


def _applied(action: object, firing: Firing, result: Outcome, routed_by: str | None, job: JobSignals) -> str:
    """What an action of a live rule came to beside the others."""
    name = firing.rule.name
    match action:
        case AutoReject() if result.decided_by not in (None, name):
            return f"reject: rejected by rule {result.decided_by}"
        case AutoApprove() if result.decided_by not in (None, name):
            return f"approve: approved by rule {result.decided_by}"
        case AutoApprove() if result.decided_by is None:
            return _approval(action, job) or "not approved: another live rule fired"
        case Route() | Escalate() | RequireTwoReviewers() if result.decision == "reject":
            return f"{_by_itself(action, job)}: rejected by rule {result.decided_by} instead"
        case Route(queue=queue) if result.queue == "escalation":
            return f"route to {queue}: escalated instead"
        case Route(queue=queue) if routed_by != name:
            return f"route to {queue}: overridden by rule {routed_by} (priority {result.priority})"
    return _by_itself(action, job)
