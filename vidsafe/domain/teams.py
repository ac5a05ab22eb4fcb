"""Teams, their limits and API keys, and a reviewer's own preferences (kept with their key)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, Field

from vidsafe.domain.fields import StrictModel


class Scope(StrEnum):
    """What an API key may do; admin may do everything."""

    submit = "submit"  # create jobs and follow them
    review = "review"  # read jobs, findings, segments, similar faces, decisions and summaries; decide
    lists = "lists"  # create, fill and remove the team's hash lists (what known-content matching matches)
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


class AuditEntry(BaseModel):
    """One change to what a team matches by, who may call, or what signs its events: when, who, what, to what."""

    id: int
    at: datetime
    actor: str = Field(description="The API key's name (with its team when an operator acted for the team)")
    action: str = Field(description="hash_list.created, hash_list.imported, hash_list.deleted, key.created, "
                        "key.revoked, webhook_secret.rotated, summary.regenerated")
    subject: str = Field(description="The list's, the key's name")
    detail: dict = Field(description="What it changed: hashes added, a key's scopes, ...")


class WebhookSecretState(BaseModel):
    """A team's webhook secrets, as anyone but the one who rotated them sees them: when, not what."""

    created_at: datetime | None = Field(description="When the current secret was made (null: the team has none, and "
                                        "callback URLs are refused)")
    previous_valid_until: datetime | None = Field(description="Until when the secret before it still signs deliveries "
                                                  "too (null: it no longer does)")


class WebhookSecret(WebhookSecretState):
    """A new current secret: shown this once, never again."""

    secret: str


class WebhookSecretRotation(StrictModel):
    previous_valid_s: float = Field(default=86400.0, ge=0, le=30 * 86400, allow_inf_nan=False,
                                    description="How long the secret being replaced keeps signing deliveries beside "
                                    "the new one, so receivers can switch over (0: it stops now)")


class Preferences(StrictModel):
    """A reviewer's own settings."""

    blur_sensitive: bool = Field(default=True, description="Blur the player's stretches and the thumbnails of "
                                 "sexual and violent categories until revealed (reviewer wellness)")
    grayscale: bool = Field(default=False, description="Play videos in grayscale")
    muted: bool = Field(default=True, description="Start videos with their sound off")
    open_next: bool = Field(default=True, description="After a decision that finishes a video, claim and open the "
                            "next one from the same queue")


class TeamReviewSettings(StrictModel):
    """A team's settings for its reviewers, which its lead (an admin key of the team) sets."""

    defaults: Preferences = Field(default_factory=Preferences, description="The protection and flow "
                                  "settings a reviewer has until they change their own")
    exposure_soft_limit_s: float | None = Field(
        default=None, ge=0, le=86400, allow_inf_nan=False,
        description="Seconds of sensitive stretches a reviewer may play unblurred in a day (UTC) before the queue "
        "offers them milder videos first (unset: no limit)")
