"""The team's webhook secret: the key that signs the events its callback URLs receive. Rotating makes a new one,
shown this once, and keeps the one before it signing beside it for a while, so receivers switch without loss."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, status

from vidsafe.db import audit, webhook_secrets
from vidsafe.domain.teams import WebhookSecret, WebhookSecretRotation, WebhookSecretState
from vidsafe.gateway.dependencies import AdminDep, ConnDep

router = APIRouter(prefix="/v1/webhook-secret", tags=["webhooks"])


@router.get("", response_model=WebhookSecretState)
def get_webhook_secret(conn: ConnDep, caller: AdminDep) -> WebhookSecretState:
    """When the team's secret was made, and until when the one before it still signs; never the secrets."""
    return webhook_secrets.state(conn, caller.team_id)


@router.post("", response_model=WebhookSecret, status_code=status.HTTP_201_CREATED)
def rotate_webhook_secret(conn: ConnDep, caller: AdminDep,
                          rotation: Annotated[WebhookSecretRotation | None, Body()] = None) -> WebhookSecret:
    """A new secret for the team (its first, or the next): every delivery from now on carries a signature with it,
    and, for ``previous_valid_s``, one with the secret it replaces."""
    previous_valid_s = (rotation or WebhookSecretRotation()).previous_valid_s
    made = webhook_secrets.rotate(conn, caller.team_id, previous_valid_s)
    audit.record(conn, caller.team_id, caller.actor, "webhook_secret.rotated", "webhook secret",
                 previous_valid_s=previous_valid_s)
    return made
