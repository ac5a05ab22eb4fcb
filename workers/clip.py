"""CLIP on sampled frames: zero-shot categories (restraint, weapons, ...) and an embedding per frame.

Each category of ``settings.clip_categories`` is the mean of its prompts' text embeddings (CLIP's prompt
ensembling), computed once per stage through ``clip_text_encoder``. A frame's image embedding is
compared with every category; a softmax of the cosines at the checkpoint's logit scale gives each
category's probability. Findings: one per category scoring >= min_score (except the neutral one), and
one labelled ``frame`` per frame that carries the image embedding (stored in ``clip_embeddings`` for
visual similarity) and every category's probability.
"""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np

from vidsafe.catalogue import Module, entry, triton_model
from vidsafe.domain.findings import Finding
from vidsafe.media.decoding import SampledFrame
from vidsafe.settings import Settings
from vidsafe.triton import Tensors, TritonClient
from vidsafe.workers.stages import FrameStage

TEXT_BATCH = 64  # clip_text_encoder's max_batch_size
# The label of the finding that carries a frame's embedding (the catalogue names it among clip's index labels).
(FRAME_LABEL,) = entry(Module.clip).index_labels


def category_embeddings(prompt_embeddings: np.ndarray, prompts_per_category: list[int]) -> np.ndarray:
    """[C, D] unit vectors: the mean of each category's (unit) prompt embeddings, renormalised."""
    means = np.stack([part.mean(axis=0) for part in np.split(prompt_embeddings, np.cumsum(prompts_per_category)[:-1])])
    return means / np.linalg.norm(means, axis=1, keepdims=True)


def zero_shot(image_embeddings: np.ndarray, categories: np.ndarray, logit_scale: float) -> np.ndarray:
    """[N, C] probabilities: softmax over categories of logit_scale * cosine."""
    logits = logit_scale * image_embeddings @ categories.T
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


class ClipStage(FrameStage):
    module = Module.clip
    outputs = ("EMBEDDINGS",)

    def __init__(self, triton: TritonClient, min_score: float, settings: Settings) -> None:
        super().__init__(triton, min_score, settings)
        categories = settings.clip_categories
        if not categories or any(not prompts for prompts in categories.values()):
            raise ValueError("VIDSAFE_CLIP_CATEGORIES needs at least one category, each with prompts")
        if FRAME_LABEL in categories:
            raise ValueError(f"{FRAME_LABEL!r} is the label of frame embeddings: rename that CLIP category")
        neutral = settings.clip_neutral_category
        if neutral is not None and neutral not in categories:
            raise ValueError(f"VIDSAFE_CLIP_NEUTRAL_CATEGORY {neutral!r} is not one of the CLIP categories")
        self.categories = list(categories)
        self.neutral = neutral
        self._prompts_per_category = [len(prompts) for prompts in categories.values()]
        texts = np.array([[p.encode("utf-8")] for prompts in categories.values() for p in prompts], dtype=np.object_)
        prompts_model = triton_model(self.module, "prompts")
        # Started now, awaited by the first batch's collect: the prompts overlap with frame decoding.
        self._prompt_requests: list[Future[Tensors]] = [
            triton.submit(prompts_model, {"TEXT": texts[start: start + TEXT_BATCH]}, ("EMBEDDINGS", "LOGIT_SCALE"))
            for start in range(0, len(texts), TEXT_BATCH)
        ]
        self._classifier: tuple[np.ndarray, float] | None = None

    def classifier(self) -> tuple[np.ndarray, float]:
        """The categories' embeddings [C, D] and the checkpoint's logit scale, computed once."""
        if self._classifier is None:
            results = [self.triton.result(request) for request in self._prompt_requests]
            prompts = np.concatenate([result["EMBEDDINGS"] for result in results])
            scale = float(results[0]["LOGIT_SCALE"][0, 0])
            self._classifier = (category_embeddings(prompts, self._prompts_per_category), scale)
        return self._classifier

    def frame_findings(self, outputs: Tensors, item: int, frame: SampledFrame) -> list[Finding]:
        embedding = outputs["EMBEDDINGS"][item]
        scores = dict(zip(self.categories, zero_shot(embedding[None], *self.classifier())[0].tolist(), strict=True))
        return [self.finding(frame, label=FRAME_LABEL, score=1.0, embedding=embedding.tolist(),
                             attributes={"probabilities": {c: round(p, 4) for c, p in scores.items()}}),
                *(self.finding(frame, label=category, score=score) for category, score in scores.items()
                  if category != self.neutral and score >= self.min_score)]
