"""The summaries resource: a job's findings summed up for its reviewer (what, where, the risk, a suggested
action), by the offline template or the configured LLM provider, made when the job succeeds and again on
request."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from kombu.exceptions import OperationalError

from vidsafe.db import summaries
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.jobs import JobStatus
from vidsafe.domain.summaries import SummaryRecord
from vidsafe.gateway.dependencies import ConnDep, QueueDep, ReaderDep, ReviewerDep, SettingsDep
from vidsafe.gateway.jobs import job_or_404
from vidsafe.gateway.refusals import Refusal
from vidsafe.queue import send_summary

router = APIRouter(tags=["summaries"])

@router.get("/v1/jobs/{job_id}/summary", response_model=SummaryRecord, operation_id="get_summary")
def get_summary(job_id: uuid.UUID, conn: ConnDep, caller: ReaderDep) -> SummaryRecord:
    """The job's summary; 404 summary_not_found until the job has succeeded."""
    job_or_404(conn, job_id, caller)
    found = summaries.get(conn, job_id, caller.team_id)
    if found is None:
        raise Refusal(404, ErrorCode.summary_not_found, f"job {job_id} has no summary yet: one is made when it "
                      "succeeds")
    return found


@router.post("/v1/jobs/{job_id}/summary", response_model=SummaryRecord, status_code=status.HTTP_202_ACCEPTED)
def regenerate_summary(job_id: uuid.UUID, conn: ConnDep, queue: QueueDep, settings: SettingsDep,
                       caller: ReviewerDep) -> SummaryRecord:
    """Make the job's summary again, in the background (``state`` is queued until it is ready or failed; the
    last summary stays meanwhile)."""
    job = job_or_404(conn, job_id, caller)
    if job.status != JobStatus.succeeded:
        raise Refusal(409, ErrorCode.invalid_state, f"job {job_id} is {job.status}: only an analysed job is "
                      "summed up")
    summaries.request(conn, job_id, settings.summary_provider, settings.effective_summary_model)
    try:
        send_summary(queue, job_id)
    except OperationalError as error:
        raise Refusal(503, ErrorCode.queue_unavailable, f"the job queue (Redis) is unreachable: {error}") from None
    found = summaries.get(conn, job_id, caller.team_id)
    assert found is not None
    return found
