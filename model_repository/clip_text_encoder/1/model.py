"""Texts -> CLIP text embeddings (and the checkpoint's logit scale), tokenised as CLIP does it.

The tokenizer (clip_tokenizer.py beside this file) reads OpenAI's BPE vocabulary; the context length
comes from the graph's input (77 for CLIP). All requests of one execute() go through ONE session run.
"""

from __future__ import annotations

from pathlib import Path

from clip_tokenizer import ClipTokenizer  # beside this file: the backend puts the model's folder on sys.path
from vidsafe_model_host.batching import split_responses, texts_of
from vidsafe_model_host.sessions import open_session

VOCABULARY = "bpe_simple_vocab_16e6.txt.gz"


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        version = Path(args["model_repository"]) / args["model_version"]
        self.session = open_session(args, missing_hint="set VIDSAFE_CLIP_CHECKPOINT and run `vidsafe export clip`")
        self.context_length = int(self.session.get_inputs()[0].shape[1])  # input_ids: [batch, 77]
        self.tokenizer = ClipTokenizer(version / VOCABULARY)

    def execute(self, requests: list) -> list:
        texts, counts = texts_of(requests)
        tokens = self.tokenizer.tokenize(texts, self.context_length)
        embeddings, scale = self.session.run(["embeddings", "logit_scale"], {"input_ids": tokens})
        return split_responses({"EMBEDDINGS": embeddings, "LOGIT_SCALE": scale}, counts)

    def finalize(self) -> None:
        self.session = None
