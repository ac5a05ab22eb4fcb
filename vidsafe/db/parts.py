"""A job's work in parts, each claimed under a lease: the SQL behind chunking, resuming and exactly-once findings.

A part is ``waiting`` (the rules, until every other part is done), ``pending`` (``held`` while its job has its
share of parts in the queue), ``running`` under a lease that its worker renews with every batch it stores, or
``done``. Claiming a part bumps its ``attempt`` and
removes whatever an earlier attempt stored; every later write names that attempt and is refused once
another attempt holds the part (``LeaseLost``). So a part's findings come from exactly one attempt, and a
job interrupted anywhere resumes from its done parts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from vidsafe.db.findings import add_findings
from vidsafe.domain.findings import Finding
from vidsafe.domain.jobs import JobStatus


class LeaseLost(Exception):
    """Another attempt holds the part now (this one was presumed dead), or the part was reset."""


class JobInterrupted(Exception):
    """The job is no longer running (paused, cancelled, or ended by another part)."""

    def __init__(self, status: JobStatus) -> None:
        super().__init__(f"job is {status}")
        self.status = status


@dataclass(frozen=True)
class PartPlan:
    kind: str  # fetch | frames | audio | rules
    index: int
    start_s: float
    end_s: float | None


@dataclass(frozen=True)
class Lease:
    job_id: UUID
    kind: str
    index: int
    attempt: int
    start_s: float  # the part's time range: a chunk's, or the whole video (end_s None: to its end)
    end_s: float | None

    @property
    def key(self) -> tuple[UUID, str, int]:
        return self.job_id, self.kind, self.index


def plan_parts(conn: psycopg.Connection, job_id: UUID, parts: list[PartPlan]) -> None:
    """Record the job's parts, once: a resumed job keeps the plan (and the done parts) it has."""
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO job_parts (job_id, kind, index, start_s, end_s, status) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            [(job_id, p.kind, p.index, p.start_s, p.end_s, "waiting" if p.kind == "rules" else "pending")
             for p in parts],
        )


def plan_fetch(conn: psycopg.Connection, job_id: UUID) -> None:
    """Record the job's fetch part, pending; a fetch done before whose file is gone since (a retry) is done again."""
    conn.execute(
        "INSERT INTO job_parts (job_id, kind, index, start_s, end_s, status) VALUES (%s, 'fetch', 0, 0, NULL, "
        "'pending') ON CONFLICT (job_id, kind, index) DO UPDATE SET status = 'pending' WHERE job_parts.status = 'done'",
        (job_id,),
    )


# A part sent and not done: its task is in the queue, or running.
_IN_FLIGHT = "(status = 'running' OR status = 'pending' AND NOT held AND sent_at IS NOT NULL)"


def parts_to_send(conn: psycopg.Connection, job_id: UUID, in_flight: int, resend: bool) -> list[tuple[str, int]]:
    """The job's parts that need a task now, marked sent: pending ones (the rules once all else is done), no more
    than ``in_flight`` of the job's parts sent and not done at once. The rest are held, and sent as those finish,
    each behind what other jobs sent meanwhile: a long video's parts take turns with a short clip's. ``resend``:
    with the parts already sent and not started (a new priority, a resumed plan), sent again."""
    with conn.transaction():
        conn.execute("SELECT 1 FROM job_parts WHERE job_id = %s FOR UPDATE", (job_id,))  # one sender at a time
        _release_rules_if_ready(conn, job_id)
        again = conn.execute(
            "UPDATE job_parts SET sent_at = now() WHERE job_id = %s AND status = 'pending' AND NOT held "
            "AND sent_at IS NOT NULL RETURNING kind, index", (job_id,)).fetchall() if resend else []
        busy = conn.execute(f"SELECT count(*) FROM job_parts WHERE job_id = %s AND {_IN_FLIGHT}", (job_id,)).fetchone()
        released = conn.execute(
            "UPDATE job_parts SET held = false, sent_at = now() WHERE (job_id, kind, index) IN ("
            "SELECT job_id, kind, index FROM job_parts WHERE job_id = %s AND status = 'pending' "
            "AND (held OR sent_at IS NULL) ORDER BY kind, index LIMIT %s) RETURNING kind, index",
            (job_id, max(0, in_flight - (busy[0] if busy else 0)))).fetchall()
        conn.execute("UPDATE job_parts SET held = true WHERE job_id = %s AND status = 'pending' AND sent_at IS NULL",
                     (job_id,))
    return sorted({(kind, index) for kind, index in [*again, *released]})


def unsent(conn: psycopg.Connection, job_id: UUID, keys: list[tuple[str, int]]) -> None:
    """Mark pending parts whose task could not be sent (the queue was down) as never sent: the maintenance
    loop sends them at its next round, instead of ``resend_pending_after_s`` later."""
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany("UPDATE job_parts SET sent_at = NULL WHERE job_id = %s AND kind = %s AND index = %s "
                        "AND status = 'pending'", [(job_id, kind, index) for kind, index in keys])


def _release_rules_if_ready(conn: psycopg.Connection, job_id: UUID) -> bool:
    cur = conn.execute(
        "UPDATE job_parts SET status = 'pending', sent_at = NULL WHERE job_id = %(job)s AND kind = 'rules' "
        "AND status = 'waiting' AND NOT EXISTS (SELECT 1 FROM job_parts WHERE job_id = %(job)s "
        "AND kind <> 'rules' AND status <> 'done')",
        {"job": job_id},
    )
    return cur.rowcount == 1


def claim_part(conn: psycopg.Connection, job_id: UUID, kind: str, index: int, lease_s: float) -> Lease | None:
    """Take a pending part (or one whose lease ran out) of a running job, dropping an earlier attempt's
    findings; None when the part is done, held by a live worker, or its job is not running."""
    with conn.transaction():
        row = conn.execute(
            "UPDATE job_parts p SET status = 'running', attempt = attempt + 1, "
            "lease_until = now() + make_interval(secs => %(lease)s), frames_analyzed = 0 "
            "FROM jobs j WHERE j.id = p.job_id AND j.status = 'running' "
            "AND p.job_id = %(job)s AND p.kind = %(kind)s AND p.index = %(index)s "
            "AND (p.status = 'pending' OR (p.status = 'running' AND p.lease_until < now())) "
            "RETURNING p.attempt, p.start_s, p.end_s",
            {"job": job_id, "kind": kind, "index": index, "lease": lease_s},
        ).fetchone()
        if row is None:
            return None
        lease = Lease(job_id, kind, index, *row)
        _drop_findings(conn, lease)
    return lease


def _drop_findings(conn: psycopg.Connection, lease: Lease) -> None:
    """What earlier attempts of the part stored."""
    conn.execute("DELETE FROM findings WHERE job_id = %s AND part_kind = %s AND part_index = %s", lease.key)


def _hold(conn: psycopg.Connection, lease: Lease, lease_s: float) -> None:
    """Inside a transaction: lock the part, renew its lease, and check the job still runs."""
    row = conn.execute(
        "SELECT p.attempt, p.status, j.status FROM job_parts p JOIN jobs j ON j.id = p.job_id "
        "WHERE p.job_id = %s AND p.kind = %s AND p.index = %s FOR UPDATE OF p",
        lease.key,
    ).fetchone()
    if row is None or row[0] != lease.attempt or row[1] != "running":
        raise LeaseLost(f"part {lease.kind} {lease.index} of job {lease.job_id} is no longer attempt {lease.attempt}")
    if row[2] != JobStatus.running:
        raise JobInterrupted(JobStatus(row[2]))
    conn.execute("UPDATE job_parts SET lease_until = now() + make_interval(secs => %s) "
                 "WHERE job_id = %s AND kind = %s AND index = %s", (lease_s, *lease.key))


def renew(conn: psycopg.Connection, lease: Lease, lease_s: float) -> None:
    with conn.transaction():
        _hold(conn, lease, lease_s)


def store(conn: psycopg.Connection, lease: Lease, findings: list[Finding], lease_s: float,
          frames_analyzed: int | None = None, expected_frames: int | None = None) -> list[int]:
    """Store findings of the part (setting their ids) and renew its lease, in one transaction; with
    ``frames_analyzed``, also advance the part's and the job's progress."""
    with conn.transaction(), conn.cursor() as cur:
        _hold(conn, lease, lease_s)
        ids = add_findings(conn, lease.job_id, findings, (lease.kind, lease.index))
        if frames_analyzed is not None:
            cur.execute("UPDATE job_parts SET frames_analyzed = %s WHERE job_id = %s AND kind = %s AND index = %s",
                        (frames_analyzed, *lease.key))
            cur.execute(
                "UPDATE jobs SET frames_analyzed = s.frames, progress = least(0.99, s.frames::real / %s) "
                "FROM (SELECT sum(frames_analyzed) AS frames FROM job_parts WHERE job_id = %s) s WHERE id = %s",
                (max(1, expected_frames or 1), lease.job_id, lease.job_id),
            )
    return ids


@dataclass(frozen=True)
class Decoded:
    """What a chunk of frames was to analyse and could not decode (its coverage)."""

    frames_expected: int
    frames_analyzed: int
    undecodable: list[tuple[float, float]]
    packets_skipped: int


def record_decoded(conn: psycopg.Connection, lease: Lease, lease_s: float, decoded: Decoded) -> None:
    with conn.transaction():
        _hold(conn, lease, lease_s)
        conn.execute("UPDATE job_parts SET frames_expected = %s, frames_analyzed = %s, undecodable = %s, "
                     "packets_skipped = %s WHERE job_id = %s AND kind = %s AND index = %s",
                     (decoded.frames_expected, decoded.frames_analyzed, Jsonb(decoded.undecodable),
                      decoded.packets_skipped, *lease.key))


def decoded(conn: psycopg.Connection, job_id: UUID) -> list[Decoded]:
    """What each chunk of frames of the job recorded, in time order."""
    rows = conn.execute("SELECT frames_expected, frames_analyzed, undecodable, packets_skipped FROM job_parts "
                        "WHERE job_id = %s AND kind = 'frames' ORDER BY index", (job_id,)).fetchall()
    return [Decoded(row[0], row[1], [(start, end) for start, end in row[2]], row[3]) for row in rows]


def complete(conn: psycopg.Connection, lease: Lease, lease_s: float) -> bool:
    """Mark the part done; True when that made the rules part ready (the caller sends its task)."""
    with conn.transaction():
        _hold(conn, lease, lease_s)
        conn.execute("UPDATE job_parts SET status = 'done', lease_until = NULL, finished_at = now() "
                     "WHERE job_id = %s AND kind = %s AND index = %s", lease.key)
        return _release_rules_if_ready(conn, lease.job_id)


def restart(conn: psycopg.Connection, lease: Lease, lease_s: float) -> Lease:
    """The part afresh for a new attempt by the same worker (after a dependency came back): what the
    failed attempt stored is dropped."""
    with conn.transaction():
        _hold(conn, lease, lease_s)
        row = conn.execute("UPDATE job_parts SET attempt = attempt + 1, frames_analyzed = 0 "
                           "WHERE job_id = %s AND kind = %s AND index = %s RETURNING attempt", lease.key).fetchone()
        assert row is not None
        _drop_findings(conn, lease)
    return replace(lease, attempt=row[0])


def release(conn: psycopg.Connection, lease: Lease) -> None:
    """Give the part back unfinished (its job was paused): drop what it stored, so a resume starts it clean."""
    with conn.transaction():
        cur = conn.execute(
            "UPDATE job_parts SET status = 'pending', lease_until = NULL, frames_analyzed = 0, sent_at = NULL "
            "WHERE job_id = %s AND kind = %s AND index = %s AND attempt = %s AND status = 'running'",
            (*lease.key, lease.attempt),
        )
        if cur.rowcount == 1:
            _drop_findings(conn, lease)


def reset(conn: psycopg.Connection, job_id: UUID) -> None:
    """Forget the job's parts, findings and planned modules, for a retry from scratch."""
    with conn.transaction():
        conn.execute("DELETE FROM job_parts WHERE job_id = %s", (job_id,))
        conn.execute("DELETE FROM findings WHERE job_id = %s", (job_id,))
        conn.execute("DELETE FROM segments WHERE job_id = %s", (job_id,))
        conn.execute("UPDATE jobs SET progress = 0, frames_analyzed = 0, modules = NULL, step = NULL, coverage = NULL, "
                     "warnings = '[]' WHERE id = %s",
                     (job_id,))


def expired(conn: psycopg.Connection, resend_after_s: float) -> list[tuple[UUID, str, int, int]]:
    """Parts to send again, marked sent: running ones whose lease ran out (their worker died), and pending
    ones sent long ago but never taken (their message was lost). (job, kind, index, priority) each."""
    with conn.transaction():
        rows = conn.execute(
            "UPDATE job_parts p SET status = 'pending', lease_until = NULL, sent_at = now() FROM jobs j "
            "WHERE j.id = p.job_id AND j.status = 'running' AND ("
            "(p.status = 'running' AND p.lease_until < now()) OR "
            "(p.status = 'pending' AND NOT p.held "
            "AND (p.sent_at IS NULL OR p.sent_at < now() - make_interval(secs => %s)))) "
            "RETURNING p.job_id, p.kind, p.index, j.priority",
            (resend_after_s,),
        ).fetchall()
    return [tuple(row) for row in rows]  # type: ignore[misc]
