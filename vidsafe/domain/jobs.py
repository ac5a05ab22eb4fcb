"""Jobs: a submitted video, its options, its life (status, audit trail, webhook), what it covered."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, Field

from vidsafe.catalogue import Module
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.fields import DEFAULT_PRIORITY, MAX_SAMPLE_FPS, MIN_SAMPLE_FPS, Priority, Score, StrictModel
from vidsafe.domain.findings import RiskReason


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


class MediaInfo(BaseModel):
    container: str
    codec: str
    width: int = Field(description="Displayed width: after the rotation")
    height: int = Field(description="Displayed height: after the rotation")
    rotation: int = Field(default=0, description="Degrees counterclockwise the stored frames are turned to be shown "
                          "upright (the display matrix); analysis sees them upright")
    duration_s: float = Field(description="From the first frame to the end of the last")
    duration_scanned: bool = Field(default=False, description="Taken from the packets' timestamps, not the header: "
                                   "the container declared none (a live WebM, MPEG-TS), or less than the file holds")
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
    policy_version: int | None = Field(default=None, description="The version of the team's policy the job was "
                                       "judged by (0: the deployment's default); none until its rules have run")
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
