"""The search resource, within the caller's team: transcripts and on-screen text by exact words (Postgres
full-text search) and by meaning (the stored MiniLM embeddings, pgvector), fused by reciprocal rank; frames
that look like a finding's (CLIP); faces like a photo's. Every hit names its job and time. With Triton down, a
search by text answers by words alone and says so in ``warnings`` (``gateway/services/search.py``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, UploadFile
from fastapi.concurrency import run_in_threadpool

from vidsafe.catalogue import Module
from vidsafe.db.paging import decode_cursor, integer
from vidsafe.domain.api import SearchResults
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.findings import FrameHit
from vidsafe.gateway.dependencies import ConnDep, ReviewerDep, SettingsDep
from vidsafe.gateway.refusals import Refusal
from vidsafe.gateway.services import search as search_service
from vidsafe.gateway.services.search import PHOTO_MAX_BYTES, TEXT_MODULES, SearchMode

router = APIRouter(tags=["search"])


@router.get("/v1/search", response_model=SearchResults, operation_id="search_v1_search_get")
async def search_texts(conn: ConnDep, settings: SettingsDep, caller: ReviewerDep,
                       q: Annotated[str, Query(min_length=1, max_length=500, description="Words or a sentence")],
                       modules: Annotated[list[Module] | None, Query(description="speech, ocr (default: both)")] = None,
                       mode: SearchMode = "both",
                       limit: Annotated[int, Query(ge=1, le=200)] = 20,
                       cursor: Annotated[str | None, Query(max_length=200)] = None) -> SearchResults:
    """Transcript lines and on-screen text matching ``q`` across the team's videos, best first."""
    if "\x00" in q:
        raise Refusal(422, ErrorCode.invalid_request, "q must not contain NUL characters")
    chosen = [m for m in (modules or TEXT_MODULES) if m in TEXT_MODULES]
    if not chosen:
        raise Refusal(422, ErrorCode.invalid_request, "search reads speech and ocr findings only")
    offset = (decode_cursor(cursor, {"o": integer}) or {"o": 0})["o"]
    if offset < 0:
        raise Refusal(422, ErrorCode.invalid_cursor, "the cursor is not one this service made")
    return await run_in_threadpool(search_service.search_texts, conn, settings, caller.team_id, q, chosen, mode, limit,
                                   offset)


@router.get("/v1/findings/{finding_id}/similar-frames", response_model=list[FrameHit])
def similar_frames(finding_id: Annotated[int, Path(ge=1, le=2**63 - 1)], conn: ConnDep, caller: ReviewerDep,
                   limit: Annotated[int, Query(ge=1, le=200)] = 20,
                   max_distance: Annotated[float, Query(ge=0, le=2)] = 0.3) -> list[FrameHit]:
    """Frames across the team's videos that look like the frame of this finding (CLIP image embeddings),
    nearest first; 404 frame_not_indexed unless the job ran CLIP."""
    return search_service.frames_like(conn, caller.team_id, finding_id, limit, max_distance)


@router.post("/v1/search/faces", response_model=list[FrameHit])
async def faces_like_photo(photo: UploadFile, conn: ConnDep, settings: SettingsDep, caller: ReviewerDep,
                           limit: Annotated[int, Query(ge=1, le=200)] = 20,
                           max_distance: Annotated[float, Query(ge=0, le=2)] = 0.6) -> list[FrameHit]:
    """Faces across the team's videos like the most confident face of an uploaded photo (multipart field
    ``photo``, at most 10 MB), nearest first."""
    data = await photo.read(PHOTO_MAX_BYTES + 1)
    return await run_in_threadpool(search_service.faces_like_photo, conn, settings, caller.team_id, data, limit,
                                   max_distance)
