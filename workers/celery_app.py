"""The Celery worker: ``celery -A vidsafe.workers.celery_app worker`` (the launcher starts it)."""

from __future__ import annotations

import logging
import os
from typing import Any
from uuid import UUID

from vidsafe.settings import get_settings

settings = get_settings()
# The prefork pool's metrics: each pool process writes its own files in this folder, and the main process
# serves their sum (see vidsafe/observability.py). prometheus_client picks this mode when it is first
# imported, so the folder is named before the imports below bring it in.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(settings.state_dir / "metrics" / "worker"))
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

import psycopg  # noqa: E402
from celery.signals import celeryd_after_setup, setup_logging, worker_init  # noqa: E402

from vidsafe import observability  # noqa: E402
from vidsafe.db.migrate import apply_migrations  # noqa: E402
from vidsafe.queue import (  # noqa: E402
    PLAN_JOB_TASK,
    REJUDGE_TEAM_TASK,
    REMATCH_LIST_TASK,
    RUN_PART_TASK,
    SUMMARIZE_JOB_TASK,
    make_celery,
    send_part,
    send_plan,
    send_summary,
)
from vidsafe.workers.parts import run_part  # noqa: E402
from vidsafe.workers.planning import plan_job  # noqa: E402
from vidsafe.workers.rejudging import rejudge_team  # noqa: E402
from vidsafe.workers.rematching import rematch_list  # noqa: E402
from vidsafe.workers.summaries import summary_task  # noqa: E402

app = make_celery(settings)


@setup_logging.connect
def _logging(loglevel: int | None = None, **_: Any) -> None:
    """Celery leaves logging to us when this signal has a receiver: its own loggers go through ours."""
    observability.setup_logging(settings, "worker", level=loglevel or logging.INFO)


@worker_init.connect
def _migrate(**_: Any) -> None:
    apply_migrations(settings.effective_database_url)


@celeryd_after_setup.connect
def _serve_metrics(**_: Any) -> None:
    # In the main process, once logging is set up and before the pool forks.
    observability.serve_worker_metrics(settings)


def _send_part(job_id: UUID, kind: str, index: int, priority: int) -> None:
    send_part(app, job_id, kind, index, priority)


def _send_summary(job_id: UUID) -> None:
    send_summary(app, job_id)


# A task that finds Postgres down is sent again with backoff instead of dropped (its part would otherwise
# wait for the maintenance loop's resend_pending_after_s); a part already under way waits for the database
# itself (workers/parts.py).
RETRY_WHILE_DATABASE_DOWN: dict[str, Any] = {
    "autoretry_for": (psycopg.OperationalError,), "retry_backoff": 1, "retry_backoff_max": 30,
    "retry_jitter": True, "max_retries": None,
}


# A job whose team already runs its limit of jobs is planned again this much later.
TEAM_SLOT_RECHECK_S = 5.0


@app.task(name=PLAN_JOB_TASK, **RETRY_WHILE_DATABASE_DOWN)
def plan_job_task(job_id: str, priority: int) -> None:
    with observability.job_context(job_id):
        if not plan_job(UUID(job_id), priority, settings, _send_part):
            send_plan(app, UUID(job_id), priority, countdown_s=TEAM_SLOT_RECHECK_S)


@app.task(name=RUN_PART_TASK, **RETRY_WHILE_DATABASE_DOWN)
def run_part_task(job_id: str, kind: str, index: int, priority: int) -> None:
    with observability.job_context(job_id):
        run_part(UUID(job_id), kind, index, priority, settings, _send_part, _send_summary)


@app.task(name=REMATCH_LIST_TASK, **RETRY_WHILE_DATABASE_DOWN)
def rematch_list_task(team_id: str, list_id: str) -> None:
    rematch_list(UUID(team_id), UUID(list_id), settings, _send_summary)


@app.task(name=REJUDGE_TEAM_TASK, **RETRY_WHILE_DATABASE_DOWN)
def rejudge_team_task(team_id: str, run_id: str) -> None:
    rejudge_team(UUID(team_id), UUID(run_id), settings, _send_summary)


@app.task(name=SUMMARIZE_JOB_TASK, **RETRY_WHILE_DATABASE_DOWN)
def summarize_job_task(job_id: str) -> None:
    with observability.job_context(job_id):
        summary_task(UUID(job_id), settings)
