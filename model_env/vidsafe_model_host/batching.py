"""One execute() call, many requests: the rows of every request go through the model as one batch, and the
outputs are split back into one response per request, in order."""

from __future__ import annotations

import numpy as np
import triton_python_backend_utils as pb_utils


def texts_of(requests: list, name: str = "TEXT") -> tuple[list[str], list[int]]:
    """The UTF-8 texts of every request's ``name`` tensor ([N, 1] BYTES), and how many each request sent.
    Undecodable bytes become U+FFFD rather than failing the whole batch."""
    texts, counts = [], []
    for request in requests:
        rows = pb_utils.get_input_tensor_by_name(request, name).as_numpy().reshape(-1)
        counts.append(len(rows))
        texts += [value.decode("utf-8", errors="replace") for value in rows]
    return texts, counts


def split_responses(outputs: dict[str, np.ndarray], counts: list[int]) -> list:
    """One response per request: the next ``count`` rows of every output."""
    splits = np.cumsum(counts)[:-1]
    parts = {name: np.split(array, splits) for name, array in outputs.items()}
    return [pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor(name, np.ascontiguousarray(parts[name][k]))
                                                       for name in outputs])
            for k in range(len(counts))]
