"""``vidsafe hash-lists ...``: the team's lists of known violating content (PDQ and vPDQ hashes), through the
gateway (``/v1/hash-lists``), and the vPDQ hash of a local video, to put on a list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vidsafe.cli.output import console, fail, gateway, out
from vidsafe.client import GatewayClient
from vidsafe.domain.hash_lists import HashList
from vidsafe.domain.requests import HashListRequest
from vidsafe.hash_lists import vpdq_signal
from vidsafe.settings import get_settings

hash_lists_app = typer.Typer(help="Hash lists of known content: import ThreatExchange/HMA/CSV files, list, remove; "
                         "hash a video.", no_args_is_help=True)
ListName = Annotated[str, typer.Argument(help="The list's name (unique within the team).")]
Format = Annotated[str, typer.Option("--format", help="auto, threatexchange-csv, csv or lines.")]


def _by_name(client: GatewayClient, name: str) -> HashList:
    for found in client.hash_lists():
        if found.name == name:
            return found
    raise fail(f"the team has no hash list named {name!r} (`vidsafe hash-lists list`)")


@hash_lists_app.command("list")
def hash_lists_list() -> None:
    """The team's lists: hashes, and the state of re-matching past jobs after the last import."""
    with gateway(get_settings()) as client:
        lists = client.hash_lists()
    table = Table("name", "hashes", "default label", "re-matching", "past jobs", "matched", "updated")
    for found in lists:
        counts = ["-" if n is None else str(n) for n in (found.rematched_jobs, found.matched_jobs)]
        table.add_row(found.name, str(found.entries), found.default_label, str(found.rematch_state or "-"), *counts,
                      f"{found.updated_at:%Y-%m-%d %H:%M}")
    out.print(table)


@hash_lists_app.command("import")
def hash_lists_import(name: ListName, file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
                  list_format: Format = "auto",
                  label: Annotated[str, typer.Option(help="Label of hashes the file gives none (a new list's).")]
                  = "known_content") -> None:
    """Add a file's hashes to a list (created if the team has none of that name); past jobs are then re-matched
    in the background."""
    with gateway(get_settings()) as client:
        existing = {found.name: found for found in client.hash_lists()}
        target = existing.get(name) or client.create_hash_list(HashListRequest(name=name, default_label=label))
        result = client.import_hashes(str(target.id), file.read_bytes(), list_format)
    skipped = "".join(f", {count} {kind} skipped (not matched by vidsafe)" for kind, count in result.skipped.items())
    console.print(f"{name}: {result.added} added, {result.duplicates} already listed{skipped}; re-matching past "
                  f"jobs: {result.list.rematch_state or 'nothing new'}")


@hash_lists_app.command("delete")
def hash_lists_delete(name: ListName) -> None:
    """Remove a list; its matches leave past jobs in the background."""
    with gateway(get_settings()) as client:
        client.delete_hash_list(str(_by_name(client, name).id))
    console.print(f"removed hash list {name}")


@hash_lists_app.command("video")
def hash_lists_video(video: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
                 label: Annotated[str | None, typer.Option(help="Print a CSV row (signal_type,signal,label) "
                                                          "to import, with this label.")] = None,
                 fps: Annotated[float, typer.Option(min=0.1, max=30, help="Frames hashed per second.")] = 1.0) -> None:
    """Print a local video's vPDQ hash (ThreatExchange's VPDQSignal), to put the video on a list."""
    from vidsafe.media.hashing import video_hashes  # decoding's imports kept off the other commands' start

    signal = vpdq_signal(video_hashes(video, get_settings(), fps))
    if label is None:
        out.print(signal, soft_wrap=True, highlight=False)
    else:
        out.print("signal_type,signal,label", highlight=False)
        out.print(f'vpdq,"{signal.replace(chr(34), chr(34) * 2)}",{label}', soft_wrap=True, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(hash_lists_app, name="hash-lists")
    # The group's name until 0.1: kept, hidden, so scripts that call it go on working.
    app.add_typer(hash_lists_app, name="hashes", hidden=True, deprecated=True)
