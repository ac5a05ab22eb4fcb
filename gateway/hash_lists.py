"""The hash lists resource: a team's lists of hashes of known violating content (PDQ, vPDQ), imported from
ThreatExchange, HMA or CSV files. Every job of the team is matched against them; an import, or a list's removal,
re-matches the team's past jobs in the background. Changing them needs the ``lists`` scope, and each change is in
the team's audit trail (``GET /v1/audit``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response, status

from vidsafe.db import hash_lists
from vidsafe.domain.api import HashImport
from vidsafe.domain.hash_lists import HashList
from vidsafe.domain.requests import HashListRequest
from vidsafe.gateway.dependencies import ConnDep, ListReaderDep, ListsDep, QueueDep
from vidsafe.gateway.openapi import links
from vidsafe.gateway.services import hash_lists as hash_list_service
from vidsafe.gateway.services import owned
from vidsafe.hash_lists import ListFormat

router = APIRouter(prefix="/v1/hash-lists", tags=["hash lists"])

ListId = Annotated[uuid.UUID, Path(description="The list's id")]
_LIST = {"list_id": "$response.body#/id"}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=HashList,
             responses=links(201, GetHashList=("get_hash_list", _LIST), ImportHashes=("import_hashes", _LIST)))
def create_list(body: HashListRequest, conn: ConnDep, caller: ListsDep) -> HashList:
    """Create an empty list; add hashes with ``POST /v1/hash-lists/{id}/imports``."""
    return hash_list_service.create(conn, caller, body)


@router.get("", response_model=list[HashList])
def list_lists(conn: ConnDep, caller: ListReaderDep) -> list[HashList]:
    """The team's lists, by name."""
    return hash_lists.list_lists(conn, caller.team_id)


@router.get("/{list_id}", response_model=HashList, operation_id="get_hash_list")
def get_list(list_id: ListId, conn: ConnDep, caller: ListReaderDep) -> HashList:
    return owned.hash_list(conn, caller.team_id, list_id)


@router.post("/{list_id}/imports", response_model=HashImport, status_code=status.HTTP_202_ACCEPTED,
             operation_id="import_hashes")
def import_hashes(
    list_id: ListId, conn: ConnDep, queue: QueueDep, caller: ListsDep,
    content: Annotated[bytes, Body(media_type="text/csv", description="The hash list file (UTF-8), at most "
                                   "VIDSAFE_MAX_JSON_BODY_BYTES: split a longer one into several imports")] = b"",
    list_format: Annotated[ListFormat, Query(alias="format", description="threatexchange-csv (`threatexchange "
                                             "dataset -P --csv`), csv (a hash column, label and signal_type "
                                             "optional), lines (ThreatExchange/HMA signal files: `<type> <signal>` "
                                             "per line), or auto")] = "auto",
) -> HashImport:
    """Add a file's PDQ and vPDQ hashes to the list, then re-match the team's past jobs against the list in the
    background (``rematch_state``). Rows of other signal types are counted in ``skipped``."""
    return hash_list_service.import_hashes(conn, queue, caller, list_id, content, list_format)


@router.delete("/{list_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_list(list_id: ListId, conn: ConnDep, queue: QueueDep, caller: ListsDep) -> Response:
    """Remove the list and its hashes; its matches leave the team's jobs in the background."""
    hash_list_service.delete(conn, queue, caller, list_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
