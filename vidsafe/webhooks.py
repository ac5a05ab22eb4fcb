"""Signed job-end events, POSTed to the URL a client registered.

A delivery carries the event as compact JSON with sorted keys (its ``id`` among them, the same on every
retry), and four headers: the event type, the event id, the Unix time of sending, and
``sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`` for each of the team's valid secrets, comma
separated (two while a rotation is under way), as Stripe and GitHub sign theirs. The receiver recomputes the
signature with its secret to know the body is ours and unaltered; the timestamp is signed with it, so an old
delivery replayed later is refused (see ``verify``), and the id lets it drop a delivery it already has.
Deliveries go through the SSRF guard of ``vidsafe.outbound``, with a total deadline.

These functions keep no state: the bookkeeping of deliveries (attempts, the next try) is the caller's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from typing import Any

import httpx

from vidsafe.outbound import OutboundRefused, open_client, timed_out

SIGNATURE_HEADER = "X-Vidsafe-Signature"
TIMESTAMP_HEADER = "X-Vidsafe-Timestamp"
EVENT_HEADER = "X-Vidsafe-Event"
EVENT_ID_HEADER = "X-Vidsafe-Event-Id"
# Client errors that say "later", not "never": a request timeout and rate limiting.
_RETRYABLE_CLIENT_ERRORS = {408, 429}


class DeliveryError(Exception):
    """A delivery that did not succeed; ``retryable`` says whether trying again later may help."""

    def __init__(self, message: str, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: str,
    timestamp: int | str,
    body: bytes,
    signature: str,
    tolerance_s: float = 300,
    now: float | None = None,
) -> bool:
    """What a receiver should do with a delivery: take the raw body (before any JSON parsing) and the
    ``X-Vidsafe-Timestamp`` and ``X-Vidsafe-Signature`` headers, refuse a timestamp more than
    ``tolerance_s`` away from its clock (a replay), and compare each signature in the header with its own,
    in constant time (the header holds one per valid secret of the team during a rotation)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance_s:
        return False
    # Compared as bytes: compare_digest refuses non-ASCII str, which a forged header may hold.
    expected = sign(secret, sent, body).encode()
    return any(hmac.compare_digest(expected, given.strip().encode()) for given in signature.split(","))


def deliver(url: str, event: dict[str, Any], *, event_id: str, secrets: list[str], allow_private: bool,
            timeout_s: float, deadline_s: float) -> None:
    """POST ``event`` (JSON, with a ``type`` key, e.g. "job.succeeded") to ``url`` as event ``event_id``, signed
    with each of ``secrets``, all of it within ``deadline_s``.

    Raises DeliveryError: retryable for a 5xx, 408 or 429 answer, a connection error, a timeout, the
    deadline or an unresolvable host (DNS may come back); not retryable for other 4xx, a redirect (not
    followed: a POST does not survive one; register the final URL), a URL the SSRF guard refuses, and no
    secret to sign with.
    """
    if not secrets:
        raise DeliveryError("the team has no webhook secret to sign with (POST /v1/webhook-secret)", retryable=False)
    body = json.dumps({**event, "id": event_id}, separators=(",", ":"), sort_keys=True, allow_nan=False).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: str(event["type"]),
        EVENT_ID_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: ",".join(sign(secret, timestamp, body) for secret in secrets),
    }
    started = time.monotonic()
    try:
        with (
            open_client(allow_private, timeout_s, deadline_s) as client,
            client.stream("POST", url, content=body, headers=headers, follow_redirects=False) as response,
        ):
            status = response.status_code  # the body is not read: a receiver's answer can be any size
    except OutboundRefused as refused:
        raise DeliveryError(refused.message, retryable=refused.code == "url_unresolvable") from None
    except httpx.InvalidURL as error:
        raise DeliveryError(f"not a valid URL ({error})", retryable=False) from None
    except httpx.TimeoutException:
        raise DeliveryError(timed_out("the receiver", started, timeout_s, deadline_s), retryable=True) from None
    except httpx.HTTPError as error:
        reason = str(error) or type(error).__name__
        raise DeliveryError(f"the delivery failed: {reason}", retryable=True) from None
    if 200 <= status < 300:
        return
    if 300 <= status < 400:
        raise DeliveryError(f"the receiver answered HTTP {status}, a redirect, which is not followed: "
                            "register the URL it points to", retryable=False, status=status)
    retryable = status >= 500 or status in _RETRYABLE_CLIENT_ERRORS
    raise DeliveryError(f"the receiver answered HTTP {status}", retryable=retryable, status=status)


def backoff_s(attempt: int, base_s: float, max_s: float) -> float:
    """Seconds to wait before retry number ``attempt`` (1, 2, ...): exponential with full jitter, a
    uniform draw in [0, min(max_s, base_s * 2**attempt)], so attempt 1 waits base_s on average and
    receivers recovering from an outage are not hit by every retry at once."""
    if attempt < 1:
        raise ValueError(f"attempts count from 1, not {attempt}")
    return random.uniform(0, min(max_s, base_s * 2 ** min(attempt, 64)))
