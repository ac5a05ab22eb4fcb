"""Faults injected into a real stack while a job runs: a worker killed, Triton, Redis or Postgres stopped.

Each test interrupts a job once it is analysing (running, with frames stored), lets the stack recover, and
compares the job's findings with those of an uninterrupted run of the same video on the same stack: the
same findings, each exactly once, however often a part was started over or taken over.

The stack is one of this module's own, serving the nudity model only, with short chunks (2 s), leases
(4 s) and a 20 s dependency deadline, so that recovery happens within seconds.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.helpers.support import (
    FindingKey,
    finding_keys,
    free_ports,
    isolated_settings,
    stack_client,
    state_root,
    submit,
    transitions,
    upload,
    wait_for_job,
    wait_until,
)
from vidsafe.deploy import stack
from vidsafe.export.sample_video import SAMPLE_SCENES, Scene, make_sample_video
from vidsafe.settings import Settings

# The 12 s sample four times over: 48 s, 24 chunks of 8 frames, some 12 s of work to interrupt.
SAMPLE_REPEATS = 4
DEPENDENCY_DEADLINE_S = 20.0


@dataclass(frozen=True)
class FailureStack:
    settings: Settings
    api: httpx.Client
    video: Path
    reference: Counter[FindingKey]  # the findings of an uninterrupted run


def _long_sample(path: Path) -> Path:
    duration = SAMPLE_SCENES[-1].end_s
    scenes = tuple(Scene(s.photo, s.start_s + k * duration, s.end_s + k * duration, s.caption)
                   for k in range(SAMPLE_REPEATS) for s in SAMPLE_SCENES)
    return make_sample_video(path, scenes, speech=None)


@pytest.fixture(scope="module")
def failures() -> Iterator[FailureStack]:
    with state_root("failures") as root:
        settings = isolated_settings(
            root / "state", served_modules=["nudity"], default_modules=["nudity"], chunk_s=2.0, part_lease_s=4.0,
            maintenance_interval_s=1.0, dependency_retry_deadline_s=DEPENDENCY_DEADLINE_S, sample_fps=4,
        )
        video = _long_sample(root / "long.mp4")
        try:
            stack.up(settings)
            with stack_client(settings) as api:
                reference = _finished_findings(api, submit(api, video))
                assert reference and max(reference.values()) == 1, reference
                yield FailureStack(settings, api, video, reference)
        finally:
            stack.down(settings)
        assert not stack.stack_processes(settings)


def _finished_findings(api: httpx.Client, job_id: str) -> Counter[FindingKey]:
    job = wait_for_job(api, job_id, timeout_s=120)
    assert job["status"] == "succeeded", job
    return finding_keys(api, job_id, box_decimals=1)


def _assert_exact_findings(failures: FailureStack, job_id: str) -> None:
    found = _finished_findings(failures.api, job_id)
    duplicated = {key: n for key, n in found.items() if n > 1}
    assert not duplicated, f"findings stored more than once: {duplicated}"
    assert found == failures.reference, (f"missing {failures.reference - found}, "
                                         f"extra {found - failures.reference}")


def _wait_until_analysing(api: httpx.Client, job_id: str, timeout_s: float = 60.0) -> None:
    """Until the job runs and has stored frames: the moment to inject a fault mid-job."""

    def analysing() -> bool:
        job = api.get(f"/v1/jobs/{job_id}").raise_for_status().json()
        assert job["status"] in ("queued", "running"), job
        return job["status"] == "running" and job["frames_analyzed"] > 0

    wait_until(analysing, f"job {job_id} analysing", timeout_s, interval_s=0.05)


def _wait_for_chunks(settings: Settings, job_id: str, check: Callable[[list[str]], bool], what: str,
                     timeout_s: float = 60.0) -> None:
    """Until the statuses of the job's chunks of frames (in time order) pass ``check``."""
    with psycopg.connect(settings.effective_database_url, autocommit=True) as conn:

        def passes() -> bool:
            statuses = [status for (status,) in conn.execute(
                "SELECT status FROM job_parts WHERE job_id = %s AND kind = 'frames' ORDER BY index", (job_id,))]
            assert statuses[-1:] != ["done"], f"job {job_id} ended its chunks before {what}"
            return check(statuses)

        wait_until(passes, f"job {job_id} {what}", timeout_s, interval_s=0.02)


@contextmanager
def _stopped(settings: Settings, service: str) -> Iterator[None]:
    """The stack's ``service`` stopped for the block, started again after it."""
    stack.down(settings, [service])
    try:
        yield
    finally:
        stack.up(settings, [service])


def _ready(api: httpx.Client) -> bool:
    return api.get("/readyz").status_code == 200


def _part_attempts(settings: Settings, job_id: str) -> list[int]:
    with psycopg.connect(settings.effective_database_url) as conn:
        rows = conn.execute("SELECT attempt FROM job_parts WHERE job_id = %s ORDER BY kind, index",
                            (job_id,)).fetchall()
    return [attempt for (attempt,) in rows]


def test_worker_killed_mid_job_resumes_with_exact_findings(failures: FailureStack) -> None:
    settings, api = failures.settings, failures.api
    job_id = submit(api, failures.video)
    _wait_until_analysing(api, job_id)
    # Killed while a chunk is claimed: not between two tasks, where the one the worker had just fetched would
    # wait in Redis for its visibility timeout, and its part for the maintenance loop's resend_pending_after_s.
    _wait_for_chunks(settings, job_id, lambda statuses: "running" in statuses, "a chunk running")
    worker = stack.read_record(settings, "worker")
    assert worker is not None
    os.killpg(worker.pid, signal.SIGKILL)  # the Celery main process and its pool, mid-part
    wait_until(lambda: worker.process() is None, "the killed worker is gone", timeout_s=10, interval_s=0.2)
    assert stack.up(settings, names=["worker"]) == ["worker"]

    _assert_exact_findings(failures, job_id)
    # The part the worker died in was taken over (its lease ran out) and done again from its start.
    assert max(_part_attempts(settings, job_id)) > 1
    trail = transitions(api, job_id)
    assert [(frm, to) for frm, to, _ in trail] == [(None, "queued"), ("queued", "running"),
                                                  ("running", "succeeded")], trail
    assert [actor for *_, actor in trail[1:]] == ["worker", "worker"]


def test_triton_restarted_mid_job(failures: FailureStack) -> None:
    settings, api = failures.settings, failures.api
    job_id = submit(api, failures.video)
    _wait_until_analysing(api, job_id)
    stack.down(settings, ["triton"])
    time.sleep(2)
    stack.up(settings, ["triton"])
    _assert_exact_findings(failures, job_id)


def test_a_worker_given_a_dead_triton_beside_a_live_one_moves_its_parts_to_the_live_one(
        failures: FailureStack) -> None:
    """Several Triton endpoints (VIDSAFE_TRITON_URL): the parts spread over them, and a part whose Triton does not
    answer starts over on the next one, long before the dependency deadline."""
    settings, api = failures.settings, failures.api
    dead = f"127.0.0.1:{free_ports(1)[0]}"
    two_tritons = settings.model_copy(update={"triton_url": f"{dead},{settings.effective_triton_url}"})
    stack.down(settings, ["worker"])
    try:
        stack.up(two_tritons, ["worker"])
        job_id = submit(api, failures.video)
        _assert_exact_findings(failures, job_id)
        attempts = _part_attempts(settings, job_id)
        assert max(attempts) == 2, f"some parts tried the dead Triton first, then the live one: {attempts}"
    finally:
        stack.down(two_tritons, ["worker"])
        stack.up(settings, ["worker"])


def test_triton_down_past_the_deadline_fails_retryably_then_retry_succeeds(failures: FailureStack) -> None:
    settings, api = failures.settings, failures.api
    job_id = submit(api, failures.video)
    _wait_until_analysing(api, job_id)
    with _stopped(settings, "triton"):
        job = wait_for_job(api, job_id, timeout_s=DEPENDENCY_DEADLINE_S * 3)
    assert job["status"] == "failed", job
    assert job["error_code"] == "inference_unavailable" and job["retryable"] is True, job
    assert "Triton is unavailable" in job["error_message"] and "retried" in job["error_message"], job

    retried = api.post(f"/v1/jobs/{job_id}/retry")
    assert retried.status_code == 200, retried.text
    _assert_exact_findings(failures, job_id)
    assert [to for _, to, _ in transitions(api, job_id)] == ["queued", "running", "failed", "queued", "running",
                                                              "succeeded"]


def test_redis_restarted_while_jobs_run_and_queue(failures: FailureStack, tmp_path: Path) -> None:
    """A job's last chunk ends while Redis is down (its rules task waits for the queue), two more jobs wait
    in the queue (kept by Redis' append-only file), and the gateway answers for the queue meanwhile."""
    settings, api = failures.settings, failures.api
    # The 12 s sample at 12 fps: chunks of 24 frames, a last chunk that takes long enough to catch it running.
    short, options = make_sample_video(tmp_path / "short.mp4", speech=None), '{"sample_fps": 12}'
    job_ids = [submit(api, short, options) for _ in range(3)]
    _wait_for_chunks(settings, job_ids[0], lambda statuses: statuses[-1:] == ["running"]
                     and set(statuses[:-1]) <= {"done"}, "its last chunk running")
    with _stopped(settings, "redis"):
        refused = upload(api, short, options=options)
        assert refused.status_code == 503 and refused.json()["detail"]["code"] == "queue_unavailable", refused.text
        readiness = api.get("/readyz")
        assert readiness.status_code == 503 and readiness.json()["checks"]["redis"] is False, readiness.text
        time.sleep(3)  # longer than a send's own retries: the worker must wait for the queue itself
    # The gateway reconnects by itself.
    wait_until(lambda: _ready(api), "/readyz after Redis is back", timeout_s=60, interval_s=0.2)
    job_ids.append(submit(api, short, options))
    found = [_finished_findings(api, job_id) for job_id in job_ids]
    reference = _finished_findings(api, submit(api, short, options))
    assert reference and max(reference.values()) == 1, reference
    assert found == [reference] * len(job_ids), "findings differ from those of an uninterrupted run"


def test_postgres_restarted_mid_job(failures: FailureStack) -> None:
    settings, api = failures.settings, failures.api
    job_id = submit(api, failures.video)
    _wait_until_analysing(api, job_id)
    with _stopped(settings, "postgres"):
        status = api.get(f"/v1/jobs/{job_id}")
        assert status.status_code == 503 and status.json()["detail"]["code"] == "database_unavailable", status.text
        readiness = api.get("/readyz")
        assert readiness.status_code == 503 and readiness.json()["checks"]["database"] is False, readiness.text
    wait_until(lambda: _ready(api), "/readyz after Postgres is back", timeout_s=60, interval_s=0.2)
    _assert_exact_findings(failures, job_id)
