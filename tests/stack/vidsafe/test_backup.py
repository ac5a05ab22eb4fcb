"""Backups: the stack with jobs, findings, embeddings, decisions, people, hash lists and summaries backed up and
restored into a fresh Postgres and state folder, where the counts and a similarity search give the same answers
and the thumbnails are back; a file that is not a backup is refused; the scheduled backup keeps its newest."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.helpers.support import isolated_settings, run_job, state_root
from vidsafe.db import backup
from vidsafe.db.findings import nearest_findings, vector_text
from vidsafe.db.teams import OPERATOR_TEAM_ID
from vidsafe.deploy import stack
from vidsafe.settings import Settings

FACES = '{"modules": ["faces", "known_content"]}'


@pytest.fixture(scope="module")
def fresh(running_stack: Settings) -> Iterator[Settings]:
    """A second stack's state folder and Postgres (nothing else): where a backup is restored."""
    with state_root("restored") as root:
        settings = isolated_settings(root / "state")
        stack.up(settings, names=["postgres"])
        try:
            yield settings
        finally:
            stack.down(settings)


def _nearest(settings: Settings, embedding: list[float]) -> list[tuple[str, int | None, float]]:
    with psycopg.connect(settings.effective_database_url, autocommit=True) as conn:
        return [(str(hit.job_id), hit.finding.id, round(hit.cosine_distance, 6)) for hit in
                nearest_findings(conn, "face_embeddings", OPERATOR_TEAM_ID, embedding, 20, 2.0)]


def test_a_restored_backup_holds_everything_and_answers_the_same(
        api: httpx.Client, sample_video: Path, running_stack: Settings, fresh: Settings,
        tmp_path: Path) -> None:
    job, faces = run_job(api, sample_video, FACES, module="faces")
    assert api.post(f"/v1/jobs/{job['id']}/decisions", json={"action": "approve", "policy_label": "none"}
                    ).status_code == 201
    assert api.get("/v1/people").json(), "the faces made people"
    with psycopg.connect(running_stack.effective_database_url, autocommit=True) as conn:
        embedding = [float(v) for v in conn.execute(
            "SELECT embedding::text FROM face_embeddings WHERE finding_id = %s", (faces[0]["id"],)
        ).fetchone()[0].strip("[]").split(",")]  # type: ignore[index]
    written = backup.backup(running_stack, tmp_path)
    before = backup.table_counts(running_stack.effective_database_url)
    assert all(before[table] for table in ("jobs", "findings", "face_embeddings", "people", "decisions",
                                           "frame_hashes", "job_summaries")), before

    restored = backup.restore(fresh, written)
    assert restored == before
    original, restored_hits = _nearest(running_stack, embedding), _nearest(fresh, embedding)
    assert restored_hits and [d for *_, d in restored_hits] == [d for *_, d in original]
    # Faces of copies of one video tie: each restored hit is the same face at the same distance in the original.
    with psycopg.connect(running_stack.effective_database_url, autocommit=True) as conn:
        for job_id, finding_id, distance in restored_hits:
            same = conn.execute("SELECT round((embedding <=> %s::vector)::numeric, 6)::float FROM face_embeddings "
                                "WHERE finding_id = %s AND job_id = %s",
                                (vector_text(embedding), finding_id, job_id)).fetchone()
            assert same is not None and same[0] == distance
    def thumbnails(settings: Settings) -> list[Path]:
        return sorted(p.relative_to(settings.thumbnails_dir) for p in settings.thumbnails_dir.rglob("*.jpg"))

    assert thumbnails(running_stack) and thumbnails(fresh) == thumbnails(running_stack)
    # Restoring again over the restored data replaces it: the same counts, nothing twice.
    assert backup.restore(fresh, written) == before


def test_a_file_that_is_not_a_backup_is_refused(tmp_path: Path, fresh: Settings) -> None:
    bogus = tmp_path / "not-a-backup.tar"
    bogus.write_bytes(b"hello")
    with pytest.raises(backup.BackupError, match="not a vidsafe backup"):
        backup.restore(fresh, bogus)
    refused = subprocess.run([sys.executable, "-m", "vidsafe.cli", "restore", str(bogus), "--yes"],
                             capture_output=True, text=True, env={**os.environ, **fresh.to_env()})
    assert refused.returncode == 1 and "not a vidsafe backup" in refused.stderr


def test_the_scheduled_backup_keeps_the_newest(fresh: Settings, tmp_path: Path) -> None:
    settings = fresh.model_copy(update={"backup_dir": tmp_path, "backup_interval_s": 3600.0, "backup_keep": 2})
    assert backup.scheduled_backup_due(settings)
    for stamp in ("20260101-000000", "20260102-000000", "20260103-000000"):
        (tmp_path / f"{backup.PREFIX}{stamp}.tar").write_bytes(b"")
    assert [p.name for p in backup.prune(tmp_path, settings.backup_keep)] == [f"{backup.PREFIX}20260101-000000.tar"]
    assert not backup.scheduled_backup_due(settings), "a backup less than an interval old"


def test_a_backup_that_cannot_be_written_leaves_no_file(fresh: Settings, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(*_: object, **__: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup.tarfile.TarFile, "add", disk_full)
    with pytest.raises(OSError, match="No space left"):
        backup.backup(fresh, tmp_path)
    assert list(tmp_path.iterdir()) == []
