"""Texts -> CLIP text embeddings (and the checkpoint's logit scale), tokenised as CLIP does it.

The tokenizer (clip_tokenizer.py beside this file) reads OpenAI's BPE vocabulary; the context length
comes from the graph's input (77 for CLIP). All requests of one execute() go through ONE session run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils
from clip_tokenizer import ClipTokenizer  # beside this file: the backend puts the model's folder on sys.path
from onnx_session import open_session

VOCABULARY = "bpe_simple_vocab_16e6.txt.gz"


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        version = Path(args["model_repository"]) / args["model_version"]
        self.session = open_session(args, missing_hint="set VIDSAFE_CLIP_CHECKPOINT and run `vidsafe export clip`")
        self.context_length = int(self.session.get_inputs()[0].shape[1])  # input_ids: [batch, 77]
        self.tokenizer = ClipTokenizer(version / VOCABULARY)

    def execute(self, requests: list) -> list:
        counts, texts = [], []
        for request in requests:
            batch = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy().reshape(-1)
            counts.append(len(batch))
            # Undecodable bytes become U+FFFD rather than failing the whole batch.
            texts += [value.decode("utf-8", errors="replace") for value in batch]
        tokens = self.tokenizer.tokenize(texts, self.context_length)
        embeddings, scale = self.session.run(["embeddings", "logit_scale"], {"input_ids": tokens})
        splits = np.cumsum(counts)[:-1]
        return [
            pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("EMBEDDINGS", np.ascontiguousarray(part)),
                                                       pb_utils.Tensor("LOGIT_SCALE", np.ascontiguousarray(rows))])
            for part, rows in zip(np.split(embeddings, splits), np.split(scale, splits), strict=True)
        ]

    def finalize(self) -> None:
        self.session = None
