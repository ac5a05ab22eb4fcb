"""A typed HTTP client of the gateway, for the CLI and the review UI: one method per call, answers as the
domain's models, refusals as ``GatewayError`` with the gateway's code and message."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter

from vidsafe.apikeys import API_KEY_HEADER, TEAM_HEADER
from vidsafe.domain import (
    ApiKey,
    ApiKeyCreated,
    Batch,
    BatchActionResult,
    BatchCreated,
    FindingsResponse,
    Job,
    JobEvent,
    JobStatus,
    ModuleStatus,
    Scope,
    SegmentsResponse,
    Team,
    TeamLimits,
)

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
                 team: str | None = None) -> None:
        """``team``: act for this team (an operator admin key only); unset: the key's own team."""
        headers = {API_KEY_HEADER: api_key} if api_key else {}
        if team:
            headers[TEAM_HEADER] = team
        self._http = httpx.Client(base_url=base_url, timeout=timeout_s, headers=headers)

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
               on_progress: Callable[[int], None] = lambda sent: None) -> Job:
        """Upload ``video`` as a new job (streamed; ``on_progress`` gets each chunk's size)."""
        boundary = uuid.uuid4().hex

        def body() -> Iterator[bytes]:
            yield (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{video.name}"\r\n'
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

    def findings(self, job_id: str) -> FindingsResponse:
        return self._get(FindingsResponse, "GET", f"/v1/jobs/{job_id}/findings")

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

    def create_key(self, name: str, scopes: list[Scope]) -> ApiKeyCreated:
        return self._get(ApiKeyCreated, "POST", "/v1/keys", json={"name": name, "scopes": scopes})

    def keys(self) -> list[ApiKey]:
        return self._get(list[ApiKey], "GET", "/v1/keys")

    def revoke_key(self, name: str) -> ApiKey:
        return self._get(ApiKey, "POST", f"/v1/keys/{name}/revoke")

    # teams
    def create_team(self, name: str, limits: TeamLimits) -> Team:
        return self._get(Team, "POST", "/v1/teams", json={"name": name, **limits.model_dump(exclude_none=True)})

    def teams(self) -> list[Team]:
        return self._get(list[Team], "GET", "/v1/teams")

    def set_team_limits(self, name: str, limits: TeamLimits) -> Team:
        return self._get(Team, "PUT", f"/v1/teams/{name}/limits", json=limits.model_dump(exclude_none=True))

