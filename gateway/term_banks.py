"""The term banks resource: a team's words, phrases and regular expressions, each bank evidencing one text category
of the policy. Every job's OCR lines and speech are matched against the team's banks, through the spellings that
evade exact matching (leetspeak, spaced letters, repeated letters, look-alike letters, accents). Changing them
needs the ``lists`` scope; each change is in the team's audit trail (``GET /v1/audit``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response, status
from fastapi.responses import PlainTextResponse

from vidsafe.db import term_banks
from vidsafe.domain.requests import TermBankRequest
from vidsafe.domain.term_banks import TermBank, TermImport
from vidsafe.gateway.dependencies import ConnDep, ListReaderDep, ListsDep, SettingsDep
from vidsafe.gateway.openapi import links
from vidsafe.gateway.services import owned
from vidsafe.gateway.services import term_banks as term_bank_service

router = APIRouter(prefix="/v1/term-banks", tags=["term banks"])

BankId = Annotated[uuid.UUID, Path(description="The bank's id")]
_BANK = {"bank_id": "$response.body#/id"}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TermBank,
             responses=links(201, GetTermBank=("get_term_bank", _BANK), ImportTerms=("import_terms", _BANK)))
def create_bank(body: TermBankRequest, conn: ConnDep, caller: ListsDep, settings: SettingsDep) -> TermBank:
    """Create an empty bank of a category of the team's policy; add terms with ``POST
    /v1/term-banks/{id}/imports``."""
    return term_bank_service.create(conn, caller, body, settings)


@router.get("", response_model=list[TermBank])
def list_banks(conn: ConnDep, caller: ListReaderDep) -> list[TermBank]:
    """The team's banks, by name."""
    return term_banks.list_banks(conn, caller.team_id)


@router.get("/{bank_id}", response_model=TermBank, operation_id="get_term_bank")
def get_bank(bank_id: BankId, conn: ConnDep, caller: ListReaderDep) -> TermBank:
    return owned.term_bank(conn, caller.team_id, bank_id)


@router.get("/{bank_id}/terms", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "The terms"}})
def get_terms(bank_id: BankId, conn: ConnDep, caller: ListReaderDep) -> PlainTextResponse:
    """The bank's terms as a file (UTF-8, one per line, ``re:`` before a regular expression) that imports back."""
    return PlainTextResponse(term_bank_service.terms_file(conn, caller, bank_id))


@router.post("/{bank_id}/imports", response_model=TermImport, operation_id="import_terms")
def import_terms(
    bank_id: BankId, conn: ConnDep, caller: ListsDep,
    content: Annotated[bytes, Body(media_type="text/plain", description="UTF-8, one term per line: a word or "
                                   "phrase (matched as whole words, through evasions), or `re:` and a regular "
                                   "expression (RE2 syntax, case-insensitive); `#` comments and blank lines are "
                                   "skipped. At most VIDSAFE_MAX_JSON_BODY_BYTES: split a longer file into several "
                                   "imports")] = b"",
    replace: Annotated[bool, Query(description="Replace the bank's terms instead of adding to them")] = False,
) -> TermImport:
    """Add a file's terms to the bank, all of them or, where any line cannot be saved (an empty or overlong term,
    a regular expression RE2 refuses, too many terms), none: 422 invalid_terms names the line."""
    return term_bank_service.import_terms(conn, caller, bank_id, content, replace)


@router.delete("/{bank_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_bank(bank_id: BankId, conn: ConnDep, caller: ListsDep) -> Response:
    """Remove the bank and its terms; jobs judged from then on do not match them."""
    term_bank_service.delete(conn, caller, bank_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
