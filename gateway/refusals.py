"""The one way the gateway says no: services raise ``Refusal`` (HTTP status, ``ErrorCode``, message), and the
handlers installed here turn it, FastAPI's request validation and Starlette's own errors (unknown route,
wrong method, unparsable body) into the documented body ``{"detail": {"code", "message"}}``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vidsafe.db.paging import InvalidCursor
from vidsafe.domain.errors import ErrorBody, ErrorCode, MediaError
from vidsafe.outbound import OutboundRefused


class Refusal(Exception):
    """A request the gateway refuses: raised by services and dependencies, answered by one handler."""

    def __init__(self, status: int, code: ErrorCode, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, ErrorCode(code), message, headers


Found = TypeVar("Found")


def found_or_404(value: Found | None, code: ErrorCode, message: str) -> Found:
    """``value``, or the 404 that says it is not in the caller's team (another team's is as absent)."""
    if value is None:
        raise Refusal(404, code, message)
    return value


# How a refused video maps to HTTP: the client sent something unusable (4xx), never a server error.
_MEDIA_STATUS = {
    ErrorCode.empty_file: 400,
    ErrorCode.not_a_video: 415,
    ErrorCode.no_video_stream: 415,
    ErrorCode.unsupported_codec: 415,
    ErrorCode.unsupported_container: 415,
    ErrorCode.file_missing: 404,
    ErrorCode.path_not_allowed: 404,
}
_OUTBOUND_STATUS = {ErrorCode.file_too_large: 413, ErrorCode.download_failed: 502}
_STARLETTE_CODES = {404: ErrorCode.not_found, 405: ErrorCode.method_not_allowed}

# The refusals any /v1 route may answer, as the OpenAPI document lists them (with the one body they share).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description} for status, description in {
        400: "The body or upload could not be parsed", 401: "No API key, or an unknown one",
        403: "The key lacks the scope", 404: "No such resource in the caller's team",
        408: "The upload stalled", 409: "The resource's state does not allow it, or an Idempotency-Key mismatch",
        413: "The body or file is over its limit", 415: "Not multipart, or not a video",
        422: "The request or its options are invalid", 429: "A team limit is reached (see Retry-After)",
        502: "A download failed", 503: "A dependency (Postgres, Redis) is unreachable",
    }.items()
}


def media_refusal(error: MediaError) -> Refusal:
    return Refusal(_MEDIA_STATUS.get(error.code, 422), error.code, error.message)


def outbound_refusal(error: OutboundRefused) -> Refusal:
    return Refusal(_OUTBOUND_STATUS.get(ErrorCode(error.code), 422), ErrorCode(error.code), error.message)


def error_body(code: ErrorCode, message: str) -> dict:
    return {"detail": {"code": code, "message": message}}


def _validation_message(error: RequestValidationError) -> str:
    """Each problem as ``where: what``, e.g. ``body.options.sample_fps: Input should be less than or equal to 30``."""
    return "; ".join(f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
                     for problem in error.errors()) or "the request is not valid"


def _validation_code(error: RequestValidationError) -> ErrorCode:
    """invalid_options for an unknown key or a problem in a job's options, invalid_request for the rest."""
    if any(problem["type"] == "extra_forbidden" or "options" in problem["loc"] for problem in error.errors()):
        return ErrorCode.invalid_options
    return ErrorCode.invalid_request


def install(app: FastAPI) -> None:
    @app.exception_handler(Refusal)
    async def refused(_: Request, refusal: Refusal) -> JSONResponse:
        return JSONResponse(error_body(refusal.code, refusal.message), refusal.status, headers=refusal.headers)

    @app.exception_handler(InvalidCursor)
    async def bad_cursor(_: Request, error: InvalidCursor) -> JSONResponse:
        return JSONResponse(error_body(ErrorCode.invalid_cursor, str(error)), 422)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body(_validation_code(error), _validation_message(error)), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _STARLETTE_CODES.get(error.status_code, ErrorCode.invalid_request)
        # No route at all (an unknown path, or an action a job does not have): say which, and where routes are listed.
        message = (f"no route {request.method} {request.url.path}: the API's routes are listed at /docs"
                   if code == ErrorCode.not_found and error.detail == "Not Found" else str(error.detail))
        return JSONResponse(error_body(code, message), error.status_code, headers=error.headers)
