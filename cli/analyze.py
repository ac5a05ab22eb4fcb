"""``vidsafe analyze``, ``sample``, ``demo``: one video through the stack, and the bundled sample."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from vidsafe.catalogue import Module
from vidsafe.cli.output import console, fail, gateway, out, print_coverage, print_summary, progress
from vidsafe.cli.stack import start_stack
from vidsafe.client import GatewayClient, GatewayError
from vidsafe.domain.findings import Segment
from vidsafe.domain.jobs import Job
from vidsafe.domain.teams import Scope
from vidsafe.export.sample_video import SAMPLE_SCENES, SAMPLE_SPEECH, make_sample_video
from vidsafe.settings import Settings, get_settings


def upload(client: GatewayClient, video: Path, params: dict[str, str]) -> Job:
    """Upload ``video`` with a progress bar (raises GatewayError if refused)."""
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(f"upload {escape(video.name)}", total=video.stat().st_size)
        return client.upload(video, params, on_progress=lambda sent: bar.advance(task, sent))


def follow(client: GatewayClient, job_id: str, timeout_s: float) -> Job:
    """The job once it has ended, with a progress bar meanwhile."""
    deadline = time.monotonic() + timeout_s
    with progress() as bar:
        task = bar.add_task("queued", total=1.0)
        while True:
            job = client.job(job_id)
            step = f", {job.step}" if job.step and not job.status.is_final else ""
            bar.update(task, completed=job.progress,
                       description=f"{job.status}{step} ({job.frames_analyzed} frames)")
            if job.status.is_final:
                return job
            if time.monotonic() > deadline:
                raise fail(f"job {job_id} did not finish within {timeout_s:.0f} s (status {job.status})")
            time.sleep(0.5)


def _print_report(video: Path, job: Job, segments: list[Segment], settings: Settings) -> None:
    media = job.media
    described = (f"{media.duration_s:.1f} s, {media.width}x{media.height} {media.codec}"
                 f"{', with audio' if media.has_audio else ''}") if media else "no media information"
    out.print(f"[bold]{video.name}[/]: {described}; {job.frames_analyzed} frames analysed at "
              f"{job.options.sample_fps or settings.sample_fps:g} fps")
    print_coverage(job)
    if not segments:
        out.print("no findings" + (" in what could be analysed" if job.warnings else ""))
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


def analyze(
    video: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The video file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the job and its findings as JSON.")] = False,
    start: Annotated[bool, typer.Option(help="Start the local stack if the gateway does not answer.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the analysis.")] = 3600.0,
) -> None:
    """Analyse one video through the stack and print its findings."""
    settings = get_settings()
    with GatewayClient(settings.gateway_url) as probe:
        answers = probe.ready()
    if not answers:
        if not start:
            raise fail(f"no gateway at {settings.gateway_url}; run `vidsafe up`")
        console.print("starting the local stack ...")
        start_stack()
    with gateway(settings) as client:
        try:
            uploaded = upload(client, video, {"start": "true"})  # queued at once, even where jobs wait by default
        except GatewayError as error:
            raise fail(f"the gateway refused {video.name} ({error.status} {error.code}): {error.message}") from None
        job = follow(client, str(uploaded.id), timeout)
        findings = client.findings(str(job.id)).findings
        segments = client.segments(str(job.id)).segments
        off = [module for module in client.modules() if not module.available]
    if as_json:
        print(json.dumps({"job": job.model_dump(mode="json"), "segments": [s.model_dump(mode="json") for s in segments],
                          "findings": [f.model_dump(mode="json") for f in findings]}, indent=2))
    elif job.status != "succeeded":
        why = f": {job.error_code}: {job.error_message}" if job.error_code else ""
        raise fail(f"job {job.id} {job.status}{why}")
    else:
        _print_report(video, job, segments, settings)
        with gateway(settings) as client:
            print_summary(client, str(job.id))
        for module in off:
            console.print(f"[yellow]{module.module} is off[/]: {module.how_to_enable}")
        console.print(f"findings as JSON: {settings.gateway_url}/v1/jobs/{job.id}/findings", soft_wrap=True)
    if job.status != "succeeded":
        raise typer.Exit(1)


def sample(path: Annotated[Path, typer.Argument(help="Where to write the sample video.")] = Path("sample.mp4")) -> None:
    """Write the bundled sample video (scikit-image's photos, a caption, a sentence spoken by espeak-ng)."""
    make_sample_video(path)
    console.print(f"wrote {path}")


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
    with gateway(settings) as client:
        # A key of the review scope only, for the UI: the CLI's own key is an admin's.
        reviewer = client.create_key(f"demo-reviewer-{secrets.token_hex(4)}", [Scope.review])
    console.print(f"\nReview it in the UI: {settings.ui_url} , signing in with the key [bold]{reviewer.secret}[/] "
                  f"(reviewer {reviewer.key.name}; `vidsafe keys revoke {reviewer.key.name}` ends it)", soft_wrap=True)
    console.print(f"The stack keeps running: API docs {settings.gateway_url}/docs, "
                  f"`vidsafe status`, logs in {settings.logs_dir}; `vidsafe down` stops it.")


def register(app: typer.Typer) -> None:
    for command in (analyze, sample, demo):
        app.command()(command)
