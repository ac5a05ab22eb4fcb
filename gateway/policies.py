"""The policies resource: a team's policy, versioned. Every save is a new version, live at once for new jobs; each
job records the version it was judged by. A dry run tells what a policy would change on the team's past jobs, and
changes nothing; a re-judging applies the live version to past jobs. Saving, dry runs and re-judging need the
admin scope (a team's leads); reading, submit or review."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from vidsafe.db import policies
from vidsafe.domain.policies import DryRun, Policy, PolicyDocument, PolicyVersion, RejudgingStatus
from vidsafe.gateway.dependencies import AdminDep, ConnDep, QueueDep, ReaderDep, SettingsDep
from vidsafe.gateway.services import policies as policy_service

router = APIRouter(prefix="/v1/policies", tags=["policies"])

Version = Annotated[int, Path(ge=0, le=2**31 - 1, description="A version of the team's policy; 0: the deployment's "
                              "default")]


@router.get("", response_model=list[PolicyVersion])
def list_versions(conn: ConnDep, caller: ReaderDep) -> list[PolicyVersion]:
    """The versions the team saved, newest (live) first; none: the team judges by the default (version 0)."""
    return policies.versions(conn, caller.team_id)


@router.get("/live", response_model=Policy)
def live_policy(conn: ConnDep, caller: ReaderDep, settings: SettingsDep) -> Policy:
    """The policy new jobs of the team are judged by."""
    return policies.team_policy(conn, caller.team_id, settings)


@router.get("/rejudging", response_model=RejudgingStatus)
def rejudging(conn: ConnDep, caller: ReaderDep) -> RejudgingStatus:
    """The newest re-judging of the team's past jobs: its state and progress (jobs done of jobs_total)."""
    return policy_service.rejudging(conn, caller.team_id)


@router.post("/rejudging", response_model=RejudgingStatus, status_code=status.HTTP_202_ACCEPTED)
def rejudge(conn: ConnDep, queue: QueueDep, caller: AdminDep, settings: SettingsDep) -> RejudgingStatus:
    """Judge the team's past jobs again by the live policy, in the background: their texts judged again, their risk,
    rules (firings recorded, queues and automatic decisions applied where no reviewer has decided yet) and
    summaries. Follow it with ``GET /v1/policies/rejudging``."""
    return policy_service.rejudge(conn, queue, caller, settings)


@router.get("/{version}", response_model=Policy)
def get_version(version: Version, conn: ConnDep, caller: ReaderDep, settings: SettingsDep) -> Policy:
    return policy_service.version(conn, caller.team_id, version, settings)


@router.post("", response_model=Policy, status_code=status.HTTP_201_CREATED)
def save_policy(document: PolicyDocument, conn: ConnDep, caller: AdminDep) -> Policy:
    """Save a new version, live at once: jobs judged from now on are judged by it (past jobs keep the version they
    were judged by). Start from ``GET /v1/policies/live``'s document."""
    return policy_service.save(conn, caller, document)


@router.post("/dry-run", response_model=DryRun)
def dry_run(document: PolicyDocument, conn: ConnDep, caller: AdminDep, settings: SettingsDep) -> DryRun:
    """What this policy would change on the team's newest 5,000 past jobs (newly flagged, no longer flagged, moves
    in the queue, examples), from their segments as they are; nothing is changed."""
    return policy_service.dry_run(conn, caller.team_id, document, settings)


@router.post("/{version}/dry-run", response_model=DryRun)
def dry_run_version(version: Version, conn: ConnDep, caller: AdminDep, settings: SettingsDep) -> DryRun:
    """A saved version's dry run, against the live one."""
    return policy_service.dry_run(conn, caller.team_id, policy_service.version(conn, caller.team_id, version,
                                                                               settings).document, settings)
