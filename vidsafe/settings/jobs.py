"""Settings: a job's life (control, parts, recovery, retention), backups, what a submission may be, and the limits of
a team that sets none of its own."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from vidsafe.domain.teams import TeamLimits


class JobSettings(BaseModel):
    # Jobs: control, parts, recovery (workers/parts.py, workers/maintenance.py)
    auto_process: bool = Field(
        default=True,
        description="Start jobs as soon as they are submitted. False: they wait in `pending` until started "
        "(a batch may override this).",
    )
    chunk_s: float = Field(
        default=30.0, ge=1,
        description="Length of the time chunks a video's frames are split into; any free worker takes a chunk, "
        "and a job resumes from its finished chunks. A chunk is also a job's turn: jobs take turns chunk by chunk "
        "(job_parts_in_flight), so a short clip waits for a chunk of a long video, not for all of it "
        "(benchmarks/results/fair_queue.md).",
    )
    job_parts_in_flight: int | None = Field(
        default=None, ge=1,
        description="Parts of one job sent to the queue at once; the next is sent as one is done, behind what other "
        "jobs sent meanwhile, so a long video does not hold back the short ones after it. Unset: "
        "worker_concurrency (raise it with the workers of a cluster, so one video still uses them all).",
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

    # Ingest limits
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1, description="Largest accepted upload, in bytes.")
    upload_idle_timeout_s: float = Field(
        default=30.0, gt=0,
        description="An upload that sends no bytes for this long is refused (408), so stalled clients do not hold "
        "a connection and a partial file.",
    )
    upload_min_bytes_per_s: float = Field(
        default=32 * 1024, ge=0,
        description="Once an upload has run for upload_idle_timeout_s, the average rate it must keep, in bytes per "
        "second (408 upload_too_slow below it): a client trickling bytes cannot hold a connection for hours.",
    )
    upload_deadline_s: float = Field(
        default=2 * 3600.0, gt=0, description="The longest an upload may take, in seconds (408 upload_timeout).",
    )
    max_duration_s: float = Field(default=4 * 3600.0, gt=0, description="Longest accepted video, in seconds.")
    max_frame_pixels: int = Field(
        default=4096 * 2304, gt=0, description="Largest accepted frame (width x height), in pixels."
    )
    ingest_roots: list[Path] = Field(
        default_factory=list,
        description="Folders the operator team's jobs may name as server-side paths (JSON list). Empty: its path "
        "jobs are refused.",
    )
    team_ingest_roots: dict[str, list[Path]] = Field(
        default_factory=dict,
        description="Folders each other team's jobs may name as server-side paths, by team name (JSON object, e.g. "
        '{"trust-team": ["/srv/videos/trust-team"]}). A team not named: its path jobs are refused.',
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

    @property
    def team_limits(self) -> TeamLimits:
        """The limits of a team that sets none of its own."""
        return TeamLimits(max_running_jobs=self.team_max_running_jobs, max_queued_jobs=self.team_max_queued_jobs,
                          max_video_hours_per_day=self.team_max_video_hours_per_day,
                          media_retention_s=self.media_retention_s)
