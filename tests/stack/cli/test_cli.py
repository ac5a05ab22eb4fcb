"""The `vidsafe` command as a user runs it."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path

import httpx

from tests.helpers.cli import vidsafe_cli
from tests.helpers.support import make_team
from vidsafe.settings import Settings


def test_analyze_prints_findings_as_json(running_stack: Settings, sample_video: Path) -> None:
    result = vidsafe_cli(running_stack, "analyze", str(sample_video), "--json", "--no-start")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["job"]["status"] == "succeeded"
    assert {f["label"] for f in report["findings"]} >= {"FACE_FEMALE"}


def test_analyze_prints_a_readable_summary(running_stack: Settings, sample_video: Path) -> None:
    result = vidsafe_cli(running_stack, "analyze", str(sample_video), "--no-start")
    assert result.returncode == 0, result.stderr
    assert "FACE_FEMALE" in result.stdout and "3.0-" in result.stdout and "24 frames analysed" in result.stdout


def test_analyze_reports_a_refused_file(running_stack: Settings, tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    result = vidsafe_cli(running_stack, "analyze", str(text), "--no-start")
    assert result.returncode == 1
    assert "not a readable video" in result.stderr


def _in_ingest_root(settings: Settings, video: Path) -> Path:
    """A copy of ``video`` where server-side path jobs may name it (a link would resolve outside the root)."""
    copy = settings.ingest_roots[0] / f"cli-{uuid.uuid4().hex[:8]}.mp4"
    shutil.copy(video, copy)
    return copy


def test_batch_waits_until_started_then_runs_to_the_end(running_stack: Settings, sample_video: Path,
                                                        api: httpx.Client) -> None:
    paths = [_in_ingest_root(running_stack, sample_video) for _ in range(2)]
    created = vidsafe_cli(running_stack, "batch", "create", "cli batch", "--path", str(paths[0]), "--path",
                       str(paths[1]), "--paused")
    assert created.returncode == 0, created.stderr
    found = re.search(r"batch ([0-9a-f-]{36})", created.stdout)
    assert found, created.stdout
    batch_id = found[1]
    assert created.stdout.count("pending") == 2 and "refused" not in created.stdout
    waiting = vidsafe_cli(running_stack, "job", "list", "--batch", batch_id, "--status", "pending")
    assert all(path.name in waiting.stdout for path in paths), waiting.stdout

    started = vidsafe_cli(running_stack, "batch", "start", batch_id)
    assert started.returncode == 0, started.stderr
    assert "start: 2 changed" in started.stderr
    watched = vidsafe_cli(running_stack, "batch", "show", batch_id, "--watch")
    assert watched.returncode == 0, watched.stderr
    assert "2 succeeded" in watched.stdout and "100%" in watched.stdout

    job_id = api.get(f"/v1/batches/{batch_id}/jobs").json()[0]["id"]
    refused = vidsafe_cli(running_stack, "job", "start", job_id)
    assert refused.returncode == 1
    assert "invalid_state (409)" in refused.stderr and "cannot start a job that is succeeded" in refused.stderr


def test_job_control_is_kept_in_the_audit_trail(running_stack: Settings, sample_video: Path,
                                                api: httpx.Client) -> None:
    path = _in_ingest_root(running_stack, sample_video)
    created = api.post("/v1/jobs/from-path", json={"path": str(path), "start": False})
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    paused = vidsafe_cli(running_stack, "job", "pause", job_id)
    assert paused.returncode == 0, paused.stderr
    assert f"job {job_id}: paused" in paused.stderr
    assert vidsafe_cli(running_stack, "job", "priority", job_id, "8").returncode == 0

    shown = vidsafe_cli(running_stack, "job", "show", job_id)
    assert shown.returncode == 0, shown.stderr
    trail = shown.stdout.split("audit trail", 1)[1].splitlines()
    rows = [line for line in trail if "local-cli-" in line]
    assert len(rows) == 3, shown.stdout  # created pending, paused, priority 8: each by the CLI's key
    assert "pending" in rows[1] and "paused" in rows[1] and "pause" in rows[1]
    assert " 8 " in rows[2]
    assert vidsafe_cli(running_stack, "job", "cancel", job_id).returncode == 0


def test_webhook_secret_is_made_shown_once_and_rotated(running_stack: Settings, api: httpx.Client) -> None:
    make_team(running_stack, api, "cli-webhooks", {})
    acting = running_stack.model_copy(update={"team": "cli-webhooks"})  # the operator's key, acting for the team
    assert "has no webhook secret" in vidsafe_cli(acting, "webhook-secret", "show").stdout
    first = vidsafe_cli(acting, "webhook-secret", "rotate")
    assert first.returncode == 0 and first.stdout.strip().startswith("whsec_"), first.stderr
    second = vidsafe_cli(acting, "webhook-secret", "rotate", "--keep-previous", "600")
    assert second.stdout.strip() != first.stdout.strip()
    shown = vidsafe_cli(acting, "webhook-secret", "show").stdout
    assert "the one before it signs too until" in shown and "whsec_" not in shown
