"""The `vidsafe` command as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from vidsafe.settings import Settings

VIDSAFE = [sys.executable, "-m", "deploy.cli"]


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


def test_settings_reference_lists_every_setting() -> None:
    result = _vidsafe(Settings(), "settings", "--markdown")
    assert result.returncode == 0
    for name in Settings.model_fields:
        assert f"`VIDSAFE_{name.upper()}`" in result.stdout


def test_models_list_shows_the_catalogue_with_licences() -> None:
    result = _vidsafe(Settings(), "models", "list")
    assert result.returncode == 0
    assert "nudity_detector" in result.stdout and "AGPL-3.0" in result.stdout
