"""A team's policy through the gateway: the default until a lead saves one, versions that new jobs are judged by
(each job recording its version), a dry run over past jobs that changes nothing, and every wrong policy refused
with its code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.support import TeamKeys, make_team, run_job
from vidsafe.settings import Settings


@pytest.fixture(scope="module")
def team(running_stack: Settings, api: httpx.Client) -> TeamKeys:
    return make_team(running_stack, api, "policy-writers", {"lead": ["admin", "submit", "review", "lists"],
                                                            "reviewer": ["review"]})


@pytest.fixture(scope="module")
def lead(team: TeamKeys) -> Iterator[httpx.Client]:
    with team.client("lead") as client:
        yield client


def test_a_lead_adds_a_category_dry_runs_it_and_turns_it_on(lead: httpx.Client, sample_video: Path) -> None:
    default = lead.get("/v1/policies/live").json()
    assert (default["version"], default["created_by"], lead.get("/v1/policies").json()) == (0, None, [])
    job, _ = run_job(lead, sample_video)
    assert job["policy_version"] == 0 and job["risk"] > 0, "judged by the default: the caption is a scam"
    # The lead's own category: the sample's voice-over asks to check the video before it is published.
    document = default["document"]
    document["categories"].append({
        "name": "prepublication", "description": "talk of publishing", "severity": 0.9,
        "signals": [{"module": "text", "labels": ["prepublication"]}],
        "examples": ["check this video before publishing it", "review the clip before it goes live"],
        "terms": ["before it is published", "re:not (yet )?released"]})
    dry = lead.post("/v1/policies/dry-run", json=document)
    assert dry.status_code == 200, dry.text
    assert dry.json()["compared_version"] == 0 and dry.json()["jobs_compared"] == 1
    assert dry.json()["text_rejudging_needed"] is True, "a new category with examples judges text differently"
    assert dry.json()["readings_matching_new_terms"] == 1, "its terms are matched on what past jobs said"
    assert dry.json()["risk_changed"] == 1 and dry.json()["largest_moves"] == [], "one job: it cannot move"
    assert lead.get(f"/v1/jobs/{job['id']}").json()["risk"] == job["risk"], "a dry run changes nothing"
    # Raising the scams category's severity moves past jobs' risk: the dry run says so.
    scams = next(c for c in document["categories"] if c["name"] == "scams")
    scams["signals"][0]["severity"] = 1.0
    raised = lead.post("/v1/policies/dry-run", json=document).json()
    assert raised["risk_changed"] == 1
    saved = lead.post("/v1/policies", json=document)
    assert saved.status_code == 201, saved.text
    assert (saved.json()["version"], saved.json()["live"], saved.json()["created_by"]) == (1, True, "lead")
    assert [v["version"] for v in lead.get("/v1/policies").json()] == [1]
    assert lead.get("/v1/policies/0").json()["live"] is False
    again, findings = run_job(lead, sample_video, module="text")
    assert again["policy_version"] == 1
    assert "prepublication" in {f["label"] for f in findings}, [f["label"] for f in findings]
    assert again["risk"] > job["risk"]
    assert lead.get("/v1/policy").json()["version"] == 1
    assert lead.get("/v1/policy").json()["severities"]["text:scams"] == 1.0


def test_a_wrong_policy_is_refused_with_its_code(lead: httpx.Client, team: TeamKeys) -> None:
    document = lead.get("/v1/policies/live").json()["document"]
    crowded = {**document, "benign_examples": ["hello"] * 501}
    refused = lead.post("/v1/policies", json=crowded)
    assert (refused.status_code, refused.json()["detail"]["code"]) == (422, "policy_too_large")
    assert refused.json()["detail"]["message"] == "501 benign examples: at most 500"
    unknown = {**document, "categories": [*document["categories"], {"name": "x", "severity": 0.5, "signals": [
        {"module": "text", "labels": ["nonsense"]}]}]}
    refused = lead.post("/v1/policies", json=unknown)
    assert (refused.status_code, refused.json()["detail"]["code"]) == (422, "invalid_request")
    assert "names no category ['nonsense']" in refused.json()["detail"]["message"]
    bank = lead.post("/v1/term-banks", json={"name": "scam-words", "category": "scams"})
    assert bank.status_code == 201, bank.text
    without_scams = {**document, "categories": [c for c in document["categories"] if c["name"] != "scams"]}
    refused = lead.post("/v1/policies", json=without_scams)
    assert (refused.status_code, refused.json()["detail"]["code"]) == (409, "category_in_use")
    assert "scam-words (scams)" in refused.json()["detail"]["message"]
    missing = lead.get("/v1/policies/99")
    assert (missing.status_code, missing.json()["detail"]["code"]) == (404, "policy_version_not_found")
    with team.client("reviewer") as reviewer:
        assert reviewer.get("/v1/policies/live").status_code == 200
        denied = reviewer.post("/v1/policies", json=document)
        assert (denied.status_code, denied.json()["detail"]["code"]) == (403, "insufficient_scope")


def test_a_teams_policy_is_its_own(lead: httpx.Client, running_stack: Settings, api: httpx.Client) -> None:
    assert lead.get("/v1/policies").json(), "the first test saved a version"
    other = make_team(running_stack, api, "policy-outsiders", {"lead": ["admin", "review"]})
    with other.client("lead") as outsider:
        assert outsider.get("/v1/policies").json() == []
        assert outsider.get("/v1/policies/live").json()["version"] == 0
        assert outsider.get("/v1/policies/1").status_code == 404
