"""Faces on sampled frames through the Triton ``faces`` model: a box, 5 landmarks and an embedding each.

The embedding (unit length, 128 floats) is stored in pgvector by ``queries.add_findings``, so a face
can be looked up across every analysed video (``queries.similar_faces``). Within one job, faces are
numbered by identity once all frames are seen (``assign_identities``), so the same person seen twice
is one "face 1".
"""

from __future__ import annotations

import numpy as np

from vidsafe.domain import Finding, Module
from vidsafe.triton import Tensors
from workers.sampling import SampledFrame
from workers.stages import Collect, FrameStage

MODEL = "faces"
OUTPUTS = ("BOXES", "SCORES", "LANDMARKS", "EMBEDDINGS", "COUNT")
LABEL = "face"


class FacesStage(FrameStage):
    module = Module.faces

    def submit(self, frames: list[SampledFrame]) -> Collect:
        future = self.triton.submit(MODEL, {"IMAGE": np.stack([f.rgb for f in frames])}, OUTPUTS)

        def collect() -> list[Finding]:
            outputs = self.triton.result(future)
            return [finding for item, frame in enumerate(frames) for finding in self._findings(outputs, item, frame)]

        return collect

    def _findings(self, outputs: Tensors, item: int, frame: SampledFrame) -> list[Finding]:
        """The faces of the ``item``-th frame of a batch (rows past COUNT are padding)."""
        count = int(outputs["COUNT"][item][0])
        return [
            Finding(module=self.module, label=LABEL, score=float(outputs["SCORES"][item, row]),
                    timestamp_s=frame.timestamp_s, frame_index=frame.index,
                    box=tuple(float(v) for v in outputs["BOXES"][item, row]),  # type: ignore[arg-type]
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
