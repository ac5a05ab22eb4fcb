"""Decisions: a reviewer's decision checked against the job and its claim, and recorded with the claim held; the
segments the job's policy flags, each with the decisions on it (a review is done when every one is decided)."""

from __future__ import annotations

import uuid

import psycopg

from vidsafe.db import decisions, findings, policies, review
from vidsafe.db.decisions import Verdict
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.findings import Segment
from vidsafe.domain.jobs import Job, JobStatus
from vidsafe.domain.requests import DecisionRequest
from vidsafe.domain.review import Decision, DecisionAction, FlaggedSegment, SegmentDecision
from vidsafe.gateway.dependencies import Caller
from vidsafe.gateway.refusals import Refusal
from vidsafe.gateway.services import owned
from vidsafe.policy import segment_severity
from vidsafe.settings import Settings

_SLACK_S = 1e-6  # times come back from JSON: a segment's own bounds hold it


def _covers(start_s: float | None, end_s: float | None, segment: Segment | FlaggedSegment) -> bool:
    """Whether a decision's stretch (None: the whole video) holds the whole segment: a decision on one segment is
    not one on another that merely overlaps it (another category, over part of the same time)."""
    return start_s is None or (start_s <= segment.start_s + _SLACK_S and (end_s or start_s) >= segment.end_s - _SLACK_S)


def flagged_segments(conn: psycopg.Connection, settings: Settings, team_id: uuid.UUID, job: Job,
                     verdicts: list[Verdict] | None = None) -> list[FlaggedSegment]:
    """The job's segments its policy flags (by the version it was judged by), what drives the risk first, each
    with the approvals and rejections that hold it (its own, or the whole video's)."""
    policy = (policies.policy_at(conn, team_id, job.policy_version, settings) if job.policy_version is not None
              else None) or policies.team_policy(conn, team_id, settings)
    verdicts = decisions.verdicts(conn, job.id) if verdicts is None else verdicts
    flagged = []
    for segment in findings.get_segments(conn, job.id):
        severity, category = segment_severity(policy.document, segment.module, segment.label, segment.max_score)
        if severity <= 0 or category is None:
            continue
        flagged.append(FlaggedSegment(
            module=segment.module, label=segment.label, start_s=segment.start_s, end_s=segment.end_s,
            max_score=segment.max_score, category=category, severity=severity,
            contribution=severity * segment.max_score,
            decisions=[SegmentDecision(action=v.action, actor=v.actor, at=v.at) for v in verdicts
                       if _covers(v.start_s, v.end_s, segment)]))
    return sorted(flagged, key=lambda s: (-s.contribution, s.start_s))


def _completes(conn: psycopg.Connection, settings: Settings, caller: Caller, job: Job, body: DecisionRequest) -> bool:
    """Whether the decision finishes this reviewer's review: it is on the whole video, or with it they have decided
    every flagged segment."""
    if body.start_s is None:
        return True
    own = [v for v in decisions.verdicts(conn, job.id) if v.key_id == caller.key.id]
    # Built from this reviewer's verdicts alone, a segment's decisions are the ones they made on it.
    return all(segment.decisions or _covers(body.start_s, body.end_s, segment)
               for segment in flagged_segments(conn, settings, caller.team_id, job, own))


def record(conn: psycopg.Connection, settings: Settings, caller: Caller, job_id: uuid.UUID,
           body: DecisionRequest) -> Decision:
    """The decision, recorded on an analysed job of the team; 409 claim_held while another reviewer holds its item,
    escalated_by_you on an escalation by the same reviewer; 422 reason_required for a rejection without a policy
    label or a reason. The claim is checked and the decision recorded in one transaction, the item locked: no claim
    comes between."""
    job = owned.job(conn, caller.team_id, job_id)
    if job.status != JobStatus.succeeded:
        raise Refusal(409, ErrorCode.invalid_state, f"job {job_id} is {job.status}: only an analysed job is decided")
    if (body.start_s is None) != (body.end_s is None) or (body.start_s is not None and body.end_s < body.start_s):
        raise Refusal(422, ErrorCode.invalid_request, "a segment needs start_s and end_s, with end_s >= start_s")
    if body.action == DecisionAction.reject and (body.policy_label == "none" or not body.note.strip()):
        raise Refusal(422, ErrorCode.reason_required, "a rejection names the policy it breaks (a policy_label other "
                      "than none) and says why in its note")
    with conn.transaction():
        holder = review.lock_claim_holder(conn, caller.team_id, job_id)
        if holder is not None and holder != caller.key.id:
            raise Refusal(409, ErrorCode.claim_held, f"another reviewer holds job {job_id}")
        progress = decisions.review_progress(conn, job_id)
        if progress.escalated_by == caller.key.id:
            raise Refusal(409, ErrorCode.escalated_by_you, f"you escalated job {job_id}: another reviewer decides it")
        if (body.action != DecisionAction.escalate and caller.key.id in progress.reviewed
                and len(progress.reviewed) < progress.required):
            raise Refusal(409, ErrorCode.second_reviewer_needed, f"a rule requires {progress.required} reviewers on "
                          f"job {job_id}: another reviewer decides it now")
        completes = body.action != DecisionAction.escalate and _completes(conn, settings, caller, job, body)
        return decisions.add_decision(conn, caller.team_id, job_id, body, caller.actor, caller.key.id,
                                      progress if completes else None)
