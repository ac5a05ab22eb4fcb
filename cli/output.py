"""How the CLI talks to a person: messages and errors on stderr, tables and reports on stdout, progress bars."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from vidsafe.apikeys import local_key_path
from vidsafe.client import GatewayClient, GatewayError, GatewayUnreachable
from vidsafe.domain.jobs import Job, JobStatus
from vidsafe.domain.summaries import SummaryState
from vidsafe.settings import Settings

console = Console(stderr=True)  # messages, errors, progress
out = Console()  # what a command answers: tables, reports

_STATUS_STYLE = {JobStatus.pending: "dim", JobStatus.queued: "cyan", JobStatus.running: "blue",
                 JobStatus.paused: "yellow", JobStatus.cancelled: "magenta", JobStatus.succeeded: "green",
                 JobStatus.failed: "red"}


def fail(message: str) -> typer.Exit:
    """Print ``message`` as an error; the caller raises what this returns (exit status 1)."""
    console.print(f"[red]error:[/] {escape(message)}")
    return typer.Exit(1)


def print_event(name: str, event: str) -> None:
    console.print(f"  [bold]{name:<11}[/] {event}")


def api_key(settings: Settings) -> str:
    if settings.api_key:
        return settings.api_key.get_secret_value()
    path = local_key_path(settings)
    if not path.exists():
        raise fail(f"no API key: set VIDSAFE_API_KEY, or run `vidsafe up`, which issues one in {path}")
    return path.read_text().strip()


@contextmanager
def gateway(settings: Settings) -> Iterator[GatewayClient]:
    """A client of this stack's gateway (sending the CLI's API key); a refusal or no answer ends the command
    with its code and message."""
    try:
        with GatewayClient(settings.gateway_url, api_key(settings), team=settings.team) as client:
            yield client
    except GatewayUnreachable as error:
        raise fail(f"{error}; is the stack up (`vidsafe up`)?") from None
    except GatewayError as error:
        raise fail(str(error)) from None


def progress() -> Progress:
    """A transient progress bar on stderr, for following a job or a batch."""
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TimeElapsedColumn())
    return Progress(*columns, console=console, transient=True)


def print_coverage(job: Job) -> None:
    """How much of the video the job analysed, and its warnings: a partial analysis is never shown as complete."""
    if job.coverage is not None:
        cov = job.coverage
        gaps = "; undecodable " + ", ".join(f"{r.start_s:.1f}-{r.end_s:.1f} s" for r in cov.undecodable) \
            if cov.undecodable else ""
        skipped = f", {cov.packets_skipped} corrupt packets skipped" if cov.packets_skipped else ""
        out.print(f"coverage {cov.share:.0%}: {cov.frames_analyzed} of {cov.frames_expected} frames{skipped}{gaps}")
    for warning in job.warnings:
        out.print(f"[yellow]warning {warning.code}[/]: {escape(warning.message)}")


def status(value: JobStatus) -> str:
    return f"[{_STATUS_STYLE[value]}]{value}[/]"


def when(timestamp: datetime) -> str:
    return f"{timestamp.astimezone():%Y-%m-%d %H:%M:%S}"


def id_column(header: str) -> Column:
    """Ids are what one copies into the next command: never cut or wrapped."""
    return Column(header, no_wrap=True, min_width=36)


def jobs_table(jobs: list[Job], title: str | None = None) -> Table:
    table = Table(id_column("job"), "video", Column("status", no_wrap=True, min_width=9), "prio", "done", "error",
                  title=title)
    for job in jobs:
        table.add_row(str(job.id), escape(job.source_name), status(job.status), str(job.priority),
                      f"{job.progress:.0%}", job.error_code or "")
    return table


SUMMARY_WAIT_S = 120.0  # an LLM's summary is made in the background; the report waits this long for it


def print_summary(client: GatewayClient, job_id: str) -> None:
    """The job's summary, waiting up to SUMMARY_WAIT_S for one being made."""
    deadline = time.monotonic() + SUMMARY_WAIT_S
    try:
        record = client.summary(job_id)
        while record.state == SummaryState.queued and time.monotonic() < deadline:
            time.sleep(1.0)
            record = client.summary(job_id)
    except GatewayError as error:
        console.print(f"[yellow]no summary[/]: {error.message}")
        return
    made_by = record.provider + (f" {record.model}" if record.model else "")
    if record.state == SummaryState.failed:
        console.print(f"[yellow]the summary by {made_by} failed[/]: {record.error}")
    elif record.state == SummaryState.queued:
        console.print(f"the summary by {made_by} is still being made: `vidsafe job summary {job_id}` later")
    if record.summary is None:
        return
    summary = record.summary
    out.print(f"[bold]summary[/] ({made_by}): {summary.headline}")
    out.print(f"  suggested action: [bold]{summary.suggested_action}[/]: {summary.rationale}")
