"""The SQL of a team's audit trail: who changed what the team matches by, who may call, and what signs its events
(hash lists created, filled and removed; keys issued and revoked; webhook secrets rotated)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from vidsafe.db.paging import Page, decode_cursor, integer, page_of
from vidsafe.domain.teams import AuditEntry


def record(conn: psycopg.Connection, team_id: UUID, actor: str, action: str, subject: str,
           **detail: Any) -> None:
    conn.execute("INSERT INTO team_audit (team_id, actor, action, subject, detail) VALUES (%s, %s, %s, %s, %s)",
                 (team_id, actor, action, subject, Jsonb(detail)))


def recent(conn: psycopg.Connection, team_id: UUID, action: str, within_s: float) -> tuple[int, float | None]:
    """How many times the team did ``action`` in the last ``within_s``, and how long ago the oldest of them was."""
    count, oldest = conn.execute(
        "SELECT count(*), extract(epoch FROM now() - min(at)) FROM team_audit WHERE team_id = %s AND action = %s "
        "AND at > now() - make_interval(secs => %s)", (team_id, action, within_s)).fetchone()
    return count, None if oldest is None else float(oldest)


def entries(conn: psycopg.Connection, team_id: UUID, limit: int, cursor: str | None) -> Page[AuditEntry]:
    """A page of the team's trail, newest first."""
    after = decode_cursor(cursor, {"id": integer})
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT id, at, actor, action, subject, detail FROM team_audit WHERE team_id = %(team)s "
        "AND (%(after)s::bigint IS NULL OR id < %(after)s) ORDER BY id DESC LIMIT %(limit)s",
        {"team": team_id, "after": after["id"] if after else None, "limit": limit + 1}).fetchall()
    return page_of([AuditEntry.model_validate(row) for row in rows], limit, lambda entry: {"id": entry.id})
