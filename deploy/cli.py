"""``vidsafe``: set up, run and use the local stack from a terminal."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import psycopg
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn
from rich.progress_bar import ProgressBar
from rich.table import Column, Table

from deploy import stack
from deploy.sample_video import SAMPLE_SCENES, SAMPLE_SPEECH, make_sample_video
from vidsafe.apikeys import API_KEY_HEADER, issue_key, local_key_path
from vidsafe.catalogue import is_exported, load_catalogue, served_entries
from vidsafe.db import queries
from vidsafe.domain import JobStatus, Module, Scope, Segment
from vidsafe.settings import Settings, get_settings

app = typer.Typer(help="vidsafe: self-hosted video content analysis for trust-and-safety review.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
models_app = typer.Typer(help="The model catalogue.", no_args_is_help=True)
app.add_typer(models_app, name="models")
keys_app = typer.Typer(help="API keys (an admin's tool: talks to the database directly).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
batch_app = typer.Typer(help="Batches: videos submitted, followed and controlled together.", no_args_is_help=True)
app.add_typer(batch_app, name="batch")
job_app = typer.Typer(help="Jobs: follow and control one video's analysis.", no_args_is_help=True)
app.add_typer(job_app, name="job")
console = Console(stderr=True)


def _print_event(name: str, event: str) -> None:
    console.print(f"  [bold]{name:<11}[/] {event}")


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/] {escape(message)}")
    return typer.Exit(1)


# ---- set-up and stack ----------------------------------------------------------------------------

def _apt_install(package: str) -> None:
    """apt-get install, refreshing the package lists first when a fresh machine has none yet."""
    command = ["apt-get", "install", "-y", "-q", package]
    if subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


@app.command()
def setup() -> None:
    """Prepare this machine: Redis, the model files, tritonserver and the models' Python environment."""
    from deploy import tritonserver
    from export.models import export_models

    settings = get_settings()
    if settings.redis_url is None and shutil.which("redis-server") is None:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise _fail("redis-server is missing: install it (e.g. `sudo apt-get install redis-server`) "
                        "or set REDIS_URL to an existing Redis")
        console.print("installing redis-server (apt-get) ...")
        _apt_install("redis-server")
    if shutil.which("espeak-ng") is None:
        if os.geteuid() == 0 and shutil.which("apt-get"):
            console.print("installing espeak-ng (apt-get), which speaks the sample video's sentence ...")
            _apt_install("espeak-ng")
        else:
            console.print("[yellow]espeak-ng is missing[/]: the sample video will have no speech "
                          "(`sudo apt-get install espeak-ng` adds it)")
    console.print("exporting models (pinned, hash-checked) ...")
    for path in export_models(settings):
        console.print(f"  {path.relative_to(settings.model_repository)}")
    console.print("unpacking tritonserver ...")
    install = tritonserver.ensure_tritonserver(settings)
    console.print(f"  {install.binary}")
    console.print("preparing the models' Python environment ...")
    console.print(f"  {tritonserver.ensure_model_env(settings)}")
    console.print("[green]set-up complete[/]")


@app.command()
def up(attach: Annotated[bool, typer.Option(help="Stay in the foreground; Ctrl-C stops the stack.")] = False) -> None:
    """Start the local stack (Postgres, Redis, Triton, worker, maintenance loop, gateway); wait until it is healthy."""
    settings = get_settings()
    try:
        stack.up(settings, on_event=_print_event)
    except stack.StackError as error:
        raise _fail(str(error)) from None
    except KeyboardInterrupt:
        raise _fail("interrupted: stopped what had been started") from None
    console.print(f"[green]stack up[/]: API {settings.gateway_url}/docs, logs in {settings.logs_dir}")
    if attach:
        try:
            while all(row.state in ("running", "external") for row in stack.status(settings)):
                time.sleep(2)
            console.print("[red]a service stopped[/]; stopping the stack")
        except KeyboardInterrupt:
            pass
        stack.down(settings, on_event=_print_event)


@app.command()
def down() -> None:
    """Stop everything the local stack started."""
    stopped = stack.down(get_settings(), on_event=_print_event)
    console.print(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")


@app.command()
def status() -> None:
    """Show each service of the local stack, its state and address."""
    table = Table("service", "state", "pid", "address", "log")
    colour = {"running": "green", "external": "cyan", "stopped": "dim", "unhealthy": "red"}
    for row in stack.status(get_settings()):
        table.add_row(row.name, f"[{colour[row.state]}]{row.state}[/]", str(row.pid or ""), row.address,
                      str(row.log or ""))
    Console().print(table)


# ---- analysis ------------------------------------------------------------------------------------

def _multipart_body(path: Path, boundary: str, progress: Progress, task: int) -> Iterator[bytes]:
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
           "Content-Type: application/octet-stream\r\n\r\n").encode()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            progress.advance(task, len(chunk))
            yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def _gateway_client() -> httpx.Client:
    """A client of this stack's gateway that sends the CLI's API key."""
    settings = get_settings()
    return httpx.Client(base_url=settings.gateway_url, timeout=60, headers={API_KEY_HEADER: _api_key(settings)})


def _send(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        return client.request(method, path, **kwargs)
    except httpx.TransportError as error:
        raise _fail(f"no answer from the gateway at {client.base_url} ({error}); is the stack up (`vidsafe up`)?") \
            from None


def _refusal(response: httpx.Response) -> tuple[str, str]:
    """The code and message of a gateway error: {"detail": {"code", "message"}}, or FastAPI's own shapes."""
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    if isinstance(detail, dict):
        return str(detail.get("code", response.status_code)), str(detail.get("message", detail))
    if isinstance(detail, list):  # request validation: [{"loc": [...], "msg": ...}, ...]
        return "invalid_request", "; ".join(str(error.get("msg", error)) for error in detail)
    return str(response.status_code), str(detail)


def _call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    """One gateway request and its JSON answer; a refusal prints its code and message and exits 1."""
    response = _send(client, method, path, **kwargs)
    if response.is_error:
        code, message = _refusal(response)
        raise _fail(f"{code} ({response.status_code}): {message}")
    return response.json()


def _upload(client: httpx.Client, video: Path, params: dict[str, str]) -> httpx.Response:
    boundary = uuid.uuid4().hex
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"upload {escape(video.name)}", total=video.stat().st_size)
        return _send(client, "POST", "/v1/jobs", params=params,
                     content=_multipart_body(video, boundary, progress, task),
                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


def _progress() -> Progress:
    """A transient progress bar on stderr, for following a job or a batch."""
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TimeElapsedColumn())
    return Progress(*columns, console=console, transient=True)


def _follow(client: httpx.Client, job_id: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    with _progress() as progress:
        task = progress.add_task("queued", total=1.0)
        while True:
            job = _call(client, "GET", f"/v1/jobs/{job_id}")
            progress.update(task, completed=job["progress"],
                            description=f"{job['status']} ({job['frames_analyzed']} frames)")
            if JobStatus(job["status"]).is_final:
                return job
            if time.monotonic() > deadline:
                raise _fail(f"job {job_id} did not finish within {timeout_s:.0f} s (status {job['status']})")
            time.sleep(0.5)


def _print_report(video: Path, job: dict, segments: list[Segment], settings: Settings) -> None:
    out = Console()
    media = job.get("media") or {}
    out.print(f"[bold]{video.name}[/]: {media.get('duration_s', 0):.1f} s, {media.get('width')}x{media.get('height')} "
              f"{media.get('codec')}{', with audio' if media.get('has_audio') else ''}; {job['frames_analyzed']} "
              f"frames analysed at {job['options'].get('sample_fps') or settings.sample_fps:g} fps")
    if not segments:
        out.print("no findings")
        return
    table = Table("module", "label", "when (s)", "max", "mean", "n", title="findings, grouped into segments")
    for segment in sorted(segments, key=lambda s: (s.module, s.start_s)):
        if segment.module == Module.speech:
            continue
        table.add_row(segment.module, segment.label, f"{segment.start_s:.1f}-{segment.end_s:.1f}",
                      f"{segment.max_score:.2f}", f"{segment.mean_score:.2f}", str(segment.count))
    out.print(table)
    speech = [s for s in segments if s.module == Module.speech]
    if speech:
        out.print("[bold]transcript[/]")
        for segment in speech:
            out.print(f"  {segment.start_s:5.1f}-{segment.end_s:5.1f} s  {segment.label.removeprefix('speech: ')}")


@app.command()
def analyze(
    video: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The video file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the job and its findings as JSON.")] = False,
    start: Annotated[bool, typer.Option(help="Start the local stack if the gateway does not answer.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the analysis.")] = 3600.0,
) -> None:
    """Analyse one video through the stack and print its findings."""
    settings = get_settings()
    with httpx.Client(base_url=settings.gateway_url, timeout=60) as client:
        if not _gateway_answers(client):
            if not start:
                raise _fail(f"no gateway at {settings.gateway_url}; run `vidsafe up`")
            console.print("starting the local stack ...")
            try:
                stack.up(settings, on_event=_print_event)
            except stack.StackError as error:
                raise _fail(str(error)) from None
        client.headers[API_KEY_HEADER] = _api_key(settings)
        uploaded = _upload(client, video, {"start": "true"})  # queued at once, even where jobs wait by default
        if uploaded.is_error:
            code, message = _refusal(uploaded)
            raise _fail(f"the gateway refused {video.name} ({uploaded.status_code} {code}): {message}")
        job = _follow(client, uploaded.json()["id"], timeout)
        findings = _call(client, "GET", f"/v1/jobs/{job['id']}/findings")["findings"]
        segments = _call(client, "GET", f"/v1/jobs/{job['id']}/segments")["segments"]
        off = [m for m in _call(client, "GET", "/v1/modules") if not m["available"]]
    if as_json:
        print(json.dumps({"job": job, "segments": segments, "findings": findings}, indent=2))
    elif job["status"] != "succeeded":
        why = f": {job['error_code']}: {job['error_message']}" if job["error_code"] else ""
        raise _fail(f"job {job['id']} {job['status']}{why}")
    else:
        _print_report(video, job, [Segment.model_validate(s) for s in segments], settings)
        for module in off:
            console.print(f"[yellow]{module['module']} is off[/]: {module['how_to_enable']}")
        console.print(f"findings as JSON: {settings.gateway_url}/v1/jobs/{job['id']}/findings", soft_wrap=True)
    if job["status"] != "succeeded":
        raise typer.Exit(1)


def _api_key(settings: Settings) -> str:
    if settings.api_key:
        return settings.api_key
    path = local_key_path(settings)
    if not path.exists():
        raise _fail(f"no API key: set VIDSAFE_API_KEY, or run `vidsafe up`, which issues one in {path}")
    return path.read_text().strip()


def _gateway_answers(client: httpx.Client) -> bool:
    try:
        return client.get("/readyz").status_code == 200
    except httpx.HTTPError:
        return False


@app.command()
def sample(path: Annotated[Path, typer.Argument(help="Where to write the sample video.")] = Path("sample.mp4")) -> None:
    """Write the bundled sample video (scikit-image's photos, a caption, a sentence spoken by espeak-ng)."""
    make_sample_video(path)
    console.print(f"wrote {path}")


@app.command()
def demo() -> None:
    """Generate the sample video, analyse it on the local stack, and say where to look next."""
    settings = get_settings()
    video = make_sample_video(settings.state_dir / "sample" / "sample.mp4")
    console.print(f"sample video: {video}")
    for scene in SAMPLE_SCENES:
        caption = f', caption "{scene.caption}"' if scene.caption else ""
        console.print(f"  {scene.start_s:4.1f}-{scene.end_s:4.1f} s  {scene.photo}{caption}")
    console.print(f'  from {SAMPLE_SPEECH.start_s:.1f} s  spoken: "{SAMPLE_SPEECH.sentence}"')
    analyze(video)
    console.print(f"\nThe stack keeps running: API docs {settings.gateway_url}/docs, "
                  f"`vidsafe status`, logs in {settings.logs_dir}; `vidsafe down` stops it.")


# ---- batches and jobs ----------------------------------------------------------------------------

_STATUS_STYLE = {JobStatus.pending: "dim", JobStatus.queued: "cyan", JobStatus.running: "blue",
                 JobStatus.paused: "yellow", JobStatus.cancelled: "magenta", JobStatus.succeeded: "green",
                 JobStatus.failed: "red"}
# The control actions: what each does to a job, and to a batch (each of its jobs the action fits).
_ACTIONS = {
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


def _status(status: str) -> str:
    return f"[{_STATUS_STYLE[JobStatus(status)]}]{status}[/]"


def _counts(batch: dict) -> str:
    return ", ".join(f"{batch['counts'][s]} {s}" for s in JobStatus if batch["counts"].get(s)) or "no jobs"


def _batch_ended(batch: dict) -> bool:
    return sum(n for status, n in batch["counts"].items() if JobStatus(status).is_final) == batch["jobs"]


def _when(timestamp: str) -> str:
    return f"{datetime.fromisoformat(timestamp).astimezone():%Y-%m-%d %H:%M:%S}"


def _id_column(header: str) -> Column:
    """Ids are what one copies into the next command: never cut or wrapped."""
    return Column(header, no_wrap=True, min_width=36)


def _jobs_table(jobs: list[dict], title: str | None = None) -> Table:
    table = Table(_id_column("job"), "video", Column("status", no_wrap=True, min_width=9), "prio", "done", "error",
                  title=title)
    for job in jobs:
        table.add_row(job["id"], escape(job["source_name"]), _status(job["status"]), str(job["priority"]),
                      f"{job['progress']:.0%}", job["error_code"] or "")
    return table


def _watch_batch(client: httpx.Client, batch_id: str) -> dict:
    with _progress() as progress:
        task = progress.add_task("", total=1.0)
        while True:
            batch = _call(client, "GET", f"/v1/batches/{batch_id}")
            progress.update(task, completed=batch["progress"], description=_counts(batch))
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
    url: Annotated[list[str] | None, typer.Option(help="An http(s) URL the server downloads; repeat for "
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
    with _gateway_client() as client:
        created = _call(client, "POST", "/v1/batches", json=body)
        batch, jobs, refused = created["batch"], created["jobs"], created["errors"]
        for video in videos or []:
            response = _upload(client, video, {"batch_id": batch["id"]})
            if response.is_error:
                code, message = _refusal(response)
                refused.append({"item": str(video), "code": code, "message": message})
            else:
                jobs.append(response.json())
    out = Console()
    out.print(f"batch {batch['id']} ({escape(batch['name'])})")
    out.print(_jobs_table(jobs, title="jobs"))
    if refused:
        table = Table("item", "code", "why", title="refused")
        for item in refused:
            table.add_row(escape(item["item"]), f"[red]{item['code']}[/]", escape(item["message"]))
        out.print(table)
    waiting = any(job["status"] == JobStatus.pending for job in jobs)
    console.print(f"`vidsafe batch {'start' if waiting else 'show'} {batch['id']}{'' if waiting else ' --watch'}` "
                  f"{'starts it' if waiting else 'follows it'}", soft_wrap=True)


@batch_app.command("list")
def batch_list(limit: Limit = 50) -> None:
    """The batches, newest first, with their progress and jobs per status."""
    with _gateway_client() as client:
        batches = _call(client, "GET", "/v1/batches", params={"limit": limit})
    table = Table(_id_column("batch"), "name", "created", "prio", "done", "jobs")
    for batch in batches:
        table.add_row(batch["id"], escape(batch["name"]), _when(batch["created_at"]), str(batch["priority"]),
                      f"{batch['progress']:.0%}", _counts(batch))
    Console().print(table)


@batch_app.command("show")
def batch_show(
    batch_id: Target,
    watch: Annotated[bool, typer.Option(help="Follow it until every job has ended; exit 1 if one failed.")] = False,
) -> None:
    """A batch: its jobs per status, its progress, and each job."""
    with _gateway_client() as client:
        batch = _watch_batch(client, batch_id) if watch else _call(client, "GET", f"/v1/batches/{batch_id}")
        jobs = _call(client, "GET", f"/v1/batches/{batch_id}/jobs")
    out = Console()
    out.print(f"[bold]batch {batch['id']}[/] ({escape(batch['name'])}), priority {batch['priority']}, created "
              f"{_when(batch['created_at'])}")
    summary = Table.grid(padding=(0, 1))
    summary.add_row(ProgressBar(total=1.0, completed=batch["progress"], width=40), f"{batch['progress']:.0%}",
                    _counts(batch))
    out.print(summary)
    out.print(_jobs_table(jobs))
    if watch and batch["counts"].get(JobStatus.failed):
        raise typer.Exit(1)


@batch_app.command("priority")
def batch_priority(batch_id: Target, priority: NewPriority) -> None:
    """Set the priority of a batch and of each of its jobs."""
    with _gateway_client() as client:
        batch = _call(client, "PUT", f"/v1/batches/{batch_id}/priority", json={"priority": priority})
    console.print(f"batch {batch['id']}: priority {batch['priority']}")


@job_app.command("list")
def job_list(
    status: Annotated[JobStatus | None, typer.Option(help="Only jobs in this status.")] = None,
    batch: Annotated[str | None, typer.Option(help="Only the jobs of this batch.")] = None,
    limit: Limit = 50,
) -> None:
    """Jobs, newest first."""
    params = {"status": status, "batch_id": batch, "limit": limit}
    with _gateway_client() as client:
        jobs = _call(client, "GET", "/v1/jobs", params={k: v for k, v in params.items() if v is not None})
    Console().print(_jobs_table(jobs))


@job_app.command("show")
def job_show(job_id: Target) -> None:
    """A job: status, progress, error, and its audit trail (each change of status or priority, by whom, why)."""
    with _gateway_client() as client:
        job = _call(client, "GET", f"/v1/jobs/{job_id}")
        events = _call(client, "GET", f"/v1/jobs/{job_id}/events")
    out = Console()
    batch = f", batch {job['batch_id']}" if job["batch_id"] else ""
    out.print(f"[bold]job {job['id']}[/] ({escape(job['source_name'])}): {_status(job['status'])}, "
              f"{job['progress']:.0%}, {job['frames_analyzed']} frames, priority {job['priority']}{batch}")
    if job["error_code"]:
        retry = f" (retryable: `vidsafe job retry {job['id']}`)" if job["retryable"] else ""
        out.print(f"[red]{job['error_code']}[/]: {escape(job['error_message'] or '')}{retry}")
    table = Table("when", "from", "to", "priority", "by", "why", title="audit trail")
    for event in events:
        table.add_row(_when(event["at"]), event["from_status"] or "", _status(event["to_status"]),
                      str(event["priority"]), escape(event["actor"]), escape(event["reason"] or ""))
    out.print(table)


@job_app.command("priority")
def job_priority(job_id: Target, priority: NewPriority) -> None:
    """Set a job's priority; work it has queued is sent again at the new one."""
    with _gateway_client() as client:
        job = _call(client, "PUT", f"/v1/jobs/{job_id}/priority", json={"priority": priority})
    console.print(f"job {job['id']}: priority {job['priority']}")


def _control(resource: str, action: str, target: str, from_scratch: bool = False) -> None:
    """Apply ``action`` to a job or a batch (``resource``: "jobs" or "batches") and say what it changed."""
    with _gateway_client() as client:
        answer = _call(client, "POST", f"/v1/{resource}/{target}/{action}", params={"from_scratch": from_scratch})
    if resource == "jobs":
        console.print(f"job {answer['id']}: {_status(answer['status'])}")
    else:
        console.print(f"batch {target}: {action}: {len(answer['changed'])} changed, {answer['skipped']} skipped; "
                      f"now {_counts(answer['batch'])}")


def _control_command(resource: str, action: str) -> Callable[..., None]:
    """The CLI command of one control action on a job or a batch (only retry takes --from-scratch)."""
    if action == "retry":
        def retry(target: Target, from_scratch: FromScratch = False) -> None:
            _control(resource, action, target, from_scratch)
        return retry

    def command(target: Target) -> None:
        _control(resource, action, target)
    return command


for _action, (_job_help, _batch_help) in _ACTIONS.items():
    job_app.command(_action, help=_job_help)(_control_command("jobs", _action))
    batch_app.command(_action, help=_batch_help)(_control_command("batches", _action))


# ---- catalogue, export, settings -----------------------------------------------------------------

@models_app.command("list")
def models_list(
    markdown: Annotated[bool, typer.Option(help="Print the README's catalogue table.")] = False,
) -> None:
    """Print the model catalogue: module, source, licence, and whether each model is exported and served."""
    settings = get_settings()
    entries = list(load_catalogue().values())
    if markdown:
        print("| model | module | task | source | licence | Triton models |\n|---|---|---|---|---|---|")
        for entry in entries:
            licence = f"**{entry.licence}**: {entry.licence_note}" if entry.licence_note else entry.licence
            files = ", ".join(f"`{f.member}` (`{f.sha256[:12]}`)" for f in entry.files)
            print(f"| `{entry.name}` | {entry.module} | {entry.task} | [{entry.package}=={entry.version}]"
                  f"({entry.upstream}): {files} | {licence} | {', '.join(entry.components)} |")
        return
    served = {entry.name for entry in served_entries(settings.model_repository, settings.models)}
    table = Table("model", "module", "source", "licence", "exported", "served")
    for entry in entries:
        licence = entry.licence if entry.licence.startswith(("MIT", "Apache")) else f"[yellow]{entry.licence}[/]"
        exported = is_exported(entry, settings.model_repository)
        table.add_row(entry.name, entry.module, f"{entry.package}=={entry.version}", licence,
                      "yes" if exported else "[red]no[/]", "yes" if entry.name in served else "no")
    Console().print(table)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="A unique name: who or what uses the key.")],
    scope: Annotated[list[Scope], typer.Option(help="submit, review or admin; repeat for several.")],
) -> None:
    """Issue an API key. It is printed once; only its hash is stored."""
    with psycopg.connect(get_settings().effective_database_url, autocommit=True) as conn:
        try:
            record, key = issue_key(conn, name, scope)
        except psycopg.errors.UniqueViolation:
            raise _fail(f"a key named {name!r} exists: revoke it or choose another name") from None
    console.print(f"key {record.name} ({', '.join(record.scopes)}), shown once:")
    print(key)


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (names, prefixes, scopes, use); never the keys themselves."""
    with psycopg.connect(get_settings().effective_database_url, autocommit=True) as conn:
        records = queries.list_api_keys(conn)
    table = Table("name", "prefix", "scopes", "created", "last used", "revoked")
    for record in records:
        table.add_row(record.name, f"vsk_{record.prefix}_...", ", ".join(record.scopes),
                      f"{record.created_at:%Y-%m-%d %H:%M}",
                      f"{record.last_used_at:%Y-%m-%d %H:%M}" if record.last_used_at else "",
                      f"{record.revoked_at:%Y-%m-%d %H:%M}" if record.revoked_at else "")
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke an API key: it stops working at once."""
    with psycopg.connect(get_settings().effective_database_url, autocommit=True) as conn:
        if not queries.revoke_api_key(conn, name):
            raise _fail(f"no live key named {name!r}")
    console.print(f"revoked {name}")


@app.command("export")
def export_command(
    names: Annotated[list[str] | None, typer.Argument(help="Catalogue names; default all.")] = None,
    gpu: Annotated[bool, typer.Option(help="Also serialize the gpu profile's DALI pipelines (model.dali).")] = False,
) -> None:
    """Fetch and verify model files and write them into the model repository."""
    from export.models import export_models
    from export.packages import ExportError

    settings = get_settings()
    try:
        paths = export_models(settings, names or None)
    except (KeyError, ExportError) as error:
        raise _fail(str(error).strip("'\"")) from None
    if gpu:
        from export.dali import serialize_dali_pipelines

        paths += serialize_dali_pipelines(settings)
    for path in paths:
        console.print(f"exported {path}")


@app.command("settings")
def settings_command(
    markdown: Annotated[bool, typer.Option(help="Print the README's reference table.")] = False,
) -> None:
    """Show every setting with its environment variable, value and meaning."""
    current = get_settings()
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        rows.append((f"VIDSAFE_{name.upper()}", str(default), str(getattr(current, name)), field.description or ""))
    if markdown:
        print("| variable | default | meaning |\n|---|---|---|")
        for variable, default, _, meaning in rows:
            shown = default.replace(str(Path.home()), "~").replace(str(Path(__file__).resolve().parents[1]), "<repo>")
            print(f"| `{variable}` | `{shown}` | {meaning} |")
        return
    table = Table("variable", "value", "meaning")
    for variable, _, value, meaning in rows:
        table.add_row(variable, value, meaning)
    Console().print(table)


if __name__ == "__main__":
    app()
