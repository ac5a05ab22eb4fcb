"""What every route needs: settings, a database connection, the queue producer, and the caller's API key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import psycopg
from celery import Celery
from fastapi import Depends, Request

from vidsafe.apikeys import API_KEY_HEADER, check_key
from vidsafe.domain import ApiKey, ErrorCode, Scope
from vidsafe.gateway.refusals import Refusal
from vidsafe.settings import Settings


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_conn(request: Request) -> Iterator[psycopg.Connection]:
    try:
        with request.app.state.pool.connection(timeout=5) as conn:
            yield conn
    except psycopg.OperationalError as error:
        raise Refusal(503, ErrorCode.database_unavailable, str(error)) from None


def get_queue(request: Request) -> Celery:
    return request.app.state.queue


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
ConnDep = Annotated[psycopg.Connection, Depends(get_conn)]
QueueDep = Annotated[Celery, Depends(get_queue)]


def _presented_key(request: Request) -> str | None:
    if key := request.headers.get(API_KEY_HEADER):
        return key
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def require(*scopes: Scope) -> object:
    """A dependency admitting callers whose API key has one of ``scopes`` (admin has them all)."""

    def caller(request: Request, conn: ConnDep) -> ApiKey:
        key = _presented_key(request)
        if key is None:
            raise Refusal(401, ErrorCode.missing_api_key, f"send an API key in the {API_KEY_HEADER} header (an admin "
                          "creates one with `vidsafe keys create`)", headers={"WWW-Authenticate": "Bearer"})
        api_key = check_key(conn, key)
        if api_key is None:
            raise Refusal(401, ErrorCode.invalid_api_key, "the API key is unknown or revoked",
                          headers={"WWW-Authenticate": "Bearer"})
        if not api_key.allows(scopes):
            raise Refusal(403, ErrorCode.insufficient_scope, f"this key lacks the scope: {' or '.join(scopes)}")
        return api_key

    return Depends(caller)


SubmitterDep = Annotated[ApiKey, require(Scope.submit)]
ReaderDep = Annotated[ApiKey, require(Scope.submit, Scope.review)]
ReviewerDep = Annotated[ApiKey, require(Scope.review)]
AdminDep = Annotated[ApiKey, require(Scope.admin)]
