"""Hash lists: a list made, a file's hashes imported into it, a list removed, and either way the team's past jobs
re-matched in the background; each change recorded in the team's audit trail."""

from __future__ import annotations

import uuid

import psycopg
from celery import Celery

from vidsafe.db import audit, hash_lists
from vidsafe.domain.api import HashImport
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.fields import BackgroundState
from vidsafe.domain.hash_lists import HashList
from vidsafe.domain.requests import HashListRequest
from vidsafe.gateway.dependencies import Caller
from vidsafe.gateway.refusals import Refusal
from vidsafe.gateway.services import owned
from vidsafe.gateway.services.queueing import sending
from vidsafe.hash_lists import HashListError, ListFormat, parse_hash_list
from vidsafe.queue import send_rematch


def create(conn: psycopg.Connection, caller: Caller, body: HashListRequest) -> HashList:
    try:
        with conn.transaction():
            made = hash_lists.create_list(conn, uuid.uuid4(), caller.team_id, body)
            audit.record(conn, caller.team_id, caller.actor, "hash_list.created", made.name, id=str(made.id),
                         default_label=made.default_label)
    except psycopg.errors.UniqueViolation:
        raise Refusal(409, ErrorCode.hash_list_name_taken, f"the team has a hash list named {body.name!r}") from None
    return made


def import_hashes(conn: psycopg.Connection, queue: Celery, caller: Caller, list_id: uuid.UUID, content: bytes,
                  list_format: ListFormat) -> HashImport:
    """The file's PDQ and vPDQ hashes added to the list, and the team's past jobs re-matched against it (rows of
    other signal types are counted as skipped); a file that cannot be read is refused with the line that fails."""
    team_id = caller.team_id
    found = owned.hash_list(conn, team_id, list_id)
    try:
        parsed = parse_hash_list(content.decode("utf-8"), found.default_label, list_format)
    except UnicodeDecodeError:
        raise Refusal(422, ErrorCode.invalid_hash_list, "a hash list is UTF-8 text") from None
    except HashListError as error:
        raise Refusal(422, ErrorCode.invalid_hash_list, str(error)) from None
    with conn.transaction():
        added = hash_lists.add_entries(conn, list_id, parsed.entries)
        audit.record(conn, team_id, caller.actor, "hash_list.imported", found.name, id=str(list_id), added=added,
                     duplicates=len(parsed.entries) - added)
    if added:
        with sending(", so past jobs are not re-matched; import again to retry"):
            send_rematch(queue, team_id, list_id)
        hash_lists.set_rematch(conn, list_id, BackgroundState.queued)
    return HashImport(list=owned.hash_list(conn, team_id, list_id), added=added,
                      duplicates=len(parsed.entries) - added, skipped=dict(parsed.skipped))


def delete(conn: psycopg.Connection, queue: Celery, caller: Caller, list_id: uuid.UUID) -> None:
    """The list and its hashes removed; its matches leave the team's jobs in the background."""
    team_id = caller.team_id
    found = owned.hash_list(conn, team_id, list_id)
    with conn.transaction():
        hash_lists.delete_list(conn, team_id, list_id)
        audit.record(conn, team_id, caller.actor, "hash_list.deleted", found.name, id=str(list_id),
                     entries=found.entries)
    with sending(", so the removed list's matches stay on past jobs"):
        send_rematch(queue, team_id, list_id)
