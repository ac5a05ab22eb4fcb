"""The media resource: a job's video, kept for review (streamed with HTTP Range, so a player seeks), and the
keyframe thumbnails stored at analysis time. The review player's browser streams the video by a short-lived
signed link (``POST /v1/jobs/{id}/media-link``, then ``GET /media/{token}``, outside /v1: the link is the
credential, not a key): no key in the browser, and no video through the UI's process."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import psycopg
from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from starlette.types import Message, Receive, Scope, Send

from vidsafe.db import retention
from vidsafe.domain.api import MediaLinkResponse
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.jobs import Job
from vidsafe.gateway.dependencies import ConnDep, ReviewerDep, SettingsDep
from vidsafe.gateway.refusals import Refusal, error_body
from vidsafe.gateway.services import owned
from vidsafe.media import links

router = APIRouter(tags=["media"])

# Containers as PyAV names them (the probe's MediaInfo.container), as browsers know them.
_CONTAINER_TYPES = {"mp4": "video/mp4", "webm": "video/webm", "matroska": "video/x-matroska", "avi": "video/x-msvideo",
                    "mpegts": "video/mp2t", "ogg": "video/ogg"}


def _media_type(container: str | None) -> str:
    names = (container or "").split(",")
    return next((kind for name, kind in _CONTAINER_TYPES.items() if name in names), "application/octet-stream")


_VIDEO_RESPONSE = {200: {"content": {"video/mp4": {}}, "description": "The video"},
                   206: {"description": "The byte range asked for (Range: bytes=...)"}}
_RANGE_REFUSALS = {400: ErrorCode.invalid_range, 416: ErrorCode.range_not_satisfiable}


class MediaFileResponse(FileResponse):
    """Starlette's FileResponse, whose own refusals of a Range header (400 malformed, 416 past the end: plain text
    there) come in the documented error shape, with their Content-Range kept."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused: Message = {}

        async def documented(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in _RANGE_REFUSALS:
                refused.update(message)
                return
            if not refused:
                await send(message)
                return
            said = bytes(message.get("body", b"")).decode(errors="replace").strip(". ")
            code = _RANGE_REFUSALS[refused["status"]]
            body = json.dumps(error_body(code, said or "the range asked for starts past the end of the file")).encode()
            headers = [(name, value) for name, value in refused["headers"]
                       if name.lower() not in (b"content-type", b"content-length")]
            await send({**refused, "headers": [*headers, (b"content-type", b"application/json"),
                                               (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await super().__call__(scope, receive, documented)


def _kept_video(conn: psycopg.Connection, job: Job, team_id: uuid.UUID) -> MediaFileResponse:
    path = retention.kept_media(conn, job.id, team_id)
    if path is None or not Path(path).is_file():
        raise Refusal(404, ErrorCode.media_gone, f"the video of job {job.id} is no longer kept (its team's retention "
                      "has passed, or it was never kept)")
    return MediaFileResponse(path, media_type=_media_type(job.media.container if job.media else None),
                             filename=job.source_name, content_disposition_type="inline")


@router.get("/v1/jobs/{job_id}/media", response_class=FileResponse, operation_id="get_media",
            responses=_VIDEO_RESPONSE)
def get_media(job_id: uuid.UUID, conn: ConnDep, caller: ReviewerDep) -> FileResponse:
    """The job's video while it is kept for review (``media_kept_until``), with Range support; 404 media_gone
    once the retention has passed."""
    return _kept_video(conn, owned.job(conn, caller.team_id, job_id), caller.team_id)


@router.post("/v1/jobs/{job_id}/media-link", response_model=MediaLinkResponse, operation_id="create_media_link")
def create_media_link(request: Request, job_id: uuid.UUID, conn: ConnDep, settings: SettingsDep,
                      caller: ReviewerDep) -> MediaLinkResponse:
    """A link to the job's video a browser streams without a key, valid ``VIDSAFE_MEDIA_LINK_TTL_S``; 404
    media_gone where the video is not kept."""
    owned.job(conn, caller.team_id, job_id)
    if retention.kept_media(conn, job_id, caller.team_id) is None:
        raise Refusal(404, ErrorCode.media_gone, f"the video of job {job_id} is not kept for review")
    token, link = links.issue(job_id, caller.team_id, settings.media_link_ttl_s, settings.effective_media_link_secret)
    path = f"/media/{token}"
    base = (settings.gateway_public_url or str(request.base_url)).rstrip("/")
    return MediaLinkResponse(path=path, url=base + path, expires_at=datetime.fromtimestamp(link.expires_at, UTC))


def signed_link(token: str, settings: SettingsDep) -> links.MediaLink:
    """The media link in the path, checked before anything else (a connection included) is taken."""
    try:
        return links.verify(token, settings.effective_media_link_secret)
    except links.LinkRefused as refused:
        raise Refusal(403, ErrorCode.media_link_expired if refused.expired else ErrorCode.media_link_invalid,
                      str(refused)) from None


@router.get("/media/{token}", response_class=FileResponse, operation_id="stream_media",
            responses=_VIDEO_RESPONSE)
def stream_media(link: Annotated[links.MediaLink, Depends(signed_link)], conn: ConnDep) -> FileResponse:
    """The video a media link opens, with Range support: 403 media_link_invalid for a link not signed here,
    media_link_expired past its end."""
    return _kept_video(conn, owned.job(conn, link.team_id, link.job_id), link.team_id)


@router.get("/v1/jobs/{job_id}/thumbnails/{frame_index}", response_class=FileResponse, operation_id="get_thumbnail",
            responses={200: {"content": {"image/jpeg": {}}, "description": "The frame's thumbnail"}})
def get_thumbnail(job_id: uuid.UUID, frame_index: Annotated[int, PathParam(ge=0, le=2**31 - 1)], conn: ConnDep,
                  settings: SettingsDep, caller: ReviewerDep) -> FileResponse:
    """The JPEG thumbnail of a sampled frame that has findings (their boxes are in frame pixels: scale them by
    the thumbnail's size over the video's)."""
    owned.job(conn, caller.team_id, job_id)
    path = settings.thumbnail_path(job_id, frame_index)
    if not path.is_file():
        raise Refusal(404, ErrorCode.thumbnail_not_found, f"job {job_id} has no thumbnail of frame {frame_index}")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})
