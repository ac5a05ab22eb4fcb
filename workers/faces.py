"""Faces on sampled frames through the Triton ``faces`` model: a box, 5 landmarks and an embedding each.

The embedding (unit length, 128 floats) is stored in pgvector by ``vidsafe.db.findings.add_findings``, so a face
can be looked up across the team's analysed videos (``vidsafe.db.findings.nearest_findings``). Within one job, faces are
numbered by identity once all frames are seen (``assign_identities``), so the same person seen twice
is one "face 1".
"""

from __future__ import annotations

import numpy as np

from vidsafe.catalogue import Module
from vidsafe.domain.findings import Finding
from vidsafe.media.decoding import SampledFrame
from vidsafe.triton import Tensors
from vidsafe.workers.stages import FrameStage

LABEL = "face"


class FacesStage(FrameStage):
    module = Module.faces
    outputs = ("BOXES", "SCORES", "LANDMARKS", "EMBEDDINGS", "COUNT")

    def frame_findings(self, outputs: Tensors, item: int, frame: SampledFrame) -> list[Finding]:
        """The faces of the ``item``-th frame of a batch (rows past COUNT are padding)."""
        count = int(outputs["COUNT"][item][0])
        return [
            self.finding(frame, label=LABEL, score=float(outputs["SCORES"][item, row]),
                         box=tuple(float(v) for v in outputs["BOXES"][item, row]),
                         attributes={"landmarks": outputs["LANDMARKS"][item, row].astype(float).tolist()},
                         embedding=outputs["EMBEDDINGS"][item, row].astype(float).tolist())
            for row in range(count)
            if outputs["SCORES"][item, row] >= self.min_score
        ]


def assign_identities(faces: list[Finding], min_cosine: float) -> dict[int, int]:
    """Number a job's faces by identity, 1, 2, ... in order of first appearance: a face joins the
    identity whose mean embedding is most similar, if the cosine reaches ``min_cosine`` (SFace's own
    match threshold is 0.363), else starts a new one. Returns finding id -> identity."""
    sums: list[np.ndarray] = []
    identities = {}
    for face in sorted(faces, key=lambda f: (f.timestamp_s, f.id or 0)):
        assert face.id is not None and face.embedding is not None
        vector = np.asarray(face.embedding, dtype=np.float64)
        similarities = [float(total @ vector / np.linalg.norm(total)) for total in sums]
        best = int(np.argmax(similarities)) if similarities else -1
        if best >= 0 and similarities[best] >= min_cosine:
            sums[best] += vector
        else:
            sums.append(vector.copy())
            best = len(sums) - 1
        identities[face.id] = best + 1
    return identities
