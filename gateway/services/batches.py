"""Batches: creating one with the jobs of its paths and URLs, and an action or a priority applied to each of its
jobs it applies to."""

from __future__ import annotations

import uuid

import psycopg
from celery import Celery

from vidsafe.db import batches, jobs
from vidsafe.domain.api import BatchActionResult, BatchCreated, ItemError
from vidsafe.domain.batches import Batch
from vidsafe.domain.jobs import Job, JobStatus
from vidsafe.domain.requests import BatchRequest, Placement
from vidsafe.gateway.dependencies import Caller
from vidsafe.gateway.refusals import Refusal
from vidsafe.gateway.services import owned
from vidsafe.gateway.services.job_control import Action, NotApplicable, apply, reprioritise, statuses_for
from vidsafe.gateway.services.submissions import Submitter, check_callback, submit_path, submit_url
from vidsafe.settings import Settings


def create(conn: psycopg.Connection, queue: Celery, settings: Settings, caller: Caller,
           body: BatchRequest) -> BatchCreated:
    """The batch, with a job for each of its paths and URLs; an item that cannot be submitted is listed in the
    answer's errors, with why, and the others are in the batch."""
    check_callback(conn, caller.team_id, body.callback_url, settings)
    auto_start = settings.auto_process if body.auto_start is None else body.auto_start
    batch = batches.create_batch(conn, uuid.uuid4(), caller.team_id, body.name, auto_start, body.priority,
                                 body.callback_url, caller.key.id)
    submitter, placement = Submitter(conn, queue, settings, caller), Placement(batch_id=batch.id)
    created: list[Job] = []
    errors: list[ItemError] = []
    items = [(path, submit_path) for path in body.paths] + [(url, submit_url) for url in body.urls]
    for item, submit in items:
        try:
            created.append(submit(submitter, item, body.options, placement).job)
        except Refusal as refusal:
            errors.append(ItemError(item=item, code=refusal.code, message=refusal.message))
    return BatchCreated(batch=owned.batch(conn, caller.team_id, batch.id), jobs=created, errors=errors)


def control(conn: psycopg.Connection, queue: Celery, caller: Caller, batch_id: uuid.UUID, action: Action,
            from_scratch: bool) -> BatchActionResult:
    """``action`` applied to each of the batch's jobs whose state allows it; the others are counted as skipped. An
    unreachable queue stops it (what was done stays done)."""
    owned.batch(conn, caller.team_id, batch_id)
    changed = []
    for job_id in batches.batch_job_ids(conn, batch_id, statuses_for(action, from_scratch, batch=True)):
        job = jobs.get_job(conn, job_id, caller.team_id)
        if job is None:
            continue  # removed meanwhile
        try:
            changed.append(apply(conn, queue, job, action, caller.actor, from_scratch).id)
        except NotApplicable:
            continue  # it changed meanwhile, or its video is gone: skipped
    skipped = len(batches.batch_job_ids(conn, batch_id)) - len(changed)
    return BatchActionResult(batch=owned.batch(conn, caller.team_id, batch_id), changed=changed, skipped=skipped)


def set_priority(conn: psycopg.Connection, queue: Celery, caller: Caller, batch_id: uuid.UUID,
                 priority: int, in_flight: int) -> Batch:
    """The batch's priority, and that of each of its jobs that has not ended."""
    owned.batch(conn, caller.team_id, batch_id)
    batches.set_batch_priority(conn, batch_id, priority)
    unfinished = [s for s in JobStatus if not s.is_final]
    for job_id in batches.batch_job_ids(conn, batch_id, unfinished):
        if job := jobs.get_job(conn, job_id, caller.team_id):
            try:
                reprioritise(conn, queue, job, priority, caller.actor, in_flight)
            except NotApplicable:
                continue  # it ended meanwhile
    return owned.batch(conn, caller.team_id, batch_id)
