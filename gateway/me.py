"""The caller's own resource: who they are (key, team), their preferences (protection in the review UI) and their
exposure: the unblurred seconds of sensitive stretches they played today."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter

from vidsafe.db import exposure, preferences
from vidsafe.domain.api import Exposure, Me
from vidsafe.domain.requests import ExposureReport
from vidsafe.domain.teams import Preferences
from vidsafe.gateway.dependencies import Caller, ConnDep, ReaderDep, ReviewerDep

router = APIRouter(prefix="/v1/me", tags=["me"])


@router.get("", response_model=Me)
def me(conn: ConnDep, caller: ReaderDep) -> Me:
    """The caller's key, the team it acts within, its preferences and exposure: what the UI checks at sign-in."""
    return Me(key=caller.key, team=caller.team, preferences=preferences.preferences(conn, caller.key.id),
              exposure=_exposure(conn, caller, exposure.today(conn, caller.key.id)))


def _exposure(conn: psycopg.Connection, caller: Caller, today_s: float) -> Exposure:
    return Exposure(today_s=today_s,
                    soft_limit_s=preferences.review_settings(conn, caller.team_id).exposure_soft_limit_s)


@router.post("/exposure", response_model=Exposure)
def report_exposure(body: ExposureReport, conn: ConnDep, caller: ReviewerDep) -> Exposure:
    """Add the unblurred seconds of sensitive stretches the reviewer played (the review player reports them): their
    total today, shown to them and to their lead, and past the team's soft limit the queue offers milder videos
    first."""
    return _exposure(conn, caller, exposure.add(conn, caller.team_id, caller.key.id, body.seconds))


@router.put("/preferences", response_model=Preferences)
def set_preferences(body: Preferences, conn: ConnDep, caller: ReaderDep) -> Preferences:
    return preferences.set_preferences(conn, caller.key.id, body)
