"""What every route needs: settings, a database connection, the queue producer, and the caller's API key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

import psycopg
from celery import Celery
from fastapi import Depends, Request
from psycopg_pool import ConnectionPool

from vidsafe.db import teams
from vidsafe.db.teams import KeyHolder
from vidsafe.domain.api import TEAM_HEADER
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.teams import ApiKey, Scope
from vidsafe.gateway.admission import KEY_HOLDER
from vidsafe.gateway.connections import borrowed_connection
from vidsafe.gateway.refusals import Refusal
from vidsafe.settings import Settings


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_pool(request: Request) -> ConnectionPool:
    return request.app.state.pool


def get_conn(request: Request) -> Iterator[psycopg.Connection]:
    """A connection for the whole request: for routes whose body is small and already read (admission)."""
    with borrowed_connection(get_pool(request)) as conn:
        yield conn


def get_queue(request: Request) -> Celery:
    return request.app.state.queue


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
ConnDep = Annotated[psycopg.Connection, Depends(get_conn)]
PoolDep = Annotated[ConnectionPool, Depends(get_pool)]
QueueDep = Annotated[Celery, Depends(get_queue)]


@dataclass(frozen=True)
class Caller:
    """Who calls: their key, and the team the request acts within (the key's own, or the one an operator admin
    names in the X-Vidsafe-Team header). Every resource a request reads or changes belongs to ``team_id``."""

    key: ApiKey
    team_id: UUID
    team: str
    operator: bool  # the key is of the operator team

    @property
    def actor(self) -> str:
        """The caller as the audit trail names them: the key's name, with its team when acting for another."""
        return self.key.name if self.team == self.key.team else f"{self.key.team}/{self.key.name}"


def _acting_team(pool: ConnectionPool, holder: KeyHolder, named: str | None) -> tuple[UUID, str]:
    if named is None or named == holder.key.team:
        return holder.team_id, holder.key.team
    if not (holder.operator and Scope.admin in holder.key.scopes):
        raise Refusal(403, ErrorCode.insufficient_scope, f"only an admin key of the operator team may act for "
                      f"another team ({TEAM_HEADER})")
    with borrowed_connection(pool) as conn:
        team = teams.team_by_name(conn, named)
    if team is None:
        raise Refusal(404, ErrorCode.team_not_found, f"no team {named!r}")
    return team.id, team.name


def require(*scopes: Scope) -> object:
    """A dependency admitting callers whose API key has one of ``scopes`` (admin has them all)."""

    # No connection is held for the request here: an upload's body streams after this, for as long as it takes.
    def caller(request: Request, pool: PoolDep) -> Caller:
        holder: KeyHolder = getattr(request.state, KEY_HOLDER)  # checked before the body was read (admission)
        if not holder.key.allows(scopes):
            raise Refusal(403, ErrorCode.insufficient_scope, f"this key lacks the scope: {' or '.join(scopes)}")
        team_id, team = _acting_team(pool, holder, request.headers.get(TEAM_HEADER))
        return Caller(holder.key, team_id, team, holder.operator)

    return Depends(caller)


SubmitterDep = Annotated[Caller, require(Scope.submit)]
ReaderDep = Annotated[Caller, require(Scope.submit, Scope.review)]
ReviewerDep = Annotated[Caller, require(Scope.review)]
ListsDep = Annotated[Caller, require(Scope.lists)]
ListReaderDep = Annotated[Caller, require(Scope.review, Scope.lists)]
AdminDep = Annotated[Caller, require(Scope.admin)]
