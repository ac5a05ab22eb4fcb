"""A policy's rules through the gateway, on the sample video (its caption is a gift-card scam): a live rule routes
the job to a queue of the team's own with a priority and two reviewers, a background rule records what it would
have done, a draft rule is only dry-run; every firing is on the job with its version and why; the summary is never
milder than the rules; an automatic approval; re-judging past jobs with its progress; wrong rules refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.support import TeamKeys, make_team, run_job
from vidsafe.settings import Settings

ROUTE = {"name": "scams-to-desk", "state": "live", "description": "scams go to the scam desk, two pairs of eyes",
         "conditions": [{"category": "scams", "min_score": 0.5}],
         "actions": [{"type": "route", "queue": "scam-desk", "priority": 5}, {"type": "require_two_reviewers"}]}
WATCH = {"name": "captions-up", "state": "background", "conditions": [{"module": "ocr"}],
         "actions": [{"type": "escalate"}]}
DRAFT = {"name": "any-speech", "state": "draft", "conditions": [{"module": "speech", "min_count": 1}],
         "actions": [{"type": "route", "queue": "scam-desk"}]}


@pytest.fixture(scope="module")
def team(running_stack: Settings, api: httpx.Client) -> TeamKeys:
    return make_team(running_stack, api, "rule-writers", {"lead": ["admin", "submit", "review"],
                                                          "alice": ["review"], "bob": ["review"]})


@pytest.fixture(scope="module")
def lead(team: TeamKeys) -> Iterator[httpx.Client]:
    with team.client("lead") as client:
        yield client


def _with_rules(lead: httpx.Client, *rules: dict) -> dict:
    document = lead.get("/v1/policies/live").json()["document"]
    return {**document, "queues": [{"name": "scam-desk", "description": "fraud specialists"}], "rules": list(rules)}


def test_a_live_rule_routes_the_job_and_every_firing_is_on_record(lead: httpx.Client, team: TeamKeys,
                                                                 sample_video: Path) -> None:
    saved = lead.post("/v1/policies", json=_with_rules(lead, ROUTE, WATCH, DRAFT))
    assert saved.status_code == 201, saved.text
    version = saved.json()["version"]
    job, _ = run_job(lead, sample_video)
    assert job["policy_version"] == version
    item = lead.get(f"/v1/reviews/{job['id']}").json()
    assert (item["queue"], item["priority"], item["reviews_required"]) == ("scam-desk", 5, 2)
    firings = {f["rule"]: f for f in lead.get(f"/v1/jobs/{job['id']}/rule-firings").json()}
    assert set(firings) == {"scams-to-desk", "captions-up"}, "the draft rule never fires on a job"
    route = firings["scams-to-desk"]
    assert (route["state"], route["policy_version"]) == ("live", version)
    assert route["taken"] == "routed to queue scam-desk (priority 5), two reviewers required"
    assert "segment(s) of scams" in route["why"]
    assert (firings["captions-up"]["state"], firings["captions-up"]["taken"]) == ("background",
                                                                                "would have: escalated")
    assert lead.get("/v1/reviews/counts").json()["scam-desk"] == 1
    assert [i["job_id"] for i in lead.get("/v1/reviews", params={"queue": "scam-desk"}).json()] == [job["id"]]
    events = lead.get(f"/v1/jobs/{job['id']}/events").json()
    assert [e["actor"] for e in events if e["kind"] == "rule"] == ["rule:scams-to-desk"], "live firings only"
    summary = lead.get(f"/v1/jobs/{job['id']}/summary").json()["summary"]
    assert summary["suggested_action"] in ("review", "escalate", "remove")
    assert "scams-to-desk" in summary["rationale"]
    # Two reviewers: the first one's approval leaves the item open, and not for them again.
    with team.client("alice") as alice, team.client("bob") as bob:
        claimed = alice.post("/v1/reviews/claim", json={"queue": "scam-desk"})
        assert claimed.json()["job_id"] == job["id"]
        decision = {"action": "reject", "policy_label": "scams", "note": "a gift-card scam"}
        assert alice.post(f"/v1/jobs/{job['id']}/decisions", json=decision).status_code == 201
        assert lead.get(f"/v1/reviews/{job['id']}").json()["state"] == "open"
        assert alice.post("/v1/reviews/claim", json={"queue": "scam-desk"}).status_code == 204
        again = alice.post(f"/v1/jobs/{job['id']}/decisions", json=decision)
        assert (again.status_code, again.json()["detail"]["code"]) == (409, "second_reviewer_needed")
        assert bob.post("/v1/reviews/claim", json={"queue": "scam-desk"}).json()["job_id"] == job["id"]
        assert bob.post(f"/v1/jobs/{job['id']}/decisions", json=decision).status_code == 201
    assert lead.get(f"/v1/reviews/{job['id']}").json()["state"] == "decided"


def test_a_draft_rule_is_dry_run_on_past_jobs(lead: httpx.Client) -> None:
    dry = lead.post("/v1/policies/dry-run", json=_with_rules(lead, ROUTE, WATCH, DRAFT))
    assert dry.status_code == 200, dry.text
    rules = {r["rule"]: r for r in dry.json()["rules"]}
    assert (rules["any-speech"]["state"], rules["any-speech"]["fires_on"]) == ("draft", 1)
    assert (rules["scams-to-desk"]["fires_on"], rules["scams-to-desk"]["fired_before"]) == (1, 1)


def test_auto_approval_and_rejudging_past_jobs_with_progress(lead: httpx.Client, sample_video: Path) -> None:
    quiet = {"name": "quiet", "state": "live", "conditions": [{"min_count": 0}],
             "actions": [{"type": "auto_approve", "max_risk": 1.0, "sample_share": 0.0}]}
    saved = lead.post("/v1/policies", json=_with_rules(lead, quiet))
    assert saved.status_code == 201, saved.text
    job, _ = run_job(lead, sample_video)
    assert lead.get(f"/v1/reviews/{job['id']}").json()["state"] == "decided"
    (decision,) = lead.get(f"/v1/jobs/{job['id']}/decisions").json()
    assert (decision["action"], decision["actor"]) == ("approve", "rule:quiet")
    # Re-judged by the live version: the first job, decided by reviewers, keeps its decision and item.
    started = lead.post("/v1/policies/rejudging")
    assert started.status_code == 202, started.text
    assert started.json()["version"] == saved.json()["version"]
    deadline = time.monotonic() + 300
    while (status := lead.get("/v1/policies/rejudging").json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, status
        time.sleep(0.5)
    assert (status["state"], status["jobs_total"], status["jobs_done"]) == ("done", 2, 2), status
    assert status["finished_at"] is not None and status["requested_by"] == "lead"
    first = lead.get("/v1/jobs", params={"limit": 2}).json()[-1]
    assert lead.get(f"/v1/reviews/{first['id']}").json()["queue"] == "scam-desk", "a reviewer decided it: kept"
    fired = lead.get(f"/v1/jobs/{first['id']}/rule-firings").json()
    assert {(f["rule"], f["policy_version"]) for f in fired} >= {("quiet", saved.json()["version"])}


def test_wrong_rules_and_requests_are_refused_with_their_codes(lead: httpx.Client, team: TeamKeys,
                                                               running_stack: Settings, api: httpx.Client) -> None:
    unknown_queue = {**_with_rules(lead, ROUTE), "queues": []}
    refused = lead.post("/v1/policies", json=unknown_queue)
    assert (refused.status_code, refused.json()["detail"]["code"]) == (422, "invalid_request")
    assert "routes to no queue the policy has: ['scam-desk']" in refused.json()["detail"]["message"]
    unknown_category = _with_rules(lead, {**ROUTE, "conditions": [{"category": "piracy"}]})
    refused = lead.post("/v1/policies/dry-run", json=unknown_category)
    assert "names no category of the policy: ['piracy']" in refused.json()["detail"]["message"]
    many = _with_rules(lead, *({**ROUTE, "name": f"rule-{n}"} for n in range(101)))
    refused = lead.post("/v1/policies", json=many)
    assert (refused.status_code, refused.json()["detail"]["code"]) == (422, "too_many_rules")
    assert refused.json()["detail"]["message"] == "101 rules: at most 100"
    with team.client("alice") as alice:
        denied = alice.post("/v1/policies/rejudging")
        assert (denied.status_code, denied.json()["detail"]["code"]) == (403, "insufficient_scope")
    job_id = lead.get("/v1/jobs", params={"limit": 1}).json()[0]["id"]
    other = make_team(running_stack, api, "rule-outsiders", {"lead": ["admin", "review"]})
    with other.client("lead") as outsider:
        missing = outsider.get("/v1/policies/rejudging")
        assert (missing.status_code, missing.json()["detail"]["code"]) == (404, "rejudging_not_found")
        assert outsider.get(f"/v1/jobs/{job_id}/rule-firings").status_code == 404
        assert outsider.get("/v1/reviews", params={"queue": "scam-desk"}).json() == []
