"""The SQL of reviewers' decisions: append-only, each moving its job's review item."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from vidsafe.db.paging import Page, decode_cursor, integer, page_of
from vidsafe.domain.requests import DecisionRequest
from vidsafe.domain.review import Decision, DecisionAction, DecisionRow

# ---- decisions -----------------------------------------------------------------------------------

_DECISION_COLUMNS = "id, job_id, action, start_s, end_s, policy_label, note, actor, at"


@dataclass(frozen=True)
class ReviewProgress:
    required: int  # reviewers the item needs (a rule may require two)
    reviewed: frozenset[UUID]  # keys whose review of it is done
    escalated_by: UUID | None  # the key that sent it to the escalation queue, while it waits there


@dataclass(frozen=True)
class Verdict:
    """An approval or a rejection, of the whole video (no start) or of a stretch."""

    action: DecisionAction
    start_s: float | None
    end_s: float | None
    actor: str
    key_id: UUID | None
    at: datetime


def add_decision(conn: psycopg.Connection, team_id: UUID, job_id: UUID, decision: DecisionRequest, actor: str,
                 key_id: UUID, completes: ReviewProgress | None) -> Decision:
    """Record a decision (its audit event is written by a trigger) and move the job's review item. An escalation
    sends it to the escalation queue, open, for another reviewer (the one escalating is not offered it). An approval
    or rejection that leaves flagged segments undecided (``completes`` None) leaves the item open and claimed; one
    that completes this reviewer's review (``completes``: the item's progress before it, read with the item locked)
    decides it (where a rule requires two reviewers, the second reviewer's does: the first is not offered it
    again)."""
    with conn.transaction():
        row = conn.cursor(row_factory=dict_row).execute(
            "INSERT INTO decisions (job_id, team_id, action, start_s, end_s, policy_label, note, actor, api_key_id) "
            f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_DECISION_COLUMNS}",
            (job_id, team_id, decision.action, decision.start_s, decision.end_s, decision.policy_label,
             decision.note, actor, key_id)).fetchone()
        if decision.action == DecisionAction.escalate:
            conn.execute(
                "UPDATE review_items SET queue = 'escalation', state = 'open', claimed_by_key = NULL, "
                "claimed_by_name = NULL, lease_until = NULL, assigned_to_key = NULL, "
                "skipped_by_keys = ARRAY[%s::uuid], updated_at = now() WHERE job_id = %s", (key_id, job_id))
        elif completes is not None:
            reviewed = completes.reviewed | {key_id}
            waiting = len(reviewed) < completes.required
            conn.execute(
                "UPDATE review_items SET reviewed_by_keys = %(reviewed)s, "
                "state = CASE WHEN %(waiting)s THEN 'open' ELSE 'decided' END, claimed_by_key = NULL, "
                "claimed_by_name = NULL, lease_until = NULL, "
                "assigned_to_key = CASE WHEN %(waiting)s THEN NULL ELSE assigned_to_key END, "
                "skipped_by_keys = CASE WHEN %(waiting)s THEN ARRAY[%(key)s::uuid] ELSE '{}' END, "
                "updated_at = now() WHERE job_id = %(job)s",
                {"reviewed": list(reviewed), "waiting": waiting, "key": key_id, "job": job_id})
        else:
            conn.execute("UPDATE review_items SET updated_at = now() WHERE job_id = %s", (job_id,))
    assert row is not None
    return Decision.model_validate(row)


def review_progress(conn: psycopg.Connection, job_id: UUID) -> ReviewProgress:
    """Who has reviewed the job's item, how many it needs, and who escalated it while it waits in escalation."""
    row = conn.execute(
        "SELECT r.reviews_required, r.reviewed_by_keys, CASE WHEN r.queue = 'escalation' AND r.state = 'open' THEN "
        "(SELECT d.api_key_id FROM decisions d WHERE d.job_id = r.job_id AND d.action = 'escalate' "
        "ORDER BY d.id DESC LIMIT 1) END FROM review_items r WHERE r.job_id = %s", (job_id,)).fetchone()
    return ReviewProgress(row[0], frozenset(row[1]), row[2]) if row else ReviewProgress(1, frozenset(), None)


def verdicts(conn: psycopg.Connection, job_id: UUID) -> list[Verdict]:
    """The job's approvals and rejections, oldest first."""
    rows = conn.execute(
        "SELECT action, start_s, end_s, actor, api_key_id, at FROM decisions WHERE job_id = %s "
        "AND action <> 'escalate' ORDER BY id", (job_id,)).fetchall()
    return [Verdict(DecisionAction(row[0]), *row[1:]) for row in rows]


def decisions(conn: psycopg.Connection, team_id: UUID, job_id: UUID | None, limit: int,
              cursor: str | None) -> Page[DecisionRow]:
    """A page of the team's decisions (or one job's), newest first, each with its video's name, risk and item
    state."""
    after = decode_cursor(cursor, {"id": integer})
    columns = ", ".join(f"d.{name}" for name in _DECISION_COLUMNS.split(", "))
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {columns}, j.source_name, j.risk, r.state AS review_state FROM decisions d "
        "JOIN jobs j ON j.id = d.job_id LEFT JOIN review_items r ON r.job_id = d.job_id WHERE d.team_id = %(team)s "
        "AND (%(job)s::uuid IS NULL OR d.job_id = %(job)s) AND (%(after)s::bigint IS NULL OR d.id < %(after)s) "
        "ORDER BY d.id DESC LIMIT %(limit)s",
        {"team": team_id, "job": job_id, "after": after["id"] if after else None, "limit": limit + 1}).fetchall()
    return page_of([DecisionRow.model_validate(row) for row in rows], limit, lambda d: {"id": d.id})
