"""``vidsafe keys ...``: API keys, through the gateway's admin API (``/v1/keys``, scope ``admin``).

The CLI's own key on a machine running the stack (``vidsafe up`` issues it) has the admin scope; elsewhere
set ``VIDSAFE_API_KEY`` to an admin key. The first admin key of a deployment without the local stack is made
with ``vidsafe keys bootstrap``, the one command that writes to the database directly: no key can authorise
issuing the first key.
"""

from __future__ import annotations

from typing import Annotated

import psycopg
import typer
from rich.table import Table

from vidsafe.apikeys import issue_key
from vidsafe.cli.output import console, fail, gateway, out
from vidsafe.db import teams
from vidsafe.domain.teams import Scope
from vidsafe.settings import Settings, get_settings

keys_app = typer.Typer(help="API keys of a team: issue, list, revoke (needs an admin key).", no_args_is_help=True)
Name = Annotated[str, typer.Argument(help="A name unique in the team: who or what uses the key. Never reused.")]
Scopes = Annotated[list[Scope], typer.Option("--scope", help="submit, review, lists (hash lists) or admin; repeat for "
                                               "several.")]
TeamOption = Annotated[str | None, typer.Option("--team", help="The team (an operator admin key may name any). "
                                                "Unset: VIDSAFE_TEAM, else the key's own team.")]


def _settings(team: str | None) -> Settings:
    settings = get_settings()
    return settings.model_copy(update={"team": team}) if team else settings


def _print_secret(name: str, scopes: list[Scope], secret: str) -> None:
    console.print(f"key {name} ({', '.join(scopes)}), shown once:")
    print(secret)


@keys_app.command("create")
def keys_create(name: Name, scope: Scopes, team: TeamOption = None) -> None:
    """Issue an API key of a team. It is printed once; only its hash is stored."""
    with gateway(_settings(team)) as client:
        created = client.create_key(name, scope)
    _print_secret(f"{created.key.team}/{created.key.name}", created.key.scopes, created.secret)


@keys_app.command("list")
def keys_list(team: TeamOption = None) -> None:
    """List a team's API keys (names, prefixes, scopes, use); never the keys themselves."""
    with gateway(_settings(team)) as client:
        records = client.keys()
    table = Table("team", "name", "prefix", "scopes", "created", "last used", "revoked")
    for record in records:
        table.add_row(record.team, record.name, f"vsk_{record.prefix}_...", ", ".join(record.scopes),
                      f"{record.created_at:%Y-%m-%d %H:%M}",
                      f"{record.last_used_at:%Y-%m-%d %H:%M}" if record.last_used_at else "",
                      f"{record.revoked_at:%Y-%m-%d %H:%M}" if record.revoked_at else "")
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="The key's name.")], team: TeamOption = None) -> None:
    """Revoke an API key of a team: it stops working at once."""
    with gateway(_settings(team)) as client:
        client.revoke_key(name)
    console.print(f"revoked {name}")


@keys_app.command("bootstrap")
def keys_bootstrap(name: Name) -> None:
    """Issue a deployment's first admin key, of the operator team, straight into the database (DATABASE_URL): for
    a deployment without the local stack, whose `vidsafe up` would issue the CLI an admin key itself."""
    with psycopg.connect(get_settings().effective_database_url, autocommit=True) as conn:
        try:
            record, secret = issue_key(conn, teams.OPERATOR_TEAM_ID, name, [Scope.admin])
        except psycopg.errors.UniqueViolation:
            raise fail(f"a key named {name!r} exists or existed: choose another name") from None
    _print_secret(record.name, record.scopes, secret)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
