"""The SQL of known-content matching: the jobs' frame hashes, and the findings a list's matches make."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import psycopg

from vidsafe.catalogue import Module
from vidsafe.db.findings import add_findings
from vidsafe.domain.findings import Finding
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


def replace_list_findings(conn: psycopg.Connection, job_id: UUID, list_ids: list[UUID], findings: list[Finding],
                          part: tuple[str, int]) -> int:
    """The job's known-content findings of ``list_ids`` become ``findings``, at once (the job's row is locked, so
    a rules part and a re-matching of the same job do not interleave); how many it had before."""
    with conn.transaction():
        conn.execute("SELECT 1 FROM jobs WHERE id = %s FOR UPDATE", (job_id,))
        removed = conn.execute(
            "DELETE FROM findings WHERE job_id = %s AND module = %s AND attributes ->> 'list_id' = ANY(%s)",
            (job_id, Module.known_content, [str(i) for i in list_ids])).rowcount
        add_findings(conn, job_id, findings, part)
    return removed
