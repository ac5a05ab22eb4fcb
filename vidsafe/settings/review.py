"""Settings: review (risk, the queue, thumbnails), outbound requests (webhooks, URL downloads) and summaries for
reviewers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr

from vidsafe.policy import default_severities

# Each LLM provider's model where summary_model is unset.
SUMMARY_DEFAULT_MODELS = {"openai": "gpt-4.1-mini", "gemini": "gemini-2.5-flash", "anthropic": "claude-sonnet-4-6"}


class ReviewSettings(BaseModel):
    # Review (risk, queue, thumbnails)
    risk_severities: dict[str, float] = Field(
        default_factory=default_severities,
        description="Severity, 0..1, of each category (JSON object: `module` or `module:label`, the label's own "
        "entry first). A segment contributes severity x its highest score to its job's risk; categories not "
        "listed (faces, text, speech, pose) contribute nothing.",
    )
    blur_min_severity: float = Field(
        default=0.5, ge=0, le=1,
        description="The review UI blurs thumbnails of categories at least this severe (risk_severities: exposed "
        "bodies, restraint, gore, violence, ...) until revealed, unless a reviewer turns blurring off.",
    )
    review_lease_s: float = Field(
        default=300.0, ge=5,
        description="How long a reviewer's claim on a queue item lasts unless renewed (the review page renews "
        "it while open); then another reviewer may claim it.",
    )
    media_link_ttl_s: float = Field(
        default=3600.0, ge=10, le=86400,
        description="How long a media link the review player streams a video by stays valid (the page asks for a "
        "new one as it nears its end).",
    )
    thumbnail_max_side: int = Field(
        default=320, ge=32, le=1920,
        description="Longest side, in pixels, of the keyframe thumbnails stored for frames with findings.",
    )

    # Outbound requests: webhooks and URL ingestion
    allow_private_urls: bool = Field(
        default=False,
        description="Let webhooks and URL ingestion reach loopback, private and link-local addresses. Off: such "
        "URLs are refused (SSRF guard).",
    )
    webhook_max_attempts: int = Field(default=8, ge=1, description="Deliveries of one webhook event before "
                                      "it is given up.")
    webhook_backoff_s: float = Field(default=2.0, gt=0, description="First retry delay of a webhook "
                                     "delivery; it doubles each attempt, with jitter.")
    webhook_backoff_max_s: float = Field(default=600.0, gt=0, description="Longest delay between webhook "
                                         "delivery attempts.")
    outbound_timeout_s: float = Field(default=30.0, gt=0, description="Longest wait for a webhook receiver's or "
                                      "a URL download's server to connect, accept or send more.")
    webhook_deadline_s: float = Field(default=60.0, gt=0, description="The longest one webhook delivery may take in "
                                      "all (a receiver answering a byte at a time is cut off).")
    webhook_concurrency: int = Field(default=8, ge=1, description="Webhook deliveries in flight at once, each on a "
                                     "thread of the maintenance service: a slow receiver delays only its own.")
    download_deadline_s: float = Field(default=3600.0, gt=0, description="The longest one URL download may take in "
                                       "all.")

    # Summaries for reviewers (workers/summaries.py)
    summary_provider: Literal["template", "openai", "gemini", "anthropic"] = Field(
        default="template",
        description="Who writes a job's summary: template (offline, deterministic, no network), or an LLM through "
        "its official SDK with structured output: openai (also any OpenAI-compatible server, with "
        "summary_base_url), gemini (google-genai) or anthropic.",
    )
    summary_model: str | None = Field(
        default=None,
        description="The provider's model. Unset: "
        + ", ".join(f"{model} ({provider})" for provider, model in SUMMARY_DEFAULT_MODELS.items()) + ".",
    )
    summary_api_key: SecretStr | None = Field(
        default=None, description="The provider's API key (never logged or shown; `vidsafe settings` masks it)."
    )
    summary_base_url: str | None = Field(
        default=None,
        description="The provider's API address, where not its public one: a self-hosted OpenAI-compatible server "
        "(vLLM, Ollama), a proxy, or a gateway.",
    )
    summary_timeout_s: float = Field(default=60.0, gt=0, description="Deadline of one request to the provider.")
    summary_max_attempts: int = Field(
        default=4, ge=1, le=20,
        description="Requests for one summary before it fails: a rate limit (429), an overloaded or failing "
        "server (5xx) or a timeout is retried after the provider's Retry-After, else with doubling backoff.",
    )
    summary_backoff_s: float = Field(default=1.0, gt=0, description="First retry delay of a summary request "
                                     "without Retry-After; it doubles each attempt.")
    summary_backoff_max_s: float = Field(default=60.0, gt=0, description="Longest wait between summary requests, "
                                         "Retry-After included.")
    summary_regenerations_per_hour: int = Field(default=60, ge=0, description="Summaries a team may ask for again "
                                                "in any hour (429 summary_rate_limited past it): each may be a paid "
                                                "request to the LLM provider.")

    @property
    def effective_summary_model(self) -> str | None:
        """The model summaries are asked of (None: the template's, no model)."""
        return self.summary_model or SUMMARY_DEFAULT_MODELS.get(self.summary_provider)
