"""Summaries for reviewers: the offline template, and the three providers' official SDKs against local servers
speaking each one's wire format (structured output asked for, the key sent and never logged, rate limits waited
out with Retry-After, errors and timeouts ending in a stored failure that keeps the last summary), and through the
stack: a succeeded job has its summary, made again on request."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

import httpx
import psycopg
import pytest

from tests.local_http import answer, serve
from tests.support import run_job, wait_until
from vidsafe.catalogue import Module
from vidsafe.domain.findings import Segment
from vidsafe.domain.jobs import Job, JobStatus, MediaInfo
from vidsafe.domain.summaries import JobSummary, SuggestedAction, SummaryItem
from vidsafe.settings import Settings
from vidsafe.workers.summaries import PROVIDERS, ProviderError, SummaryFacts, summarize_job, template_summary

SECRET = "sk-test-never-logged-1234"
ANSWER = JobSummary(headline="A known clip.", findings=[SummaryItem(what="known video", start_s=0, end_s=11,
                                                                   severity="high")],
                    risk=0.1, suggested_action=SuggestedAction.remove, rationale="Listed.")


def _job(risk: float) -> Job:
    return Job(id=uuid.uuid4(), status=JobStatus.succeeded, source_name="clip.mp4", progress=1, frames_analyzed=24,
               media=MediaInfo(container="mp4", codec="h264", width=640, height=360, duration_s=12, fps=25,
                               size_bytes=1, has_audio=False),
               risk=risk, error_code=None, error_message=None, created_at=datetime.now(UTC), started_at=None,
               finished_at=None)


def _facts(risk: float, *segments: tuple[Module, str, float]) -> SummaryFacts:
    return SummaryFacts(_job(risk), [(Segment(module=m, label=label, start_s=1, end_s=2, max_score=0.9,
                                              mean_score=0.9, count=3), severity) for m, label, severity in segments])


def test_the_template_summary_is_deterministic_and_suggests_by_risk_and_matches() -> None:
    listed = _facts(0.93, (Module.known_content, "csam_hash", 1.0), (Module.faces, "face 1", 0.0))
    summary = template_summary(listed)
    assert summary == template_summary(listed)
    assert summary.suggested_action == SuggestedAction.remove and summary.risk == 0.93
    assert "known_content (csam_hash)" in summary.headline and summary.findings[0].severity == "high"
    assert template_summary(_facts(0.85, (Module.nudity, "FEMALE_BREAST_EXPOSED", 0.9))).suggested_action == "escalate"
    assert template_summary(_facts(0.4, (Module.clip, "weapon", 0.7))).suggested_action == "review"
    assert template_summary(_facts(0.0)).suggested_action == "approve"


# ---- each provider's wire format ---------------------------------------------------------------------------------

def _openai_body(text: str) -> dict:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": text, "refusal": None}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def _anthropic_body(text: str) -> dict:
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1}}


def _gemini_body(text: str) -> dict:
    return {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP",
                            "index": 0}],
            "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2}}


# provider -> (base URL suffix, path the SDK posts to, body of an answer, where it sent the key, how it asked for
# structured output)
WIRE: dict[str, tuple[str, str, Callable[[str], dict], Callable[[BaseHTTPRequestHandler], str | None],
                      Callable[[dict], bool]]] = {
    "openai": ("/v1", "/v1/chat/completions", _openai_body,
               lambda r: (r.headers.get("Authorization") or "").removeprefix("Bearer "),
               lambda body: body["response_format"]["type"] == "json_schema"
               and "suggested_action" in body["response_format"]["json_schema"]["schema"]["properties"]),
    "anthropic": ("", "/v1/messages", _anthropic_body,
                  lambda r: r.headers.get("x-api-key")
                  or (r.headers.get("Authorization") or "").removeprefix("Bearer "),
                  lambda body: "suggested_action" in json.dumps(body.get("output_config", body.get("output_format")))),
    "gemini": ("", "/models/gemini-2.5-flash:generateContent", _gemini_body,
               lambda r: r.headers.get("x-goog-api-key"),
               lambda body: body["generationConfig"]["responseMimeType"] == "application/json"
               and "suggested_action" in json.dumps(body["generationConfig"])),
}


class Script:
    """A local provider: answers each request with the next of ``steps`` (status, headers, delay_s), 200 being
    the provider's answer holding ANSWER; records what was asked."""

    def __init__(self, provider: str, steps: list[tuple[int, dict[str, str], float]]) -> None:
        self.provider, self.steps, self.bodies, self.keys, self.times = provider, steps, [], [], []

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        _, path, make_body, key_of, _ = WIRE[self.provider]
        assert handler.path.split("?")[0].endswith(path), handler.path  # (Gemini's API version before it)
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        self.bodies.append(json.loads(body))
        self.keys.append(key_of(handler))
        self.times.append(time.monotonic())
        status, headers, delay_s = self.steps[min(len(self.bodies), len(self.steps)) - 1]
        time.sleep(delay_s)
        payload = make_body(ANSWER.model_dump_json()) if status == 200 else {"error": {"message": "no",
                                                                                      "type": "error"}}
        handler.headers.replace_header("Content-Length", "0")  # read above
        answer(handler, status, json.dumps(payload).encode(), Content_Type="application/json", **headers)


def _settings(provider: str, url: str, **overrides: object) -> Settings:
    chosen: dict[str, object] = {"summary_backoff_s": 0.05, "summary_timeout_s": 2.0, **overrides}
    return Settings(summary_provider=provider, summary_api_key=SECRET, summary_base_url=url + WIRE[provider][0],
                    **chosen)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_each_sdk_asks_for_the_schema_sends_the_key_and_waits_out_a_rate_limit(
        provider: str, caplog: pytest.LogCaptureFixture) -> None:
    script = Script(provider, [(429, {"Retry-After": "0.5"}, 0.0), (503, {}, 0.0), (200, {}, 0.0)])
    facts = _facts(0.93, (Module.known_content, "csam_hash", 1.0))
    with caplog.at_level(logging.DEBUG), serve(script) as (url, _):
        summary = PROVIDERS[provider](_settings(provider, url)).summarize(facts)
    assert summary.suggested_action == SuggestedAction.remove and summary.risk == 0.93, "the risk is vidsafe's"
    assert len(script.bodies) == 3 and script.keys == [SECRET] * 3
    assert script.times[1] - script.times[0] >= 0.5, "Retry-After was waited out"
    assert WIRE[provider][4](script.bodies[0]), script.bodies[0]
    assert "csam_hash" in json.dumps(script.bodies[0]), "the facts are in the request"
    assert SECRET not in caplog.text


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_bad_key_fails_at_once_and_an_outage_after_the_attempts(provider: str) -> None:
    facts = _facts(0.2)
    refused = Script(provider, [(401, {}, 0.0)])
    with serve(refused) as (url, _), pytest.raises(ProviderError, match="401") as error:
        PROVIDERS[provider](_settings(provider, url)).summarize(facts)
    assert len(refused.bodies) == 1 and SECRET not in str(error.value)
    down = Script(provider, [(500, {}, 0.0)])
    with serve(down) as (url, _), pytest.raises(ProviderError, match="after 3 attempts"):
        PROVIDERS[provider](_settings(provider, url, summary_max_attempts=3)).summarize(facts)
    assert len(down.bodies) == 3


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_provider_slower_than_the_timeout_is_retried_then_given_up(provider: str) -> None:
    slow = Script(provider, [(200, {}, 3.0)])
    started = time.monotonic()
    with serve(slow) as (url, _), pytest.raises(ProviderError):
        PROVIDERS[provider](_settings(provider, url, summary_timeout_s=0.5, summary_max_attempts=2)).summarize(
            _facts(0.2))
    assert len(slow.bodies) == 2 and time.monotonic() - started < 10


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
        settings = _settings("openai", url, database_url=running_stack.effective_database_url)
        summarize_job(conn, uuid.UUID(job["id"]), settings)
    failed = api.get(f"/v1/jobs/{job['id']}/summary").json()
    assert failed["state"] == "failed" and "401" in failed["error"] and failed["summary"] == summary["summary"]
