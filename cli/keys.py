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
from vidsafe.domain import Scope
from vidsafe.settings import get_settings

keys_app = typer.Typer(help="API keys: issue, list, revoke (needs an admin key).", no_args_is_help=True)
Name = Annotated[str, typer.Argument(help="A unique name: who or what uses the key. Names are never reused.")]
Scopes = Annotated[list[Scope], typer.Option("--scope", help="submit, review or admin; repeat for several.")]


def _print_secret(name: str, scopes: list[Scope], secret: str) -> None:
    console.print(f"key {name} ({', '.join(scopes)}), shown once:")
    print(secret)


@keys_app.command("create")
def keys_create(name: Name, scope: Scopes) -> None:
    """Issue an API key. It is printed once; only its hash is stored."""
    with gateway(get_settings()) as client:
        created = client.create_key(name, scope)
    _print_secret(created.key.name, created.key.scopes, created.secret)


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (names, prefixes, scopes, use); never the keys themselves."""
    with gateway(get_settings()) as client:
        records = client.keys()
    table = Table("name", "prefix", "scopes", "created", "last used", "revoked")
    for record in records:
        table.add_row(record.name, f"vsk_{record.prefix}_...", ", ".join(record.scopes),
                      f"{record.created_at:%Y-%m-%d %H:%M}",
                      f"{record.last_used_at:%Y-%m-%d %H:%M}" if record.last_used_at else "",
                      f"{record.revoked_at:%Y-%m-%d %H:%M}" if record.revoked_at else "")
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke an API key: it stops working at once."""
    with gateway(get_settings()) as client:
        client.revoke_key(name)
    console.print(f"revoked {name}")


@keys_app.command("bootstrap")
def keys_bootstrap(name: Name) -> None:
    """Issue a deployment's first admin key, straight into the database (DATABASE_URL): for a deployment without
    the local stack, whose `vidsafe up` would issue the CLI an admin key itself."""
    with psycopg.connect(get_settings().effective_database_url, autocommit=True) as conn:
        try:
            record, secret = issue_key(conn, name, [Scope.admin])
        except psycopg.errors.UniqueViolation:
            raise fail(f"a key named {name!r} exists or existed: choose another name") from None
    _print_secret(record.name, record.scopes, secret)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
