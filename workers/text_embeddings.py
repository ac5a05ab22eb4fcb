"""Text embeddings of a job's findings that carry text (OCR lines, speech segments), for semantic search.

Runs in the rules part, after the other parts: every finding with text and no embedding yet is embedded by the Triton
``text_embedder`` model (all-MiniLM-L6-v2, 384-d, unit length) and stored in ``text_embeddings``
(pgvector, cosine HNSW index).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import islice
from uuid import UUID

import numpy as np
import psycopg

from vidsafe.catalogue import Module, triton_model
from vidsafe.db import findings
from vidsafe.triton import Tensors, TritonClient
from vidsafe.workers.stages import RulesInput, RuleStage

BATCH_TEXTS = 64  # text_embedder's max_batch_size (offensive_language's is larger)


def _requests(texts: Sequence[str]) -> Iterator[tuple[int, Tensors]]:
    iterator = iter(enumerate(texts))
    while chunk := list(islice(iterator, BATCH_TEXTS)):
        # TEXT is [N, 1] BYTES: one UTF-8 text per row.
        yield chunk[0][0], {"TEXT": np.array([[t.encode("utf-8")] for _, t in chunk], dtype=np.object_)}


def infer_texts(triton: TritonClient, model: str, output: str, texts: Sequence[str], in_flight: int) -> np.ndarray:
    """``model``'s ``output`` for each of ``texts``, in order: sent in batches of BATCH_TEXTS, pipelined."""
    results = [outputs[output] for _, outputs in triton.infer_pipelined(model, _requests(texts), [output], in_flight)]
    return np.concatenate(results) if results else np.zeros((0, 1), dtype=np.float32)


def embed_texts(triton: TritonClient, texts: Sequence[str], in_flight: int = 2) -> np.ndarray:
    """[N, D] unit-length embeddings of ``texts`` by the served text embedder."""
    return infer_texts(triton, triton_model(Module.text_embeddings, "texts"), "EMBEDDINGS", texts, in_flight)


def embed_job_texts(conn: psycopg.Connection, job_id: UUID, triton: TritonClient, in_flight: int = 2) -> int:
    """Embed and store the job's not yet embedded text findings; returns how many were embedded."""
    rows = findings.text_findings(conn, job_id)
    if rows:
        vectors = embed_texts(triton, [text for _, text in rows], in_flight)
        findings.add_text_embeddings(conn, job_id, zip([i for i, _ in rows], vectors.tolist(), strict=True))
    return len(rows)


class TextEmbeddingsStage(RuleStage):
    module = Module.text_embeddings
    step = "index"

    def run(self, job: RulesInput) -> None:
        embed_job_texts(job.conn, job.lease.job_id, self.triton, self.settings.infer_in_flight)
