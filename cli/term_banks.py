"""``vidsafe term-banks ...``: the team's banks of words, phrases and regular expressions, each evidencing a text
category of the policy, through the gateway (``/v1/term-banks``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vidsafe.cli.output import console, fail, gateway, out
from vidsafe.client import GatewayClient
from vidsafe.domain.requests import TermBankRequest
from vidsafe.domain.term_banks import TermBank
from vidsafe.policy import default_policy
from vidsafe.settings import get_settings

term_banks_app = typer.Typer(help="Term banks: words, phrases and regular expressions judged in what videos say and "
                             "show written. Import, export, list, remove.", no_args_is_help=True)
BankName = Annotated[str, typer.Argument(help="The bank's name (unique within the team).")]


def _by_name(client: GatewayClient, name: str) -> TermBank:
    for found in client.term_banks():
        if found.name == name:
            return found
    raise fail(f"the team has no term bank named {name!r} (`vidsafe term-banks list`)")


@term_banks_app.command("list")
def term_banks_list() -> None:
    """The team's banks: category, terms, version."""
    with gateway(get_settings()) as client:
        banks = client.term_banks()
    table = Table("name", "category", "terms", "version", "updated")
    for bank in banks:
        table.add_row(bank.name, bank.category, str(bank.terms), str(bank.version), f"{bank.updated_at:%Y-%m-%d %H:%M}")
    out.print(table)


@term_banks_app.command("import")
def term_banks_import(
    name: BankName, file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="UTF-8, one term per "
                                                         "line; `re:` before a regular expression (RE2); `#` "
                                                         "comments.")],
    category: Annotated[str | None, typer.Option(help="The text category of a new bank: "
                                                 f"{', '.join(default_policy().text.categories)}.")]
    = None,
    replace: Annotated[bool, typer.Option(help="Replace the bank's terms instead of adding to them.")] = False,
) -> None:
    """Add a file's terms to a bank (created, of --category, if the team has none of that name): all of them, or
    none where a line cannot be saved (its number is said)."""
    with gateway(get_settings()) as client:
        existing = {bank.name: bank for bank in client.term_banks()}
        target = existing.get(name)
        if target is None:
            if category is None:
                raise fail(f"the team has no term bank {name!r}: give --category to make it")
            target = client.create_term_bank(TermBankRequest(name=name, category=category))
        result = client.import_terms(str(target.id), file.read_bytes(), replace)
    console.print(f"{name} ({result.bank.category}): {result.added} added, {result.duplicates} already in it; "
                  f"{result.bank.terms} terms, version {result.bank.version}")


@term_banks_app.command("export")
def term_banks_export(name: BankName) -> None:
    """Print a bank's terms as a file that imports back (`> file`, edit, `import --replace`)."""
    with gateway(get_settings()) as client:
        out.print(client.terms_file(str(_by_name(client, name).id)), end="", soft_wrap=True, highlight=False,
                  markup=False)


@term_banks_app.command("delete")
def term_banks_delete(name: BankName) -> None:
    """Remove a bank; jobs judged from then on do not match its terms."""
    with gateway(get_settings()) as client:
        client.delete_term_bank(str(_by_name(client, name).id))
    console.print(f"removed term bank {name}")


def register(app: typer.Typer) -> None:
    app.add_typer(term_banks_app, name="term-banks")
