"""``vidsafe backup`` and ``vidsafe restore``: the database and the kept videos and thumbnails, in one file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidsafe.cli.output import console, fail
from vidsafe.db import backup as backups
from vidsafe.settings import get_settings


def backup(to: Annotated[Path | None, typer.Option(help="Folder to write into. Unset: VIDSAFE_BACKUP_DIR "
                                                   "(state_dir/backups).")] = None) -> None:
    """Back up the stack: its database (pg_dump) with the videos kept for review and the thumbnails."""
    settings = get_settings()
    try:
        written = backups.backup(settings, to or settings.effective_backup_dir)
    except backups.BackupError as error:
        raise fail(str(error)) from None
    console.print(f"backup written: {written} ({written.stat().st_size / 1e6:.1f} MB)")


def restore(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A `vidsafe backup` file.")],
            yes: Annotated[bool, typer.Option("--yes", help="Replace the stack's data without asking.")] = False,
            ) -> None:
    """Restore a backup into this stack (its Postgres running; its data replaced), then check the counts."""
    if not yes:
        typer.confirm(f"replace this stack's jobs, findings and files with those of {file.name}?", abort=True)
    try:
        counts = backups.restore(get_settings(), file)
    except backups.BackupError as error:
        raise fail(str(error)) from None
    console.print("restored: " + ", ".join(f"{count} {table}" for table, count in counts.items()))


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)
