"""The team's audit trail (scope ``admin``): who created, filled or removed its hash lists, issued or revoked its
keys, rotated its webhook secret; newest first, a page at a time. A job's own trail is ``/v1/jobs/{id}/events``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from vidsafe.db import audit
from vidsafe.domain.teams import AuditEntry
from vidsafe.gateway.dependencies import AdminDep, ConnDep
from vidsafe.gateway.paging import PAGED_HEADERS, CursorParam, paged

router = APIRouter(prefix="/v1/audit", tags=["teams"])


@router.get("", response_model=list[AuditEntry], responses={200: {"headers": PAGED_HEADERS}})
def list_audit(request: Request, response: Response, conn: ConnDep, caller: AdminDep,
               limit: Annotated[int, Query(ge=1, le=500)] = 50, cursor: CursorParam = None) -> list[AuditEntry]:
    return paged(request, response, audit.entries(conn, caller.team_id, limit, cursor))
