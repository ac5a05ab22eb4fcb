"""The SQL of reviewers' decisions: append-only, each moving its job's review item."""

from __future__ import annotations

from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from vidsafe.db.paging import Page, decode_cursor, integer, page_of
from vidsafe.domain.requests import DecisionRequest
from vidsafe.domain.review import Decision, DecisionAction

# ---- decisions -----------------------------------------------------------------------------------

_DECISION_COLUMNS = "id, job_id, action, start_s, end_s, policy_label, note, actor, at"


def add_decision(conn: psycopg.Connection, team_id: UUID, job_id: UUID, decision: DecisionRequest, actor: str,
                 key_id: UUID) -> Decision:
    """Record a decision (its audit event is written by a trigger) and move the job's review item: an escalation
    to the escalation queue, open; an approval or rejection decides it (where a rule requires two reviewers, the
    second reviewer's does). The claim ends either way."""
    with conn.transaction():
        row = conn.cursor(row_factory=dict_row).execute(
            "INSERT INTO decisions (job_id, team_id, action, start_s, end_s, policy_label, note, actor, api_key_id) "
            f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_DECISION_COLUMNS}",
            (job_id, team_id, decision.action, decision.start_s, decision.end_s, decision.policy_label,
             decision.note, actor, key_id)).fetchone()
        escalated = decision.action == DecisionAction.escalate
        # An item a rule gave two reviewers stays open until two different reviewers have approved or rejected it;
        # the first is not offered it again.
        required, reviewers = review_progress(conn, job_id)
        waiting = not escalated and len(reviewers) < required
        conn.execute(
            "UPDATE review_items SET queue = CASE WHEN %(escalated)s THEN 'escalation' ELSE queue END, "
            "state = CASE WHEN %(escalated)s OR %(waiting)s THEN 'open' ELSE 'decided' END, claimed_by_key = NULL, "
            "claimed_by_name = NULL, lease_until = NULL, "
            "assigned_to_key = CASE WHEN %(escalated)s OR %(waiting)s THEN NULL ELSE assigned_to_key END, "
            "skipped_by_keys = CASE WHEN %(waiting)s THEN ARRAY[%(key)s::uuid] ELSE '{}' END, "
            "updated_at = now() WHERE job_id = %(job)s",
            {"escalated": escalated, "waiting": waiting, "key": key_id, "job": job_id})
    assert row is not None
    return Decision.model_validate(row)


def review_progress(conn: psycopg.Connection, job_id: UUID) -> tuple[int, set[UUID]]:
    """The reviewers the job's item needs (a rule may require two), and the keys that approved or rejected it."""
    row = conn.execute(
        "SELECT r.reviews_required, array(SELECT DISTINCT d.api_key_id FROM decisions d WHERE d.job_id = r.job_id "
        "AND d.action <> 'escalate' AND d.api_key_id IS NOT NULL) FROM review_items r WHERE r.job_id = %s",
        (job_id,)).fetchone()
    return (row[0], set(row[1])) if row else (1, set())


def decisions(conn: psycopg.Connection, team_id: UUID, job_id: UUID | None, limit: int,
              cursor: str | None) -> Page[Decision]:
    """A page of the team's decisions (or one job's), newest first."""
    after = decode_cursor(cursor, {"id": integer})
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE team_id = %(team)s "
        "AND (%(job)s::uuid IS NULL OR job_id = %(job)s) AND (%(after)s::bigint IS NULL OR id < %(after)s) "
        "ORDER BY id DESC LIMIT %(limit)s",
        {"team": team_id, "job": job_id, "after": after["id"] if after else None, "limit": limit + 1}).fetchall()
    return page_of([Decision.model_validate(row) for row in rows], limit, lambda d: {"id": d.id})
