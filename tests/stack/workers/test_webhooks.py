"""Webhooks on the real stack: each team's events signed with its own secrets (two during a rotation), retried, and
delivered off the maintenance loop, each within a deadline, so that a slow receiver delays only its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from tests.conftest import WEBHOOK_DEADLINE_S
from tests.helpers.local_http import Respond, answer_slowly, serve
from tests.helpers.support import TeamKeys, make_team, upload, wait_for_job, wait_until
from vidsafe import webhooks
from vidsafe.settings import Settings

NUDITY = '{"modules": ["nudity"]}'


def keep(bodies: list[bytes], fail_first: int = 0) -> Respond:
    """A receiver keeping the bodies it gets, answering 500 to the first ``fail_first``, then 204."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        bodies.append(handler.rfile.read(int(handler.headers["Content-Length"])))
        handler.send_response(500 if len(bodies) <= fail_first else 204)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return respond


@pytest.fixture(scope="module")
def other_team(running_stack: Settings, api: httpx.Client) -> Iterator[TeamKeys]:
    yield make_team(running_stack, api, "webhooks-team", {"submitter": ["submit"], "admin": ["admin"]})


def test_a_signed_webhook_reaches_the_callback_url_after_retries(api: httpx.Client, sample_video: Path,
                                                                webhook_secret: str) -> None:
    bodies: list[bytes] = []
    with serve(keep(bodies, fail_first=2)) as (base, received):
        job_id = upload(api, sample_video, options=NUDITY, params={"callback_url": f"{base}/hook"}).json()["id"]
        assert wait_for_job(api, job_id)["status"] == "succeeded"
        wait_until(lambda: len(received) >= 3, lambda: f"{len(received)} of 3 deliveries")
    assert len(received) == 3, received  # two 500s, then delivered
    last, body = received[-1], bodies[-1]
    assert webhooks.verify(webhook_secret, last.headers[webhooks.TIMESTAMP_HEADER], body,
                           last.headers[webhooks.SIGNATURE_HEADER])
    event = json.loads(body)
    assert event["type"] == "job.succeeded" and event["job"]["id"] == job_id
    # One event id on every attempt, in the body and a header: what a receiver deduplicates on.
    assert {request.headers[webhooks.EVENT_ID_HEADER] for request in received} == {event["id"]}
    wait_until(lambda: api.get(f"/v1/jobs/{job_id}/webhooks").json()[0]["status"] == "delivered",
               "the delivery recorded", timeout_s=10)
    assert api.get(f"/v1/jobs/{job_id}/webhooks").json()[0]["attempts"] == 3


def test_callback_urls_need_the_teams_own_secret_which_only_an_admin_makes(other_team: TeamKeys) -> None:
    with other_team.client("submitter") as submitter, other_team.client("admin") as admin:
        refused = submitter.post("/v1/batches", json={"name": "x", "callback_url": "https://example.com/hook"})
        assert refused.status_code == 422 and refused.json()["detail"]["code"] == "webhooks_disabled", refused.text
        assert admin.get("/v1/webhook-secret").json() == {"created_at": None, "previous_valid_until": None}
        forbidden = submitter.post("/v1/webhook-secret")
        assert forbidden.status_code == 403, forbidden.text
        made = admin.post("/v1/webhook-secret")
        assert made.status_code == 201 and made.json()["secret"].startswith("whsec_"), made.text
        state = admin.get("/v1/webhook-secret").json()
        assert "secret" not in state and state["created_at"] == made.json()["created_at"]
        accepted = submitter.post("/v1/batches", json={"name": "x", "callback_url": "http://127.0.0.1:9/hook"})
        assert accepted.status_code == 201, accepted.text


def test_a_teams_events_verify_with_its_secrets_only_and_with_both_during_a_rotation(
        other_team: TeamKeys, sample_video: Path, webhook_secret: str) -> None:
    bodies: list[bytes] = []
    with other_team.client("admin") as admin, other_team.client("submitter") as submitter, \
            serve(keep(bodies)) as (base, received):
        before = admin.post("/v1/webhook-secret", json={"previous_valid_s": 0}).json()["secret"]
        rotated = admin.post("/v1/webhook-secret", json={"previous_valid_s": 3600}).json()
        assert rotated["previous_valid_until"] is not None
        job_id = upload(submitter, sample_video, options=NUDITY, params={"callback_url": f"{base}/hook"}).json()["id"]
        assert wait_for_job(submitter, job_id)["status"] == "succeeded"
        wait_until(lambda: bodies, "the delivery")
    headers = received[0].headers
    for secret, verifies in ((rotated["secret"], True), (before, True), (webhook_secret, False)):
        assert webhooks.verify(secret, headers[webhooks.TIMESTAMP_HEADER], bodies[0],
                               headers[webhooks.SIGNATURE_HEADER]) is verifies


def test_a_receiver_answering_a_byte_a_second_delays_only_its_own_delivery(api: httpx.Client, sample_video: Path,
                                                                          webhook_secret: str) -> None:
    """Once, one such receiver held the maintenance loop, and every other team's events, for minutes."""
    bodies: list[bytes] = []
    with serve(answer_slowly(1.0)) as (slow, slow_received), serve(keep(bodies)) as (fast, _):
        stalled = upload(api, sample_video, options=NUDITY, params={"callback_url": f"{slow}/hook"}).json()["id"]
        assert wait_for_job(api, stalled)["status"] == "succeeded"
        wait_until(lambda: slow_received, "the slow receiver reached")
        other = upload(api, sample_video, options=NUDITY, params={"callback_url": f"{fast}/hook"}).json()["id"]
        assert wait_for_job(api, other)["status"] == "succeeded"
        # A hang guard: the slow receiver takes 40 s to answer; its delivery gives up at the deadline.
        wait_until(lambda: bodies, "the other job's event delivered while the slow one trickles", timeout_s=15)
        wait_until(lambda: "deadline" in (api.get(f"/v1/jobs/{stalled}/webhooks").json()[0]["last_error"] or ""),
                   lambda: f"the slow delivery cut off: {api.get(f'/v1/jobs/{stalled}/webhooks').json()}",
                   timeout_s=WEBHOOK_DEADLINE_S * 3)
