"""The SQL of known-content matching: the jobs' frame hashes, and the findings a list's matches make."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import psycopg

from vidsafe.hash_lists import HashedFrame


def add_frame_hashes(conn: psycopg.Connection, job_id: UUID, frames: Iterable[tuple[int, HashedFrame]]) -> None:
    """Store sampled frames' hashes (a chunk run again stores the same frames: kept once)."""
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany("INSERT INTO frame_hashes (job_id, frame_index, timestamp_s, pdq, quality) "
                        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        [(job_id, index, f.timestamp_s, f.pdq, f.quality) for index, f in frames])


def frame_hashes(conn: psycopg.Connection, job_id: UUID) -> list[tuple[int, HashedFrame]]:
    rows = conn.execute("SELECT frame_index, pdq, quality, timestamp_s FROM frame_hashes WHERE job_id = %s "
                        "ORDER BY frame_index", (job_id,)).fetchall()
    return [(index, HashedFrame(bytes(pdq), quality, timestamp)) for index, pdq, quality, timestamp in rows]


def hashed_jobs(conn: psycopg.Connection, team_id: UUID) -> list[UUID]:
    """The team's analysed jobs that have hashed frames (running ones are matched by their rules part; failed ones
    are not reviewed)."""
    return [row[0] for row in conn.execute(
        "SELECT j.id FROM jobs j WHERE j.team_id = %s AND j.status = 'succeeded' "
        "AND EXISTS (SELECT 1 FROM frame_hashes h WHERE h.job_id = j.id) ORDER BY j.created_at", (team_id,))]


