"""export/clip.py: a CLIP checkpoint (Hugging Face, open_clip or OpenAI's layout) exported to the two encoders, against
PyTorch and OpenAI's own code."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from transformers import CLIPModel
from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

from tests.helpers.clip import (
    LOGIT_SCALE,
    MEAN,
    SENTENCES,
    STD,
    VOCABULARY,
    assert_embeddings_close,
    load_module_file,
    reference_texts,
    unit_features,
)
from tests.helpers.model_configs import REPOSITORY
from vidsafe.catalogue import load_catalogue
from vidsafe.export.clip import CLIP_MEAN, CLIP_STD, CheckpointError, convert, export_checkpoint
from vidsafe.packages import fetch_wheel
from vidsafe.settings import Settings

# OpenAI's clip package, republished (clip/model.py verbatim): the reference for checkpoints in OpenAI's layout.
OPENAI_CLIP_WHEEL = ("clip-anytorch", "2.6.0", "ebc0afed243851b9dc7e16ab8afb665237e8a5838986e97cd99f123ae4ce94ce")


@pytest.fixture(scope="module")
def tokenizer(openai_wheel_files: Path):
    module = load_module_file("clip_tokenizer", REPOSITORY / "clip_text_encoder" / "1" / "clip_tokenizer.py")
    return module.ClipTokenizer(openai_wheel_files / "data" / VOCABULARY)


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
            assert_embeddings_close(actual, unit_features(model.get_image_features(pixel_values=normalised)))
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
    return load_module_file("openai_clip_model", folder / "clip" / "model.py")


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
