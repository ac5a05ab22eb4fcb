"""Texts -> CLIP text embeddings (and the checkpoint's logit scale), tokenised as CLIP does it.

The tokenizer (clip_tokenizer.py beside this file) reads OpenAI's BPE vocabulary; the context length
comes from the graph's input (77 for CLIP). All requests of one execute() go through ONE session run.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils

VOCABULARY = "bpe_simple_vocab_16e6.txt.gz"


def session(path: Path, threads: int, args: dict[str, str]) -> ort.InferenceSession:
    """An ONNX Runtime session on this instance's device (the gpu profile's instances are KIND_GPU)."""
    if not path.is_file():
        raise pb_utils.TritonModelException(f"{path} is missing: set VIDSAFE_CLIP_CHECKPOINT and run "
                                            "`vidsafe export clip`")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1  # one graph, run sequentially
    providers: list = ["CPUExecutionProvider"]
    if args.get("model_instance_kind") == "GPU" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, ("CUDAExecutionProvider", {"device_id": int(args["model_instance_device_id"])}))
    return ort.InferenceSession(str(path), options, providers=providers)


def load_module(path: Path) -> ModuleType:
    # The backend does not put the version folder on sys.path, so the tokenizer is loaded by path.
    spec = importlib.util.spec_from_file_location("clip_tokenizer", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        parameters = json.loads(args["model_config"]).get("parameters", {})
        threads = int(parameters.get("intra_op_threads", {}).get("string_value", "2"))
        version = Path(args["model_repository"]) / args["model_version"]
        self.session = session(version / "model.onnx", threads, args)
        self.context_length = int(self.session.get_inputs()[0].shape[1])  # input_ids: [batch, 77]
        self.tokenizer = load_module(version / "clip_tokenizer.py").ClipTokenizer(version / VOCABULARY)

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
