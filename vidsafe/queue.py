"""The queue contract between the gateway (producer) and the workers (consumers).

Both sides build their Celery app here, so task names and broker settings cannot drift apart.
The gateway only sends tasks by name and never imports worker code.

Background work (re-matching a hash list against past jobs, a job's summary) goes at the lowest priority.

A job is two kinds of task: ``plan_job`` probes the video and splits it into parts, and ``run_part``
analyses one part (a time chunk of frames, the audio track, or the rules over the findings). Postgres,
not the queue, says what is left to do: a task whose part is done or taken is a no-op, so a message
delivered twice costs nothing (``vidsafe/db/parts.py``, ``workers/parts.py``).
"""

from __future__ import annotations

from uuid import UUID

from celery import Celery
from redis import Redis

from vidsafe.domain.fields import MAX_PRIORITY, MIN_PRIORITY
from vidsafe.settings import Settings

PLAN_JOB_TASK = "vidsafe.plan_job"
RUN_PART_TASK = "vidsafe.run_part"
REMATCH_LIST_TASK = "vidsafe.rematch_list"
REJUDGE_TEAM_TASK = "vidsafe.rejudge_team"
SUMMARIZE_JOB_TASK = "vidsafe.summarize_job"
VIDEO_QUEUE = "videos"


def make_celery(settings: Settings) -> Celery:
    app = Celery("vidsafe", broker=settings.effective_redis_url)
    app.conf.update(
        task_default_queue=VIDEO_QUEUE,
        # Results live in Postgres; Celery's own result store is not used (so result expiry is moot).
        task_ignore_result=True,
        # Long tasks: acknowledge only when done and give the task back if its worker process dies, fetch one
        # task at a time, and make Redis wait longer than the longest task before it redelivers an
        # unacknowledged one. A whole worker killed is recovered sooner by the part leases.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={
            "visibility_timeout": int(settings.task_time_limit_s * 1.5),
            # Ten priority lists per queue, one per job priority (broker_step).
            "priority_steps": list(range(10)),
            "sep": ":",
            "queue_order_strategy": "priority",
        },
        task_time_limit=settings.task_time_limit_s,
        task_soft_time_limit=settings.task_time_limit_s - 30,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app


def broker_step(priority: int) -> int:
    """The Redis priority list a job priority (0..9, higher first) is sent to: Redis serves step 0 first."""
    return MAX_PRIORITY - priority


# Each message carries the priority it was sent at: after a change of priority the work is sent again, and a
# message left behind at the old priority is then a no-op.
def send_plan(app: Celery, job_id: UUID, priority: int, countdown_s: float | None = None) -> None:
    app.send_task(PLAN_JOB_TASK, args=[str(job_id), priority], priority=broker_step(priority), countdown=countdown_s)


def send_part(app: Celery, job_id: UUID, kind: str, index: int, priority: int) -> None:
    app.send_task(RUN_PART_TASK, args=[str(job_id), kind, index, priority], priority=broker_step(priority))


# Background work (re-matching, summaries) goes at the lowest job priority: after every job above it.
BACKGROUND_PRIORITY = MIN_PRIORITY


def send_rematch(app: Celery, team_id: UUID, list_id: UUID) -> None:
    app.send_task(REMATCH_LIST_TASK, args=[str(team_id), str(list_id)], priority=broker_step(BACKGROUND_PRIORITY))


def send_rejudging(app: Celery, team_id: UUID, run_id: UUID) -> None:
    app.send_task(REJUDGE_TEAM_TASK, args=[str(team_id), str(run_id)], priority=broker_step(BACKGROUND_PRIORITY))


def send_summary(app: Celery, job_id: UUID) -> None:
    app.send_task(SUMMARIZE_JOB_TASK, args=[str(job_id)], priority=broker_step(BACKGROUND_PRIORITY))


def queue_lists(queue: str) -> list[str]:
    """The Redis lists a Celery queue is kept in: kombu keeps one per priority step (see ``vidsafe.queue``), step 0
    under the queue's own name and the others under ``<queue>:<step>``."""
    return [queue, *(f"{queue}:{step}" for step in range(1, 10))]


def queue_depth(url: str, queue: str) -> int:
    """Tasks waiting in ``queue`` over its priority lists; raises RedisError if Redis does not answer."""
    with Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) as client:
        pipe = client.pipeline(transaction=False)
        for name in queue_lists(queue):
            pipe.llen(name)
        return sum(pipe.execute())
