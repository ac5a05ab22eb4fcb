"""Server-side paths (vidsafe/media/ingest.py): only regular files inside the team's roots, by their real path, and
one answer for every other path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vidsafe.domain.errors import ErrorCode, MediaError
from vidsafe.media.ingest import ingested_path, team_ingest_roots
from vidsafe.settings import Settings


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    """A team's root holding a video, and another team's folder beside it holding theirs."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.mkdir()
    theirs.mkdir()
    (ours / "clip.mp4").write_bytes(b"ours")
    (theirs / "secret.mp4").write_bytes(b"theirs")
    return ours, theirs


def _refusal(path: str | Path, root: Path) -> str:
    with pytest.raises(MediaError) as raised:
        ingested_path(path, [root])
    assert raised.value.code == ErrorCode.path_not_allowed
    return raised.value.message.replace(str(path), "<path>")


def test_a_file_inside_the_root_is_taken_by_its_real_path(roots: tuple[Path, Path]) -> None:
    ours, _ = roots
    assert ingested_path(ours / "clip.mp4", [ours]) == (ours / "clip.mp4").resolve()
    (ours / "sub").mkdir()
    (ours / "sub" / "alias.mp4").symlink_to(ours / "clip.mp4")  # a link inside the root, to a file inside it
    assert ingested_path(str(ours / "sub" / ".." / "clip.mp4"), [ours]) == (ours / "clip.mp4").resolve()


def test_every_other_path_gets_the_same_answer(roots: tuple[Path, Path]) -> None:
    ours, theirs = roots
    (ours / "link.mp4").symlink_to(theirs / "secret.mp4")  # a final symlink out of the root
    (ours / "door").symlink_to(theirs)  # a folder symlink out of it
    os.mkfifo(ours / "pipe.mp4")
    (ours / "folder.mp4").mkdir()
    answers = {_refusal(path, ours) for path in (
        theirs / "secret.mp4", theirs / "missing.mp4", ours / "missing.mp4", ours / "link.mp4",
        ours / "door" / "secret.mp4", ours / "pipe.mp4", ours / "folder.mp4", f"{ours}/../theirs/secret.mp4",
        "clip.mp4", "/etc/passwd")}
    assert len(answers) == 1, answers


def test_a_team_has_its_own_roots_and_the_operator_the_deployments_too(tmp_path: Path) -> None:
    settings = Settings(ingest_roots=[tmp_path / "all"], team_ingest_roots={"trust": [tmp_path / "trust"]})
    assert team_ingest_roots(settings, "trust", operator=False) == [tmp_path / "trust"]
    assert team_ingest_roots(settings, "other", operator=False) == []
    assert team_ingest_roots(settings, "default", operator=True) == [tmp_path / "all"]
    with pytest.raises(MediaError, match="no ingest roots"):
        ingested_path(tmp_path / "x.mp4", [])
