"""The hash lists resource: a team's lists of hashes of known violating content (PDQ, vPDQ), imported from
ThreatExchange, HMA or CSV files. Every job of the team is matched against them; an import, or a list's removal,
re-matches the team's past jobs in the background."""

from __future__ import annotations

import uuid
from typing import Annotated

import psycopg
from celery import Celery
from fastapi import APIRouter, Body, Path, Query, Response, status
from kombu.exceptions import OperationalError

from vidsafe.db import hash_lists
from vidsafe.domain.api import HashImport
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.hash_lists import HashList, RematchState
from vidsafe.domain.requests import HashListRequest
from vidsafe.gateway.dependencies import Caller, ConnDep, QueueDep, ReaderDep, ReviewerDep
from vidsafe.gateway.openapi import links
from vidsafe.gateway.refusals import Refusal
from vidsafe.hash_lists import HashListError, ListFormat, parse_hash_list
from vidsafe.queue import send_rematch

router = APIRouter(prefix="/v1/hash-lists", tags=["hash lists"])

ListId = Annotated[uuid.UUID, Path(description="The list's id")]
_LIST = {"list_id": "$response.body#/id"}


def _list_or_404(conn: psycopg.Connection, caller: Caller, list_id: uuid.UUID) -> HashList:
    found = hash_lists.get_list(conn, caller.team_id, list_id)
    if found is None:
        raise Refusal(404, ErrorCode.hash_list_not_found, f"no hash list {list_id}")
    return found


def _rematch(conn: psycopg.Connection, queue: Celery, caller: Caller, list_id: uuid.UUID) -> None:
    try:
        send_rematch(queue, caller.team_id, list_id)
    except OperationalError as error:
        raise Refusal(503, ErrorCode.queue_unavailable, f"the job queue (Redis) is unreachable, so past jobs are not "
                      f"re-matched; import again to retry: {error}") from None
    hash_lists.set_rematch(conn, list_id, RematchState.queued)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=HashList,
             responses=links(201, GetHashList=("get_hash_list", _LIST), ImportHashes=("import_hashes", _LIST)))
def create_list(body: HashListRequest, conn: ConnDep, caller: ReviewerDep) -> HashList:
    """Create an empty list; add hashes with ``POST /v1/hash-lists/{id}/imports``."""
    try:
        return hash_lists.create_list(conn, uuid.uuid4(), caller.team_id, body)
    except psycopg.errors.UniqueViolation:
        raise Refusal(409, ErrorCode.hash_list_name_taken, f"the team has a hash list named {body.name!r}") from None


@router.get("", response_model=list[HashList])
def list_lists(conn: ConnDep, caller: ReaderDep) -> list[HashList]:
    """The team's lists, by name."""
    return hash_lists.list_lists(conn, caller.team_id)


@router.get("/{list_id}", response_model=HashList, operation_id="get_hash_list")
def get_list(list_id: ListId, conn: ConnDep, caller: ReaderDep) -> HashList:
    return _list_or_404(conn, caller, list_id)


@router.post("/{list_id}/imports", response_model=HashImport, status_code=status.HTTP_202_ACCEPTED,
             operation_id="import_hashes")
def import_hashes(
    list_id: ListId, conn: ConnDep, queue: QueueDep, caller: ReviewerDep,
    content: Annotated[bytes, Body(media_type="text/csv", description="The hash list file (UTF-8), at most "
                                   "VIDSAFE_MAX_JSON_BODY_BYTES: split a longer one into several imports")] = b"",
    list_format: Annotated[ListFormat, Query(alias="format", description="threatexchange-csv (`threatexchange "
                                             "dataset -P --csv`), csv (a hash column, label and signal_type "
                                             "optional), lines (ThreatExchange/HMA signal files: `<type> <signal>` "
                                             "per line), or auto")] = "auto",
) -> HashImport:
    """Add a file's PDQ and vPDQ hashes to the list, then re-match the team's past jobs against the list in the
    background (``rematch_state``). Rows of other signal types are counted in ``skipped``."""
    found = _list_or_404(conn, caller, list_id)
    try:
        parsed = parse_hash_list(content.decode("utf-8"), found.default_label, list_format)
    except UnicodeDecodeError:
        raise Refusal(422, ErrorCode.invalid_hash_list, "a hash list is UTF-8 text") from None
    except HashListError as error:
        raise Refusal(422, ErrorCode.invalid_hash_list, str(error)) from None
    added = hash_lists.add_entries(conn, list_id, parsed.entries)
    if added:
        _rematch(conn, queue, caller, list_id)
    updated = _list_or_404(conn, caller, list_id)
    return HashImport(list=updated, added=added, duplicates=len(parsed.entries) - added, skipped=dict(parsed.skipped))


@router.delete("/{list_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_list(list_id: ListId, conn: ConnDep, queue: QueueDep, caller: ReviewerDep) -> Response:
    """Remove the list and its hashes; its matches leave the team's jobs in the background."""
    _list_or_404(conn, caller, list_id)
    hash_lists.delete_list(conn, caller.team_id, list_id)
    try:
        send_rematch(queue, caller.team_id, list_id)
    except OperationalError as error:
        raise Refusal(503, ErrorCode.queue_unavailable, f"the list is removed, but its matches stay on past jobs: "
                      f"the job queue (Redis) is unreachable: {error}") from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)
