"""The SQL of hash lists: a team's lists, their entries, and the state of re-matching past jobs against them."""

from __future__ import annotations

from uuid import UUID

import psycopg
from psycopg.rows import class_row, dict_row

from vidsafe.domain.fields import BackgroundState
from vidsafe.domain.hash_lists import HashList, SignalType
from vidsafe.domain.requests import HashListRequest
from vidsafe.hash_lists import HashedFrame, HashEntry, ListedEntry

_LIST_COLUMNS = ("id, name, description, default_label, (SELECT count(*) FROM hash_entries e WHERE e.list_id = l.id) "
                 "AS entries, rematch_state, rematched_jobs, matched_jobs, rematch_error, created_at, updated_at")


def listed_entries(conn: psycopg.Connection, team_id: UUID, list_ids: list[UUID] | None) -> list[ListedEntry]:
    rows = conn.execute(
        "SELECT e.id, l.id, l.name, e.signal_type, e.label, e.pdqs, e.qualities, e.timestamps "
        "FROM hash_entries e JOIN hash_lists l ON l.id = e.list_id "
        "WHERE l.team_id = %s AND (%s::uuid[] IS NULL OR l.id = ANY(%s)) ORDER BY e.id",
        (team_id, list_ids, list_ids)).fetchall()
    return [ListedEntry(entry_id, list_id, name, SignalType(kind), label,
                        tuple(HashedFrame(bytes(p), q, t) for p, q, t in zip(pdqs, qualities, times, strict=True)))
            for entry_id, list_id, name, kind, label, pdqs, qualities, times in rows]


def create_list(conn: psycopg.Connection, list_id: UUID, team_id: UUID, request: HashListRequest) -> HashList:
    conn.execute("INSERT INTO hash_lists (id, team_id, name, description, default_label) VALUES (%s, %s, %s, %s, %s)",
                 (list_id, team_id, request.name, request.description, request.default_label))
    found = get_list(conn, team_id, list_id)
    assert found is not None
    return found


def get_list(conn: psycopg.Connection, team_id: UUID, list_id: UUID) -> HashList | None:
    return conn.cursor(row_factory=class_row(HashList)).execute(
        f"SELECT {_LIST_COLUMNS} FROM hash_lists l WHERE team_id = %s AND id = %s", (team_id, list_id)).fetchone()


def list_lists(conn: psycopg.Connection, team_id: UUID) -> list[HashList]:
    return conn.cursor(row_factory=class_row(HashList)).execute(
        f"SELECT {_LIST_COLUMNS} FROM hash_lists l WHERE team_id = %s ORDER BY name", (team_id,)).fetchall()


def delete_list(conn: psycopg.Connection, team_id: UUID, list_id: UUID) -> bool:
    """Remove a list and its entries; its findings go with the re-matching the caller sends."""
    return conn.execute("DELETE FROM hash_lists WHERE team_id = %s AND id = %s", (team_id, list_id)).rowcount > 0


def add_entries(conn: psycopg.Connection, list_id: UUID, entries: list[HashEntry]) -> int:
    """Add entries not yet in the list; how many were new."""
    added = 0
    with conn.transaction(), conn.cursor() as cur:
        for entry in entries:
            cur.execute(
                "INSERT INTO hash_entries (list_id, signal_type, signal, label, pdqs, qualities, timestamps) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (list_id, entry.signal_type, entry.signal, entry.label, [f.pdq for f in entry.frames],
                 [f.quality for f in entry.frames], [f.timestamp_s for f in entry.frames]))
            added += cur.rowcount
        cur.execute("UPDATE hash_lists SET updated_at = now() WHERE id = %s", (list_id,))
    return added


def set_rematch(conn: psycopg.Connection, list_id: UUID, state: BackgroundState, jobs: int | None = None,
                matched: int | None = None, error: str | None = None) -> None:
    conn.execute("UPDATE hash_lists SET rematch_state = %s, rematched_jobs = %s, matched_jobs = %s, "
                 "rematch_error = %s, updated_at = now() WHERE id = %s", (state, jobs, matched, error, list_id))


def list_team(conn: psycopg.Connection, list_id: UUID) -> UUID | None:
    row = conn.cursor(row_factory=dict_row).execute("SELECT team_id FROM hash_lists WHERE id = %s",
                                                    (list_id,)).fetchone()
    return row["team_id"] if row else None
