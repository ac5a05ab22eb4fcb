"""The summaries resource: a job's findings summed up for its reviewer (what, where, the risk, a suggested
action), by the offline template or the configured LLM provider, made when the job succeeds and again on
request."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from vidsafe.domain.summaries import SummaryRecord
from vidsafe.gateway.dependencies import ConnDep, QueueDep, ReviewerDep, SettingsDep
from vidsafe.gateway.services import summaries as summary_service

router = APIRouter(tags=["summaries"])


@router.get("/v1/jobs/{job_id}/summary", response_model=SummaryRecord, operation_id="get_summary")
def get_summary(job_id: uuid.UUID, conn: ConnDep, caller: ReviewerDep) -> SummaryRecord:
    """The job's summary (it quotes findings: the review scope's); 404 summary_not_found until the job has
    succeeded."""
    return summary_service.get(conn, caller.team_id, job_id)


@router.post("/v1/jobs/{job_id}/summary", response_model=SummaryRecord, status_code=status.HTTP_202_ACCEPTED)
def regenerate_summary(job_id: uuid.UUID, conn: ConnDep, queue: QueueDep, settings: SettingsDep,
                       caller: ReviewerDep) -> SummaryRecord:
    """Make the job's summary again, in the background (``state`` is queued until it is ready or failed; the
    last summary stays meanwhile)."""
    return summary_service.regenerate(conn, queue, settings, caller, job_id)
