"""``vidsafe webhook-secret ...``: the team's webhook secret, which signs the events its callback URLs receive,
through the gateway (``/v1/webhook-secret``; an admin key of the team, or the operator's with VIDSAFE_TEAM)."""

from __future__ import annotations

from typing import Annotated

import typer

from vidsafe.cli.output import console, gateway, out
from vidsafe.domain.teams import WebhookSecretRotation
from vidsafe.settings import get_settings

webhook_secret_app = typer.Typer(help="The team's webhook secret: show when it was made, rotate it.",
                                 no_args_is_help=True)


@webhook_secret_app.command("show")
def webhook_secret_show() -> None:
    """When the team's secret was made, and until when the one before it still signs (never the secret)."""
    with gateway(get_settings()) as client:
        state = client.webhook_secret()
    if state.created_at is None:
        out.print("the team has no webhook secret: callback URLs are refused until `vidsafe webhook-secret "
                  "rotate` makes one")
        return
    previous = f"; the one before it signs too until {state.previous_valid_until:%Y-%m-%d %H:%M}" \
        if state.previous_valid_until else ""
    out.print(f"made {state.created_at:%Y-%m-%d %H:%M}{previous}")


@webhook_secret_app.command("rotate")
def webhook_secret_rotate(keep_previous: Annotated[float, typer.Option(
        "--keep-previous", min=0, help="Seconds the secret being replaced keeps signing beside the new one.")]
        = 86400.0) -> None:
    """Make a new secret (the team's first, or the next) and print it, this once: give it to your receivers
    before --keep-previous runs out."""
    with gateway(get_settings()) as client:
        made = client.rotate_webhook_secret(WebhookSecretRotation(previous_valid_s=keep_previous))
    out.print(made.secret)
    console.print("this secret is shown once: keep it where your webhook receivers read it")


def register(app: typer.Typer) -> None:
    app.add_typer(webhook_secret_app, name="webhook-secret")
