"""Search within a team: texts by words and by meaning, fused by reciprocal rank; faces like a photo's. Searching
by meaning, or by a photo, embeds the query with a served model: a read the gateway asks of Triton directly (a job
through the queue would wait behind videos). Without the text embedder, a search answers by words alone and says
so."""

from __future__ import annotations

import io
import uuid
from typing import Literal

import numpy as np
import psycopg
from PIL import Image

from vidsafe.catalogue import Module, triton_model
from vidsafe.db import search
from vidsafe.db.paging import encode_cursor
from vidsafe.domain.api import SearchResults
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.findings import FrameHit
from vidsafe.domain.jobs import JobWarning
from vidsafe.domain.review import SearchHit
from vidsafe.gateway.refusals import Refusal
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient, TritonError

TEXT_MODULES = [Module.speech, Module.ocr]
# Cosine distance under which a text counts as near in meaning (MiniLM: unrelated sentences are above ~0.8).
MEANING_MAX_DISTANCE = 0.75
RRF_K = 60  # reciprocal rank fusion's constant (Cormack et al.): a hit's score is sum of 1 / (k + rank)
PHOTO_MAX_BYTES = 10 * 1024 * 1024
SearchMode = Literal["both", "words", "meaning"]


def embed_query(settings: Settings, text: str) -> list[float]:
    with TritonClient(settings.effective_triton_url, settings.triton_timeout_s) as triton:
        outputs = triton.infer(triton_model(Module.text_embeddings, "texts"),
                               {"TEXT": np.array([[text.encode("utf-8")]], dtype=np.object_)}, ["EMBEDDINGS"])
    return outputs["EMBEDDINGS"][0].tolist()


def fuse(rankings: dict[str, list[dict]]) -> list[SearchHit]:
    """Reciprocal rank fusion of rankings of findings (by name), one hit per text of a job (the caption seen on
    many frames, at its first best-ranked place): best fused score first."""
    scores: dict[tuple, float] = {}
    rows: dict[tuple, dict] = {}
    matched: dict[tuple, list[str]] = {}
    for name, ranking in rankings.items():
        seen: set[tuple] = set()
        for row in ranking:
            key = (row["job_id"], row["module"], row["text"])
            if key in seen:
                continue
            seen.add(key)
            scores[key] = scores.get(key, 0.0) + 1 / (RRF_K + len(seen))
            rows.setdefault(key, row)
            matched.setdefault(key, []).append(name)
    order = sorted(scores, key=lambda key: (-scores[key], rows[key]["id"]))
    return [SearchHit(job_id=rows[k]["job_id"], source_name=rows[k]["source_name"], finding_id=rows[k]["id"],
                      module=rows[k]["module"], text=rows[k]["text"], timestamp_s=rows[k]["timestamp_s"],
                      end_s=rows[k]["end_s"], score=round(scores[k], 6), matched_by=matched[k]) for k in order]


def search_texts(conn: psycopg.Connection, settings: Settings, team_id: uuid.UUID, text: str, modules: list[Module],
                 mode: SearchMode, limit: int, offset: int) -> SearchResults:
    """A page of the team's transcript lines and on-screen texts matching ``text``, best first, from ``offset``."""
    rankings, warnings = {}, []
    if mode in ("both", "words"):
        rankings["words"] = search.search_words(conn, team_id, text, modules)
    if mode in ("both", "meaning"):
        try:
            vector = embed_query(settings, text)
        except TritonError as error:
            warnings.append(JobWarning(code=ErrorCode.inference_unavailable,
                                       message=f"no search by meaning: the text embedder is unavailable ({error})"))
        else:
            rankings["meaning"] = search.search_meaning(conn, team_id, vector, modules, MEANING_MAX_DISTANCE)
    hits = fuse(rankings)
    more = offset + limit < len(hits)
    return SearchResults(hits=hits[offset:offset + limit], warnings=warnings,
                         next_cursor=encode_cursor({"o": offset + limit}) if more else None)


def decode_photo(data: bytes, max_pixels: int) -> np.ndarray:
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


def faces_like_photo(conn: psycopg.Connection, settings: Settings, team_id: uuid.UUID, photo: bytes, limit: int,
                     max_distance: float) -> list[FrameHit]:
    """Faces across the team's videos like the most confident face of ``photo``, nearest first."""
    rgb = decode_photo(photo, settings.max_frame_pixels)
    try:
        embedding = embed_face(settings, rgb)
    except TritonError as error:
        raise Refusal(503, ErrorCode.inference_unavailable, f"the face model is unavailable ({error})") from None
    if embedding is None:
        raise Refusal(422, ErrorCode.no_face_found, "no face was found in the photo")
    return search.faces_near(conn, team_id, embedding, limit, max_distance)


def frames_like(conn: psycopg.Connection, team_id: uuid.UUID, finding_id: int, limit: int,
                max_distance: float) -> list[FrameHit]:
    """Frames across the team's videos that look like the frame of a finding (CLIP), nearest first."""
    embedding = search.frame_embedding(conn, team_id, finding_id)
    if embedding is None:
        raise Refusal(404, ErrorCode.frame_not_indexed, f"finding {finding_id} is on no frame CLIP indexed "
                      "(CLIP is served once a checkpoint is exported: see the README)")
    return search.similar_frames(conn, team_id, embedding, limit, max_distance)
