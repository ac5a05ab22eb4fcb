"""The API's envelopes (what answers wrap around the entities) and the headers it reads and writes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from vidsafe.domain.batches import Batch
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.findings import Finding, Segment
from vidsafe.domain.hash_lists import HashList
from vidsafe.domain.jobs import Job, JobStatus, JobWarning
from vidsafe.domain.review import SearchHit
from vidsafe.domain.teams import ApiKey, Preferences

# The response header of a paged list that holds the next page's cursor (absent on the last page).
API_KEY_HEADER = "X-API-Key"
# Names the team an operator admin acts for in a request; unset: the key's own team.
TEAM_HEADER = "X-Vidsafe-Team"
NEXT_CURSOR_HEADER = "X-Next-Cursor"


class MediaLinkResponse(BaseModel):
    """A short-lived link a browser streams a job's video by, with Range, and no API key."""

    path: str = Field(description="The link, on the gateway: /media/{token}")
    url: str = Field(description="The link as a browser reaches it: VIDSAFE_GATEWAY_PUBLIC_URL, else the address "
                     "this request came to, and the path")
    expires_at: datetime


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


class SearchResults(BaseModel):
    hits: list[SearchHit]
    next_cursor: str | None = None
    warnings: list[JobWarning] = Field(default_factory=list, description="What the search could not do (e.g. by "
                                       "meaning, with the text embedder down): its hits are by words alone")


class Exposure(BaseModel):
    """The caller's unblurred seconds of sensitive stretches today (UTC), and their team's soft limit."""

    today_s: float
    soft_limit_s: float | None = Field(description="Past it, the queue offers milder videos first (None: no limit)")


class Me(BaseModel):
    """The caller: their key, the team they act within, their preferences, their exposure today."""

    key: ApiKey
    team: str
    preferences: Preferences
    exposure: Exposure


class HashImport(BaseModel):
    """What an import added to a list, and what it skipped (never silently)."""

    list: HashList
    added: int = Field(description="Hashes added")
    duplicates: int = Field(description="Hashes already in the list")
    skipped: dict[str, int] = Field(description="Rows of signal types vidsafe does not match (md5, url, ...), "
                                    "by type")
