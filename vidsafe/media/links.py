"""Signed media links: the review player's browser streams a job's video straight from the gateway by a
short-lived link that names the job, its team and when the link ends, signed with the gateway's key. The link is
the credential: it is checked before anything is read, and it opens that one video only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass


class LinkRefused(Exception):
    """A link that is malformed, not signed by this deployment, or past its end (``expired``)."""

    def __init__(self, message: str, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class MediaLink:
    job_id: uuid.UUID
    team_id: uuid.UUID
    expires_at: int  # Unix seconds

    def _payload(self) -> str:
        return f"{self.job_id.hex}.{self.team_id.hex}.{self.expires_at}"

    def token(self, secret: bytes) -> str:
        return f"{self._payload()}.{_signature(secret, self._payload())}"


def _signature(secret: bytes, payload: str) -> str:
    digest = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue(job_id: uuid.UUID, team_id: uuid.UUID, ttl_s: float, secret: bytes) -> tuple[str, MediaLink]:
    link = MediaLink(job_id, team_id, int(time.time() + ttl_s))
    return link.token(secret), link


def verify(token: str, secret: bytes, now: float | None = None) -> MediaLink:
    """The link a token stands for, its signature checked (in constant time) before its end."""
    parts = token.split(".")
    if len(parts) != 4:
        raise LinkRefused("not a media link")
    payload, signature = ".".join(parts[:3]), parts[3]
    if not hmac.compare_digest(_signature(secret, payload).encode(), signature.encode()):
        raise LinkRefused("the media link is not signed by this deployment (or was altered)")
    try:
        link = MediaLink(uuid.UUID(hex=parts[0]), uuid.UUID(hex=parts[1]), int(parts[2]))
    except ValueError as error:
        raise LinkRefused("not a media link") from error
    if link.expires_at <= (time.time() if now is None else now):
        raise LinkRefused("the media link has expired: reload the review page for a new one", expired=True)
    return link
