"""Texts -> all-MiniLM-L6-v2 sentence embeddings, as sentence-transformers computes them.

Tokenisation is the model's own tokenizer.json run by the ``tokenizers`` package, with the truncation
sentence-transformers applies (256 tokens) instead of the file's (128, padded to a fixed 128). All
requests of one execute() are tokenised and run as ONE batch, padded to its longest text; the graph
(export/text_embedder.py) pools over the attention mask, so padding does not change an embedding.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer
from vidsafe_model_host.batching import split_responses, texts_of
from vidsafe_model_host.sessions import open_session


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        parameters = json.loads(args["model_config"]).get("parameters", {})

        def parameter(key: str, default: int) -> int:
            return int(parameters.get(key, {}).get("string_value", default))

        version = Path(args["model_repository"]) / args["model_version"]
        self.tokenizer = Tokenizer.from_file(str(version / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=parameter("max_tokens", 256))
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id("[PAD]"), pad_token="[PAD]")
        self.session = open_session(args, missing_hint="run `vidsafe export text_embedder`")

    def execute(self, requests: list) -> list:
        texts, counts = texts_of(requests)
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (embeddings,) = self.session.run(["embeddings"], {"input_ids": ids, "attention_mask": mask})
        return split_responses({"EMBEDDINGS": embeddings}, counts)

    def finalize(self) -> None:
        self.session = None
