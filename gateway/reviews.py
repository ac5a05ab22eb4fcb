"""The reviews resource: the team's review and escalation queues, riskiest first; claiming the next item
under a lease, renewing, releasing, skipping; a lead (admin) assigning an item to a reviewer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from vidsafe.catalogue import Module
from vidsafe.db import exposure, preferences, review
from vidsafe.db.review import QueueFilter
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.requests import AssignRequest, ClaimRequest
from vidsafe.domain.review import FlaggedSegment, ReviewItem
from vidsafe.domain.rules import NAME_PATTERN
from vidsafe.gateway.dependencies import AdminDep, Caller, ConnDep, ReviewerDep, SettingsDep
from vidsafe.gateway.openapi import review_links
from vidsafe.gateway.paging import PAGED_HEADERS, CursorParam, paged
from vidsafe.gateway.refusals import Refusal
from vidsafe.gateway.services import decisions as decision_service
from vidsafe.gateway.services import owned

router = APIRouter(prefix="/v1/reviews", tags=["reviews"])


@router.get("", response_model=list[ReviewItem], responses={200: {"headers": PAGED_HEADERS}})
def list_items(request: Request, response: Response, conn: ConnDep, caller: ReviewerDep,
               queue: Annotated[str, Query(pattern=NAME_PATTERN, description="review, escalation, or a "
                                           "queue of the team's policy")] = "review",
               state: Annotated[str | None, Query(pattern="^(open|decided|all)$")] = "open",
               module: Module | None = None, label: Annotated[str | None, Query(max_length=300)] = None,
               batch_id: uuid.UUID | None = None, min_risk: Annotated[float | None, Query(ge=0, le=1)] = None,
               mine: Annotated[bool, Query(description="Only the items this key holds now, in any queue")] = False,
               limit: Annotated[int, Query(ge=1, le=500)] = 50, cursor: CursorParam = None) -> list[ReviewItem]:
    """The queue's items, highest priority then riskiest first (open ones by default), a page at a time."""
    where = QueueFilter(queue, None if state == "all" else state, module, label, batch_id, min_risk,
                        caller.key.id if mine else None)
    return paged(request, response, review.review_items(conn, caller.team_id, where, limit, cursor))


@router.get("/counts")
def counts(conn: ConnDep, caller: ReviewerDep) -> dict[str, int]:
    """Open items per queue (review, escalation and the policy's own queues that hold any), and how many are
    claimed now (claimed)."""
    return review.queue_counts(conn, caller.team_id)


@router.post("/claim", response_model=ReviewItem, operation_id="claim_next_review",
             responses={**review_links(200), 204: {"description": "Nothing left to claim"}})
def claim_next(body: ClaimRequest, conn: ConnDep, settings: SettingsDep, caller: ReviewerDep) -> ReviewItem | Response:
    """Claim the riskiest open item no one else holds, for ``review_lease_s`` (renew it while reviewing); the
    item this reviewer already holds comes back first. A reviewer past their team's exposure limit today gets the
    mildest instead. 204 when nothing is left."""
    where = QueueFilter(body.queue, "open", body.module, body.label, body.batch_id, body.min_risk)
    item = review.claim_next(conn, caller.team_id, caller.key.id, caller.key.name, where, settings.review_lease_s,
                             milder_first=exposure.past_limit(conn, caller.team_id, caller.key.id))
    return item if item is not None else Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{job_id}", response_model=ReviewItem, operation_id="get_review_item", responses=review_links(200))
def get_item(job_id: uuid.UUID, conn: ConnDep, caller: ReviewerDep) -> ReviewItem:
    return owned.review_item(conn, caller.team_id, job_id)


@router.get("/{job_id}/segments", response_model=list[FlaggedSegment], operation_id="get_flagged_segments")
def flagged_segments(job_id: uuid.UUID, conn: ConnDep, settings: SettingsDep,
                     caller: ReviewerDep) -> list[FlaggedSegment]:
    """The segments the job's policy flags, what drives its risk first, each with the approvals and rejections on
    it: the review page's list of what to decide."""
    return decision_service.flagged_segments(conn, settings, caller.team_id, owned.job(conn, caller.team_id, job_id))


@router.post("/{job_id}/renew", response_model=ReviewItem)
def renew(job_id: uuid.UUID, conn: ConnDep, settings: SettingsDep, caller: ReviewerDep) -> ReviewItem:
    """Keep this reviewer's claim for another ``review_lease_s``; 409 not_claimed if it ran out (or is not
    theirs)."""
    owned.review_item(conn, caller.team_id, job_id)
    if not review.renew_claim(conn, caller.team_id, job_id, caller.key.id, settings.review_lease_s):
        raise Refusal(409, ErrorCode.not_claimed, f"this key holds no claim on job {job_id}")
    return owned.review_item(conn, caller.team_id, job_id)


def _give_back(conn: ConnDep, caller: Caller, job_id: uuid.UUID, skip: bool) -> ReviewItem:
    owned.review_item(conn, caller.team_id, job_id)
    if not review.release_claim(conn, caller.team_id, job_id, caller.key.id, skip):
        raise Refusal(409, ErrorCode.not_claimed, f"this key holds no claim on job {job_id}")
    return owned.review_item(conn, caller.team_id, job_id)


@router.post("/{job_id}/release", response_model=ReviewItem)
def release(job_id: uuid.UUID, conn: ConnDep, caller: ReviewerDep) -> ReviewItem:
    """Give the item back to the queue."""
    return _give_back(conn, caller, job_id, skip=False)


@router.post("/{job_id}/skip", response_model=ReviewItem)
def skip(job_id: uuid.UUID, conn: ConnDep, caller: ReviewerDep) -> ReviewItem:
    """Give the item back and never be offered it again (until a lead reassigns it)."""
    return _give_back(conn, caller, job_id, skip=True)


@router.put("/{job_id}/assignee", response_model=ReviewItem)
def assign(job_id: uuid.UUID, body: AssignRequest, conn: ConnDep, caller: AdminDep) -> ReviewItem:
    """A lead (admin key) assigns the item to one of the team's reviewers, or back to anyone; a claim on it ends."""
    owned.review_item(conn, caller.team_id, job_id)
    key_id = None
    if body.reviewer is not None:
        key_id = preferences.team_key_id(conn, caller.team_id, body.reviewer)
        if key_id is None:
            raise Refusal(404, ErrorCode.reviewer_not_found, f"the team has no live key {body.reviewer!r}")
    review.assign(conn, caller.team_id, job_id, key_id)
    return owned.review_item(conn, caller.team_id, job_id)
