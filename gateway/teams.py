"""The teams resource: moderation teams and their limits. Creating a team and changing its limits is for an
admin key of the operator team; a team's own admin sees its team."""

from __future__ import annotations

import uuid
from typing import Annotated

import psycopg
from fastapi import APIRouter, Path, status

from vidsafe.db import preferences, teams
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.requests import TeamRequest
from vidsafe.domain.teams import TEAM_NAME_PATTERN, Team, TeamLimits, TeamReviewSettings
from vidsafe.gateway.dependencies import AdminDep, Caller, ConnDep
from vidsafe.gateway.openapi import links
from vidsafe.gateway.refusals import Refusal

router = APIRouter(prefix="/v1/teams", tags=["teams"])

_TEAM = {"name": "$response.body#/name"}
TeamName = Annotated[str, Path(pattern=TEAM_NAME_PATTERN, description="The team's name")]


def _operator_only(caller: Caller) -> None:
    if not caller.operator:
        raise Refusal(403, ErrorCode.insufficient_scope, "only an admin key of the operator team manages teams")


def _team_or_404(conn: psycopg.Connection, caller: Caller, name: str) -> Team:
    """The team named ``name`` if the caller may see it: an operator admin sees every team, others their own."""
    team = teams.team_by_name(conn, name)
    if team is None or not (caller.operator or team.name == caller.key.team):
        raise Refusal(404, ErrorCode.team_not_found, f"no team {name!r}")
    return team


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Team, responses=links(
    201, GetTeam=("get_team", _TEAM), SetLimits=("set_team_limits", _TEAM)))
def create_team(body: TeamRequest, conn: ConnDep, caller: AdminDep) -> Team:
    """Create a team; issue its first key with ``POST /v1/keys`` and the header ``X-Vidsafe-Team: <name>``."""
    _operator_only(caller)
    try:
        return teams.create_team(conn, uuid.uuid4(), body.name, body)
    except psycopg.errors.UniqueViolation:
        raise Refusal(409, ErrorCode.team_name_taken, f"a team named {body.name!r} exists") from None


@router.get("", response_model=list[Team])
def list_teams(conn: ConnDep, caller: AdminDep) -> list[Team]:
    """Every team for an operator admin; a team's admin sees their own."""
    return teams.list_teams(conn, None if caller.operator else caller.team_id)


@router.get("/{name}", response_model=Team, operation_id="get_team")
def get_team(name: TeamName, conn: ConnDep, caller: AdminDep) -> Team:
    return _team_or_404(conn, caller, name)


@router.get("/{name}/review-settings", response_model=TeamReviewSettings, operation_id="get_review_settings")
def get_review_settings(name: TeamName, conn: ConnDep, caller: AdminDep) -> TeamReviewSettings:
    """The team's settings for its reviewers: the protection defaults and the daily exposure soft limit."""
    return preferences.review_settings(conn, _team_or_404(conn, caller, name).id)


@router.put("/{name}/review-settings", response_model=TeamReviewSettings, operation_id="set_review_settings")
def set_review_settings(name: TeamName, body: TeamReviewSettings, conn: ConnDep,
                        caller: AdminDep) -> TeamReviewSettings:
    """Set them (the team's lead: an admin key of the team): a reviewer has the defaults until they save their own
    preferences; past the soft limit of unblurred sensitive seconds in a day, the queue offers them milder videos
    first."""
    return preferences.set_review_settings(conn, _team_or_404(conn, caller, name).id, body)


@router.put("/{name}/limits", response_model=Team, operation_id="set_team_limits")
def set_limits(name: TeamName, body: TeamLimits, conn: ConnDep, caller: AdminDep) -> Team:
    """Replace the team's limits; a limit left out takes the deployment's setting."""
    team = _team_or_404(conn, caller, name)
    _operator_only(caller)
    return teams.set_team_limits(conn, team.id, body)
