"""The Celery worker: ``celery -A workers.celery_app worker`` (the launcher starts it)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from celery.signals import worker_init

from vidsafe.db.migrate import apply_migrations
from vidsafe.queue import ANALYZE_VIDEO_TASK, make_celery
from vidsafe.settings import get_settings
from workers.pipeline import analyze_job

settings = get_settings()
app = make_celery(settings)


@worker_init.connect
def _migrate(**_: Any) -> None:
    apply_migrations(settings.effective_database_url)


@app.task(name=ANALYZE_VIDEO_TASK)
def analyze_video(job_id: str) -> None:
    analyze_job(UUID(job_id), settings)
