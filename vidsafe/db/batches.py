"""The SQL of batches: each with its jobs counted per status and their mean progress."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from vidsafe.domain.batches import Batch
from vidsafe.domain.jobs import JobStatus

# ---- batches -------------------------------------------------------------------------------------


def create_batch(conn: psycopg.Connection, batch_id: UUID, team_id: UUID, name: str, auto_start: bool, priority: int,
                 callback_url: str | None, api_key_id: UUID | None) -> Batch:
    conn.execute("INSERT INTO batches (id, team_id, name, auto_start, priority, callback_url, api_key_id) "
                 "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                 (batch_id, team_id, name, auto_start, priority, callback_url, api_key_id))
    batch = get_batch(conn, batch_id, team_id)
    assert batch is not None
    return batch


# A batch with its jobs counted per status and their mean progress, in one query (also for a list of batches).
_BATCH_SELECT = (
    "SELECT b.id, b.name, b.auto_start, b.priority, b.callback_url, b.created_at, "
    "coalesce(sum(s.n), 0)::int AS jobs, coalesce(sum(s.progress) / sum(s.n), 0)::real AS progress, "
    "coalesce(jsonb_object_agg(s.status, s.n) FILTER (WHERE s.status IS NOT NULL), '{}') AS counts "
    "FROM batches b LEFT JOIN LATERAL (SELECT status, count(*) AS n, sum(progress) AS progress FROM jobs "
    "WHERE batch_id = b.id GROUP BY status) s ON true "
)


def get_batch(conn: psycopg.Connection, batch_id: UUID, team_id: UUID) -> Batch | None:
    row = conn.cursor(row_factory=dict_row).execute(
        _BATCH_SELECT + "WHERE b.id = %s AND b.team_id = %s GROUP BY b.id", (batch_id, team_id)).fetchone()
    return Batch.model_validate(row) if row else None


def list_batches(conn: psycopg.Connection, team_id: UUID, limit: int) -> list[Batch]:
    rows = conn.cursor(row_factory=dict_row).execute(
        _BATCH_SELECT + "WHERE b.team_id = %s GROUP BY b.id ORDER BY b.created_at DESC LIMIT %s",
        (team_id, limit)).fetchall()
    return [Batch.model_validate(row) for row in rows]


def batch_job_ids(conn: psycopg.Connection, batch_id: UUID, statuses: Iterable[JobStatus] | None = None) -> list[UUID]:
    rows = conn.execute(
        "SELECT id FROM jobs WHERE batch_id = %s AND (%s::text[] IS NULL OR status = ANY(%s)) ORDER BY created_at",
        (batch_id, *([[str(s) for s in statuses]] * 2 if statuses is not None else [None, None])),
    ).fetchall()
    return [row[0] for row in rows]


def set_batch_priority(conn: psycopg.Connection, batch_id: UUID, priority: int) -> bool:
    cur = conn.execute("UPDATE batches SET priority = %s WHERE id = %s", (priority, batch_id))
    return cur.rowcount == 1
