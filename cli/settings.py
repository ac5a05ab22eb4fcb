"""``vidsafe settings``: every setting, its environment variable, value and meaning."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vidsafe.cli.output import out
from vidsafe.settings import PROJECT_ROOT, Settings, get_settings


def settings_markdown() -> str:
    """The README's settings table (defaults, with the home and project folders written as ~ and <repo>)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = str(field.get_default(call_default_factory=True))
        shown = default.replace(str(Path.home()), "~").replace(str(PROJECT_ROOT), "<repo>")
        lines.append(f"| `VIDSAFE_{name.upper()}` | `{shown}` | {field.description or ''} |")
    return "\n".join(lines)


def settings(
    markdown: Annotated[bool, typer.Option(help="Print the README's reference table.")] = False,
) -> None:
    """Show every setting with its environment variable, value and meaning."""
    if markdown:
        print(settings_markdown())
        return
    current = get_settings()
    table = Table("variable", "value", "meaning")
    for name, field in Settings.model_fields.items():
        table.add_row(f"VIDSAFE_{name.upper()}", str(getattr(current, name)), field.description or "")
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("settings")(settings)
