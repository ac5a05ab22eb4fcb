"""The keys resource (scope ``admin``): issue, list and revoke the API keys of the caller's team (an operator
admin names another team with X-Vidsafe-Team). ``vidsafe keys`` uses it."""

from __future__ import annotations

from typing import Annotated

import psycopg
from fastapi import APIRouter, Path, status

from vidsafe.apikeys import issue_key
from vidsafe.db import audit, teams
from vidsafe.domain.api import ApiKeyCreated
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.requests import KEY_NAME_PATTERN, KeyRequest
from vidsafe.domain.teams import ApiKey
from vidsafe.gateway.dependencies import AdminDep, ConnDep
from vidsafe.gateway.openapi import links
from vidsafe.gateway.refusals import Refusal

router = APIRouter(prefix="/v1/keys", tags=["keys"])


KeyName = Annotated[str, Path(pattern=KEY_NAME_PATTERN, description="The key's name")]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated,
             responses=links(201, RevokeKey=("revoke_key", {"name": "$response.body#/key/name"})))
def create_key(body: KeyRequest, conn: ConnDep, caller: AdminDep) -> ApiKeyCreated:
    """Issue a key of the team. The answer holds the key itself, this once: only its hash is stored."""
    try:
        with conn.transaction():
            record, secret = issue_key(conn, caller.team_id, body.name, body.scopes)
            audit.record(conn, caller.team_id, caller.actor, "key.created", body.name,
                         scopes=[str(scope) for scope in body.scopes])
    except psycopg.errors.UniqueViolation:
        raise Refusal(409, ErrorCode.key_name_taken, f"team {caller.team} has or had a key named {body.name!r}: "
                      "names stay taken after a revoke, so that audit trails name one key each; choose another") \
            from None
    return ApiKeyCreated(key=record, secret=secret)


@router.get("", response_model=list[ApiKey])
def list_keys(conn: ConnDep, caller: AdminDep) -> list[ApiKey]:
    """The team's keys, revoked ones included: names, prefixes, scopes and use, never the keys themselves."""
    return teams.list_api_keys(conn, caller.team_id)


@router.post("/{name}/revoke", response_model=ApiKey, operation_id="revoke_key")
def revoke_key(name: KeyName, conn: ConnDep, caller: AdminDep) -> ApiKey:
    """Revoke a key of the team: it stops working at once."""
    with conn.transaction():
        revoked = teams.revoke_api_key(conn, caller.team_id, name)
        if revoked is None:
            raise Refusal(404, ErrorCode.key_not_found, f"team {caller.team} has no live key named {name!r}")
        audit.record(conn, caller.team_id, caller.actor, "key.revoked", name)
    return revoked
