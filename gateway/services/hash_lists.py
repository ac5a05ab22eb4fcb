"""Hash lists: a file's hashes imported into a list, a list removed, and either way the team's past jobs re-matched
in the background."""

from __future__ import annotations

import uuid

import psycopg
from celery import Celery

from vidsafe.db import hash_lists
from vidsafe.domain.api import HashImport
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.hash_lists import RematchState
from vidsafe.gateway.refusals import Refusal
from vidsafe.gateway.services import owned
from vidsafe.gateway.services.queueing import sending
from vidsafe.hash_lists import HashListError, ListFormat, parse_hash_list
from vidsafe.queue import send_rematch


def import_hashes(conn: psycopg.Connection, queue: Celery, team_id: uuid.UUID, list_id: uuid.UUID, content: bytes,
                  list_format: ListFormat) -> HashImport:
    """The file's PDQ and vPDQ hashes added to the list, and the team's past jobs re-matched against it (rows of
    other signal types are counted as skipped); a file that cannot be read is refused with the line that fails."""
    found = owned.hash_list(conn, team_id, list_id)
    try:
        parsed = parse_hash_list(content.decode("utf-8"), found.default_label, list_format)
    except UnicodeDecodeError:
        raise Refusal(422, ErrorCode.invalid_hash_list, "a hash list is UTF-8 text") from None
    except HashListError as error:
        raise Refusal(422, ErrorCode.invalid_hash_list, str(error)) from None
    added = hash_lists.add_entries(conn, list_id, parsed.entries)
    if added:
        with sending(", so past jobs are not re-matched; import again to retry"):
            send_rematch(queue, team_id, list_id)
        hash_lists.set_rematch(conn, list_id, RematchState.queued)
    return HashImport(list=owned.hash_list(conn, team_id, list_id), added=added,
                      duplicates=len(parsed.entries) - added, skipped=dict(parsed.skipped))


def delete(conn: psycopg.Connection, queue: Celery, team_id: uuid.UUID, list_id: uuid.UUID) -> None:
    """The list and its hashes removed; its matches leave the team's jobs in the background."""
    owned.hash_list(conn, team_id, list_id)
    hash_lists.delete_list(conn, team_id, list_id)
    with sending(", so the removed list's matches stay on past jobs"):
        send_rematch(queue, team_id, list_id)
