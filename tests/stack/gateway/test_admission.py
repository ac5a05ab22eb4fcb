"""Nothing of a body is read before the caller's key is checked, and every body is bounded by its route's own limit
whatever its Content-Type: both refusals come at once, after the headers, and close the connection."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from vidsafe.domain.api import API_KEY_HEADER
from vidsafe.settings import Settings

ROUTES = [("POST", "/v1/teams", "multipart/form-data; boundary=x"),
          ("POST", "/v1/search/faces", "multipart/form-data; boundary=x"),
          ("POST", "/v1/jobs", "multipart/form-data; boundary=x"),
          ("POST", "/v1/hash-lists/00000000-0000-0000-0000-000000000000/imports", "multipart/form-data; boundary=x"),
          ("PUT", "/v1/me/preferences", "application/json")]
HALF_A_GIGABYTE = 512 * 1024 * 1024


def _headers_only(settings: Settings, method: str, path: str, content_type: str, length: int,
                  key: str | None = None) -> tuple[int, dict, bytes]:
    """Send a request's headers, declaring ``length`` bytes of body, and none of the body: the answer's status and
    JSON, and what came after it (b"": the gateway closed the connection)."""
    host, port = settings.gateway_host, settings.gateway_port
    with socket.create_connection((host, port), timeout=10) as conn:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Type: {content_type}",
                 f"Content-Length: {length}", *([f"{API_KEY_HEADER}: {key}"] if key else [])]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += conn.recv(65536)  # a gateway that waits for the body never answers: the socket times out
        head, _, rest = answer.partition(b"\r\n\r\n")
        size = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")))
        while len(rest) < size:
            rest += conn.recv(65536)
        after = conn.recv(65536)
    return int(head.split()[1]), json.loads(rest[:size]), after


@pytest.mark.parametrize(("method", "path", "content_type"), ROUTES)
def test_no_key_is_refused_before_any_body_is_read(running_stack: Settings, method: str, path: str,
                                                  content_type: str) -> None:
    status, body, after = _headers_only(running_stack, method, path, content_type, HALF_A_GIGABYTE)
    assert (status, body["detail"]["code"], after) == (401, "missing_api_key", b"")
    status, body, _ = _headers_only(running_stack, method, path, content_type, HALF_A_GIGABYTE, key="vsk_forged")
    assert (status, body["detail"]["code"]) == (401, "invalid_api_key")


@pytest.mark.parametrize(("method", "path", "content_type"), ROUTES)
def test_a_declared_body_over_the_routes_limit_is_refused_before_it_is_read(
        running_stack: Settings, api_key: str, method: str, path: str, content_type: str) -> None:
    status, body, after = _headers_only(running_stack, method, path, content_type, HALF_A_GIGABYTE, key=api_key)
    assert status == 413 and body["detail"]["code"] in ("body_too_large", "file_too_large") and after == b""


def _stream(size: int) -> Iterator[bytes]:
    for _ in range(size // 65536):
        yield b"x" * 65536


def test_a_streamed_body_labelled_multipart_is_bounded_by_its_routes_limit(running_stack: Settings,
                                                                           api: httpx.Client) -> None:
    """No Content-Length (chunked), a Content-Type that once skipped the limit: a team's JSON route and a hash list
    import (once 8 MiB accepted) stop at VIDSAFE_MAX_JSON_BODY_BYTES."""
    created = api.post("/v1/hash-lists", json={"name": "bounded"})
    assert created.status_code == 201, created.text
    over = running_stack.max_json_body_bytes + 1024 * 1024
    for path in ("/v1/teams", f"/v1/hash-lists/{created.json()['id']}/imports?format=lines"):
        refused = api.post(path, content=_stream(over), headers={"Content-Type": "multipart/form-data; boundary=x"})
        assert refused.status_code == 413 and refused.json()["detail"]["code"] == "body_too_large", refused.text
    assert api.get(f"/v1/hash-lists/{created.json()['id']}").json()["entries"] == 0
    api.delete(f"/v1/hash-lists/{created.json()['id']}").raise_for_status()
