"""Term banks: a bank made for a text category of the policy, a file of terms imported into it (all of it or none),
its terms read back, a bank removed; each change recorded in the team's audit trail. Jobs judged after a change
match the bank as it is then."""

from __future__ import annotations

import uuid

import psycopg

from vidsafe.db import audit, policies, term_banks
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.requests import TermBankRequest
from vidsafe.domain.term_banks import TermBank, TermImport
from vidsafe.gateway.dependencies import Caller
from vidsafe.gateway.refusals import Refusal
from vidsafe.gateway.services import owned
from vidsafe.settings import Settings
from vidsafe.text.banks import TermError, parse_terms, term_line

TERM_BANKS_PER_TEAM = 50


def create(conn: psycopg.Connection, caller: Caller, body: TermBankRequest, settings: Settings) -> TermBank:
    """A bank of a category of the team's live policy."""
    categories = [c.name for c in policies.team_policy(conn, caller.team_id, settings).document.categories]
    if body.category not in categories:
        raise Refusal(422, ErrorCode.unknown_text_category,
                      f"no category {body.category!r} in the team's policy; its categories: {', '.join(categories)}")
    try:
        with conn.transaction():
            if term_banks.count_banks(conn, caller.team_id) >= TERM_BANKS_PER_TEAM:
                raise Refusal(409, ErrorCode.too_many_term_banks,
                              f"a team has at most {TERM_BANKS_PER_TEAM} term banks: delete one, or add terms to one")
            made = term_banks.create_bank(conn, uuid.uuid4(), caller.team_id, body.name, body.category,
                                          body.description)
            audit.record(conn, caller.team_id, caller.actor, "term_bank.created", made.name, id=str(made.id),
                         category=made.category)
    except psycopg.errors.UniqueViolation:
        raise Refusal(409, ErrorCode.term_bank_name_taken, f"the team has a term bank named {body.name!r}") from None
    return made


def import_terms(conn: psycopg.Connection, caller: Caller, bank_id: uuid.UUID, content: bytes,
                 replace: bool) -> TermImport:
    """The file's terms added to the bank (or in place of its terms, with ``replace``); a file with any line that
    cannot be saved is refused with that line, and nothing of it is saved."""
    found = owned.term_bank(conn, caller.team_id, bank_id)
    try:
        parsed = parse_terms(content.decode("utf-8"), already=0 if replace else found.terms)
    except UnicodeDecodeError:
        raise Refusal(422, ErrorCode.invalid_terms, "a term bank file is UTF-8 text") from None
    except TermError as error:
        raise Refusal(422, ErrorCode.invalid_terms, str(error)) from None
    with conn.transaction():
        added = term_banks.add_terms(conn, bank_id, parsed, replace)
        audit.record(conn, caller.team_id, caller.actor, "term_bank.imported", found.name, id=str(bank_id),
                     added=added, replaced=replace)
    return TermImport(bank=owned.term_bank(conn, caller.team_id, bank_id), added=added,
                      duplicates=len(parsed) - added)


def terms_file(conn: psycopg.Connection, caller: Caller, bank_id: uuid.UUID) -> str:
    """The bank's terms as a file that imports back to them."""
    owned.term_bank(conn, caller.team_id, bank_id)
    return "".join(f"{term_line(term)}\n" for term in term_banks.terms(conn, bank_id))


def delete(conn: psycopg.Connection, caller: Caller, bank_id: uuid.UUID) -> None:
    found = owned.term_bank(conn, caller.team_id, bank_id)
    with conn.transaction():
        term_banks.delete_bank(conn, caller.team_id, bank_id)
        audit.record(conn, caller.team_id, caller.actor, "term_bank.deleted", found.name, id=str(bank_id),
                     terms=found.terms)
