"""The policy resource: the values this deployment judges by, as the review UI shows them (thresholds on the
timeline, severities in the "why", what is blurred), so that no client reads the server's settings itself."""

from __future__ import annotations

from fastapi import APIRouter

from vidsafe.domain.jobs import JobOptions
from vidsafe.domain.policy import ReviewPolicy
from vidsafe.gateway.dependencies import ReaderDep, SettingsDep
from vidsafe.policy import default_policy
from vidsafe.serving import job_min_scores

router = APIRouter(prefix="/v1/policy", tags=["policy"])


@router.get("", response_model=ReviewPolicy)
def get_policy(settings: SettingsDep, _: ReaderDep) -> ReviewPolicy:
    thresholds = job_min_scores(JobOptions(), settings)  # what the workers filter by, catalogue defaults included
    return ReviewPolicy(min_scores={str(module): score for module, score in thresholds.items()},
                        severities=settings.risk_severities, blur_min_severity=settings.blur_min_severity,
                        text_categories={name: c.description for name, c in default_policy().text.categories.items()})
