"""Server-side paths on the real stack (issue 25): each team names files under its own ingest roots only; a path
elsewhere gets the answer a missing file gets; a file swapped for a symlink after submission is refused when a
worker comes to read it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import INGEST_TEAMS
from tests.helpers.support import make_team, wait_for_job
from vidsafe.settings import Settings

NUDITY = {"modules": ["nudity"]}


@pytest.fixture(scope="module")
def teams(running_stack: Settings, api: httpx.Client) -> Iterator[dict[str, httpx.Client]]:
    clients = {name: make_team(running_stack, api, name, {"k": ["submit", "review"]}).client("k")
               for name in INGEST_TEAMS}
    yield clients
    for client in clients.values():
        client.close()


def _folder(settings: Settings, team: str) -> Path:
    return settings.team_ingest_roots[team][0]


def test_a_team_names_only_files_in_its_own_folder_and_learns_nothing_of_others(
        running_stack: Settings, teams: dict[str, httpx.Client], sample_video: Path) -> None:
    a, b = INGEST_TEAMS
    theirs = _folder(running_stack, b) / "private.mp4"
    shutil.copy(sample_video, theirs)
    shutil.copy(sample_video, _folder(running_stack, a) / "own.mp4")
    own = teams[a].post("/v1/jobs/from-path", json={"path": str(_folder(running_stack, a) / "own.mp4"),
                                                    "start": False})
    assert own.status_code == 201, own.text
    answers = []
    for path in (theirs, theirs.with_name("absent.mp4"), running_stack.ingest_roots[0] / "x.mp4", "/etc/passwd"):
        refused = teams[a].post("/v1/jobs/from-path", json={"path": str(path)})
        answers.append((refused.status_code, refused.json()["detail"]["code"],
                        refused.json()["detail"]["message"].replace(str(path), "<path>")))
    assert len(set(answers)) == 1 and answers[0][:2] == (404, "path_not_allowed"), answers
    teams[a].post(f"/v1/jobs/{own.json()['id']}/cancel").raise_for_status()


def test_a_file_swapped_for_a_symlink_after_submission_is_refused_when_read(
        running_stack: Settings, teams: dict[str, httpx.Client], sample_video: Path) -> None:
    a, b = INGEST_TEAMS
    ours = _folder(running_stack, a) / "swapped.mp4"
    theirs = _folder(running_stack, b) / "target.mp4"
    shutil.copy(sample_video, ours)
    shutil.copy(sample_video, theirs)
    created = teams[a].post("/v1/jobs/from-path", json={"path": str(ours), "options": NUDITY, "start": False})
    assert created.status_code == 201, created.text
    ours.unlink()
    ours.symlink_to(theirs)
    teams[a].post(f"/v1/jobs/{created.json()['id']}/start").raise_for_status()
    job = wait_for_job(teams[a], created.json()["id"])
    assert (job["status"], job["error_code"]) == ("failed", "path_not_allowed"), job
    assert theirs.exists(), "the other team's file is untouched"
