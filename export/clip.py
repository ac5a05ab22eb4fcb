"""Your CLIP checkpoint -> the two ONNX graphs Triton serves.

No CLIP weights ship in any package, so ``vidsafe export clip`` converts a checkpoint the operator
supplies (``VIDSAFE_CLIP_CHECKPOINT``): a Hugging Face CLIP folder, or a ViT CLIP in OpenAI's layout
(OpenAI's own .pt files, open_clip checkpoints), which is mapped onto Hugging Face's ``CLIPModel`` first.
The outputs:

- ``clip_image_encoder/1/model.onnx``: ``pixels`` UINT8 [B, S, S, 3] RGB, already resized and
  center-cropped to the checkpoint's image size S -> ``embeddings`` FP32 [B, D], unit length. Scaling to
  0..1 and the checkpoint's mean/std normalisation are inside the graph.
- ``clip_text_encoder/1/model.onnx``: ``input_ids`` INT64 [B, 77] (CLIP BPE tokens, SOT ... EOT, zero
  padded) -> ``embeddings`` FP32 [B, D], unit length, and ``logit_scale`` FP32 [B, 1], the checkpoint's
  learned temperature (exp(logit_scale)) that zero-shot softmaxes use.

Batch is dynamic in both. torch and transformers are imported inside the functions: only exporting
needs them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from vidsafe.catalogue import CatalogueEntry
from vidsafe.export.text_embedder import write_onnx
from vidsafe.packages import ExportError
from vidsafe.settings import Settings

if TYPE_CHECKING:
    import torch
    from transformers import CLIPModel

IMAGE_MODEL = "clip_image_encoder/1/model.onnx"
TEXT_MODEL = "clip_text_encoder/1/model.onnx"
# OpenAI CLIP's normalisation, for checkpoints without a preprocessor_config.json of their own.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
# open_clip's file names in a downloaded (Hugging Face hub) folder.
OPEN_CLIP_WEIGHTS = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
OPEN_CLIP_CONFIG = "open_clip_config.json"
HOW_TO_ENABLE = (
    "No CLIP weights ship with vidsafe: download a ViT CLIP checkpoint (a Hugging Face CLIP folder with config.json "
    "and model.safetensors such as openai/clip-vit-base-patch32, an open_clip folder with open_clip_config.json, or "
    "OpenAI's ViT-B-32.pt), set VIDSAFE_CLIP_CHECKPOINT to it, and run `vidsafe export clip` again."
)
# OpenAI layout -> Hugging Face CLIPModel names; the attention's fused in_proj and the two projections
# (stored transposed) are handled in hf_state_dict.
RENAMES = (
    (r"^visual\.transformer\.resblocks\.", "vision_model.encoder.layers."),
    (r"^transformer\.resblocks\.", "text_model.encoder.layers."),
    (r"\.attn\.out_proj\.", ".self_attn.out_proj."),
    (r"\.ln_1\.", ".layer_norm1."),
    (r"\.ln_2\.", ".layer_norm2."),
    (r"\.mlp\.c_fc\.", ".mlp.fc1."),
    (r"\.mlp\.c_proj\.", ".mlp.fc2."),
    (r"^visual\.class_embedding$", "vision_model.embeddings.class_embedding"),
    (r"^visual\.conv1\.weight$", "vision_model.embeddings.patch_embedding.weight"),
    (r"^visual\.positional_embedding$", "vision_model.embeddings.position_embedding.weight"),
    (r"^visual\.ln_pre\.", "vision_model.pre_layrnorm."),
    (r"^visual\.ln_post\.", "vision_model.post_layernorm."),
    (r"^token_embedding\.weight$", "text_model.embeddings.token_embedding.weight"),
    (r"^positional_embedding$", "text_model.embeddings.position_embedding.weight"),
    (r"^ln_final\.", "text_model.final_layer_norm."),
)
# open_clip options that change the computation without changing the weights' names.
UNSUPPORTED_OPTIONS = {"vision_cfg": ("timm_model_name", "final_ln_after_pool", "act_kwargs", "norm_kwargs"),
                       "text_cfg": ("hf_model_name", "final_ln_after_pool", "act_kwargs", "norm_kwargs")}


class CheckpointError(ExportError):
    """No usable CLIP checkpoint is configured; the message says how to enable CLIP."""


def load_checkpoint(checkpoint: Path, quick_gelu: bool | None = None
                    ) -> tuple[CLIPModel, tuple[float, ...], tuple[float, ...]]:
    """The CLIP model in ``checkpoint`` and its image normalisation (mean, std)."""
    from transformers import CLIPModel

    if (checkpoint / "config.json").is_file():
        # Eager attention traces to plain MatMul/Softmax, which every ONNX Runtime build runs.
        model = CLIPModel.from_pretrained(checkpoint, attn_implementation="eager")
        preprocessor = checkpoint / "preprocessor_config.json"
        config = json.loads(preprocessor.read_text()) if preprocessor.is_file() else {}
        return model.eval(), tuple(config.get("image_mean", CLIP_MEAN)), tuple(config.get("image_std", CLIP_STD))
    weights = checkpoint if checkpoint.is_file() else next(
        (checkpoint / name for name in OPEN_CLIP_WEIGHTS if (checkpoint / name).is_file()), None)
    if weights is None:
        raise CheckpointError(f"VIDSAFE_CLIP_CHECKPOINT={checkpoint} holds no CLIP checkpoint. {HOW_TO_ENABLE}")
    config_file = weights.with_name(OPEN_CLIP_CONFIG)
    open_clip = json.loads(config_file.read_text()) if config_file.is_file() else {}
    model_cfg, preprocess = open_clip.get("model_cfg", {}), open_clip.get("preprocess_cfg", {})
    for section, options in UNSUPPORTED_OPTIONS.items():
        if found := sorted(set(options) & set(model_cfg.get(section, {}))):
            raise CheckpointError(f"{checkpoint}: open_clip {section} options {found} are not supported")
    if quick_gelu is None:
        # OpenAI's weights were trained with QuickGELU; open_clip's config says (its default is GELU).
        quick_gelu = bool(model_cfg.get("quick_gelu", False)) if open_clip else True
    model = openai_layout_model(read_state_dict(weights), quick_gelu, model_cfg)
    return model, tuple(preprocess.get("mean", CLIP_MEAN)), tuple(preprocess.get("std", CLIP_STD))


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The float32 weights of a .safetensors, torch.save or TorchScript (OpenAI's .pt) checkpoint."""
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(path)
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except RuntimeError:  # OpenAI's own files are TorchScript archives
            state = torch.jit.load(path, map_location="cpu").state_dict()
        state = state.get("state_dict", state)  # training checkpoints wrap the weights
    return {key.removeprefix("module."): value.float() for key, value in state.items()
            if isinstance(value, torch.Tensor)}


def hf_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """OpenAI-layout weight names -> Hugging Face CLIPModel's."""
    converted = {}
    for key, value in state.items():
        if key == "visual.proj":
            converted["visual_projection.weight"] = value.T
        elif key == "text_projection":
            converted["text_projection.weight"] = value.T
        elif key == "logit_scale":
            converted[key] = value
        elif key in ("input_resolution", "context_length", "vocab_size"):
            continue  # sizes OpenAI's TorchScript files carry as tensors; the weights' shapes say the same
        elif (fused := re.fullmatch(r"(.*)\.attn\.in_proj_(weight|bias)", key)) is not None:
            prefix, kind = fused.groups()
            for name, part in zip("qkv", value.chunk(3), strict=True):
                converted[_rename(f"{prefix}.self_attn.{name}_proj.{kind}")] = part
        else:
            converted[_rename(key)] = value
    return converted


def _rename(key: str) -> str:
    for pattern, replacement in RENAMES:
        key = re.sub(pattern, replacement, key)
    return key


def openai_layout_model(state: dict[str, torch.Tensor], quick_gelu: bool, model_cfg: dict) -> CLIPModel:
    """A Hugging Face CLIPModel holding a ViT CLIP stored in OpenAI's layout, its shape read off the weights
    as OpenAI's ``build_model`` does (head counts from open_clip's config when there is one)."""
    from transformers import CLIPConfig, CLIPModel

    if "visual.proj" not in state:
        raise CheckpointError("only ViT CLIP checkpoints are supported (no visual.proj: a ResNet CLIP?)")

    def layers(prefix: str) -> int:
        return len({k for k in state if re.match(rf"{prefix}\d+\.attn\.in_proj_weight$", k)})

    vision_width, _, patch, _ = state["visual.conv1.weight"].shape
    text_width = state["ln_final.weight"].shape[0]
    grid = round((state["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    activation = "quick_gelu" if quick_gelu else "gelu"
    config = CLIPConfig(
        projection_dim=state["text_projection"].shape[1],
        vision_config={
            "hidden_size": vision_width, "image_size": patch * grid, "patch_size": patch, "hidden_act": activation,
            "intermediate_size": state["visual.transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
            "num_hidden_layers": layers(r"visual\.transformer\.resblocks\."),
            "num_attention_heads": vision_width // model_cfg.get("vision_cfg", {}).get("head_width", 64),
        },
        text_config={
            "hidden_size": text_width, "vocab_size": state["token_embedding.weight"].shape[0],
            "max_position_embeddings": state["positional_embedding"].shape[0], "hidden_act": activation,
            "intermediate_size": state["transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
            "num_hidden_layers": layers(r"transformer\.resblocks\."),
            "num_attention_heads": model_cfg.get("text_cfg", {}).get("heads", text_width // 64),
            # CLIP pools the text at EOT, the highest id of its vocabulary (OpenAI takes the argmax).
            "eos_token_id": state["token_embedding.weight"].shape[0] - 1,
        },
    )
    config._attn_implementation = "eager"  # as for Hugging Face folders: plain MatMul/Softmax in the graph
    model = CLIPModel(config)
    try:
        model.load_state_dict(hf_state_dict(state), strict=True)
    except RuntimeError as error:
        raise CheckpointError(f"not a CLIP ViT in OpenAI's layout: {error}") from None
    return model.eval()


def image_encoder(model: CLIPModel, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.nn.Module:
    """uint8 [B, S, S, 3] RGB crops -> unit-length image embeddings."""
    import torch

    class ImageEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.vision, self.projection = model.vision_model, model.visual_projection
            self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            scaled = pixels.permute(0, 3, 1, 2).to(torch.float32) * (1.0 / 255.0)
            pooled = self.vision(pixel_values=(scaled - self.mean) / self.std).pooler_output
            return torch.nn.functional.normalize(self.projection(pooled), p=2.0, dim=1)

    return ImageEncoder()


def text_encoder(model: CLIPModel) -> torch.nn.Module:
    """int64 [B, 77] tokens -> (unit-length text embeddings, the logit scale per row)."""
    import torch

    class TextEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.text, self.projection, self.logit_scale = model.text_model, model.text_projection, model.logit_scale

        def forward(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            # No attention mask, as in CLIP: the causal mask already keeps the padding after EOT out of
            # the EOT token's state, which is the one pooled.
            pooled = self.text(input_ids=input_ids).pooler_output
            embeddings = torch.nn.functional.normalize(self.projection(pooled), p=2.0, dim=1)
            return embeddings, self.logit_scale.exp().expand(input_ids.shape[0], 1)

    return TextEncoder()


def export_checkpoint(checkpoint: Path, repository: Path, quick_gelu: bool | None = None) -> list[Path]:
    """Write both encoders of ``checkpoint`` into the model repository."""
    import torch

    model, mean, std = load_checkpoint(checkpoint, quick_gelu)
    size = model.config.vision_config.image_size
    context = model.config.text_config.max_position_embeddings
    images = torch.zeros((2, size, size, 3), dtype=torch.uint8)
    tokens = torch.zeros((2, context), dtype=torch.int64)
    return [
        write_onnx(image_encoder(model, mean, std), (images,), repository / IMAGE_MODEL, inputs=("pixels",),
                   outputs=("embeddings",), dynamic_axes={"pixels": {0: "batch"}, "embeddings": {0: "batch"}}),
        write_onnx(text_encoder(model), (tokens,), repository / TEXT_MODEL, inputs=("input_ids",),
                   outputs=("embeddings", "logit_scale"),
                   dynamic_axes={"input_ids": {0: "batch"}, "embeddings": {0: "batch"}, "logit_scale": {0: "batch"}}),
    ]


def convert(entry: CatalogueEntry, settings: Settings) -> None:
    """The catalogue's ``convert`` of ``clip``: the configured checkpoint -> both encoders."""
    if settings.clip_checkpoint is None:
        raise CheckpointError(f"CLIP is not set up. {HOW_TO_ENABLE}")
    export_checkpoint(settings.clip_checkpoint, settings.model_repository, settings.clip_quick_gelu)
