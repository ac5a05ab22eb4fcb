"""What each scope may read and change (issue 25): a submit-only key follows its jobs but reads no reviewer's
decision or summary; hash lists are changed under a scope of their own, and every change is in the team's audit
trail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.support import TeamKeys, make_team, submit, wait_for_job
from vidsafe.settings import Settings

NUDITY = '{"modules": ["nudity"]}'
PDQ = "pdq f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22\n"


@pytest.fixture(scope="module")
def team(running_stack: Settings, api: httpx.Client) -> Iterator[TeamKeys]:
    yield make_team(running_stack, api, "scoped", {"submitter": ["submit"], "reviewer": ["review"],
                                                   "curator": ["lists"], "admin": ["admin"]})


def test_a_submit_only_key_reads_no_decision_or_summary(team: TeamKeys, sample_video: Path) -> None:
    with team.client("submitter") as submitter, team.client("reviewer") as reviewer:
        job = wait_for_job(submitter, submit(submitter, sample_video, NUDITY))
        assert job["status"] == "succeeded", job
        decided = reviewer.post(f"/v1/jobs/{job['id']}/decisions", json={
            "action": "approve", "policy_label": "none", "note": "the reviewer's own words"})
        assert decided.status_code == 201, decided.text
        seen = {key: [event["kind"] for event in client.get(f"/v1/jobs/{job['id']}/events").json()]
                for key, client in (("submitter", submitter), ("reviewer", reviewer))}
        assert "decision" in seen["reviewer"] and "decision" not in seen["submitter"], seen
        assert "the reviewer's own words" not in submitter.get(f"/v1/jobs/{job['id']}/events").text
        assert submitter.get(f"/v1/jobs/{job['id']}").status_code == 200, "a submitter still follows its job"
        assert submitter.get(f"/v1/jobs/{job['id']}/summary").status_code == 403
        assert reviewer.get(f"/v1/jobs/{job['id']}/summary").status_code in (200, 404)


def test_hash_lists_change_only_under_their_scope_and_each_change_is_audited(team: TeamKeys) -> None:
    with team.client("reviewer") as reviewer, team.client("curator") as curator, team.client("admin") as admin, \
            team.client("submitter") as submitter:
        assert reviewer.post("/v1/hash-lists", json={"name": "known"}).status_code == 403
        made = curator.post("/v1/hash-lists", json={"name": "known"})
        assert made.status_code == 201, made.text
        list_id = made.json()["id"]
        assert reviewer.post(f"/v1/hash-lists/{list_id}/imports?format=lines", content=PDQ).status_code == 403
        imported = curator.post(f"/v1/hash-lists/{list_id}/imports?format=lines", content=PDQ,
                                headers={"Content-Type": "text/plain"})
        assert imported.status_code == 202 and imported.json()["added"] == 1, imported.text
        assert reviewer.get(f"/v1/hash-lists/{list_id}").status_code == 200, "reviewers still read the lists"
        assert submitter.get("/v1/hash-lists").status_code == 403
        assert reviewer.delete(f"/v1/hash-lists/{list_id}").status_code == 403
        assert curator.delete(f"/v1/hash-lists/{list_id}").status_code == 204
        assert curator.get("/v1/audit").status_code == 403
        trail = [(entry["action"], entry["actor"], entry["subject"]) for entry in admin.get("/v1/audit").json()]
    assert trail[:3] == [("hash_list.deleted", "curator", "known"), ("hash_list.imported", "curator", "known"),
                         ("hash_list.created", "curator", "known")]
    assert sum(action == "key.created" for action, _, _ in trail) == 4, "the team's four keys"
