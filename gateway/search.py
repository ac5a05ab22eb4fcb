"""The search resource, within the caller's team: transcripts and on-screen text by exact words (Postgres
full-text search) and by meaning (the stored MiniLM embeddings, pgvector), fused by reciprocal rank; frames
that look like a finding's (CLIP). Every hit names its job and time.

Searching by meaning embeds the query with the served text embedder: a read the gateway asks of Triton
directly (a job through the queue would wait behind videos). With Triton down, the search answers by words
alone and says so in ``warnings``.
"""

from __future__ import annotations

import io
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Path, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from PIL import Image

from vidsafe.catalogue import Module, triton_model
from vidsafe.db import search
from vidsafe.db.paging import decode_cursor, encode_cursor
from vidsafe.domain.api import SearchResults
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.findings import FrameHit
from vidsafe.domain.jobs import JobWarning
from vidsafe.gateway.dependencies import ConnDep, ReviewerDep, SettingsDep
from vidsafe.gateway.refusals import Refusal
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient, TritonError

router = APIRouter(tags=["search"])

TEXT_MODULES = [Module.speech, Module.ocr]
# Cosine distance under which a text counts as near in meaning (MiniLM: unrelated sentences are above ~0.8).
MEANING_MAX_DISTANCE = 0.75


PHOTO_MAX_BYTES = 10 * 1024 * 1024


def embed_query(settings: Settings, text: str) -> list[float]:
    with TritonClient(settings.effective_triton_url, settings.triton_timeout_s) as triton:
        outputs = triton.infer(triton_model(Module.text_embeddings, "texts"),
                               {"TEXT": np.array([[text.encode("utf-8")]], dtype=np.object_)}, ["EMBEDDINGS"])
    return outputs["EMBEDDINGS"][0].tolist()


@router.get("/v1/search", response_model=SearchResults)
async def search_texts(conn: ConnDep, settings: SettingsDep, caller: ReviewerDep,
                 q: Annotated[str, Query(min_length=1, max_length=500, description="Words or a sentence")],
                 modules: Annotated[list[Module] | None, Query(description="speech, ocr (default: both)")] = None,
                 mode: Literal["both", "words", "meaning"] = "both",
                 limit: Annotated[int, Query(ge=1, le=200)] = 20,
                 cursor: Annotated[str | None, Query(max_length=200)] = None) -> SearchResults:
    """Transcript lines and on-screen text matching ``q`` across the team's videos, best first."""
    if "\x00" in q:
        raise Refusal(422, ErrorCode.invalid_request, "q must not contain NUL characters")
    chosen = [m for m in (modules or TEXT_MODULES) if m in TEXT_MODULES]
    if not chosen:
        raise Refusal(422, ErrorCode.invalid_request, "search reads speech and ocr findings only")
    offset = (decode_cursor(cursor, ("o",)) or {"o": 0})["o"]
    if not isinstance(offset, int) or offset < 0:
        raise Refusal(422, ErrorCode.invalid_cursor, "the cursor is not one this service made")
    rankings, warnings = {}, []
    if mode in ("both", "words"):
        rankings["words"] = await run_in_threadpool(search.search_words, conn, caller.team_id, q, chosen)
    if mode in ("both", "meaning"):
        try:
            vector = await run_in_threadpool(embed_query, settings, q)
        except TritonError as error:
            warnings.append(JobWarning(code=ErrorCode.inference_unavailable,
                                       message=f"no search by meaning: the text embedder is unavailable ({error})"))
        else:
            rankings["meaning"] = await run_in_threadpool(search.search_meaning, conn, caller.team_id, vector, chosen,
                                                          MEANING_MAX_DISTANCE)
    hits = search.fuse(rankings)
    page = hits[offset:offset + limit]
    more = offset + limit < len(hits)
    return SearchResults(hits=page, next_cursor=encode_cursor({"o": offset + limit}) if more else None,
                         warnings=warnings)


@router.get("/v1/findings/{finding_id}/similar-frames", response_model=list[FrameHit])
def similar_frames(finding_id: Annotated[int, Path(ge=1, le=2**63 - 1)], conn: ConnDep, caller: ReviewerDep,
                   limit: Annotated[int, Query(ge=1, le=200)] = 20,
                   max_distance: Annotated[float, Query(ge=0, le=2)] = 0.3) -> list[FrameHit]:
    """Frames across the team's videos that look like the frame of this finding (CLIP image embeddings),
    nearest first; 404 frame_not_indexed unless the job ran CLIP."""
    embedding = search.frame_embedding(conn, caller.team_id, finding_id)
    if embedding is None:
        raise Refusal(404, ErrorCode.frame_not_indexed, f"finding {finding_id} is on no frame CLIP indexed "
                      "(CLIP is served once a checkpoint is exported: see the README)")
    return search.similar_frames(conn, caller.team_id, embedding, limit, max_distance)


def _photo(data: bytes, max_pixels: int) -> np.ndarray:
    """The uploaded photo as RGB; a refusal for anything that is not a reasonable image. Its size is read from
    the header before anything is decoded (a small file may declare a huge image)."""
    if len(data) > PHOTO_MAX_BYTES:
        raise Refusal(413, ErrorCode.file_too_large, f"a photo is at most {PHOTO_MAX_BYTES} bytes")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > max_pixels:
                raise Refusal(422, ErrorCode.frame_too_large, "the photo is larger than VIDSAFE_MAX_FRAME_PIXELS")
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError):
        raise Refusal(415, ErrorCode.not_an_image, "the photo is not a JPEG, PNG or other image Pillow reads") from None


def embed_face(settings: Settings, rgb: np.ndarray) -> list[float] | None:
    """The embedding of the photo's most confident face (the served faces model); None if it shows none."""
    with TritonClient(settings.effective_triton_url, settings.triton_timeout_s) as triton:
        outputs = triton.infer(triton_model(Module.faces, "frames"), {"IMAGE": rgb[np.newaxis]},
                               ["SCORES", "EMBEDDINGS", "COUNT"])
    if int(outputs["COUNT"][0][0]) == 0:
        return None
    return outputs["EMBEDDINGS"][0, int(np.argmax(outputs["SCORES"][0]))].astype(float).tolist()


@router.post("/v1/search/faces", response_model=list[FrameHit])
async def faces_like_photo(photo: UploadFile, conn: ConnDep, settings: SettingsDep, caller: ReviewerDep,
                           limit: Annotated[int, Query(ge=1, le=200)] = 20,
                           max_distance: Annotated[float, Query(ge=0, le=2)] = 0.6) -> list[FrameHit]:
    """Faces across the team's videos like the most confident face of an uploaded photo (multipart field
    ``photo``, at most 10 MB), nearest first."""
    rgb = await run_in_threadpool(_photo, await photo.read(PHOTO_MAX_BYTES + 1), settings.max_frame_pixels)
    try:
        embedding = await run_in_threadpool(embed_face, settings, rgb)
    except TritonError as error:
        raise Refusal(503, ErrorCode.inference_unavailable, f"the face model is unavailable ({error})") from None
    if embedding is None:
        raise Refusal(422, ErrorCode.no_face_found, "no face was found in the photo")
    return await run_in_threadpool(search.faces_near, conn, caller.team_id, embedding, limit, max_distance)
