"""The decisions resource: a reviewer approves, rejects or escalates a video or one of its segments, under a
policy label, with a note. Decisions are append-only and appear in the job's audit trail; the team's are
exported as JSON or CSV, a page at a time."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from vidsafe.db import decisions
from vidsafe.domain.requests import DecisionRequest
from vidsafe.domain.review import Decision, DecisionRow
from vidsafe.gateway.dependencies import ConnDep, ReviewerDep, SettingsDep
from vidsafe.gateway.openapi import review_links
from vidsafe.gateway.paging import PAGED_HEADERS, CursorParam, paged
from vidsafe.gateway.services import decisions as decision_service
from vidsafe.gateway.services import owned

router = APIRouter(tags=["decisions"])

CSV_COLUMNS = list(DecisionRow.model_fields)
# A cell a spreadsheet would read as a formula (=HYPERLINK(...), @SUM(...), +, -, or after a tab or a carriage
# return) is written as text, with a leading apostrophe, as OWASP's advice on CSV injection has it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: object) -> object:
    """``value`` as a CSV cell a spreadsheet shows and never runs."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


@router.post("/v1/jobs/{job_id}/decisions", status_code=status.HTTP_201_CREATED, response_model=Decision,
             operation_id="add_decision", responses=review_links(201))
def add_decision(job_id: uuid.UUID, body: DecisionRequest, conn: ConnDep, settings: SettingsDep,
                 caller: ReviewerDep) -> Decision:
    """Record a decision on the video (or, with ``start_s``/``end_s``, on a segment). An approval or rejection of
    the whole video decides the job's review item; on a segment, the item stays open until the reviewer has decided
    every segment its policy flags (``GET /v1/reviews/{job_id}/segments``). A rejection needs a policy label and a
    note (422 reason_required). An escalation moves the item to the escalation queue, for another reviewer (409
    escalated_by_you). 409 claim_held while another reviewer holds the item."""
    return decision_service.record(conn, settings, caller, job_id, body)


@router.get("/v1/jobs/{job_id}/decisions", response_model=list[DecisionRow], operation_id="list_job_decisions",
            responses={200: {"headers": PAGED_HEADERS}})
def list_job_decisions(request: Request, response: Response, job_id: uuid.UUID, conn: ConnDep, caller: ReviewerDep,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                       cursor: CursorParam = None) -> list[DecisionRow]:
    """The job's decisions, newest first."""
    owned.job(conn, caller.team_id, job_id)
    return paged(request, response, decisions.decisions(conn, caller.team_id, job_id, limit, cursor))


@router.get("/v1/decisions", response_model=list[DecisionRow],
            responses={200: {"headers": PAGED_HEADERS, "content": {"text/csv": {}}}})
def export_decisions(request: Request, response: Response, conn: ConnDep, caller: ReviewerDep,
                     format: Literal["json", "csv"] = "json", limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
                     cursor: CursorParam = None) -> list[DecisionRow] | Response:
    """The team's decisions, newest first, each with its video's name, risk and item state, as JSON or CSV (one
    header row per page)."""
    rows = paged(request, response, decisions.decisions(conn, caller.team_id, None, limit, cursor))
    if format == "json":
        return rows
    text = io.StringIO()
    writer = csv.DictWriter(text, CSV_COLUMNS)
    writer.writeheader()
    writer.writerows({name: spreadsheet_cell(value) for name, value in row.model_dump(mode="json").items()}
                     for row in rows)
    paging = {name: value for name, value in response.headers.items() if name in ("x-next-cursor", "link")}
    return Response(text.getvalue(), media_type="text/csv",
                    headers={**paging, "Content-Disposition": 'attachment; filename="decisions.csv"'})
