"""The SQL of the review queues: a job's risk and its item, claims as leases, skips and assignments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from vidsafe.catalogue import Module
from vidsafe.db.paging import Page, decode_cursor, identifier, integer, number, page_of, timestamp
from vidsafe.domain.findings import RiskReason
from vidsafe.domain.review import ReviewItem

# ---- risk and the review queue -------------------------------------------------------------------


def set_risk(conn: psycopg.Connection, job_id: UUID, risk: float, reasons: list[RiskReason],
             policy_version: int) -> None:
    """The job's risk by that version of its team's policy, and its item in the review queue (an item already
    decided keeps its state)."""
    with conn.transaction():
        conn.execute("UPDATE jobs SET risk = %s, risk_reasons = %s, policy_version = %s WHERE id = %s",
                     (risk, Jsonb([r.model_dump(mode="json") for r in reasons]), policy_version, job_id))
        conn.execute("INSERT INTO review_items (job_id, team_id, risk) SELECT id, team_id, %s FROM jobs WHERE id = %s "
                     "ON CONFLICT (job_id) DO UPDATE SET risk = excluded.risk, updated_at = now()", (risk, job_id))


@dataclass(frozen=True)
class QueueFilter:
    queue: str = "review"
    state: str | None = "open"  # open | decided | None (both)
    module: Module | None = None
    label: str | None = None
    batch_id: UUID | None = None
    min_risk: float | None = None
    claimed_by: UUID | None = None  # only what this key holds now, in any queue

    def params(self) -> dict:
        return {"queue": self.queue, "state": self.state, "module": self.module, "label": self.label,
                "batch": self.batch_id, "min_risk": self.min_risk, "claimed_by": self.claimed_by}


# Items of a succeeded job only; filtered by module and label through the job's segments.
_ITEM_SELECT = (
    "SELECT r.job_id, j.source_name, j.batch_id, r.queue, r.priority, r.reviews_required, r.state, r.risk, "
    "j.risk_reasons, "
    "CASE WHEN r.lease_until > now() THEN r.claimed_by_name END AS claimed_by, "
    "CASE WHEN r.lease_until > now() THEN r.lease_until END AS lease_until, a.name AS assigned_to, r.created_at, "
    "(j.media ->> 'duration_s')::float8 AS duration_s, "
    "(SELECT f.frame_index FROM findings f JOIN jsonb_array_elements(j.risk_reasons) why "
    "ON why ->> 'module' = f.module AND why ->> 'label' = f.label WHERE f.job_id = r.job_id "
    "AND f.frame_index IS NOT NULL ORDER BY f.score DESC LIMIT 1) AS cover_frame "
    "FROM review_items r JOIN jobs j ON j.id = r.job_id LEFT JOIN api_keys a ON a.id = r.assigned_to_key "
)
_ITEM_FILTER = (
    "r.team_id = %(team)s AND j.status = 'succeeded' "
    "AND (%(claimed_by)s::uuid IS NULL AND r.queue = %(queue)s "
    "OR r.claimed_by_key = %(claimed_by)s AND r.lease_until > now()) "
    "AND (%(state)s::text IS NULL OR r.state = %(state)s) AND (%(batch)s::uuid IS NULL OR j.batch_id = %(batch)s) "
    "AND (%(min_risk)s::float8 IS NULL OR r.risk >= %(min_risk)s) "
    "AND (%(module)s::text IS NULL AND %(label)s::text IS NULL OR EXISTS (SELECT 1 FROM segments s "
    "WHERE s.job_id = r.job_id AND (%(module)s::text IS NULL OR s.module = %(module)s) "
    "AND (%(label)s::text IS NULL OR s.label = %(label)s))) "
)


def review_items(conn: psycopg.Connection, team_id: UUID, where: QueueFilter, limit: int,
                 cursor: str | None) -> Page[ReviewItem]:
    """A page of the team's queue: highest priority first (rules give it), then riskiest."""
    after = decode_cursor(cursor, {"p": integer, "r": number, "t": timestamp, "id": identifier})
    rows = conn.cursor(row_factory=dict_row).execute(
        _ITEM_SELECT + "WHERE " + _ITEM_FILTER +
        "AND (%(r)s::float8 IS NULL OR (-r.priority, -r.risk::float8, r.created_at, r.job_id) > "
        "(-%(p)s::int, -%(r)s::float8, %(t)s::timestamptz, %(id)s::uuid)) "
        "ORDER BY r.priority DESC, r.risk DESC, r.created_at, r.job_id LIMIT %(limit)s",
        {**where.params(), "team": team_id, "limit": limit + 1, "p": after["p"] if after else None,
         "r": after["r"] if after else None, "t": after["t"] if after else None,
         "id": after["id"] if after else None},
    ).fetchall()
    return page_of([ReviewItem.model_validate(row) for row in rows], limit,
                   lambda item: {"p": item.priority, "r": item.risk, "t": item.created_at.isoformat(),
                                 "id": str(item.job_id)})


def queue_counts(conn: psycopg.Connection, team_id: UUID) -> dict[str, int]:
    """Open items per queue (review and escalation always, the team's own queues where they hold items), and how
    many of them are claimed now (``claimed``)."""
    rows = conn.execute(
        "SELECT r.queue, count(*), count(*) FILTER (WHERE r.lease_until > now()) FROM review_items r "
        "JOIN jobs j ON j.id = r.job_id WHERE r.team_id = %s AND r.state = 'open' AND j.status = 'succeeded' "
        "GROUP BY r.queue ORDER BY r.queue", (team_id,)).fetchall()
    counts = {"review": 0, "escalation": 0} | {queue: count for queue, count, _ in rows}
    return counts | {"claimed": sum(claimed for _, _, claimed in rows)}


def oldest_open(conn: psycopg.Connection, team_id: UUID) -> datetime | None:
    """When the team's longest-waiting open item came into its queue."""
    row = conn.execute("SELECT min(r.created_at) FROM review_items r JOIN jobs j ON j.id = r.job_id "
                       "WHERE r.team_id = %s AND r.state = 'open' AND j.status = 'succeeded'", (team_id,)).fetchone()
    return row[0] if row else None


def decisions_by_reviewer(conn: psycopg.Connection, team_id: UUID, hours: float) -> dict[str, int]:
    """Each reviewer's decisions (rules' apart) in the last ``hours``, most first."""
    rows = conn.execute(
        "SELECT actor, count(*) FROM decisions WHERE team_id = %s AND api_key_id IS NOT NULL "
        "AND at > now() - make_interval(secs => %s) GROUP BY actor ORDER BY count(*) DESC, actor",
        (team_id, hours * 3600)).fetchall()
    return {actor: count for actor, count in rows}


def get_item(conn: psycopg.Connection, team_id: UUID, job_id: UUID) -> ReviewItem | None:
    row = conn.cursor(row_factory=dict_row).execute(
        _ITEM_SELECT + "WHERE r.team_id = %s AND r.job_id = %s", (team_id, job_id)).fetchone()
    return ReviewItem.model_validate(row) if row else None


def claim_next(conn: psycopg.Connection, team_id: UUID, key_id: UUID, key_name: str, where: QueueFilter,
               lease_s: float, milder_first: bool = False) -> ReviewItem | None:
    """The riskiest open item no one holds (assigned to this reviewer or to no one, not skipped by them), claimed
    by this reviewer for ``lease_s``; an item they already hold comes first. ``milder_first`` (a reviewer past
    their team's exposure limit): the least risky instead. FOR UPDATE SKIP LOCKED: two reviewers claiming at once
    get two items."""
    row = conn.execute(
        "UPDATE review_items SET claimed_by_key = %(key)s, claimed_by_name = %(name)s, "
        "lease_until = now() + make_interval(secs => %(lease)s), updated_at = now() "
        "WHERE job_id = (SELECT r.job_id FROM review_items r JOIN jobs j ON j.id = r.job_id WHERE " + _ITEM_FILTER +
        "AND (r.lease_until IS NULL OR r.lease_until <= now() OR r.claimed_by_key = %(key)s) "
        "AND (r.assigned_to_key IS NULL OR r.assigned_to_key = %(key)s) AND NOT %(key)s = ANY(r.skipped_by_keys) "
        "ORDER BY (r.claimed_by_key = %(key)s AND r.lease_until > now()) IS TRUE DESC, r.priority DESC, "
        "CASE WHEN %(milder)s THEN r.risk ELSE -r.risk END, r.created_at "
        "LIMIT 1 FOR UPDATE OF r SKIP LOCKED) RETURNING job_id",
        {**where.params(), "state": "open", "team": team_id, "key": key_id, "name": key_name, "lease": lease_s,
         "milder": milder_first},
    ).fetchone()
    return get_item(conn, team_id, row[0]) if row else None


def renew_claim(conn: psycopg.Connection, team_id: UUID, job_id: UUID, key_id: UUID, lease_s: float) -> bool:
    """Extend this reviewer's live claim; False if they do not hold it (it ran out and another took it)."""
    cur = conn.execute(
        "UPDATE review_items SET lease_until = now() + make_interval(secs => %s), updated_at = now() "
        "WHERE team_id = %s AND job_id = %s AND claimed_by_key = %s AND lease_until > now() AND state = 'open'",
        (lease_s, team_id, job_id, key_id))
    return cur.rowcount == 1


def release_claim(conn: psycopg.Connection, team_id: UUID, job_id: UUID, key_id: UUID, skip: bool) -> bool:
    """Give the item back (``skip``: and never offer it to this reviewer again); False if they do not hold it."""
    cur = conn.execute(
        "UPDATE review_items SET claimed_by_key = NULL, claimed_by_name = NULL, lease_until = NULL, "
        "updated_at = now(), "
        "skipped_by_keys = CASE WHEN %s THEN array_append(skipped_by_keys, %s) ELSE skipped_by_keys END "
        "WHERE team_id = %s AND job_id = %s AND claimed_by_key = %s AND lease_until > now()",
        (skip, key_id, team_id, job_id, key_id))
    return cur.rowcount == 1


def assign(conn: psycopg.Connection, team_id: UUID, job_id: UUID, key_id: UUID | None) -> bool:
    """A lead hands the item to a reviewer (None: to anyone): any claim on it ends, and skips are forgotten."""
    cur = conn.execute(
        "UPDATE review_items SET assigned_to_key = %s, claimed_by_key = NULL, claimed_by_name = NULL, "
        "lease_until = NULL, skipped_by_keys = '{}', updated_at = now() "
        "WHERE team_id = %s AND job_id = %s", (key_id, team_id, job_id))
    return cur.rowcount == 1


def lock_claim_holder(conn: psycopg.Connection, team_id: UUID, job_id: UUID) -> UUID | None:
    """The key holding a live claim on the job's item, the item locked until the transaction ends (so no claim is
    taken meanwhile: claim_next skips a locked item)."""
    row = conn.execute("SELECT CASE WHEN lease_until > now() THEN claimed_by_key END FROM review_items "
                       "WHERE team_id = %s AND job_id = %s FOR UPDATE", (team_id, job_id)).fetchone()
    return row[0] if row else None
