"""Hash lists: a team's lists of known violating content, and re-matching past jobs against them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, Field

from vidsafe.domain.fields import BackgroundState


class SignalType(StrEnum):
    """The hash types a hash list holds, named as ThreatExchange names them."""

    pdq = "pdq"  # one picture: a 256-bit PDQ hash, 64 hex digits
    vpdq = "vpdq"  # one video: the PDQ of its frames, with quality and time (ThreatExchange's VPDQSignal)


class HashList(BaseModel):
    """A team's list of hashes of known violating content; every job of the team is matched against it, and
    a list's new hashes against the team's past jobs (re-matching, in the background)."""

    id: UUID
    name: str
    description: str
    default_label: str
    entries: int = Field(description="Hashes in the list")
    rematch_state: BackgroundState | None = Field(description="Re-matching of past jobs after the last import")
    rematched_jobs: int | None = Field(description="Past jobs the last re-matching compared")
    matched_jobs: int | None = Field(description="Of those, jobs with a match")
    rematch_error: str | None
    created_at: datetime
    updated_at: datetime
