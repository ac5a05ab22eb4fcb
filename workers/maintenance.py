"""The maintenance loop: ``python -m vidsafe.workers.maintenance`` (the launcher's ``maintenance`` service).

Every ``maintenance_interval_s`` it
- sends again the parts whose worker died (lease run out) and those whose task message was lost, and the
  queued jobs whose plan message was lost (Postgres says what is left to do; a duplicate task is a no-op);
- hands due webhook events to the sender (``workers/webhook_delivery.py``), which delivers them on threads of
  its own, retrying with backoff up to ``webhook_max_attempts``;
- removes files in the uploads folder that no live job needs (crashed uploads, media of ended jobs whose
  worker died before removing it, retained media of failures past ``failed_media_retention_s``).

Each step stands on its own: one whose dependency is down (Redis for the resends, a receiver for the
webhooks) is logged and tried again next round, and does not keep the others from running. Each is safe to run
from several places at once, so a second loop (another host) does no harm.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
from celery import Celery
from kombu.exceptions import OperationalError as QueueUnreachable

from vidsafe.db import backup, jobs, parts, retention
from vidsafe.db.migrate import apply_migrations
from vidsafe.observability import setup_logging
from vidsafe.queue import make_celery, send_part, send_plan
from vidsafe.settings import Settings, get_settings
from vidsafe.workers.webhook_delivery import WebhookSender

log = logging.getLogger(__name__)


@dataclass
class Report:
    resent: list[str] = field(default_factory=list)
    webhooks_started: int = 0
    removed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # steps that failed this round


def resend_lost_work(conn: psycopg.Connection, queue: Celery, settings: Settings, report: Report) -> None:
    for job_id, kind, index, priority in parts.expired(conn, settings.resend_pending_after_s):
        log.warning("job %s: sending part %s %s again (its worker stopped renewing it, or its task was lost)",
                    job_id, kind, index)
        try:
            send_part(queue, job_id, kind, index, priority)
        except QueueUnreachable as error:
            # Marked unsent, the part goes at a later round rather than resend_pending_after_s later.
            parts.unsent(conn, job_id, [(kind, index)])
            log.warning("the queue is unreachable (%s); part %s %s of job %s waits for the next round",
                        error, kind, index, job_id)
            continue
        report.resent.append(f"{job_id}:{kind}:{index}")
    for job_id, priority in jobs.stale_queued_jobs(conn, settings.resend_pending_after_s):
        log.warning("job %s: queued for long with no worker on it; sending it again", job_id)
        try:
            send_plan(queue, job_id, priority)
        except QueueUnreachable as error:
            # stale_queued_jobs marked it resent now: it comes up again after resend_pending_after_s.
            log.warning("the queue is unreachable (%s); job %s is sent again later", error, job_id)
            continue
        report.resent.append(f"{job_id}:plan")


def sweep_orphans(conn: psycopg.Connection, settings: Settings, report: Report) -> None:
    if not settings.uploads_dir.is_dir():
        return
    live = retention.live_media_paths(conn, settings.failed_media_retention_s)
    oldest = time.time() - settings.orphan_min_age_s
    for path in settings.uploads_dir.rglob("*"):  # each team's folder, and files of before teams had folders
        try:
            if str(path) in live or not path.is_file() or path.stat().st_mtime > oldest:
                continue
            path.unlink()
        except FileNotFoundError:
            continue
        log.info("removed orphan file %s", path.name)
        report.removed.append(path.name)


def scheduled_backup(settings: Settings) -> None:
    """The backup every ``backup_interval_s``, the newest ``backup_keep`` kept."""
    if not backup.scheduled_backup_due(settings):
        return
    written = backup.backup(settings, settings.effective_backup_dir)
    removed = backup.prune(settings.effective_backup_dir, settings.backup_keep)
    log.info("scheduled backup %s; %d old ones removed", written.name, len(removed))


def run_once(settings: Settings, queue: Celery, sender: WebhookSender | None = None) -> Report:
    """One round of every step; a step that fails is logged and does not stop the others. Without a ``sender``
    (a round run on its own), the round's webhook deliveries are waited for."""
    report = Report()
    own_sender = sender is None
    sender = sender or WebhookSender(settings)
    try:
        _run_steps(settings, queue, sender, report)
    finally:
        if own_sender:
            sender.close()
    return report


def _run_steps(settings: Settings, queue: Celery, sender: WebhookSender, report: Report) -> None:
    with psycopg.connect(settings.effective_database_url, autocommit=True, connect_timeout=5) as conn:
        def send_webhooks() -> None:
            report.webhooks_started = sender.send_due(conn)

        steps = {"resend lost work": lambda: resend_lost_work(conn, queue, settings, report),
                 "deliver webhooks": send_webhooks,
                 "sweep orphan files": lambda: sweep_orphans(conn, settings, report),
                 "scheduled backup": lambda: scheduled_backup(settings)}
        for name, step in steps.items():
            try:
                step()
            except psycopg.OperationalError:
                raise  # no step can run without the database: the round ends, the next one tries again
            except Exception as error:
                log.warning("maintenance: %s failed this round: %s", name, error)
                report.failed.append(name)


def main() -> None:
    settings = get_settings()
    setup_logging(settings, "maintenance")
    stop = threading.Event()

    def on_signal(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    apply_migrations(settings.effective_database_url)
    queue = make_celery(settings)
    log.info("maintenance loop every %.1f s", settings.maintenance_interval_s)
    sender = WebhookSender(settings)
    while not stop.is_set():
        try:
            run_once(settings, queue, sender)
        except Exception as error:  # a dependency down: the next round tries again
            log.warning("maintenance round failed: %s", error)
        stop.wait(settings.maintenance_interval_s)
    sender.close()


if __name__ == "__main__":
    main()
