"""Which modules a deployment serves and which a job runs (vidsafe/serving.py), from the catalogue and the
settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidsafe.catalogue import Module
from vidsafe.domain.errors import ErrorCode, MediaError
from vidsafe.domain.jobs import JobOptions
from vidsafe.serving import job_min_scores, module_statuses, resolve_modules, served_entries
from vidsafe.settings import Settings

EVERY_SERVED = {Module.nudity, Module.ocr, Module.faces, Module.speech, Module.pose, Module.restraint,
                Module.text_embeddings, Module.text, Module.shots, Module.known_content}


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    # An empty model repository: CLIP (optional) is not exported, the others are served as the catalogue says.
    return Settings(model_repository=tmp_path, **overrides)


def test_a_job_runs_every_served_module_unless_it_names_its_own(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert resolve_modules(JobOptions(), settings) == EVERY_SERVED
    assert resolve_modules(JobOptions(modules=[Module.ocr]), settings) == {Module.ocr}
    chosen = _settings(tmp_path, default_modules=["nudity", "speech"])
    assert resolve_modules(JobOptions(), chosen) == {Module.nudity, Module.speech}


def test_a_module_brings_what_it_needs(tmp_path: Path) -> None:
    assert resolve_modules(JobOptions(modules=[Module.restraint]), _settings(tmp_path)) == {Module.restraint,
                                                                                           Module.pose}


def test_asking_for_what_is_not_served_says_how_to_enable_it(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as refused:
        resolve_modules(JobOptions(modules=[Module.clip]), _settings(tmp_path))
    assert refused.value.code == ErrorCode.module_unavailable and "VIDSAFE_CLIP_CHECKPOINT" in refused.value.message
    only_nudity = _settings(tmp_path, served_modules=["nudity"])
    with pytest.raises(MediaError) as refused:
        resolve_modules(JobOptions(modules=[Module.restraint]), only_nudity)
    assert "serve the pose model" in refused.value.message and "pose (" in refused.value.message


def test_served_modules_limit_what_is_available(tmp_path: Path) -> None:
    settings = _settings(tmp_path, served_modules=["nudity", "pose"])
    assert [e.module for e in served_entries(settings)] == [Module.nudity, Module.pose]
    available = {s.module for s in module_statuses(settings) if s.available}
    assert available == {Module.nudity, Module.pose, Module.restraint, Module.shots, Module.known_content}
    with pytest.raises(KeyError, match="restraint"):
        served_entries(_settings(tmp_path, served_modules=["restraint"]))  # a rule: no models of its own


def test_a_jobs_thresholds_are_its_own_then_the_settings_then_the_catalogues(tmp_path: Path) -> None:
    settings = _settings(tmp_path, min_scores={"ocr": 0.9})
    scores = job_min_scores(JobOptions(min_scores={Module.nudity: 0.4}), settings)
    assert scores[Module.nudity] == 0.4 and scores[Module.ocr] == 0.9
    assert scores[Module.restraint] == 0.5, "a setting that leaves a module out keeps the catalogue's default"
    assert scores[Module.shots] == 0.0 and set(scores) == set(Module)
