"""Signed webhook deliveries, against a local receiver in a thread (no stack needed)."""

from __future__ import annotations

import json
import socket
import time
from http.server import BaseHTTPRequestHandler

import pytest

from tests.helpers.local_http import Respond, answer, answer_slowly, serve
from vidsafe import webhooks
from vidsafe.webhooks import (
    EVENT_HEADER,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    DeliveryError,
    backoff_s,
    deliver,
    sign,
    verify,
)

SECRET, PREVIOUS_SECRET = "whsec_test", "whsec_before_the_rotation"
EVENT = {"type": "job.succeeded", "job_id": "5d0c7c0e-6d5a-4a39-9d1c-2f1e0c7c9b11", "findings": 3}
SIGNED = {"event_id": "41", "secrets": [SECRET], "deadline_s": 10}


def replying(status: int, body: bytes = b"", **headers: str) -> Respond:
    return lambda handler: answer(handler, status, body, **headers)


def test_a_signature_verifies_and_binds_body_secret_and_time() -> None:
    now = 1_750_000_000
    body = b'{"job_id":"j","type":"job.failed"}'
    signature = sign(SECRET, now, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify(SECRET, now, body, signature, now=now)
    assert verify(SECRET, str(now), body, signature, now=now + 299)  # the header, as a receiver reads it
    assert not verify(SECRET, now, body.replace(b"failed", b"succeeded"), signature, now=now)
    assert not verify("another secret", now, body, signature, now=now)
    assert not verify(SECRET, now + 1, body, signature, now=now)  # the timestamp is signed too
    assert not verify(SECRET, now, body, signature, now=now + 301)  # a replay, too late
    assert not verify(SECRET, now, body, signature, now=now - 301)  # a clock far ahead
    assert not verify(SECRET, "yesterday", body, signature, now=now)
    assert not verify(SECRET, now, body, "sha256=\u00e9" + signature[8:], now=now)


def test_a_delivery_is_signed_so_the_receiver_can_verify_it() -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    def receiver(handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers["Content-Length"]))
        received.append((dict(handler.headers), body))
        handler.send_response(204)
        handler.end_headers()

    with serve(receiver) as (url, requests):
        deliver(f"{url}/hooks/vidsafe", EVENT, **SIGNED, allow_private=True, timeout_s=2)
    headers, body = received[0]
    assert requests[0].command == "POST"
    assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert abs(int(headers[TIMESTAMP_HEADER]) - time.time()) < 60
    assert headers[EVENT_HEADER] == "job.succeeded" and headers[EVENT_ID_HEADER] == "41"
    assert headers["Content-Type"] == "application/json"
    assert body == json.dumps({**EVENT, "id": "41"}, separators=(",", ":"), sort_keys=True).encode()


def test_during_a_rotation_a_delivery_verifies_with_either_secret_and_no_other() -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    def receiver(handler: BaseHTTPRequestHandler) -> None:
        received.append((dict(handler.headers), handler.rfile.read(int(handler.headers["Content-Length"]))))
        handler.send_response(204)
        handler.end_headers()

    with serve(receiver) as (url, _):
        deliver(url, EVENT, **{**SIGNED, "secrets": [SECRET, PREVIOUS_SECRET]}, allow_private=True, timeout_s=2)
    headers, body = received[0]
    for secret, verifies in ((SECRET, True), (PREVIOUS_SECRET, True), ("another team's secret", False)):
        assert verify(secret, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER]) is verifies, secret


def test_a_team_without_a_secret_gets_no_unsigned_delivery() -> None:
    with serve(replying(204)) as (url, requests), pytest.raises(DeliveryError) as info:
        deliver(url, EVENT, **{**SIGNED, "secrets": []}, allow_private=True, timeout_s=2)
    assert info.value.retryable is False and requests == []


def test_a_receiver_answering_a_byte_at_a_time_is_cut_off_at_the_deadline() -> None:
    """Each byte well within the per-read timeout (once stalled the maintenance loop for 111 s)."""

    started = time.monotonic()
    with serve(answer_slowly(0.2)) as (url, _), pytest.raises(DeliveryError) as info:
        deliver(url, EVENT, **{**SIGNED, "deadline_s": 1.0}, allow_private=True, timeout_s=2)
    assert info.value.retryable is True and "deadline of 1 s" in info.value.message
    assert time.monotonic() - started < 5  # a hang guard: the whole answer takes 8 s


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True), (408, True),
                                                    (400, False), (404, False), (410, False), (302, False)])
def test_a_failed_answer_says_whether_to_retry(status: int, retryable: bool) -> None:
    receiver = serve(replying(status, b"no", Location="/elsewhere"))
    with receiver as (url, requests), pytest.raises(DeliveryError) as info:
        deliver(url, EVENT, **SIGNED, allow_private=True, timeout_s=2)
    assert info.value.retryable is retryable
    assert info.value.status == status
    assert f"HTTP {status}" in info.value.message
    assert len(requests) == 1  # a redirect is not followed


def test_an_internal_receiver_is_refused_for_good() -> None:
    with serve(replying(204)) as (url, requests), pytest.raises(DeliveryError) as info:
        deliver(url, EVENT, **SIGNED, allow_private=False, timeout_s=2)
    assert info.value.retryable is False and info.value.status is None
    assert "loopback" in info.value.message and "VIDSAFE_ALLOW_PRIVATE_URLS" in info.value.message
    assert requests == []


def test_a_receiver_that_is_down_or_slow_is_retried() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        with pytest.raises(DeliveryError) as info:
            deliver(f"http://127.0.0.1:{sock.getsockname()[1]}/", EVENT, **SIGNED, allow_private=True, timeout_s=2)
    assert info.value.retryable is True
    with serve(lambda handler: time.sleep(1)) as (url, _), pytest.raises(DeliveryError) as info:
        deliver(url, EVENT, **SIGNED, allow_private=True, timeout_s=0.2)
    assert info.value.retryable is True and "did not answer within 0.2 s" in info.value.message


def test_a_malformed_url_is_not_retried() -> None:
    for url in ("file:///etc/passwd", "http://[::1", "http://user:pw@example.com/"):
        with pytest.raises(DeliveryError) as info:
            deliver(url, EVENT, **SIGNED, allow_private=True, timeout_s=2)
        assert info.value.retryable is False, url


def test_backoff_grows_exponentially_with_full_jitter_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    first = [backoff_s(1, 10, 3600) for _ in range(4000)]
    assert all(0 <= delay <= 20 for delay in first)
    assert sum(first) / len(first) == pytest.approx(10, rel=0.05)  # about base, on average
    monkeypatch.setattr(webhooks.random, "uniform", lambda low, high: (low, high))
    assert [backoff_s(attempt, 10, 3600) for attempt in (1, 2, 3, 9, 10_000)] == [
        (0, 20), (0, 40), (0, 80), (0, 3600), (0, 3600)]
    with pytest.raises(ValueError):
        backoff_s(0, 10, 3600)
