"""Job control, batches, URL ingestion, the audit trail and the orphan sweep, on the real stack (webhooks:
tests/stack/workers/test_webhooks.py)."""

from __future__ import annotations

import json
import os
import shutil
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.helpers.local_http import Respond, answer, serve
from tests.helpers.support import (
    elsewhere,
    finding_keys,
    free_ports,
    stored_uploads,
    transitions,
    upload,
    upload_file,
    wait_for_job,
    wait_until,
)
from vidsafe.db import jobs, teams
from vidsafe.deploy import stack
from vidsafe.domain.api import API_KEY_HEADER
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.jobs import JobOptions
from vidsafe.export.sample_video import Scene, make_sample_video
from vidsafe.gateway.app import create_app
from vidsafe.gateway.refusals import Refusal
from vidsafe.gateway.services.job_control import Action, apply
from vidsafe.queue import make_celery
from vidsafe.settings import Settings
from vidsafe.workers.maintenance import run_once

NUDITY = json.dumps({"modules": ["nudity"]})


def serve_video(video: Path) -> Respond:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        if handler.path == "/videos/clip.mp4":
            answer(handler, 200, video.read_bytes())
        else:
            answer(handler, 404)

    return respond


def test_a_job_submitted_unstarted_waits_in_pending_until_started(api: httpx.Client, sample_video: Path) -> None:
    created = upload(api, sample_video, options=NUDITY, params={"start": "false"})
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    time.sleep(1.5)
    assert api.get(f"/v1/jobs/{job_id}").json()["status"] == "pending"

    started = api.post(f"/v1/jobs/{job_id}/start")
    assert started.status_code == 200 and started.json()["status"] == "queued", started.text
    assert wait_for_job(api, job_id)["status"] == "succeeded"
    # Every change is in the audit trail, with who made it.
    events = api.get(f"/v1/jobs/{job_id}/events").json()
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        (None, "pending"), ("pending", "queued"), ("queued", "running"), ("running", "succeeded")]
    assert [e["actor"].startswith("local-cli-") for e in events] == [True, True, False, False]
    assert [e["actor"] for e in events][2:] == ["worker", "worker"]


def test_pause_resume_cancel_and_the_states_they_apply_to(api: httpx.Client, sample_video: Path,
                                                          running_stack: Settings) -> None:
    job_id = upload(api, sample_video, options=NUDITY, params={"start": "false"}).json()["id"]
    assert api.post(f"/v1/jobs/{job_id}/pause").json()["status"] == "paused"
    refused = api.post(f"/v1/jobs/{job_id}/start")
    assert refused.status_code == 409 and refused.json()["detail"]["code"] == "invalid_state", refused.text
    assert api.post(f"/v1/jobs/{job_id}/resume").json()["status"] == "queued"
    assert wait_for_job(api, job_id)["status"] == "succeeded"
    assert api.post(f"/v1/jobs/{job_id}/cancel").status_code == 409

    cancelled_id = upload(api, sample_video, options=NUDITY, params={"start": "false"}).json()["id"]
    assert api.post(f"/v1/jobs/{cancelled_id}/cancel").json()["status"] == "cancelled"
    assert not upload_file(running_stack, cancelled_id).exists()  # a cancelled upload is removed at once
    gone = api.post(f"/v1/jobs/{cancelled_id}/retry")
    assert gone.status_code == 409 and gone.json()["detail"]["code"] == "media_gone", gone.text
    assert api.post("/v1/jobs/00000000-0000-0000-0000-000000000000/start").status_code == 404
    unknown = api.post(f"/v1/jobs/{job_id}/explode")  # no such action: no such route
    assert unknown.status_code == 404 and unknown.json()["detail"]["code"] == "not_found", unknown.text
    assert unknown.json()["detail"]["message"].startswith(f"no route POST /v1/jobs/{job_id}/explode")


def test_a_running_job_paused_resumes_from_its_parts_with_the_same_findings(
        api: httpx.Client, running_stack: Settings, sample_video: Path) -> None:
    """The job cannot finish before it is paused: the test holds its rules part (a row lock, once the plan has
    it), so the worker that completes the last other part waits; paused meanwhile, the job resumes from the parts
    it had done and ends with the findings of a job never paused."""
    reference = upload(api, sample_video, options=NUDITY).json()["id"]
    assert wait_for_job(api, reference)["status"] == "succeeded"

    job_id = upload(api, sample_video, options=NUDITY).json()["id"]
    with psycopg.connect(running_stack.effective_database_url) as holder:
        def rules_part_held() -> bool:
            row = holder.execute("SELECT status FROM job_parts WHERE job_id = %s AND kind = 'rules' FOR UPDATE",
                                 (job_id,)).fetchone()
            if row is None:
                holder.rollback()  # not planned yet: nothing held
            return row is not None

        wait_until(rules_part_held, "the job planned", timeout_s=60, interval_s=0.02)
        wait_until(lambda: api.get(f"/v1/jobs/{job_id}").json()["progress"] > 0, "a part of the job analysed",
                   timeout_s=60)
        paused = api.post(f"/v1/jobs/{job_id}/pause")
        assert paused.status_code == 200 and paused.json()["status"] == "paused", paused.text
        holder.commit()  # the worker goes on, and finds the job paused
    time.sleep(1)
    assert api.get(f"/v1/jobs/{job_id}").json()["status"] == "paused"
    assert api.post(f"/v1/jobs/{job_id}/resume").status_code == 200
    assert wait_for_job(api, job_id)["status"] == "succeeded"
    assert finding_keys(api, job_id) == finding_keys(api, reference)
    assert ("running", "paused") in [(frm, to) for frm, to, _ in transitions(api, job_id)]


def test_retry_from_scratch_redoes_a_job_without_duplicating_findings(
        api: httpx.Client, running_stack: Settings, sample_video: Path) -> None:
    source = running_stack.ingest_roots[0] / "retry.mp4"
    shutil.copy(sample_video, source)
    job_id = api.post("/v1/jobs/from-path", json={"path": str(source), "options": {"modules": ["nudity"]}}).json()["id"]
    assert wait_for_job(api, job_id)["status"] == "succeeded"
    before = finding_keys(api, job_id)
    assert api.post(f"/v1/jobs/{job_id}/retry").status_code == 409  # only failed or cancelled ones, unless...
    again = api.post(f"/v1/jobs/{job_id}/retry", params={"from_scratch": "true"})
    assert again.status_code == 200 and again.json()["status"] == "queued", again.text
    assert wait_for_job(api, job_id)["status"] == "succeeded"
    assert finding_keys(api, job_id) == before


def test_a_retry_from_scratch_that_loses_a_race_forgets_nothing(
        api: httpx.Client, running_stack: Settings, sample_video: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = running_stack.ingest_roots[0] / "race.mp4"  # a server-side video stays once its job has ended
    shutil.copy(sample_video, source)
    job_id = api.post("/v1/jobs/from-path", json={"path": str(source), "options": {"modules": ["nudity"]}}).json()["id"]
    assert wait_for_job(api, job_id)["status"] == "succeeded"
    before = finding_keys(api, job_id)
    # Another change wins between reading the job and moving it: the transition finds no job in a status it fits.
    monkeypatch.setattr(jobs, "transition", lambda *args, **kwargs: None)
    with psycopg.connect(running_stack.effective_database_url, autocommit=True) as conn, \
            pytest.raises(Refusal) as refused:
        apply(conn, make_celery(running_stack), jobs.get_job(conn, UUID(job_id), None), Action.retry, "test",
                  from_scratch=True)
    assert (refused.value.status, refused.value.code) == (409, ErrorCode.invalid_state)
    monkeypatch.undo()
    assert finding_keys(api, job_id) == before, "the reset was rolled back with the lost transition"
    assert api.get(f"/v1/jobs/{job_id}").json()["modules"] == ["nudity"]


def test_each_maintenance_step_runs_while_redis_is_down(running_stack: Settings, tmp_path: Path) -> None:
    (dead_port,) = free_ports(1)
    settings = elsewhere(running_stack, tmp_path, redis_url=SecretStr(f"redis://127.0.0.1:{dead_port}/0"),
                         resend_pending_after_s=1e-3, orphan_min_age_s=1.0)
    with psycopg.connect(running_stack.effective_database_url, autocommit=True) as conn:
        # A queued job whose plan message was lost: the first step tries to send it again, and cannot.
        job_id = uuid4()
        jobs.create_job(conn, job_id, jobs.NewJob(teams.OPERATOR_TEAM_ID, "lost.mp4",
                                                        str(tmp_path / "lost.mp4"), False, JobOptions()))
        orphan = settings.uploads_dir / "orphan"
        orphan.parent.mkdir(parents=True)
        orphan.write_bytes(b"x")
        old = time.time() - 60
        os.utime(orphan, (old, old))
        time.sleep(0.01)
        try:
            report = run_once(settings, make_celery(settings))
        finally:
            jobs.delete_job(conn, job_id)
    assert f"{job_id}:plan" not in report.resent and report.failed == []
    assert report.removed == ["orphan"] and not orphan.exists(), "the sweep ran although the queue was down"


def test_priority_changes_are_kept_in_the_audit_trail(api: httpx.Client, sample_video: Path) -> None:
    job_id = upload(api, sample_video, options=NUDITY, params={"start": "false", "priority": "2"}).json()["id"]
    assert api.get(f"/v1/jobs/{job_id}").json()["priority"] == 2
    assert api.put(f"/v1/jobs/{job_id}/priority", json={"priority": 9}).json()["priority"] == 9
    assert api.put(f"/v1/jobs/{job_id}/priority", json={"priority": 10}).status_code == 422
    assert [e["priority"] for e in api.get(f"/v1/jobs/{job_id}/events").json()] == [2, 9]
    assert api.post(f"/v1/jobs/{job_id}/cancel").status_code == 200


def test_the_highest_priority_runs_first_also_when_raised_while_queued(
        api: httpx.Client, running_stack: Settings, sample_video: Path) -> None:
    stack.down(running_stack, ["worker"])  # so that the three wait in the queue together
    try:
        ids = [upload(api, sample_video, options=NUDITY).json()["id"] for _ in range(3)]
        assert api.put(f"/v1/jobs/{ids[2]}/priority", json={"priority": 9}).status_code == 200
        assert api.put(f"/v1/jobs/{ids[0]}/priority", json={"priority": 1}).status_code == 200
    finally:
        stack.up(running_stack, ["worker"])
    finished = [wait_for_job(api, job_id) for job_id in ids]
    assert [job["id"] for job in sorted(finished, key=lambda job: job["started_at"])] == [ids[2], ids[1], ids[0]]
    assert all(job["status"] == "succeeded" for job in finished)


def test_a_long_video_does_not_hold_back_a_short_one_sent_after_it(
        api: httpx.Client, running_stack: Settings, sample_video: Path, tmp_path: Path) -> None:
    """Each job has one part in the queue at a time (the stack's one worker process): the next is sent as one is
    done, behind the short clip's. All at once, the 40 s video's ten chunks came before the clip's three."""
    scenes = tuple(Scene(name, start, start + 4.0) for name, start in
                   zip(("coffee", "rocket", "chelsea", "camera", "clock") * 2, range(0, 40, 4), strict=True))
    long_video = make_sample_video(tmp_path / "long.mp4", scenes, speech=None, size=(320, 180))
    stack.down(running_stack, ["worker"])  # so that both wait in the queue together
    try:
        long_id = upload(api, long_video, options=NUDITY).json()["id"]
        short_id = upload(api, sample_video, options=NUDITY).json()["id"]
    finally:
        stack.up(running_stack, ["worker"])
    assert [wait_for_job(api, job_id)["status"] for job_id in (long_id, short_id)] == ["succeeded"] * 2
    with psycopg.connect(running_stack.effective_database_url) as conn:
        parts_of = dict(conn.execute("SELECT job_id::text, count(*) FROM job_parts WHERE job_id IN (%s, %s) "
                                     "GROUP BY job_id", (long_id, short_id)).fetchall())
        long_before = conn.execute(
            "SELECT count(*) FROM job_parts WHERE job_id = %s AND finished_at < "
            "(SELECT max(finished_at) FROM job_parts WHERE job_id = %s)", (long_id, short_id)).fetchone()[0]
    assert parts_of[long_id] >= 2 * parts_of[short_id] + 2, parts_of  # ten chunks, three, and the rules each
    assert long_before <= parts_of[short_id] + 1, f"{long_before} of the long video's parts came first"


def test_a_batch_groups_jobs_with_aggregate_counts_and_is_controlled_as_one(
        api: httpx.Client, running_stack: Settings, sample_video: Path) -> None:
    paths = []
    for name in ("a.mp4", "b.mp4"):
        paths.append(str(running_stack.ingest_roots[0] / name))
        shutil.copy(sample_video, paths[-1])
    created = api.post("/v1/batches", json={
        "name": "week 47 uploads", "auto_start": False, "priority": 7, "options": {"modules": ["nudity"]},
        "paths": [*paths, "/etc/passwd"]})
    assert created.status_code == 201, created.text
    body = created.json()
    batch_id = body["batch"]["id"]
    assert [job["status"] for job in body["jobs"]] == ["pending", "pending"]
    assert all(job["priority"] == 7 and job["batch_id"] == batch_id for job in body["jobs"])
    assert [e["code"] for e in body["errors"]] == ["path_not_allowed"]
    assert body["batch"]["counts"] == {"pending": 2} and body["batch"]["jobs"] == 2

    # An upload joins the batch too.
    uploaded = upload(api, sample_video, options=NUDITY, params={"batch_id": batch_id})
    assert uploaded.status_code == 201 and uploaded.json()["status"] == "pending", uploaded.text

    started = api.post(f"/v1/batches/{batch_id}/start").json()
    assert len(started["changed"]) == 3 and started["skipped"] == 0
    for job in api.get(f"/v1/batches/{batch_id}/jobs").json():
        assert wait_for_job(api, job["id"])["status"] == "succeeded"
    batch = api.get(f"/v1/batches/{batch_id}").json()
    assert batch["counts"] == {"succeeded": 3} and batch["progress"] == pytest.approx(1.0)
    assert batch_id in [b["id"] for b in api.get("/v1/batches").json()]

    # Retry without from_scratch touches only failed jobs: none here.
    assert api.post(f"/v1/batches/{batch_id}/retry").json()["changed"] == []
    assert api.put(f"/v1/batches/{batch_id}/priority", json={"priority": 1}).json()["priority"] == 1
    # Its jobs have ended: a priority means nothing to them any more, and they keep theirs.
    assert {job["priority"] for job in api.get(f"/v1/batches/{batch_id}/jobs").json()} == {7}
    assert api.get("/v1/batches/00000000-0000-0000-0000-000000000000").status_code == 404


def test_a_video_is_ingested_from_a_url(api: httpx.Client, sample_video: Path, running_stack: Settings) -> None:
    with serve(serve_video(sample_video)) as (base, _):
        created = api.post("/v1/jobs/from-url", json={"url": f"{base}/videos/clip.mp4",
                                                     "options": {"modules": ["nudity"]}})
        assert created.status_code == 201, created.text
        assert created.json()["source_name"] == "clip.mp4"
        assert created.json()["source_url"] == f"{base}/videos/clip.mp4"
        assert created.json()["status"] == "queued"  # answered at once: a worker fetches the video
        fetched = wait_for_job(api, created.json()["id"])
        assert fetched["status"] == "succeeded" and fetched["modules"] == ["nudity"], fetched
        assert fetched["media"]["codec"] == "h264"
        # A download that fails fails its job, with the reason; the server may answer a retry, so retryable.
        missing = api.post("/v1/jobs/from-url", json={"url": f"{base}/videos/none.mp4"})
        assert missing.status_code == 201, missing.text
        failed = wait_for_job(api, missing.json()["id"])
        assert (failed["status"], failed["error_code"], failed["retryable"]) == ("failed", "download_failed", True)
        assert "HTTP 404" in failed["error_message"]
    leftovers = [p for p in stored_uploads(running_stack) if p.name != created.json()["id"]]
    assert leftovers == []


@pytest.mark.usefixtures("webhook_secret")  # so that a callback URL is refused by the guard, not for want of one
def test_the_ssrf_guard_refuses_internal_urls_for_ingestion_and_callbacks(running_stack: Settings,
                                                                          api_key: str) -> None:
    guarded = running_stack.model_copy(update={"allow_private_urls": False})
    with TestClient(create_app(guarded), headers={API_KEY_HEADER: api_key}) as client:
        for url in ("http://127.0.0.1:9/x.mp4", "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/a.mp4",
                    "file:///etc/passwd"):
            refused = client.post("/v1/jobs/from-url", json={"url": url})
            assert refused.status_code == 422 and refused.json()["detail"]["code"] == "url_not_allowed", url
        callback = client.post("/v1/jobs/from-url", json={"url": "http://192.168.1.1/a.mp4",
                                                         "callback_url": "http://localhost:8080/hook"})
        assert callback.status_code == 422 and callback.json()["detail"]["code"] == "url_not_allowed"


def test_the_sweep_removes_orphan_files_but_not_fresh_ones(running_stack: Settings) -> None:
    orphan = running_stack.uploads_dir / "crashed-upload"
    fresh = running_stack.uploads_dir / "upload-in-progress"
    orphan.write_bytes(b"x" * 100)
    fresh.write_bytes(b"y")
    old = time.time() - running_stack.orphan_min_age_s - 60
    os.utime(orphan, (old, old))
    deadline = time.monotonic() + 15
    while orphan.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not orphan.exists()
    assert fresh.exists()
    fresh.unlink()
