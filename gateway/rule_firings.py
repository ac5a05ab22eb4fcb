"""The rule firings resource: which rules of the team's policy fired on a job, by which version, what they did (or,
in the background state, would have done) and why."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from vidsafe.db import rules
from vidsafe.domain.rules import RuleFiring
from vidsafe.gateway.dependencies import ConnDep, ReaderDep
from vidsafe.gateway.services import owned

router = APIRouter(tags=["policies"])


@router.get("/v1/jobs/{job_id}/rule-firings", response_model=list[RuleFiring])
def job_firings(job_id: uuid.UUID, conn: ConnDep, caller: ReaderDep) -> list[RuleFiring]:
    """The firings on the job, newest policy version first; 404 job_not_found for a job of another team."""
    owned.job(conn, caller.team_id, job_id)
    return rules.firings(conn, caller.team_id, job_id)
