"""The SQL of webhook deliveries: the due ones claimed, each attempt's outcome, a job's deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from vidsafe.domain.jobs import WebhookDelivery


@dataclass(frozen=True)
class Delivery:
    id: int
    job_id: UUID
    team_id: UUID
    url: str
    event: dict
    attempts: int


def claim_due_deliveries(conn: psycopg.Connection, hold_s: float, limit: int = 20) -> list[Delivery]:
    """Webhook deliveries due now, held for ``hold_s`` so that a second maintenance loop skips them."""
    rows = conn.execute(
        "UPDATE webhook_deliveries AS d SET next_attempt_at = now() + make_interval(secs => %s), "
        "attempts = d.attempts + 1 FROM jobs WHERE jobs.id = d.job_id AND d.id IN (SELECT id FROM webhook_deliveries "
        "WHERE status = 'pending' AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP "
        "LOCKED) RETURNING d.id, d.job_id, jobs.team_id, d.url, d.event, d.attempts",
        (hold_s, limit),
    ).fetchall()
    return [Delivery(*row) for row in rows]


def record_delivery(conn: psycopg.Connection, delivery_id: int, error: str | None, retry_in_s: float | None) -> None:
    """The outcome of an attempt: delivered (no error), to be retried in ``retry_in_s``, or given up."""
    status = "delivered" if error is None else ("pending" if retry_in_s is not None else "failed")
    conn.execute(
        "UPDATE webhook_deliveries SET status = %s, last_error = %s, "
        "delivered_at = CASE WHEN %s = 'delivered' THEN now() END, "
        "next_attempt_at = now() + make_interval(secs => %s) WHERE id = %s",
        (status, error, status, retry_in_s or 0, delivery_id),
    )


def deliveries(conn: psycopg.Connection, job_id: UUID) -> list[WebhookDelivery]:
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT url, status, attempts, last_error, created_at, delivered_at FROM webhook_deliveries "
        "WHERE job_id = %s ORDER BY id", (job_id,)).fetchall()
    return [WebhookDelivery.model_validate(row) for row in rows]
