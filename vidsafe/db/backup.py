"""Backups: the database (``pg_dump``'s custom format, from the embedded Postgres' own binaries, which also reach
an external server of version 16 or older) and the files Postgres does not hold (the videos kept for review and
the thumbnails), in one tar file; and the restore of such a file into a stack whose Postgres is running.

The scheduled backup (``backup_interval_s``) is a step of the maintenance loop; it keeps the newest
``backup_keep`` files in ``backup_dir``.
"""

from __future__ import annotations

import json
import logging
import subprocess
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from vidsafe.db.binaries import PG_BIN
from vidsafe.settings import Settings

log = logging.getLogger(__name__)

PREFIX = "vidsafe-backup-"
DUMP = "database.dump"
MANIFEST = "manifest.json"
# The tables whose row counts the manifest records, and a restore checks.
COUNTED = ("teams", "jobs", "findings", "segments", "face_embeddings", "text_embeddings", "people", "decisions",
           "hash_lists", "hash_entries", "frame_hashes", "job_summaries")


class BackupError(RuntimeError):
    """pg_dump or pg_restore failed, or the file is not a vidsafe backup; the message says which."""


def _folders(settings: Settings) -> dict[str, Path]:
    return {"uploads": settings.uploads_dir, "thumbnails": settings.thumbnails_dir}


def table_counts(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
                for table in COUNTED}


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip()[-2000:]}")


def backup(settings: Settings, target_dir: Path) -> Path:
    """Write a backup file into ``target_dir``; its path."""
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = target_dir / f"{PREFIX}{stamp}.tar"
    partial = target.with_suffix(".tar.partial")  # renamed once whole: a crash leaves no file that looks done
    with tempfile.TemporaryDirectory() as scratch:
        dump = Path(scratch) / DUMP
        _run([str(PG_BIN / "pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}",
              settings.effective_database_url], "pg_dump")
        manifest = {"created_at": datetime.now(UTC).isoformat(),
                    "counts": table_counts(settings.effective_database_url)}
        (Path(scratch) / MANIFEST).write_text(json.dumps(manifest, indent=2))
        try:
            partial.touch(mode=0o600)  # the whole database, keys' hashes and videos: its owner's alone
            partial.chmod(0o600)
            with tarfile.open(partial, "w") as archive:
                archive.add(dump, DUMP)
                archive.add(Path(scratch) / MANIFEST, MANIFEST)
                for name, folder in _folders(settings).items():
                    if folder.is_dir():
                        archive.add(folder, name)
        except BaseException:
            partial.unlink(missing_ok=True)  # a full disk or an interrupt leaves nothing behind
            raise
    partial.rename(target)
    log.info("backup written: %s (%s)", target, ", ".join(f"{n} {t}" for t, n in manifest["counts"].items()))
    return target


def restore(settings: Settings, archive_path: Path) -> dict[str, int]:
    """Restore a backup into the stack's database (its tables replaced) and state folder; the restored counts,
    checked against the backup's."""
    if not tarfile.is_tarfile(archive_path):
        raise BackupError(f"{archive_path} is not a vidsafe backup (not a tar file)")
    with tempfile.TemporaryDirectory() as scratch, tarfile.open(archive_path) as archive:
        names = archive.getnames()
        if DUMP not in names or MANIFEST not in names:
            raise BackupError(f"{archive_path} is not a vidsafe backup (no {DUMP} and {MANIFEST})")
        archive.extractall(scratch, filter="data")  # the data filter refuses links and paths out of the folder
        manifest = json.loads((Path(scratch) / MANIFEST).read_text())
        _run([str(PG_BIN / "pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
              "--single-transaction", f"--dbname={settings.effective_database_url}", str(Path(scratch) / DUMP)],
             "pg_restore")
        for name, folder in _folders(settings).items():
            restored = Path(scratch) / name
            if restored.is_dir():
                folder.mkdir(parents=True, exist_ok=True)
                for path in restored.rglob("*"):
                    if path.is_file():
                        (folder / path.relative_to(restored)).parent.mkdir(parents=True, exist_ok=True)
                        path.replace(folder / path.relative_to(restored))
    counts = table_counts(settings.effective_database_url)
    if counts != manifest["counts"]:
        raise BackupError(f"restored counts differ from the backup's: {counts} != {manifest['counts']}")
    return counts


def prune(target_dir: Path, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` backups; the files removed."""
    backups = sorted(target_dir.glob(f"{PREFIX}*.tar"))
    removed = backups[:-keep] if keep > 0 else backups
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def scheduled_backup_due(settings: Settings) -> bool:
    """Whether the newest backup in backup_dir is older than backup_interval_s (0: never)."""
    if not settings.backup_interval_s:
        return False
    newest = max((p.stat().st_mtime for p in settings.effective_backup_dir.glob(f"{PREFIX}*.tar")), default=0.0)
    return time.time() - newest >= settings.backup_interval_s
