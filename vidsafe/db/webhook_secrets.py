"""The SQL of teams' webhook secrets: rotation (a new current secret, the one before it kept for a while), and the
secrets a delivery is signed with."""

from __future__ import annotations

import secrets
from uuid import UUID

import psycopg

from vidsafe.domain.teams import WebhookSecret, WebhookSecretState

SECRET_PREFIX = "whsec_"


def rotate(conn: psycopg.Connection, team_id: UUID, previous_valid_s: float) -> WebhookSecret:
    """A new current secret for the team; the current one stays valid ``previous_valid_s`` more, any older one
    stops now (two at most are valid at once)."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with conn.transaction():
        conn.execute("SELECT id FROM teams WHERE id = %s FOR UPDATE", (team_id,))  # one rotation at a time
        conn.execute("UPDATE webhook_secrets SET expires_at = now() WHERE team_id = %s AND expires_at > now()",
                     (team_id,))
        conn.execute("UPDATE webhook_secrets SET expires_at = now() + make_interval(secs => %s) "
                     "WHERE team_id = %s AND expires_at IS NULL", (previous_valid_s, team_id))
        conn.execute("INSERT INTO webhook_secrets (team_id, secret) VALUES (%s, %s)", (team_id, secret))
    return WebhookSecret(secret=secret, **state(conn, team_id).model_dump())


def state(conn: psycopg.Connection, team_id: UUID) -> WebhookSecretState:
    """What the team's secrets are, without the secrets themselves."""
    current, previous = conn.execute(
        "SELECT max(created_at) FILTER (WHERE expires_at IS NULL), max(expires_at) FILTER (WHERE expires_at > now()) "
        "FROM webhook_secrets WHERE team_id = %s", (team_id,)).fetchone()
    return WebhookSecretState(created_at=current, previous_valid_until=previous)


def signing_secrets(conn: psycopg.Connection, team_id: UUID) -> list[str]:
    """The team's valid secrets, the current one first: a delivery carries a signature with each."""
    rows = conn.execute("SELECT secret FROM webhook_secrets WHERE team_id = %s AND (expires_at IS NULL OR "
                        "expires_at > now()) ORDER BY expires_at DESC NULLS FIRST", (team_id,)).fetchall()
    return [row[0] for row in rows]
