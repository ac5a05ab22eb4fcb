"""Domain types shared by the gateway, the workers and the UI."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field


class StrictModel(BaseModel):
    """A request body or options object: an unknown (or misspelt) key is refused, never ignored."""

    model_config = ConfigDict(extra="forbid")


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _no_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    return value


# Text a client sends that is stored or used as a path: NUL is refused (Postgres text and file names cannot hold it).
Text = Annotated[str, AfterValidator(_no_nul)]
Priority = Annotated[int, BeforeValidator(_no_bool), Field(ge=0, le=9, description="0..9; higher runs first")]
Score = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
# Sampling rates a job may ask for: one frame a minute at the least, as many as 30 a second at the most.
MIN_SAMPLE_FPS, MAX_SAMPLE_FPS = 1 / 60, 30.0


class Module(StrEnum):
    """The analyses a job can run. Each is served by catalogue entries of the same name, except
    restraint, a rule over pose (and CLIP, when enabled) findings, and shots and known_content (the frames'
    perceptual hashes matched against the team's hash lists), found while decoding."""

    nudity = "nudity"
    ocr = "ocr"
    faces = "faces"
    speech = "speech"
    pose = "pose"
    clip = "clip"
    restraint = "restraint"
    text_embeddings = "text_embeddings"
    shots = "shots"
    known_content = "known_content"


class ModuleStatus(BaseModel):
    module: Module
    available: bool
    models: list[str] = Field(description="The Triton models that serve it (none for a rule over other modules)")
    how_to_enable: str | None = None


class Scope(StrEnum):
    """What an API key may do; admin may do everything."""

    submit = "submit"  # create jobs and follow them
    review = "review"  # read jobs, findings, segments, similar faces
    admin = "admin"


TEAM_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
MAX_TEAM_LIMIT = 1_000_000_000  # what a Postgres integer holds, with room


class TeamLimits(StrictModel):
    """A team's limits; a limit left unset takes the deployment's setting (``team_max_*``)."""

    max_running_jobs: int | None = Field(default=None, ge=0, le=MAX_TEAM_LIMIT,
                                         description="Jobs analysed at once; more wait queued")
    max_queued_jobs: int | None = Field(default=None, ge=0, le=MAX_TEAM_LIMIT,
                                        description="Jobs pending or queued; more are a 429")
    max_video_hours_per_day: float | None = Field(default=None, ge=0, le=MAX_TEAM_LIMIT, allow_inf_nan=False,
                                                  description="Hours of video submitted in any 24 h; more are a 429")
    media_retention_s: float | None = Field(default=None, ge=0, le=10 * 365 * 86400, allow_inf_nan=False,
                                            description="How long a succeeded job's video is kept for review "
                                            "(0: removed when the job ends)")

    def or_defaults(self, defaults: TeamLimits) -> TeamLimits:
        """These limits, each one left unset taken from ``defaults`` (the deployment's settings)."""
        return TeamLimits(**{name: getattr(defaults, name) if value is None else value
                             for name, value in self.model_dump(include=set(TeamLimits.model_fields)).items()})


class Team(TeamLimits):
    """A moderation team: it owns its keys, jobs, batches and everything they hold."""

    id: UUID
    name: str
    operator: bool = Field(description="The operator team: its admin keys may act for any team (X-Vidsafe-Team)")
    created_at: datetime


class ApiKey(BaseModel):
    id: UUID
    team: str = Field(description="The team the key belongs to")
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def allows(self, scopes: tuple[Scope, ...]) -> bool:
        return Scope.admin in self.scopes or any(scope in self.scopes for scope in scopes)


class JobStatus(StrEnum):
    """A job's life: pending (waits to be started) -> queued -> running -> succeeded | failed; paused and
    cancelled by hand. Every change is kept in the job's audit trail."""

    pending = "pending"
    queued = "queued"
    running = "running"
    paused = "paused"
    cancelled = "cancelled"
    succeeded = "succeeded"
    failed = "failed"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled)


DEFAULT_PRIORITY = 5
# The response header of a paged list that holds the next page's cursor (absent on the last page).
NEXT_CURSOR_HEADER = "X-Next-Cursor"


class ErrorCode(StrEnum):
    """Why a request was refused or a job failed: stable strings clients can switch on. The README's error
    table lists every member (a test keeps the two equal)."""

    # the uploaded, fetched or named video
    empty_file = "empty_file"
    file_too_large = "file_too_large"
    not_a_video = "not_a_video"
    no_video_stream = "no_video_stream"
    unreadable_media = "unreadable_media"
    partial_coverage = "partial_coverage"
    too_long = "too_long"
    frame_too_large = "frame_too_large"
    unsupported_codec = "unsupported_codec"
    bad_frame_rate = "bad_frame_rate"
    too_many_frames = "too_many_frames"
    upload_timeout = "upload_timeout"
    not_multipart = "not_multipart"
    missing_file = "missing_file"
    malformed_upload = "malformed_upload"
    options_too_large = "options_too_large"
    path_not_allowed = "path_not_allowed"
    file_missing = "file_missing"
    url_not_allowed = "url_not_allowed"
    url_unresolvable = "url_unresolvable"
    download_failed = "download_failed"
    # the request itself
    invalid_request = "invalid_request"
    invalid_options = "invalid_options"
    module_unavailable = "module_unavailable"
    webhooks_disabled = "webhooks_disabled"
    not_found = "not_found"
    method_not_allowed = "method_not_allowed"
    job_not_found = "job_not_found"
    batch_not_found = "batch_not_found"
    face_not_found = "face_not_found"
    key_not_found = "key_not_found"
    key_name_taken = "key_name_taken"
    team_not_found = "team_not_found"
    team_name_taken = "team_name_taken"
    idempotency_mismatch = "idempotency_mismatch"
    body_too_large = "body_too_large"
    team_queue_full = "team_queue_full"
    team_quota_exceeded = "team_quota_exceeded"
    invalid_state = "invalid_state"
    invalid_cursor = "invalid_cursor"
    review_not_found = "review_not_found"
    claim_held = "claim_held"
    not_claimed = "not_claimed"
    person_not_found = "person_not_found"
    thumbnail_not_found = "thumbnail_not_found"
    frame_not_indexed = "frame_not_indexed"
    not_an_image = "not_an_image"
    no_face_found = "no_face_found"
    reviewer_not_found = "reviewer_not_found"
    media_gone = "media_gone"
    hash_list_not_found = "hash_list_not_found"
    hash_list_name_taken = "hash_list_name_taken"
    invalid_hash_list = "invalid_hash_list"
    summary_not_found = "summary_not_found"
    missing_api_key = "missing_api_key"
    invalid_api_key = "invalid_api_key"
    insufficient_scope = "insufficient_scope"
    # a dependency or the analysis
    queue_unavailable = "queue_unavailable"
    database_unavailable = "database_unavailable"
    inference_failed = "inference_failed"
    inference_unavailable = "inference_unavailable"
    internal_error = "internal_error"


class ErrorDetail(BaseModel):
    code: ErrorCode
    message: str


class ErrorBody(BaseModel):
    """What every refusal answers: ``{"detail": {"code", "message"}}``."""

    detail: ErrorDetail


class MediaError(Exception):
    """Input media that cannot be analysed; carries the code a client sees."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class MediaInfo(BaseModel):
    container: str
    codec: str
    width: int = Field(description="Displayed width: after the rotation")
    height: int = Field(description="Displayed height: after the rotation")
    rotation: int = Field(default=0, description="Degrees counterclockwise the stored frames are turned to be shown "
                          "upright (the display matrix); analysis sees them upright")
    duration_s: float = Field(description="From the first frame to the end of the last")
    duration_scanned: bool = Field(default=False, description="Measured by reading every packet's timestamp: the "
                                   "container declared none (a live WebM, MPEG-TS)")
    fps: float
    size_bytes: int
    has_audio: bool


class TimeRange(BaseModel):
    start_s: float
    end_s: float


class Coverage(BaseModel):
    """How much of the video was analysed: a job that analysed less than it was asked says so."""

    frames_expected: int = Field(description="Frames on the sampling grid (at the sampling rate, or the video's "
                                 "own if lower) over the whole video")
    frames_analyzed: int
    share: float = Field(ge=0, le=1, description="Share of the duration decoded and analysed")
    undecodable: list[TimeRange] = Field(default_factory=list, description="Stretches no frame could be decoded "
                                         "in (corrupt packets, a truncated end); analysis resumed after each")
    packets_skipped: int = Field(default=0, description="Video packets the decoder refused, skipped")


class JobWarning(BaseModel):
    """Something a job that succeeded did not do in full."""

    code: ErrorCode
    message: str


class JobOptions(StrictModel):
    """Per-job choices; anything left unset takes the deployment's setting. Unknown keys are refused."""

    modules: list[Module] | None = Field(default=None, min_length=1,
                                         description="Analyses to run (at least one). Unset: the default set.")
    min_scores: dict[Module, Score] = Field(
        default_factory=dict, description="Per-module score threshold overrides, each a number in [0, 1]."
    )
    sample_fps: float | None = Field(default=None, ge=MIN_SAMPLE_FPS, le=MAX_SAMPLE_FPS, allow_inf_nan=False,
                                     description=f"Frames sampled per second, {MIN_SAMPLE_FPS:.4f} (one a minute) "
                                     f"to {MAX_SAMPLE_FPS:g}.")


def category_severity(module: str, label: str, severities: dict[str, float]) -> float:
    """A category's severity (the ``risk_severities`` setting): ``module:label``'s own, else ``module``'s, else 0."""
    return severities.get(f"{module}:{label}", severities.get(str(module), 0.0))


class RiskReason(BaseModel):
    """A segment that raises a job's risk: its severity (the setting of its category) times its score."""

    module: Module
    label: str
    start_s: float
    end_s: float
    score: float
    severity: float
    contribution: float


class Job(BaseModel):
    id: UUID
    status: JobStatus
    source_name: str
    source_url: str | None = None
    batch_id: UUID | None = None
    priority: Priority = DEFAULT_PRIORITY
    callback_url: str | None = None
    progress: float = Field(ge=0, le=1)
    frames_analyzed: int
    media: MediaInfo | None
    options: JobOptions = Field(default_factory=JobOptions)
    modules: list[Module] | None = Field(default=None, description="The modules the job runs, fixed when it is "
                                         "planned (restraint adds pose)")
    step: str | None = Field(default=None, description="What a running job does: fetching (its URL), analysing "
                             "(frames and audio), rules (what reads the findings: identities, restraint, segments)")
    coverage: Coverage | None = Field(default=None, description="Set when the job ends: frames expected and analysed, "
                                      "and the stretches that could not be decoded")
    warnings: list[JobWarning] = Field(default_factory=list, description="What a succeeded job did not do in full "
                                       "(e.g. partial_coverage)")
    risk: float | None = Field(default=None, ge=0, le=1, description="How risky the video is, 0..1, once its rules "
                               "have run: see risk_reasons")
    risk_reasons: list[RiskReason] = Field(default_factory=list, description="The segments that drive the risk, "
                                           "highest first")
    media_kept_until: datetime | None = Field(default=None, description="The video is kept for review until then "
                                              "(GET /v1/jobs/{id}/media)")
    error_code: ErrorCode | None
    error_message: str | None
    retryable: bool = Field(default=False, description="A failure a retry may cure (a dependency was down)")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobEvent(BaseModel):
    """One line of a job's audit trail: a change of status or priority (kind ``status``), or a reviewer's
    decision (kind ``decision``, no status), who made it and why."""

    at: datetime
    kind: str = "status"
    from_status: JobStatus | None
    to_status: JobStatus | None
    priority: int
    actor: str
    reason: str | None


class WebhookDelivery(BaseModel):
    """The delivery of a job's end event to its callback URL."""

    url: str
    status: str = Field(description="pending (being tried), delivered, or failed (given up)")
    attempts: int
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class Batch(BaseModel):
    """A named group of jobs submitted together, with their aggregate progress."""

    id: UUID
    name: str
    auto_start: bool
    priority: Priority
    callback_url: str | None
    created_at: datetime
    jobs: int = 0
    counts: dict[JobStatus, int] = Field(default_factory=dict, description="Jobs per status")
    progress: float = Field(default=0, ge=0, le=1, description="Mean progress of the batch's jobs")


class Detection(BaseModel):
    """One detected region in one sampled frame; box is x1, y1, x2, y2 in frame pixels."""

    label: str
    score: float
    box: tuple[float, float, float, float]


class Finding(BaseModel):
    """Something one module found, at a frame (frame_index) or over a time range (end_s)."""

    id: int | None = Field(default=None, description="Set once stored")
    module: Module
    label: str
    score: float
    timestamp_s: float
    end_s: float | None = None
    frame_index: int | None = None
    box: tuple[float, float, float, float] | None = Field(default=None, description="x1, y1, x2, y2, frame pixels")
    polygon: list[tuple[float, float]] | None = Field(default=None, description="Text outline, frame pixels")
    text: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    # Stored in pgvector (faces, CLIP), never returned by the API.
    embedding: list[float] | None = Field(default=None, exclude=True)


class Segment(BaseModel):
    """Findings of one module and label grouped into a time range, as Rekognition and Video Indexer
    report them."""

    module: Module
    label: str
    start_s: float
    end_s: float
    max_score: float
    mean_score: float
    count: int


class ApiKeyCreated(BaseModel):
    """A key just issued: its record, and the key itself, shown this once (only its hash is stored)."""

    key: ApiKey
    secret: str


class FindingsResponse(BaseModel):
    """A page of a job's findings in time order; ``next_cursor`` leads to the next (None: the last)."""

    job_id: UUID
    status: JobStatus
    findings: list[Finding]
    next_cursor: str | None = None


class SegmentsResponse(BaseModel):
    job_id: UUID
    status: JobStatus
    segments: list[Segment]


class ItemError(BaseModel):
    """An item of a batch that could not be submitted, and why."""

    item: str
    code: ErrorCode
    message: str


class BatchCreated(BaseModel):
    batch: Batch
    jobs: list[Job]
    errors: list[ItemError] = Field(description="Items refused, each with why; the others are in the batch")


class BatchActionResult(BaseModel):
    batch: Batch
    changed: list[UUID]
    skipped: int = Field(description="Jobs whose status the action does not apply to")


# ---- review -------------------------------------------------------------------------------------

class ReviewQueue(StrEnum):
    review = "review"
    escalation = "escalation"


class ReviewState(StrEnum):
    open = "open"  # waiting, or claimed by a reviewer under a lease
    decided = "decided"


class ReviewItem(BaseModel):
    """An analysed job in its team's review queue."""

    job_id: UUID
    source_name: str
    batch_id: UUID | None
    queue: ReviewQueue
    state: ReviewState
    risk: float
    risk_reasons: list[RiskReason]
    claimed_by: str | None = Field(description="The reviewer (key name) holding the item, while the lease runs")
    lease_until: datetime | None
    assigned_to: str | None = Field(description="The reviewer a lead assigned the item to: only they claim it")
    created_at: datetime


class DecisionAction(StrEnum):
    approve = "approve"
    reject = "reject"
    escalate = "escalate"  # the item moves to the escalation queue


class DecisionRequest(StrictModel):
    action: DecisionAction
    policy_label: Text = Field(min_length=1, max_length=100, description="The policy the decision applies, e.g. "
                               "adult_nudity, violent_extremism, none")
    note: Text = Field(default="", max_length=4000)
    start_s: float | None = Field(default=None, ge=0, allow_inf_nan=False, description="A segment's start: the "
                                  "decision is on that segment. Unset: on the whole video")
    end_s: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class Decision(BaseModel):
    """A reviewer's decision, on record for good (decisions are append-only)."""

    id: int
    job_id: UUID
    action: DecisionAction
    start_s: float | None
    end_s: float | None
    policy_label: str
    note: str
    actor: str
    at: datetime


class SearchHit(BaseModel):
    """A transcript line or on-screen text that matched, with where it is."""

    job_id: UUID
    source_name: str
    finding_id: int
    module: Module
    text: str
    timestamp_s: float
    end_s: float | None
    score: float = Field(description="Reciprocal rank fusion of the exact-word and the meaning rankings")
    matched_by: list[str] = Field(description="words (full-text search), meaning (embedding similarity), or both")


class FrameHit(BaseModel):
    """A frame found by similarity (a face, or CLIP's picture of a frame)."""

    job_id: UUID
    source_name: str
    finding: Finding
    cosine_distance: float


class Person(BaseModel):
    """Faces across the team's videos grouped into one person."""

    id: UUID
    name: str | None
    hidden: bool
    faces: int
    jobs: int
    cover: FrameHit | None = Field(description="A face of the person to show")
    created_at: datetime


class PersonUpdate(StrictModel):
    name: Text | None = Field(default=None, max_length=200)
    hidden: bool | None = None


class Preferences(StrictModel):
    """A reviewer's own settings."""

    blur_sensitive: bool = Field(default=True, description="Blur thumbnails of sexual and violent categories until "
                                 "revealed (reviewer wellness)")


class Stats(BaseModel):
    """What the monitoring page shows: the team's jobs, the queue, throughput, the services' health."""

    jobs_by_status: dict[JobStatus, int]
    review_open: int
    escalations_open: int
    queue_depth: int | None = Field(description="Tasks waiting in the broker (all teams); None: Redis unreachable")
    jobs_finished_last_hour: int
    video_seconds_last_hour: float
    frames_last_hour: int
    services: dict[str, bool]


class OperationsSeries(BaseModel):
    legend: str
    points: list[tuple[float, float]] = Field(description="(unix time, value), oldest first")


class OperationsPanel(BaseModel):
    title: str
    unit: str = Field(description="Grafana's unit id: s, ops (per second), h, short")
    description: str
    series: list[OperationsSeries]
    error: str | None = Field(default=None, description="Why Prometheus gave no answer to a query")


class Operations(BaseModel):
    """The Grafana dashboard's figures over a recent window, asked of Prometheus (the caller's own team only in
    per-team panels)."""

    prometheus: str | None = Field(description="The Prometheus asked; None: none is configured")
    message: str | None = Field(default=None, description="Why there are no figures")
    panels: list[OperationsPanel]


class SearchResults(BaseModel):
    hits: list[SearchHit]
    next_cursor: str | None = None
    warnings: list[JobWarning] = Field(default_factory=list, description="What the search could not do (e.g. by "
                                       "meaning, with the text embedder down): its hits are by words alone")


class Me(BaseModel):
    """The caller: their key, the team they act within, their preferences."""

    key: ApiKey
    team: str
    preferences: Preferences


class SignalType(StrEnum):
    """The hash types a hash list holds, named as ThreatExchange names them."""

    pdq = "pdq"  # one picture: a 256-bit PDQ hash, 64 hex digits
    vpdq = "vpdq"  # one video: the PDQ of its frames, with quality and time (ThreatExchange's VPDQSignal)


class RematchState(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class HashListRequest(StrictModel):
    name: Text = Field(min_length=1, max_length=200, description="Unique within the team")
    description: Text = Field(default="", max_length=2000)
    default_label: Text = Field(default="known_content", min_length=1, max_length=200,
                                description="The label of imported hashes whose file gives none")


class HashList(BaseModel):
    """A team's list of hashes of known violating content; every job of the team is matched against it, and
    a list's new hashes against the team's past jobs (re-matching, in the background)."""

    id: UUID
    name: str
    description: str
    default_label: str
    entries: int = Field(description="Hashes in the list")
    rematch_state: RematchState | None = Field(description="Re-matching of past jobs after the last import")
    rematched_jobs: int | None = Field(description="Past jobs the last re-matching compared")
    matched_jobs: int | None = Field(description="Of those, jobs with a match")
    rematch_error: str | None
    created_at: datetime
    updated_at: datetime


class HashImport(BaseModel):
    """What an import added to a list, and what it skipped (never silently)."""

    list: HashList
    added: int = Field(description="Hashes added")
    duplicates: int = Field(description="Hashes already in the list")
    skipped: dict[str, int] = Field(description="Rows of signal types vidsafe does not match (md5, url, ...), "
                                    "by type")


class SuggestedAction(StrEnum):
    approve = "approve"  # nothing found that a policy forbids
    review = "review"  # a human should look at the listed times
    escalate = "escalate"  # severe: to the escalation queue
    remove = "remove"  # known violating content (a hash list's match)


class SummaryItem(BaseModel):
    what: str = Field(description="What was found, in a reviewer's words")
    start_s: float = Field(description="Where it starts, seconds into the video")
    end_s: float = Field(description="Where it ends, seconds into the video")
    severity: Literal["low", "medium", "high"]


class JobSummary(BaseModel):
    """A job's findings summed up for a reviewer: the structured output every summary provider returns."""

    headline: str = Field(description="One sentence: what the video holds and how risky it is")
    findings: list[SummaryItem] = Field(description="What was found and where, most severe first")
    risk: float = Field(description="The job's risk, 0-1, as vidsafe computed it")
    suggested_action: SuggestedAction
    rationale: str = Field(description="Why that action, in two or three sentences")


class SummaryState(StrEnum):
    queued = "queued"
    ready = "ready"
    failed = "failed"


class SummaryRecord(BaseModel):
    """A job's summary: the last one made (``summary``), and the state of the newest request for one."""

    job_id: UUID
    state: SummaryState
    provider: str = Field(description="template (offline), openai, gemini or anthropic")
    model: str | None
    summary: JobSummary | None = Field(description="The last summary made; kept while a new one is made or fails")
    error: str | None = Field(description="Why the newest request failed")
    requested_at: datetime
    generated_at: datetime | None
