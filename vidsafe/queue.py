"""The queue contract between the gateway (producer) and the workers (consumers).

Both sides build their Celery app here, so task names and broker settings cannot drift apart.
The gateway only sends tasks by name and never imports worker code.
"""

from __future__ import annotations

from celery import Celery

from vidsafe.settings import Settings

ANALYZE_VIDEO_TASK = "vidsafe.analyze_video"
VIDEO_QUEUE = "videos"


def make_celery(settings: Settings) -> Celery:
    app = Celery("vidsafe", broker=settings.effective_redis_url)
    app.conf.update(
        task_default_queue=VIDEO_QUEUE,
        # Results live in Postgres; Celery's own result store is not used.
        task_ignore_result=True,
        # Long video tasks: acknowledge only when done and give the job back if the worker dies, fetch
        # one task at a time, and make Redis wait longer than the longest task before it redelivers an
        # unacknowledged one (else a second worker starts the same job while the first still runs).
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": int(settings.task_time_limit_s * 1.5)},
        task_time_limit=settings.task_time_limit_s,
        task_soft_time_limit=settings.task_time_limit_s - 30,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app
