"""A typed HTTP client of the gateway, for the CLI and the review UI: one method per call, answers as the
domain's models, refusals as ``GatewayError`` with the gateway's code and message."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter

from vidsafe.domain.api import (
    API_KEY_HEADER,
    NEXT_CURSOR_HEADER,
    TEAM_HEADER,
    ApiKeyCreated,
    BatchActionResult,
    BatchCreated,
    Exposure,
    FindingsResponse,
    HashImport,
    Me,
    MediaLinkResponse,
    SearchResults,
    SegmentsResponse,
)
from vidsafe.domain.batches import Batch
from vidsafe.domain.findings import Finding, FrameHit
from vidsafe.domain.hash_lists import HashList
from vidsafe.domain.jobs import Job, JobEvent, JobOptions, JobStatus
from vidsafe.domain.modules import ModuleStatus
from vidsafe.domain.operations import Operations, Stats
from vidsafe.domain.policies import DryRun, Policy, PolicyDocument, PolicyVersion, RejudgingStatus
from vidsafe.domain.policy import ReviewPolicy
from vidsafe.domain.requests import DecisionRequest, HashListRequest, PersonUpdate, TermBankRequest
from vidsafe.domain.review import Decision, DecisionRow, FlaggedSegment, Person, ReviewItem
from vidsafe.domain.rules import RuleFiring
from vidsafe.domain.summaries import SummaryRecord
from vidsafe.domain.teams import (
    ApiKey,
    Preferences,
    Scope,
    Team,
    TeamLimits,
    TeamReviewSettings,
    WebhookSecret,
    WebhookSecretRotation,
    WebhookSecretState,
)
from vidsafe.domain.term_banks import TermBank, TermImport

Model = TypeVar("Model")
CHUNK_BYTES = 1 << 20


class GatewayUnreachable(RuntimeError):
    """No answer from the gateway at all (not running, wrong address)."""


class GatewayError(RuntimeError):
    """The gateway refused a request: its HTTP status and the documented ``{"detail": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code} ({status}): {message}")
        self.status, self.code, self.message = status, code, message

    @classmethod
    def of(cls, response: httpx.Response) -> GatewayError:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        if isinstance(detail, dict):
            return cls(response.status_code, str(detail.get("code", response.status_code)),
                       str(detail.get("message", detail)))
        return cls(response.status_code, str(response.status_code), str(detail))


class GatewayClient:
    def __init__(self, base_url: str, api_key: str | None = None, timeout_s: float = 60.0,
                 team: str | None = None, transport: httpx.BaseTransport | None = None) -> None:
        """``team``: act for this team (an operator admin key only); unset: the key's own team. ``transport``: how
        requests travel, where not over the network as httpx sends them (a Unix socket, a test's handler)."""
        headers = {API_KEY_HEADER: api_key} if api_key else {}
        if team:
            headers[TEAM_HEADER] = team
        self._http = httpx.Client(base_url=base_url, timeout=timeout_s, headers=headers, transport=transport)

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise GatewayUnreachable(f"no answer from the gateway at {self.base_url} ({error})") from None
        if response.is_error:
            raise GatewayError.of(response)
        return response

    def _get(self, answer: type[Model], method: str, path: str, **kwargs: Any) -> Model:
        return TypeAdapter(answer).validate_python(self._send(method, path, **kwargs).json())

    # health
    def ready(self) -> bool:
        """Whether the gateway answers and every service it depends on is ready."""
        try:
            return self._http.get("/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    # jobs
    def upload(self, video: Path, params: dict[str, str] | None = None,
               on_progress: Callable[[int], None] = lambda sent: None, options: JobOptions | None = None,
               name: str | None = None) -> Job:
        """Upload ``video`` as a new job (streamed; ``on_progress`` gets each chunk's size), with its ``options``,
        under ``name`` (default: the file's)."""
        boundary = uuid.uuid4().hex
        filename = (name or video.name).replace('"', "'").replace("\r", " ").replace("\n", " ")

        def body() -> Iterator[bytes]:
            if options is not None:
                yield (f'--{boundary}\r\nContent-Disposition: form-data; name="options"\r\n\r\n'
                       f"{options.model_dump_json(exclude_none=True)}\r\n").encode()
            yield (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                   "Content-Type: application/octet-stream\r\n\r\n").encode()
            with video.open("rb") as stream:
                while chunk := stream.read(CHUNK_BYTES):
                    on_progress(len(chunk))
                    yield chunk
            yield f"\r\n--{boundary}--\r\n".encode()

        return self._get(Job, "POST", "/v1/jobs", params=params, content=body(),
                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def job(self, job_id: str) -> Job:
        return self._get(Job, "GET", f"/v1/jobs/{job_id}")

    def jobs(self, status: JobStatus | None = None, batch_id: str | None = None, limit: int = 50) -> list[Job]:
        params = {"status": status, "batch_id": batch_id, "limit": limit}
        return self._get(list[Job], "GET", "/v1/jobs", params={k: v for k, v in params.items() if v is not None})

    def jobs_page(self, limit: int = 50, cursor: str | None = None, status: JobStatus | None = None,
                  batch_id: str | None = None) -> tuple[list[Job], str | None]:
        """A page of the team's jobs (of a batch), newest first, and the cursor of the next page."""
        params = {"limit": limit, "cursor": cursor, "status": status, "batch_id": batch_id}
        response = self._send("GET", "/v1/jobs", params={k: v for k, v in params.items() if v is not None})
        return TypeAdapter(list[Job]).validate_python(response.json()), response.headers.get(NEXT_CURSOR_HEADER)

    def findings(self, job_id: str, module: str | None = None) -> FindingsResponse:
        """All the job's findings (of ``module``), every page fetched."""
        found: list[Finding] = []
        cursor: str | None = None
        while True:
            params = {"limit": 10000, "module": module, "cursor": cursor}
            page = self._get(FindingsResponse, "GET", f"/v1/jobs/{job_id}/findings",
                             params={k: v for k, v in params.items() if v is not None})
            found.extend(page.findings)
            if page.next_cursor is None:
                return page.model_copy(update={"findings": found})
            cursor = page.next_cursor

    def media(self, job_id: str) -> bytes:
        """The job's video while it is kept for review."""
        return self._send("GET", f"/v1/jobs/{job_id}/media").content

    def media_link(self, job_id: str) -> MediaLinkResponse:
        """A short-lived link (a path on the gateway) a browser streams the job's video by, without a key."""
        return self._get(MediaLinkResponse, "POST", f"/v1/jobs/{job_id}/media-link")

    def thumbnail(self, job_id: str, frame_index: int) -> bytes:
        return self._send("GET", f"/v1/jobs/{job_id}/thumbnails/{frame_index}").content

    def segments(self, job_id: str) -> SegmentsResponse:
        return self._get(SegmentsResponse, "GET", f"/v1/jobs/{job_id}/segments")

    def events(self, job_id: str) -> list[JobEvent]:
        return self._get(list[JobEvent], "GET", f"/v1/jobs/{job_id}/events")

    def control_job(self, job_id: str, action: str, from_scratch: bool = False) -> Job:
        return self._get(Job, "POST", f"/v1/jobs/{job_id}/{action}", params={"from_scratch": from_scratch})

    def set_job_priority(self, job_id: str, priority: int) -> Job:
        return self._get(Job, "PUT", f"/v1/jobs/{job_id}/priority", json={"priority": priority})

    # batches
    def create_batch(self, body: dict[str, Any]) -> BatchCreated:
        return self._get(BatchCreated, "POST", "/v1/batches", json=body)

    def batch(self, batch_id: str) -> Batch:
        return self._get(Batch, "GET", f"/v1/batches/{batch_id}")

    def batches(self, limit: int = 50) -> list[Batch]:
        return self._get(list[Batch], "GET", "/v1/batches", params={"limit": limit})

    def batch_jobs(self, batch_id: str) -> list[Job]:
        return self._get(list[Job], "GET", f"/v1/batches/{batch_id}/jobs")

    def control_batch(self, batch_id: str, action: str, from_scratch: bool = False) -> BatchActionResult:
        return self._get(BatchActionResult, "POST", f"/v1/batches/{batch_id}/{action}",
                         params={"from_scratch": from_scratch})

    def set_batch_priority(self, batch_id: str, priority: int) -> Batch:
        return self._get(Batch, "PUT", f"/v1/batches/{batch_id}/priority", json={"priority": priority})

    # modules and keys
    def modules(self) -> list[ModuleStatus]:
        return self._get(list[ModuleStatus], "GET", "/v1/modules")

    def policy(self) -> ReviewPolicy:
        """The values the deployment judges by: thresholds, severities, what is blurred."""
        return self._get(ReviewPolicy, "GET", "/v1/policy")

    def create_key(self, name: str, scopes: list[Scope]) -> ApiKeyCreated:
        return self._get(ApiKeyCreated, "POST", "/v1/keys", json={"name": name, "scopes": scopes})

    def keys(self) -> list[ApiKey]:
        return self._get(list[ApiKey], "GET", "/v1/keys")

    def revoke_key(self, name: str) -> ApiKey:
        return self._get(ApiKey, "POST", f"/v1/keys/{name}/revoke")

    # the caller
    def me(self) -> Me:
        return self._get(Me, "GET", "/v1/me")

    def report_exposure(self, seconds: float) -> Exposure:
        return self._get(Exposure, "POST", "/v1/me/exposure", json={"seconds": seconds})

    def set_preferences(self, preferences: Preferences) -> Preferences:
        return self._get(Preferences, "PUT", "/v1/me/preferences", json=preferences.model_dump())

    # review
    def review_items(self, queue: str = "review", state: str = "open", limit: int = 50, cursor: str | None = None,
                     **filters: Any) -> tuple[list[ReviewItem], str | None]:
        params = {"queue": queue, "state": state, "limit": limit, "cursor": cursor, **filters}
        response = self._send("GET", "/v1/reviews", params={k: v for k, v in params.items() if v is not None})
        return TypeAdapter(list[ReviewItem]).validate_python(response.json()), response.headers.get(NEXT_CURSOR_HEADER)

    def review_counts(self) -> dict[str, int]:
        return self._get(dict[str, int], "GET", "/v1/reviews/counts")

    def claim_next(self, queue: str = "review", **filters: Any) -> ReviewItem | None:
        """The next item, claimed; None when nothing is left to claim."""
        body = {"queue": queue, **{k: v for k, v in filters.items() if v is not None}}
        response = self._send("POST", "/v1/reviews/claim", json=body)
        return None if response.status_code == 204 else ReviewItem.model_validate(response.json())

    def review_item(self, job_id: str) -> ReviewItem:
        return self._get(ReviewItem, "GET", f"/v1/reviews/{job_id}")

    def flagged_segments(self, job_id: str) -> list[FlaggedSegment]:
        """The segments the job's policy flags, what drives the risk first, with the decisions on each."""
        return self._get(list[FlaggedSegment], "GET", f"/v1/reviews/{job_id}/segments")

    def review_action(self, job_id: str, action: str) -> ReviewItem:
        """renew, release or skip this reviewer's claim."""
        return self._get(ReviewItem, "POST", f"/v1/reviews/{job_id}/{action}")

    def assign_review(self, job_id: str, reviewer: str | None) -> ReviewItem:
        """A lead (admin key) hands the item to the reviewer of that key name (None: to anyone)."""
        return self._get(ReviewItem, "PUT", f"/v1/reviews/{job_id}/assignee", json={"reviewer": reviewer})

    def decide(self, job_id: str, decision: DecisionRequest) -> Decision:
        return self._get(Decision, "POST", f"/v1/jobs/{job_id}/decisions",
                         json=decision.model_dump(mode="json", exclude_none=True))

    def decisions(self, job_id: str | None = None, limit: int = 100) -> list[DecisionRow]:
        path = f"/v1/jobs/{job_id}/decisions" if job_id else "/v1/decisions"
        return self._get(list[DecisionRow], "GET", path, params={"limit": limit})

    def decisions_csv(self, limit: int = 10000) -> bytes:
        """The team's newest decisions as CSV (a spreadsheet's download)."""
        return self._send("GET", "/v1/decisions", params={"format": "csv", "limit": limit}).content

    def search(self, q: str, mode: str = "both", limit: int = 20) -> SearchResults:
        return self._get(SearchResults, "GET", "/v1/search", params={"q": q, "mode": mode, "limit": limit})

    def faces_like_photo(self, photo: bytes, name: str = "photo", limit: int = 20) -> list[FrameHit]:
        return self._get(list[FrameHit], "POST", "/v1/search/faces", params={"limit": limit},
                         files={"photo": (name, photo, "application/octet-stream")})

    def similar_faces(self, finding_id: int, limit: int = 20, other_videos: bool = False) -> list[dict[str, Any]]:
        return self._get(list[dict[str, Any]], "GET", f"/v1/findings/{finding_id}/similar-faces",
                         params={"limit": limit, "other_videos": other_videos})

    def people(self, hidden: bool = False, limit: int = 50) -> list[Person]:
        return self._get(list[Person], "GET", "/v1/people", params={"hidden": hidden, "limit": limit})

    def update_person(self, person_id: str, update: PersonUpdate) -> Person:
        return self._get(Person, "PATCH", f"/v1/people/{person_id}", json=update.model_dump(exclude_unset=True))

    def merge_people(self, person_id: str, other: str) -> Person:
        return self._get(Person, "POST", f"/v1/people/{person_id}/merge", json={"other": other})

    def split_person(self, finding_ids: list[int]) -> Person:
        """Move those faces to a new person of their own."""
        return self._get(Person, "POST", "/v1/people/split", json={"finding_ids": finding_ids})

    def appearances(self, person_id: str, every_face: bool = False) -> list[FrameHit]:
        return self._get(list[FrameHit], "GET", f"/v1/people/{person_id}/appearances",
                         params={"every_face": every_face, "limit": 10000 if every_face else 200})

    def stats(self) -> Stats:
        return self._get(Stats, "GET", "/v1/stats")

    def operations(self, minutes: int = 60) -> Operations:
        return self._get(Operations, "GET", "/v1/stats/operations", params={"minutes": minutes})

    # teams
    def create_team(self, name: str, limits: TeamLimits) -> Team:
        return self._get(Team, "POST", "/v1/teams", json={"name": name, **limits.model_dump(exclude_none=True)})

    def teams(self) -> list[Team]:
        return self._get(list[Team], "GET", "/v1/teams")

    def review_settings(self, team: str) -> TeamReviewSettings:
        return self._get(TeamReviewSettings, "GET", f"/v1/teams/{team}/review-settings")

    def set_review_settings(self, team: str, settings: TeamReviewSettings) -> TeamReviewSettings:
        return self._get(TeamReviewSettings, "PUT", f"/v1/teams/{team}/review-settings",
                         json=settings.model_dump(mode="json"))

    def set_team_limits(self, name: str, limits: TeamLimits) -> Team:
        return self._get(Team, "PUT", f"/v1/teams/{name}/limits", json=limits.model_dump(exclude_none=True))

    # the team's webhook secret
    def webhook_secret(self) -> WebhookSecretState:
        return self._get(WebhookSecretState, "GET", "/v1/webhook-secret")

    def rotate_webhook_secret(self, rotation: WebhookSecretRotation) -> WebhookSecret:
        return self._get(WebhookSecret, "POST", "/v1/webhook-secret", json=rotation.model_dump())

    # hash lists
    def create_hash_list(self, request: HashListRequest) -> HashList:
        return self._get(HashList, "POST", "/v1/hash-lists", json=request.model_dump())

    def hash_lists(self) -> list[HashList]:
        return self._get(list[HashList], "GET", "/v1/hash-lists")

    def hash_list(self, list_id: str) -> HashList:
        return self._get(HashList, "GET", f"/v1/hash-lists/{list_id}")

    def import_hashes(self, list_id: str, content: bytes, list_format: str = "auto") -> HashImport:
        return self._get(HashImport, "POST", f"/v1/hash-lists/{list_id}/imports", content=content,
                         params={"format": list_format}, headers={"Content-Type": "text/csv"})

    def delete_hash_list(self, list_id: str) -> None:
        self._send("DELETE", f"/v1/hash-lists/{list_id}")

    # term banks
    def create_term_bank(self, request: TermBankRequest) -> TermBank:
        return self._get(TermBank, "POST", "/v1/term-banks", json=request.model_dump())

    def term_banks(self) -> list[TermBank]:
        return self._get(list[TermBank], "GET", "/v1/term-banks")

    def import_terms(self, bank_id: str, content: bytes, replace: bool = False) -> TermImport:
        return self._get(TermImport, "POST", f"/v1/term-banks/{bank_id}/imports", content=content,
                         params={"replace": str(replace).lower()}, headers={"Content-Type": "text/plain"})

    def terms_file(self, bank_id: str) -> str:
        return self._send("GET", f"/v1/term-banks/{bank_id}/terms").text

    def delete_term_bank(self, bank_id: str) -> None:
        self._send("DELETE", f"/v1/term-banks/{bank_id}")

    # policies
    def policy_versions(self) -> list[PolicyVersion]:
        return self._get(list[PolicyVersion], "GET", "/v1/policies")

    def policy_version(self, version: int | None = None) -> Policy:
        """A version of the team's policy: the live one unless ``version`` says which."""
        return self._get(Policy, "GET", "/v1/policies/live" if version is None else f"/v1/policies/{version}")

    def save_policy(self, document: PolicyDocument) -> Policy:
        return self._get(Policy, "POST", "/v1/policies", json=document.model_dump(mode="json"))

    def dry_run_policy(self, document: PolicyDocument) -> DryRun:
        return self._get(DryRun, "POST", "/v1/policies/dry-run", json=document.model_dump(mode="json"))

    def rejudge(self) -> RejudgingStatus:
        """Judge the team's past jobs again by the live policy, in the background."""
        return self._get(RejudgingStatus, "POST", "/v1/policies/rejudging")

    def rejudging(self) -> RejudgingStatus:
        return self._get(RejudgingStatus, "GET", "/v1/policies/rejudging")

    def rule_firings(self, job_id: str) -> list[RuleFiring]:
        return self._get(list[RuleFiring], "GET", f"/v1/jobs/{job_id}/rule-firings")

    # summaries
    def summary(self, job_id: str) -> SummaryRecord:
        return self._get(SummaryRecord, "GET", f"/v1/jobs/{job_id}/summary")

    def regenerate_summary(self, job_id: str) -> SummaryRecord:
        return self._get(SummaryRecord, "POST", f"/v1/jobs/{job_id}/summary")
