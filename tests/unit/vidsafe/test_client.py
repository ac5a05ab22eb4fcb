"""The gateway's typed client (vidsafe/client.py), against a handler that answers as the gateway does: what it
sends, how it reads answers and refusals, and how it pages. The stack tier runs it against the real gateway (the
CLI's and the UI's tests)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from vidsafe.client import GatewayClient, GatewayError, GatewayUnreachable
from vidsafe.domain.api import API_KEY_HEADER, NEXT_CURSOR_HEADER, TEAM_HEADER
from vidsafe.domain.jobs import JobOptions

BASE = "http://gateway.test"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC).isoformat()


def _job(status: str = "queued") -> dict:
    return {"id": str(uuid4()), "status": status, "source_name": "clip.mp4", "progress": 0.0, "frames_analyzed": 0,
            "media": None, "error_code": None, "error_message": None, "created_at": NOW, "started_at": None,
            "finished_at": None}


def _finding(n: int) -> dict:
    return {"id": n, "module": "ocr", "label": "text", "score": 0.9, "timestamp_s": float(n), "text": f"line {n}"}


def _client(handler: Callable[[httpx.Request], httpx.Response], **kwargs: object) -> GatewayClient:
    return GatewayClient(BASE, "vsk_key", transport=httpx.MockTransport(handler), **kwargs)


def test_every_request_carries_the_key_and_the_team_acted_for() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=_job())

    with _client(handler, team="moderators") as client:
        job = client.job("abc")
    assert job.status == "queued" and job.source_name == "clip.mp4"
    (request,) = seen
    assert (request.method, request.url.path) == ("GET", "/v1/jobs/abc")
    assert request.headers[API_KEY_HEADER] == "vsk_key" and request.headers[TEAM_HEADER] == "moderators"


def test_a_refusal_is_a_gateway_error_with_the_gateways_code_and_message() -> None:
    refusal = {"detail": {"code": "job_not_found", "message": "no job abc"}}
    with _client(lambda request: httpx.Response(404, json=refusal)) as client, \
            pytest.raises(GatewayError) as refused:
        client.job("abc")
    assert (refused.value.status, refused.value.code, refused.value.message) == (404, "job_not_found", "no job abc")
    with _client(lambda request: httpx.Response(502, text="Bad Gateway")) as client, \
            pytest.raises(GatewayError) as proxied:
        client.job("abc")
    assert (proxied.value.status, proxied.value.code, proxied.value.message) == (502, "502", "Bad Gateway")


def test_no_answer_at_all_says_where_it_asked() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with _client(handler) as client, pytest.raises(GatewayUnreachable, match=r"gateway\.test"):
        client.job("abc")
    with _client(handler) as client:
        assert client.ready() is False


def test_findings_are_read_page_after_page_and_a_jobs_page_gives_the_next_cursor() -> None:
    cursors: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/jobs":
            return httpx.Response(200, json=[_job()], headers={NEXT_CURSOR_HEADER: "next-page"})
        cursor = request.url.params.get("cursor")
        cursors.append(cursor)
        page, next_cursor = ([_finding(1), _finding(2)], "c2") if cursor is None else ([_finding(3)], None)
        return httpx.Response(200, json={"job_id": str(uuid4()), "status": "succeeded", "findings": page,
                                         "next_cursor": next_cursor})

    with _client(handler) as client:
        found = client.findings("abc")
        jobs, cursor = client.jobs_page(limit=1)
    assert [f.id for f in found.findings] == [1, 2, 3] and cursors == [None, "c2"]
    assert len(jobs) == 1 and cursor == "next-page"


def test_an_upload_streams_its_options_then_the_file_under_a_safe_name(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00\x01" * 1000)
    bodies: list[bytes] = []
    sent: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
        return httpx.Response(201, json=_job())

    with _client(handler) as client:
        client.upload(video, params={"priority": "7"}, on_progress=sent.append,
                      options=JobOptions(sample_fps=1.0), name='a "quoted"\r\nname.mp4')
    (body,) = bodies
    options_at, file_at = body.index(b'name="options"'), body.index(b'name="file"')
    assert options_at < file_at and json.loads(body[options_at:].split(b"\r\n\r\n", 1)[1].split(b"\r\n")[0]) == {
        "min_scores": {}, "sample_fps": 1.0}
    assert b"filename=\"a 'quoted'  name.mp4\"" in body and video.read_bytes() in body
    assert sum(sent) == video.stat().st_size
