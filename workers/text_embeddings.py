"""Text embeddings of a job's findings that carry text (OCR lines, speech segments), for semantic search.

Runs in the rules part, after the other parts: every finding with text and no embedding yet is embedded by the Triton
``text_embedder`` model (all-MiniLM-L6-v2, 384-d, unit length) and stored in ``text_embeddings``
(pgvector, cosine HNSW index).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from uuid import UUID

import numpy as np
import psycopg

from vidsafe.catalogue import Module, triton_model
from vidsafe.db import findings
from vidsafe.triton import Tensors, TritonClient
from vidsafe.workers.stages import RulesInput, RuleStage

BATCH_TEXTS = 64  # the model's max_batch_size


def _requests(rows: list[tuple[int, str]], size: int) -> Iterator[tuple[list[int], Tensors]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        # TEXT is [N, 1] BYTES: one UTF-8 text per row.
        texts = np.array([[text.encode("utf-8")] for _, text in chunk], dtype=np.object_)
        yield [finding_id for finding_id, _ in chunk], {"TEXT": texts}


def embed_job_texts(conn: psycopg.Connection, job_id: UUID, triton: TritonClient, in_flight: int = 2) -> int:
    """Embed and store the job's not yet embedded text findings; returns how many were embedded."""
    rows = findings.text_findings(conn, job_id)
    model = triton_model(Module.text_embeddings, "texts")
    for ids, outputs in triton.infer_pipelined(model, _requests(rows, BATCH_TEXTS), ["EMBEDDINGS"], in_flight):
        findings.add_text_embeddings(conn, job_id, zip(ids, outputs["EMBEDDINGS"].tolist(), strict=True))
    return len(rows)


class TextEmbeddingsStage(RuleStage):
    module = Module.text_embeddings
    step = "index"

    def run(self, job: RulesInput) -> None:
        embed_job_texts(job.conn, job.lease.job_id, self.triton, self.settings.infer_in_flight)
