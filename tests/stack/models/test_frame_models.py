"""What Triton checks itself of a request to a model that takes RGB frames (``IMAGE``, uint8, [N, H, W, 3])
before the model sees it: the same for each of them."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.triton import assert_refused, infer, ready_client
from vidsafe.catalogue import ModuleKind, entries_of

# The Triton model each frame module's stage calls, of every module the test stack serves (CLIP is optional).
FRAME_MODELS = [e.calls["frames"] for e in entries_of(ModuleKind.frame) if not e.optional]


@pytest.mark.parametrize("model", FRAME_MODELS)
def test_wrong_dtype_is_refused(triton_url: str, model: str) -> None:
    with ready_client(triton_url, [model]) as client:
        # Every frame model answers with a COUNT per frame.
        assert_refused(lambda: infer(client, model, {"IMAGE": np.zeros((1, 8, 8, 3), dtype=np.float32)}, ("COUNT",)),
                       "expects 'UINT8'", status=None)
