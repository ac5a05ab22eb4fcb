"""The size limit of every request body but an upload's: a JSON body over ``max_json_body_bytes`` is a 413
before any of it is parsed (uploads stream to disk under their own limit, ``gateway/uploads.py``)."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vidsafe.domain.errors import ErrorCode
from vidsafe.gateway.refusals import error_body

_UPLOAD_TYPE = b"multipart/form-data"


class JsonBodyLimit:
    """ASGI middleware: reads a non-multipart body up to the limit (it is small by then) and hands it on."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if headers.get(b"content-type", b"").lower().startswith(_UPLOAD_TYPE):
            await self.app(scope, receive, send)
            return
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse(scope, receive, send)
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

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(error_body(ErrorCode.body_too_large, f"the request body exceeds {self.max_bytes} "
                                           "bytes (VIDSAFE_MAX_JSON_BODY_BYTES)"), 413)
        await response(scope, receive, send)
