"""The caller's own resource: who they are (key, team) and their preferences (blurring in the review UI)."""

from __future__ import annotations

from fastapi import APIRouter

from vidsafe.db import preferences
from vidsafe.domain.api import Me
from vidsafe.domain.teams import Preferences
from vidsafe.gateway.dependencies import ConnDep, ReaderDep

router = APIRouter(prefix="/v1/me", tags=["me"])


@router.get("", response_model=Me)
def me(conn: ConnDep, caller: ReaderDep) -> Me:
    """The caller's key, the team it acts within, its preferences: what the UI checks at sign-in."""
    return Me(key=caller.key, team=caller.team, preferences=preferences.preferences(conn, caller.key.id))


@router.put("/preferences", response_model=Preferences)
def set_preferences(body: Preferences, conn: ConnDep, caller: ReaderDep) -> Preferences:
    return preferences.set_preferences(conn, caller.key.id, body)
