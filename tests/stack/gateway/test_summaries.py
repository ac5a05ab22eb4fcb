"""Summaries for reviewers: the offline template, and the three providers' official SDKs against local servers
speaking each one's wire format (structured output asked for, the key sent and never logged, rate limits waited
out with Retry-After, errors and timeouts ending in a stored failure that keeps the last summary), and through the
stack: a succeeded job has its summary, made again on request."""

from __future__ import annotations

import uuid

import httpx
import psycopg

from tests.conftest import SUMMARY_REGENERATIONS_PER_HOUR
from tests.helpers.local_http import serve
from tests.helpers.summaries import Script, provider_settings
from tests.helpers.support import make_team, run_job, submit, wait_for_job, wait_until
from vidsafe.settings import Settings
from vidsafe.workers.summaries import summarize_job

# ---- through the stack ---------------------------------------------------------------------------------------------

def test_a_succeeded_job_has_its_summary_and_a_new_one_on_request(api: httpx.Client, sample_video,
                                                                  running_stack: Settings) -> None:
    job, _ = run_job(api, sample_video)
    summary = api.get(f"/v1/jobs/{job['id']}/summary").json()
    assert (summary["state"], summary["provider"]) == ("ready", "template"), summary
    assert summary["summary"]["risk"] == job["risk"] and summary["summary"]["headline"]
    first = summary["generated_at"]
    again = api.post(f"/v1/jobs/{job['id']}/summary")
    assert again.status_code == 202 and again.json()["summary"] == summary["summary"], "the last one stays"
    wait_until(lambda: api.get(f"/v1/jobs/{job['id']}/summary").json()["generated_at"] != first,
               "the summary made again")
    assert api.get(f"/v1/jobs/{uuid.uuid4()}/summary").json()["detail"]["code"] == "job_not_found"

    # A provider that refuses: the failure is stored with its reason, and the template's summary kept.
    refusing = Script("openai", [(401, {}, 0.0)])
    with serve(refusing) as (url, _), psycopg.connect(running_stack.effective_database_url, autocommit=True) as conn:
        settings = provider_settings("openai", url, database_url=running_stack.effective_database_url)
        summarize_job(conn, uuid.UUID(job["id"]), settings)
    failed = api.get(f"/v1/jobs/{job['id']}/summary").json()
    assert failed["state"] == "failed" and "401" in failed["error"] and failed["summary"] == summary["summary"]


def test_asking_for_summaries_again_is_limited_per_team_and_audited(api: httpx.Client, running_stack: Settings,
                                                                    sample_video) -> None:
    team = make_team(running_stack, api, "summary-hungry", {"lead": ["submit", "review"], "admin": ["admin"]})
    with team.client("lead") as lead, team.client("admin") as admin:
        job = wait_for_job(lead, submit(lead, sample_video))
        for _ in range(SUMMARY_REGENERATIONS_PER_HOUR):
            assert lead.post(f"/v1/jobs/{job['id']}/summary").status_code == 202
        refused = lead.post(f"/v1/jobs/{job['id']}/summary")
        assert refused.status_code == 429 and refused.json()["detail"]["code"] == "summary_rate_limited", refused.text
        assert 0 < int(refused.headers["Retry-After"]) <= 3600
        trail = [entry["action"] for entry in admin.get("/v1/audit").json()]
    assert trail.count("summary.regenerated") == SUMMARY_REGENERATIONS_PER_HOUR
