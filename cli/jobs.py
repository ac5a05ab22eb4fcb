"""``vidsafe job ...`` and ``vidsafe batch ...``: follow and control jobs, one by one or as a batch."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table

from vidsafe.cli.analyze import upload
from vidsafe.cli.output import (
    console,
    gateway,
    id_column,
    jobs_table,
    out,
    print_coverage,
    print_summary,
    progress,
    status,
    when,
)
from vidsafe.client import GatewayClient, GatewayError
from vidsafe.domain.batches import Batch
from vidsafe.domain.jobs import JobStatus
from vidsafe.settings import get_settings

batch_app = typer.Typer(help="Batches: videos submitted, followed and controlled together.", no_args_is_help=True)
job_app = typer.Typer(help="Jobs: follow and control one video's analysis.", no_args_is_help=True)

# The control actions: what each does to a job, and to a batch (each of its jobs the action fits).
ACTIONS = {
    "start": ("Start a pending job: it is queued.", "Start the batch's pending jobs."),
    "pause": ("Pause a pending, queued or running job; its finished chunks are kept.",
              "Pause the batch's pending, queued and running jobs."),
    "resume": ("Resume a paused job from its finished chunks.", "Resume the batch's paused jobs."),
    "cancel": ("Cancel a job that has not ended.", "Cancel the batch's jobs that have not ended."),
    "retry": ("Retry a failed or cancelled job from its finished chunks (--from-scratch: from the start, which "
              "may also redo a job that succeeded).",
              "Retry the batch's failed jobs from their finished chunks (--from-scratch: every ended job, from the "
              "start)."),
}
Target = Annotated[str, typer.Argument(metavar="ID", help="The id, as `list` shows it.")]
FromScratch = Annotated[bool, typer.Option("--from-scratch", help="Start over: drop the finished chunks and their "
                                           "findings.")]
NewPriority = Annotated[int, typer.Argument(min=0, max=9, help="0..9; higher runs first.")]
Limit = Annotated[int, typer.Option(min=1, max=500, help="At most this many, newest first.")]


def _counts(batch: Batch) -> str:
    return ", ".join(f"{batch.counts[s]} {s}" for s in JobStatus if batch.counts.get(s)) or "no jobs"


def _batch_ended(batch: Batch) -> bool:
    return sum(n for state, n in batch.counts.items() if state.is_final) == batch.jobs


def _watch_batch(client: GatewayClient, batch_id: str) -> Batch:
    with progress() as bar:
        task = bar.add_task("", total=1.0)
        while True:
            batch = client.batch(batch_id)
            bar.update(task, completed=batch.progress, description=_counts(batch))
            if _batch_ended(batch):
                return batch
            time.sleep(1)


@batch_app.command("create")
def batch_create(
    name: Annotated[str, typer.Argument(help="A name to know the batch by.")],
    videos: Annotated[list[Path] | None, typer.Argument(exists=True, dir_okay=False, readable=True,
                                                        help="Local videos, uploaded into the batch.")] = None,
    path: Annotated[list[str] | None, typer.Option(help="A video on the server, inside VIDSAFE_INGEST_ROOTS; "
                                                   "repeat for several.")] = None,
    url: Annotated[list[str] | None, typer.Option(help="An http(s) URL a worker downloads; repeat for "
                                                  "several.")] = None,
    priority: Annotated[int | None, typer.Option(min=0, max=9, help="0..9, higher runs first; default 5.")] = None,
    paused: Annotated[bool | None, typer.Option("--paused/--start", help="Jobs wait in pending until `vidsafe "
                                                "batch start`, or are queued at once. Default: "
                                                "VIDSAFE_AUTO_PROCESS.")] = None,
    callback_url: Annotated[str | None, typer.Option(help="Receives each job's signed end event.")] = None,
) -> None:
    """Create a batch of local videos, server-side paths and URLs; print its jobs and the items refused."""
    body: dict[str, Any] = {"name": name, "paths": path or [], "urls": url or [], "callback_url": callback_url}
    if priority is not None:
        body["priority"] = priority
    if paused is not None:
        body["auto_start"] = not paused
    with gateway(get_settings()) as client:
        created = client.create_batch(body)
        batch, jobs = created.batch, created.jobs
        refused = [(error.item, error.code, error.message) for error in created.errors]
        for video in videos or []:
            try:
                jobs.append(upload(client, video, {"batch_id": str(batch.id)}))
            except GatewayError as error:
                refused.append((str(video), error.code, error.message))
    out.print(f"batch {batch.id} ({escape(batch.name)})")
    out.print(jobs_table(jobs, title="jobs"))
    if refused:
        table = Table("item", "code", "why", title="refused")
        for item, code, message in refused:
            table.add_row(escape(item), f"[red]{code}[/]", escape(message))
        out.print(table)
    waiting = any(job.status == JobStatus.pending for job in jobs)
    console.print(f"`vidsafe batch {'start' if waiting else 'show'} {batch.id}{'' if waiting else ' --watch'}` "
                  f"{'starts it' if waiting else 'follows it'}", soft_wrap=True)


@batch_app.command("list")
def batch_list(limit: Limit = 50) -> None:
    """The batches, newest first, with their progress and jobs per status."""
    with gateway(get_settings()) as client:
        batches = client.batches(limit)
    table = Table(id_column("batch"), "name", "created", "prio", "done", "jobs")
    for batch in batches:
        table.add_row(str(batch.id), escape(batch.name), when(batch.created_at), str(batch.priority),
                      f"{batch.progress:.0%}", _counts(batch))
    out.print(table)


@batch_app.command("show")
def batch_show(
    batch_id: Target,
    watch: Annotated[bool, typer.Option(help="Follow it until every job has ended; exit 1 if one failed.")] = False,
) -> None:
    """A batch: its jobs per status, its progress, and each job."""
    with gateway(get_settings()) as client:
        batch = _watch_batch(client, batch_id) if watch else client.batch(batch_id)
        jobs = client.batch_jobs(batch_id)
    out.print(f"[bold]batch {batch.id}[/] ({escape(batch.name)}), priority {batch.priority}, created "
              f"{when(batch.created_at)}")
    summary = Table.grid(padding=(0, 1))
    summary.add_row(ProgressBar(total=1.0, completed=batch.progress, width=40), f"{batch.progress:.0%}",
                    _counts(batch))
    out.print(summary)
    out.print(jobs_table(jobs))
    if watch and batch.counts.get(JobStatus.failed):
        raise typer.Exit(1)


@batch_app.command("priority")
def batch_priority(batch_id: Target, priority: NewPriority) -> None:
    """Set the priority of a batch and of each of its jobs."""
    with gateway(get_settings()) as client:
        batch = client.set_batch_priority(batch_id, priority)
    console.print(f"batch {batch.id}: priority {batch.priority}")


@job_app.command("list")
def job_list(
    status_filter: Annotated[JobStatus | None, typer.Option("--status", help="Only jobs in this status.")] = None,
    batch: Annotated[str | None, typer.Option(help="Only the jobs of this batch.")] = None,
    limit: Limit = 50,
) -> None:
    """Jobs, newest first."""
    with gateway(get_settings()) as client:
        jobs = client.jobs(status_filter, batch, limit)
    out.print(jobs_table(jobs))


@job_app.command("show")
def job_show(job_id: Target) -> None:
    """A job: status, progress, error, and its audit trail (each change of status or priority, by whom, why)."""
    with gateway(get_settings()) as client:
        job = client.job(job_id)
        events = client.events(job_id)
    batch = f", batch {job.batch_id}" if job.batch_id else ""
    step = f" ({job.step})" if job.step and not job.status.is_final else ""
    out.print(f"[bold]job {job.id}[/] ({escape(job.source_name)}): {status(job.status)}{step}, "
              f"{job.progress:.0%}, {job.frames_analyzed} frames, priority {job.priority}{batch}")
    if job.error_code:
        retry = f" (retryable: `vidsafe job retry {job.id}`)" if job.retryable else ""
        out.print(f"[red]{job.error_code}[/]: {escape(job.error_message or '')}{retry}")
    print_coverage(job)
    table = Table("when", "from", "to", "priority", "by", "why", title="audit trail")
    for event in events:
        table.add_row(when(event.at), event.from_status or "", status(event.to_status), str(event.priority),
                      escape(event.actor), escape(event.reason or ""))
    out.print(table)


@job_app.command("summary")
def job_summary(job_id: Target, again: Annotated[bool, typer.Option(
        "--again", help="Make it again (with the configured provider), and wait for it.")] = False) -> None:
    """A succeeded job's summary for its reviewer: what was found, where, the risk, a suggested action."""
    with gateway(get_settings()) as client:
        if again:
            client.regenerate_summary(job_id)
        print_summary(client, job_id)


@job_app.command("priority")
def job_priority(job_id: Target, priority: NewPriority) -> None:
    """Set a job's priority; work it has queued is sent again at the new one."""
    with gateway(get_settings()) as client:
        job = client.set_job_priority(job_id, priority)
    console.print(f"job {job.id}: priority {job.priority}")


def _control_job(action: str, target: str, from_scratch: bool) -> None:
    with gateway(get_settings()) as client:
        job = client.control_job(target, action, from_scratch)
    console.print(f"job {job.id}: {status(job.status)}")


def _control_batch(action: str, target: str, from_scratch: bool) -> None:
    with gateway(get_settings()) as client:
        result = client.control_batch(target, action, from_scratch)
    console.print(f"batch {target}: {action}: {len(result.changed)} changed, {result.skipped} skipped; "
                  f"now {_counts(result.batch)}")


def _control_command(control: Callable[[str, str, bool], None], action: str) -> Callable[..., None]:
    """The CLI command of one control action on a job or a batch (only retry takes --from-scratch)."""
    if action == "retry":
        def retry(target: Target, from_scratch: FromScratch = False) -> None:
            control(action, target, from_scratch)
        return retry

    def command(target: Target) -> None:
        control(action, target, False)
    return command


for _action, (_job_help, _batch_help) in ACTIONS.items():
    job_app.command(_action, help=_job_help)(_control_command(_control_job, _action))
    batch_app.command(_action, help=_batch_help)(_control_command(_control_batch, _action))


def register(app: typer.Typer) -> None:
    app.add_typer(batch_app, name="batch")
    app.add_typer(job_app, name="job")
