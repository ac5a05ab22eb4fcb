"""The CLIP stage (workers/clip.py): its prompts in model-sized batches, the neutral category kept out of findings."""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np
import pytest

from vidsafe.media.decoding import SampledFrame
from vidsafe.settings import Settings
from vidsafe.workers.clip import FRAME_LABEL, ClipStage


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
