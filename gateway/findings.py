"""The findings resource: what one finding links to across videos (faces seen again)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from vidsafe.db import findings, search
from vidsafe.domain.errors import ErrorCode
from vidsafe.domain.findings import FrameHit
from vidsafe.gateway.dependencies import ConnDep, ReviewerDep
from vidsafe.gateway.refusals import Refusal

router = APIRouter(prefix="/v1/findings", tags=["findings"])


@router.get("/{finding_id}/similar-faces", response_model=list[FrameHit])
def similar_faces(
    finding_id: Annotated[int, Path(ge=1, le=2**63 - 1, description="A face finding's id")], conn: ConnDep,
    caller: ReviewerDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    max_distance: Annotated[float, Query(ge=0, le=2, description="Cosine distance; SFace's match is < 0.64")] = 0.6,
    other_videos: Annotated[bool, Query(description="Only faces in the team's other videos (the search leaves this "
                                        "one out, so a video's own faces never fill the answer)")] = False,
) -> list[FrameHit]:
    """Faces in any of the team's jobs (this one included, unless ``other_videos``) closest to this face finding,
    nearest first."""
    found = findings.face_embedding(conn, finding_id, caller.team_id)
    if found is None:
        raise Refusal(404, ErrorCode.face_not_found, f"finding {finding_id} is not a stored face")
    job_id, embedding = found
    hits = search.faces_near(conn, caller.team_id, embedding, limit + 1, max_distance,
                             job_id if other_videos else None)
    return [hit for hit in hits if hit.finding.id != finding_id][:limit]
