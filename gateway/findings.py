"""The findings resource: what one finding links to across videos (faces seen again)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from vidsafe.db import queries
from vidsafe.domain import ErrorCode, Finding
from vidsafe.gateway.dependencies import ConnDep, ReviewerDep
from vidsafe.gateway.refusals import Refusal

router = APIRouter(prefix="/v1/findings", tags=["findings"])


class SimilarFace(BaseModel):
    job_id: uuid.UUID
    finding: Finding
    cosine_distance: float


@router.get("/{finding_id}/similar-faces", response_model=list[SimilarFace])
def similar_faces(
    finding_id: Annotated[int, Path(ge=1, le=2**63 - 1, description="A face finding's id")], conn: ConnDep,
    caller: ReviewerDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    max_distance: Annotated[float, Query(ge=0, le=2, description="Cosine distance; SFace's match is < 0.64")] = 0.6,
) -> list[SimilarFace]:
    """Faces in any of the team's jobs (this one included) closest to this face finding, nearest first."""
    embedding = queries.face_embedding(conn, finding_id, caller.team_id)
    if embedding is None:
        raise Refusal(404, ErrorCode.face_not_found, f"finding {finding_id} is not a stored face")
    return [SimilarFace(job_id=job_id, finding=finding, cosine_distance=distance)
            for job_id, finding, distance in queries.similar_faces(conn, caller.team_id, embedding, limit + 1,
                                                                         max_distance)
            if finding.id != finding_id][:limit]
