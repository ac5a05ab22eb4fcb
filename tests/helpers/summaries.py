"""Local servers that speak each LLM provider's protocol (OpenAI, Anthropic, Gemini) as the summaries' SDKs call
them: scripted answers, rate limits, slow answers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from tests.helpers.local_http import answer
from vidsafe.domain.summaries import JobSummary, SuggestedAction, SummaryItem
from vidsafe.settings import Settings

SECRET = "sk-test-never-logged-1234"


ANSWER = JobSummary(headline="A known clip.", findings=[SummaryItem(what="known video", start_s=0, end_s=11,
                                                                   severity="high")],
                    risk=0.1, suggested_action=SuggestedAction.remove, rationale="Listed.")


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
    the provider's answer holding ``answer``; records what was asked."""

    def __init__(self, provider: str, steps: list[tuple[int, dict[str, str], float]],
                 answer: JobSummary = ANSWER) -> None:
        self.provider, self.steps, self.answer = provider, steps, answer
        self.bodies, self.keys, self.times = [], [], []

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        _, path, make_body, key_of, _ = WIRE[self.provider]
        assert handler.path.split("?")[0].endswith(path), handler.path  # (Gemini's API version before it)
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        self.bodies.append(json.loads(body))
        self.keys.append(key_of(handler))
        self.times.append(time.monotonic())
        status, headers, delay_s = self.steps[min(len(self.bodies), len(self.steps)) - 1]
        time.sleep(delay_s)
        payload = make_body(self.answer.model_dump_json()) if status == 200 else {"error": {"message": "no",
                                                                                      "type": "error"}}
        handler.headers.replace_header("Content-Length", "0")  # read above
        answer(handler, status, json.dumps(payload).encode(), Content_Type="application/json", **headers)


def provider_settings(provider: str, url: str, **overrides: object) -> Settings:
    chosen: dict[str, object] = {"summary_backoff_s": 0.05, "summary_timeout_s": 2.0, **overrides}
    return Settings(summary_provider=provider, summary_api_key=SECRET, summary_base_url=url + WIRE[provider][0],
                    **chosen)
