"""The policy resource: the values the team judges by (its live policy, the deployment's thresholds), as the review
UI shows them (thresholds on the timeline, severities in the "why", what is blurred), so that no client reads the
server's settings itself. The team's whole policy, and its versions: ``gateway/policies.py``."""

from __future__ import annotations

from fastapi import APIRouter

from vidsafe.db import policies
from vidsafe.domain.jobs import JobOptions
from vidsafe.domain.policy import ReviewPolicy
from vidsafe.gateway.dependencies import ConnDep, ReaderDep, SettingsDep
from vidsafe.policy import flat_severities
from vidsafe.serving import job_min_scores

router = APIRouter(prefix="/v1/policy", tags=["policy"])


@router.get("", response_model=ReviewPolicy)
def get_policy(settings: SettingsDep, conn: ConnDep, caller: ReaderDep) -> ReviewPolicy:
    """The values of the team's live policy as the review UI shows them (the whole policy: ``/v1/policies/live``)."""
    thresholds = job_min_scores(JobOptions(), settings)  # what the workers filter by, catalogue defaults included
    live = policies.team_policy(conn, caller.team_id, settings)
    return ReviewPolicy(min_scores={str(module): score for module, score in thresholds.items()},
                        severities=flat_severities(live.document), blur_min_severity=settings.blur_min_severity,
                        text_categories={c.name: c.description for c in live.document.categories
                                         if c.name in live.document.text_categories}, version=live.version)
