"""Decisions: a reviewer's decision checked against the job and its claim, and recorded with the claim held."""

from __future__ import annotations

import uuid

import psycopg

from vidsafe.db import decisions, review
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.jobs import JobStatus
from vidsafe.domain.requests import DecisionRequest
from vidsafe.domain.review import Decision, DecisionAction
from vidsafe.gateway.dependencies import Caller
from vidsafe.gateway.refusals import Refusal
from vidsafe.gateway.services import owned


def record(conn: psycopg.Connection, caller: Caller, job_id: uuid.UUID, body: DecisionRequest) -> Decision:
    """The decision, recorded on an analysed job of the team; 409 claim_held while another reviewer holds its item.
    The claim is checked and the decision recorded in one transaction, the item locked: no claim comes between."""
    job = owned.job(conn, caller.team_id, job_id)
    if job.status != JobStatus.succeeded:
        raise Refusal(409, ErrorCode.invalid_state, f"job {job_id} is {job.status}: only an analysed job is decided")
    if (body.start_s is None) != (body.end_s is None) or (body.start_s is not None and body.end_s < body.start_s):
        raise Refusal(422, ErrorCode.invalid_request, "a segment needs start_s and end_s, with end_s >= start_s")
    with conn.transaction():
        holder = review.lock_claim_holder(conn, caller.team_id, job_id)
        if holder is not None and holder != caller.key.id:
            raise Refusal(409, ErrorCode.claim_held, f"another reviewer holds job {job_id}")
        required, reviewers = decisions.review_progress(conn, job_id)
        if body.action != DecisionAction.escalate and caller.key.id in reviewers and len(reviewers) < required:
            raise Refusal(409, ErrorCode.second_reviewer_needed, f"a rule requires {required} reviewers on job "
                          f"{job_id}: another reviewer decides it now")
        return decisions.add_decision(conn, caller.team_id, job_id, body, caller.actor, caller.key.id)
