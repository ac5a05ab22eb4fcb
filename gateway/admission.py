"""What a request must be before any of its body is read: the request of a known key (401 otherwise, for every
``/v1`` route), with a body within its route's own limit whatever its Content-Type (413). Both are answered at once
and the connection closed, so a caller without a key, or with too much to send, costs nothing but its headers.

The body of an upload streams on to its route, which counts it against its own limit as it writes it to disk
(``gateway/uploads.py``); any other body is read here up to its route's limit (it is small by then) and handed on.
"""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool
from psycopg_pool import ConnectionPool
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vidsafe.apikeys import check_key
from vidsafe.db.teams import KeyHolder
from vidsafe.domain.api import API_KEY_HEADER
from vidsafe.domain.errors import ErrorCode
from vidsafe.gateway.connections import borrowed_connection
from vidsafe.gateway.refusals import Refusal, error_body
from vidsafe.gateway.services.search import PHOTO_MAX_BYTES
from vidsafe.gateway.uploads import BODY_SLACK_BYTES
from vidsafe.settings import Settings

KEY_HOLDER = "key_holder"  # where the caller's key is kept for the routes, in the request's state
_UNAUTHENTICATED = "WWW-Authenticate", "Bearer"
# Routes whose body is not JSON, and its limit (what a route's multipart framing adds is counted in).
_UPLOAD = ("POST", "/v1/jobs")
_PHOTO = ("POST", "/v1/search/faces")


def presented_key(headers: Headers) -> str | None:
    """The key in the X-API-Key header, or as a bearer token."""
    if key := headers.get(API_KEY_HEADER):
        return key
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def body_limit(method: str, path: str, settings: Settings) -> tuple[int, str]:
    """The most bytes a body may have on this route, and the setting or limit that says so."""
    if (method, path) == _UPLOAD:
        return settings.max_upload_bytes + BODY_SLACK_BYTES, "VIDSAFE_MAX_UPLOAD_BYTES"
    if (method, path) == _PHOTO:
        return PHOTO_MAX_BYTES + BODY_SLACK_BYTES, "a photo's 10 MB"
    return settings.max_json_body_bytes, "VIDSAFE_MAX_JSON_BODY_BYTES"


def _authenticate(pool: ConnectionPool, headers: Headers) -> KeyHolder:
    key = presented_key(headers)
    if key is None:
        raise Refusal(401, ErrorCode.missing_api_key, f"send an API key in the {API_KEY_HEADER} header (an admin "
                      "creates one with `vidsafe keys create`)", headers=dict([_UNAUTHENTICATED]))
    with borrowed_connection(pool) as conn:
        holder = check_key(conn, key)
    if holder is None:
        raise Refusal(401, ErrorCode.invalid_api_key, "the API key is unknown or revoked",
                      headers=dict([_UNAUTHENTICATED]))
    return holder


class Admission:
    """ASGI middleware: the key, then the body's size, before the route reads anything."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        method, path, headers = scope["method"], scope["path"], Headers(scope=scope)
        try:
            if path == "/v1" or path.startswith("/v1/"):
                scope.setdefault("state", {})[KEY_HOLDER] = await run_in_threadpool(_authenticate, state.pool,
                                                                                   headers)
            limit, named = body_limit(method, path, state.settings)
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise self._too_large(limit, named)
        except Refusal as refusal:
            await self._refuse(refusal, scope, receive, send)
            return
        if (method, path) == _UPLOAD:
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await self._refuse(self._too_large(limit, named), scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        handed_on = False

        async def replay() -> Message:
            nonlocal handed_on
            if handed_on:
                return await receive()
            handed_on = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    def _too_large(limit: int, named: str) -> Refusal:
        code = ErrorCode.file_too_large if named == "VIDSAFE_MAX_UPLOAD_BYTES" else ErrorCode.body_too_large
        return Refusal(413, code, f"the request body exceeds {limit} bytes ({named})")

    @staticmethod
    async def _refuse(refusal: Refusal, scope: Scope, receive: Receive, send: Send) -> None:
        """The refusal, and the connection closed: what the client still sends is never read."""
        response = JSONResponse(error_body(refusal.code, refusal.message), refusal.status,
                                headers={**(refusal.headers or {}), "Connection": "close"})
        await response(scope, receive, send)
