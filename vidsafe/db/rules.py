"""The SQL of rules: what they look at beyond segments, their firings on record, what the live ones decide for a
job's review item, and the re-judging of a team's past jobs by a policy version."""

from __future__ import annotations

from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from vidsafe.domain.fields import BackgroundState
from vidsafe.domain.findings import Segment
from vidsafe.domain.policies import RejudgingStatus
from vidsafe.domain.rules import RuleFiring, RuleState
from vidsafe.rules import Firing, JobSignals, Outcome

RULE_ACTOR = "rule:"  # a rule's decision is on record as made by "rule:<its name>"


def job_signals(conn: psycopg.Connection, job_id: UUID, segments: list[Segment], risk: float) -> JobSignals:
    """The job's segments with its batch, risk and the languages its speech (and texts judged of it) are in."""
    batch_id, languages = jobs_signals(conn, [job_id]).get(job_id, (None, frozenset()))
    return JobSignals(job_id, segments, batch_id, languages, risk)


def jobs_signals(conn: psycopg.Connection, job_ids: list[UUID]) -> dict[UUID, tuple[UUID | None, frozenset[str]]]:
    """Batch and languages of each job."""
    rows = conn.execute(
        "SELECT j.id, j.batch_id, array(SELECT DISTINCT f.attributes ->> 'language' FROM findings f "
        "WHERE f.job_id = j.id AND f.module IN ('speech', 'text') AND f.attributes ? 'language') "
        "FROM jobs j WHERE j.id = ANY(%s)", (job_ids,)).fetchall()
    return {job_id: (batch_id, frozenset(languages)) for job_id, batch_id, languages in rows}


def record(conn: psycopg.Connection, job_id: UUID, team_id: UUID, policy_version: int, firings: list[Firing],
           result: Outcome) -> bool:
    """The firings on record, and the live ones' outcome applied to the job's review item while no reviewer has
    decided on it: its queue, priority, reviewers needed, and an automatic decision (or none any more: the item
    opens again). A live rule's change (what it did, or that it no longer fires) goes to the audit trail. The item
    is locked meanwhile (a reviewer's decision comes before or after). Whether what the live rules did changed."""
    with conn.transaction():
        item = conn.execute("SELECT state FROM review_items WHERE job_id = %s FOR UPDATE", (job_id,)).fetchone()
        decided = conn.execute(
            "SELECT count(*) FILTER (WHERE actor NOT LIKE %(rule)s), "
            "(array_agg(action ORDER BY id DESC) FILTER (WHERE actor LIKE %(rule)s))[1] FROM decisions "
            "WHERE job_id = %(job)s", {"rule": RULE_ACTOR + "%", "job": job_id}).fetchone()
        by_reviewers, automatic = decided if decided else (0, None)
        applies = item is not None and by_reviewers == 0
        before = {rule: taken for rule, taken, state in conn.execute(
            "SELECT rule, taken, state FROM rule_firings WHERE job_id = %s AND policy_version = %s",
            (job_id, policy_version)).fetchall() if state == RuleState.live}
        taken = {f.rule.name: result.taken(f) + ("" if applies or f.rule.state != RuleState.live
                                                else "; not applied: a reviewer has decided") for f in firings}
        now = {f.rule.name: taken[f.rule.name] for f in firings if f.rule.state == RuleState.live}
        conn.execute("DELETE FROM rule_firings WHERE job_id = %s AND policy_version = %s", (job_id, policy_version))
        for firing in firings:
            conn.execute(
                "INSERT INTO rule_firings (job_id, team_id, rule, policy_version, state, actions, taken, why) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (job_id, team_id, firing.rule.name, policy_version, firing.rule.state,
                 Jsonb([a.model_dump(mode="json") for a in firing.rule.actions]), taken[firing.rule.name],
                 firing.why))
        if not applies:
            return now != before
        was_decided = item is not None and item[0] == "decided"
        conn.execute(
            "UPDATE review_items SET queue = %s, priority = %s, reviews_required = %s, "
            "state = CASE WHEN %s THEN 'decided' ELSE 'open' END, updated_at = now() WHERE job_id = %s",
            (result.queue, result.priority, result.reviews_required, result.decision is not None, job_id))
        events = [(RULE_ACTOR + f.rule.name, f"policy v{policy_version}: {now[f.rule.name]} ({f.why})")
                  for f in firings if f.rule.name in now and before.get(f.rule.name) != now[f.rule.name]]
        events += [(RULE_ACTOR + rule, f"policy v{policy_version}: no longer fires (it had: {did})")
                   for rule, did in before.items() if rule not in now]
        if was_decided and result.decision is None:
            events.append((RULE_ACTOR[:-1], f"policy v{policy_version}: the automatic {automatic} no longer holds; "
                           "the item is open for review"))
        for actor, reason in events:
            conn.execute("INSERT INTO job_events (job_id, from_status, to_status, priority, actor, reason, kind) "
                         "SELECT id, NULL, NULL, priority, %s, %s, 'rule' FROM jobs WHERE id = %s",
                         (actor, reason, job_id))
        if result.decision is not None and (not was_decided or result.decision != automatic):
            conn.execute(
                "INSERT INTO decisions (job_id, team_id, action, policy_label, note, actor) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (job_id, team_id, result.decision, result.decided_by, f"automatic, by policy v{policy_version}",
                 RULE_ACTOR + str(result.decided_by)))
    return now != before


def firings(conn: psycopg.Connection, team_id: UUID, job_id: UUID) -> list[RuleFiring]:
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT rule, policy_version, state, actions, taken, why, at FROM rule_firings "
        "WHERE team_id = %s AND job_id = %s ORDER BY policy_version DESC, at, rule", (team_id, job_id)).fetchall()
    return [RuleFiring.model_validate(row) for row in rows]


# ---- re-judging ----------------------------------------------------------------------------------

_REJUDGING_COLUMNS = ("run_id, version, state, jobs_total, jobs_done, risk_changed, error, requested_by, "
                      "requested_at, updated_at, finished_at")


def request_rejudging(conn: psycopg.Connection, team_id: UUID, run_id: UUID, version: int,
                      actor: str) -> RejudgingStatus:
    """The team's newest re-judging, replacing the one before (whose task stops at its next step)."""
    row = conn.cursor(row_factory=dict_row).execute(
        "INSERT INTO policy_rejudging (team_id, run_id, version, state, requested_by) "
        "VALUES (%s, %s, %s, 'queued', %s) "
        "ON CONFLICT (team_id) DO UPDATE SET run_id = excluded.run_id, version = excluded.version, state = 'queued', "
        "jobs_total = NULL, jobs_done = 0, risk_changed = 0, error = NULL, requested_by = excluded.requested_by, "
        f"requested_at = now(), updated_at = now(), finished_at = NULL RETURNING {_REJUDGING_COLUMNS}",
        (team_id, run_id, version, actor)).fetchone()
    return RejudgingStatus.model_validate(row)


def rejudging(conn: psycopg.Connection, team_id: UUID) -> RejudgingStatus | None:
    row = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_REJUDGING_COLUMNS} FROM policy_rejudging WHERE team_id = %s", (team_id,)).fetchone()
    return RejudgingStatus.model_validate(row) if row else None


def set_rejudging(conn: psycopg.Connection, team_id: UUID, run_id: UUID, state: BackgroundState, *,
                  total: int | None = None, done: int | None = None, changed: int | None = None,
                  error: str | None = None) -> bool:
    """Progress of the run ``run_id``; False where a newer request replaced it (its task stops)."""
    return conn.execute(
        "UPDATE policy_rejudging SET state = %s, jobs_total = coalesce(%s, jobs_total), "
        "jobs_done = coalesce(%s, jobs_done), risk_changed = coalesce(%s, risk_changed), error = %s, "
        "updated_at = now(), finished_at = CASE WHEN %s IN ('done', 'failed') THEN now() END "
        "WHERE team_id = %s AND run_id = %s",
        (state, total, done, changed, error, state, team_id, run_id)).rowcount == 1


def succeeded_jobs(conn: psycopg.Connection, team_id: UUID) -> list[UUID]:
    """The team's analysed jobs, newest first: what a re-judging goes through."""
    rows = conn.execute("SELECT id FROM jobs WHERE team_id = %s AND status = 'succeeded' ORDER BY created_at DESC",
                        (team_id,)).fetchall()
    return [job_id for job_id, in rows]
