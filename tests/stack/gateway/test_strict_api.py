"""A strict API: unknown or out-of-range options are refused with a specific code naming the key, no request
produces a 500 (NUL bytes, NaN, nesting, huge bodies, odd multipart boundaries), nothing stays on disk after a
refused or abandoned upload, and an Idempotency-Key is bound to its request and expires."""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.helpers.support import stored_uploads, upload, wait_for_job, wait_until
from vidsafe.domain.api import API_KEY_HEADER
from vidsafe.settings import Settings

NUDITY = {"modules": ["nudity"]}


def _refused(response: httpx.Response, status: int, code: str, names: str | None = None) -> None:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail["code"] == code, detail
    if names is not None:
        assert names in detail["message"], detail


@pytest.fixture
def ingested(running_stack: Settings, sample_video: Path) -> Path:
    path = running_stack.ingest_roots[0] / f"strict-{uuid.uuid4().hex[:6]}.mp4"
    path.write_bytes(sample_video.read_bytes())
    return path


@pytest.mark.parametrize(("options", "names"), [
    ({"module": ["nudity"]}, "module"),  # a misspelt key is not ignored
    ({"modules": []}, "modules"),
    ({"modules": ["nudity"], "min_scores": {"ocr": 5}}, "min_scores.ocr"),
    ({"min_scores": {"ocr": -0.1}}, "min_scores.ocr"),
    ({"min_scores": {"speling": 0.5}}, "min_scores.speling"),
    ({"sample_fps": 0}, "sample_fps"),
    ({"sample_fps": 31}, "sample_fps"),
    ({"sample_fps": 0.001}, "sample_fps"),
    ({"modules": "nudity"}, "modules"),
])
def test_bad_options_are_refused_naming_the_key(api: httpx.Client, running_stack: Settings, sample_video: Path,
                                                ingested: Path, options: dict, names: str) -> None:
    _refused(api.post("/v1/jobs/from-path", json={"path": str(ingested), "options": options}), 422,
             "invalid_options", names)
    _refused(upload(api, sample_video, options=json.dumps(options)), 422, "invalid_options", names)
    assert not stored_uploads(running_stack)


@pytest.mark.parametrize("raw", ['{"sample_fps": NaN}', '{"min_scores": {"ocr": Infinity}}',
                                 '{"min_scores": {"ocr": -Infinity}}'])
def test_non_finite_numbers_are_refused(api: httpx.Client, ingested: Path, sample_video: Path, raw: str) -> None:
    body = f'{{"path": {json.dumps(str(ingested))}, "options": {raw}}}'
    _refused(api.post("/v1/jobs/from-path", content=body, headers={"Content-Type": "application/json"}), 422,
             "invalid_options")
    _refused(upload(api, sample_video, options=raw), 422, "invalid_options")


def test_unknown_body_keys_are_refused(api: httpx.Client, ingested: Path) -> None:
    _refused(api.post("/v1/jobs/from-path", json={"path": str(ingested), "priorty": 3}), 422, "invalid_options",
             "priorty")
    _refused(api.post("/v1/batches", json={"name": "b", "path": [str(ingested)]}), 422, "invalid_options", "path")
    _refused(api.post("/v1/keys", json={"name": "k", "scopes": ["review"], "team": "x"}), 422, "invalid_options",
             "team")
    _refused(api.post("/v1/jobs", params={"priorty": "3"}, files={"file": ("v.mp4", b"x")}), 422, "invalid_options",
             "priorty")


def test_priorities_are_integers_and_ended_jobs_keep_theirs(api: httpx.Client, ingested: Path) -> None:
    for bad in (True, 1.5, "high", 10, -1):
        _refused(api.post("/v1/jobs/from-path", json={"path": str(ingested), "priority": bad, "start": False}), 422,
                 "invalid_request", "priority")
    job = api.post("/v1/jobs/from-path", json={"path": str(ingested), "options": NUDITY}).json()
    _refused(api.put(f"/v1/jobs/{job['id']}/priority", json={"priority": True}), 422, "invalid_request", "priority")
    assert wait_for_job(api, job["id"])["status"] == "succeeded"
    _refused(api.put(f"/v1/jobs/{job['id']}/priority", json={"priority": 1}), 409, "invalid_state", "ended")
    assert api.get(f"/v1/jobs/{job['id']}").json()["priority"] == job["priority"]


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/v1/jobs/from-path", {"path": "/tmp/a\u0000b.mp4"}),
    ("POST", "/v1/jobs/from-url", {"url": "http://example.com/a\u0000.mp4"}),
    ("POST", "/v1/batches", {"name": "a\u0000b"}),
    ("POST", "/v1/batches", {"name": "b", "urls": ["http://example.com/\u0000"]}),
    ("POST", "/v1/jobs/from-path", {"path": "x", "callback_url": "http://example.com/\u0000"}),
    ("POST", "/v1/keys", {"name": "a\u0000b", "scopes": ["review"]}),
    ("POST", "/v1/teams", {"name": "a\u0000b"}),
    ("POST", "/v1/keys/a%00b/revoke", None),
    ("GET", "/v1/teams/a%00b", None),
    ("GET", "/v1/jobs/%00", None),
    ("GET", f"/v1/jobs/{uuid.uuid4()}/findings?module=%00", None),
    ("GET", "/v1/jobs?status=%00", None),
])
def test_nul_bytes_anywhere_are_a_4xx(api: httpx.Client, method: str, path: str, body: dict | None) -> None:
    response = api.request(method, path, json=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["detail"]["code"] in ("invalid_request", "invalid_options"), response.text


def test_deeply_nested_and_huge_json_bodies(api: httpx.Client, running_stack: Settings) -> None:
    depth = 100_000
    nested = '{"path": "x", "options": ' + "[" * depth + "]" * depth + "}"
    answer = api.post("/v1/jobs/from-path", content=nested, headers={"Content-Type": "application/json"})
    assert 400 <= answer.status_code < 500, answer.text
    huge = json.dumps({"name": "b", "paths": ["x" * 1000] * (running_stack.max_json_body_bytes // 1000)})
    _refused(api.post("/v1/batches", content=huge, headers={"Content-Type": "application/json"}), 413,
             "body_too_large")
    chunked = iter([huge[i:i + 65536].encode() for i in range(0, len(huge), 65536)])  # no Content-Length
    _refused(api.post("/v1/batches", content=chunked, headers={"Content-Type": "application/json"}), 413,
             "body_too_large")
    assert api.get("/healthz").status_code == 200


@pytest.mark.parametrize("length", [0, 1, 70, 71, 200, 4000])
def test_multipart_boundaries_of_any_length(api: httpx.Client, running_stack: Settings, sample_video: Path,
                                            length: int) -> None:
    boundary = "b" * length
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"v.mp4\"\r\n\r\n".encode()
            + sample_video.read_bytes() + f"\r\n--{boundary}--\r\n".encode())
    response = api.post("/v1/jobs", content=body, params={"start": "false"},
                        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code < 500, response.text
    if response.status_code == 201:  # a boundary RFC 2046 allows (1 to 70 characters) or one parsed anyway
        api.post(f"/v1/jobs/{response.json()['id']}/cancel").raise_for_status()
    else:
        assert 400 <= response.status_code < 500 and response.json()["detail"]["code"], response.text
    assert not stored_uploads(running_stack)


def test_an_upload_abandoned_midway_leaves_nothing(running_stack: Settings, api_key: str,
                                                   sample_video: Path) -> None:
    """The client sends half its upload and goes away: the partial file is removed."""
    data = sample_video.read_bytes()
    head = (b'--zz\r\nContent-Disposition: form-data; name="file"; filename="v.mp4"\r\n\r\n')
    length = len(head) + len(data) + 10
    with socket.create_connection(("127.0.0.1", running_stack.gateway_port), timeout=5) as sock:
        sock.sendall((f"POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n{API_KEY_HEADER}: {api_key}\r\n"
                      f"Content-Type: multipart/form-data; boundary=zz\r\nContent-Length: {length}\r\n\r\n").encode())
        sock.sendall(head + data[: len(data) // 2])
        wait_until(lambda: any(running_stack.uploads_dir.rglob("*.partial")), "the partial upload on disk")
        time.sleep(0.2)
    wait_until(lambda: not stored_uploads(running_stack), "the abandoned upload removed", timeout_s=10)


def test_an_idempotency_key_is_bound_to_its_request(api: httpx.Client, running_stack: Settings,
                                                    sample_video: Path, ingested: Path, tmp_path: Path) -> None:
    key = {"Idempotency-Key": f"bound-{uuid.uuid4().hex[:6]}"}
    first = upload(api, sample_video, options=json.dumps(NUDITY), headers=key, params={"start": "false"})
    assert first.status_code == 201, first.text
    same = upload(api, sample_video, options=json.dumps(NUDITY), headers=key, params={"start": "false"})
    assert same.status_code == 200 and same.json()["id"] == first.json()["id"]
    other_file = tmp_path / "other.mp4"
    other_file.write_bytes(sample_video.read_bytes()[:-1] + b"\x00")
    for response in (upload(api, other_file, options=json.dumps(NUDITY), headers=key, params={"start": "false"}),
                     upload(api, sample_video, options='{"modules": ["ocr"]}', headers=key, params={"start": "false"}),
                     upload(api, sample_video, options=json.dumps(NUDITY), headers=key, params={"start": "false",
                                                                                                "priority": "2"}),
                     api.post("/v1/jobs/from-path", json={"path": str(ingested), "options": NUDITY}, headers=key)):
        _refused(response, 409, "idempotency_mismatch", first.json()["id"])
    assert not any(running_stack.uploads_dir.rglob("*.partial"))
    assert [p.name for p in stored_uploads(running_stack)] == [first.json()["id"]]
    # Past its time to live the key may be used again: it makes a new job.
    with psycopg.connect(running_stack.effective_database_url, autocommit=True) as conn:
        conn.execute("UPDATE jobs SET created_at = created_at - make_interval(secs => %s) WHERE id = %s",
                     (running_stack.idempotency_ttl_s + 60, first.json()["id"]))
    again = api.post("/v1/jobs/from-path", json={"path": str(ingested), "options": NUDITY}, headers=key)
    assert again.status_code == 201 and again.json()["id"] != first.json()["id"]
    api.post(f"/v1/jobs/{first.json()['id']}/cancel").raise_for_status()
    wait_for_job(api, again.json()["id"])


def _forged(position: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def test_a_forged_cursor_on_any_list_is_a_422(api: httpx.Client, sample_video: Path) -> None:
    """A cursor with its list's keys and values of the wrong type once reached SQL as it was: a 500."""
    job_id = upload(api, sample_video, params={"start": "false"}).json()["id"]
    lists = {"/v1/jobs": {"t": "yesterday", "id": "x"}, "/v1/reviews": {"r": "high", "t": 1, "id": []},
             f"/v1/jobs/{job_id}/findings": {"t": "x", "id": "y"}, "/v1/decisions": {"id": "1; --"},
             "/v1/people": {"n": 1.5, "id": 3}, "/v1/search": {"o": "0"}}
    for path, position in lists.items():
        refused = api.get(path, params={"cursor": _forged(position), **({"q": "x"} if path == "/v1/search" else {})})
        assert refused.status_code == 422 and refused.json()["detail"]["code"] == "invalid_cursor", (path, refused.text)
    api.post(f"/v1/jobs/{job_id}/cancel").raise_for_status()
