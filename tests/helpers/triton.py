"""Helpers shared by the model tests: the model repository's configs, and requests to the served models."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from tritonclient.grpc import service_pb2
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

from vidsafe.deploy import stack
from vidsafe.settings import Settings

INVALID_ARGUMENT = "StatusCode.INVALID_ARGUMENT"
BATCHED = "Triton's dynamic batcher combined requests into batches"

Outputs = dict[str, np.ndarray]  # output name -> array


# Configs


# Requests


@contextmanager
def ready_client(url: str, models: Iterable[str]) -> Iterator[grpcclient.InferenceServerClient]:
    """A gRPC client of the Triton at ``url``, once it serves every one of ``models``."""
    with grpcclient.InferenceServerClient(url) as triton:
        assert all(triton.is_model_ready(model) for model in models)
        yield triton


@contextmanager
def own_triton(settings: Settings) -> Iterator[grpcclient.InferenceServerClient]:
    """A Triton of its own, started with ``settings`` (a state folder and ports of its own), and a client of it;
    stopped after."""
    try:
        stack.up(settings, ["triton"])
        with grpcclient.InferenceServerClient(settings.effective_triton_url) as triton:
            yield triton
    finally:
        stack.down(settings)


def client_fixture(*models: str) -> Callable[..., Iterator[grpcclient.InferenceServerClient]]:
    """A module-scoped ``client`` fixture: a client of the session's stack, which serves ``models``."""

    @pytest.fixture(scope="module", name="client")
    def client(triton_url: str) -> Iterator[grpcclient.InferenceServerClient]:
        with ready_client(triton_url, models) as triton:
            yield triton

    return client


def infer_inputs(tensors: dict[str, np.ndarray]) -> list[grpcclient.InferInput]:
    """One ``InferInput`` per named array, its Triton dtype taken from the array's."""
    inputs = []
    for name, array in tensors.items():
        tensor = grpcclient.InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
        tensor.set_data_from_numpy(array)
        inputs.append(tensor)
    return inputs


def requested_outputs(outputs: Iterable[str]) -> list[grpcclient.InferRequestedOutput]:
    return [grpcclient.InferRequestedOutput(name) for name in outputs]


def infer(client: grpcclient.InferenceServerClient, model: str, tensors: dict[str, np.ndarray],
          outputs: tuple[str, ...]) -> Outputs:
    """One request to ``model``; the named outputs."""
    result = client.infer(model, infer_inputs(tensors), outputs=requested_outputs(outputs))
    return {name: result.as_numpy(name) for name in outputs}


def infer_concurrently(client: grpcclient.InferenceServerClient, model: str, requests: list[dict[str, np.ndarray]],
                       outputs: tuple[str, ...], timeout_s: float = 300) -> list[Outputs]:
    """All ``requests`` to ``model`` in flight at once; their outputs, in the order of the requests.
    ``timeout_s`` (per response) is a guard against a hang, not a speed check."""
    done: queue.Queue = queue.Queue()

    # tritonclient calls back with exactly these keyword names; others fail silently and hang the test.
    def on_done(index: int, result: grpcclient.InferResult | None = None,
                error: InferenceServerException | None = None) -> None:
        done.put((index, result, error))

    for index, tensors in enumerate(requests):
        client.async_infer(model, infer_inputs(tensors), partial(on_done, index), outputs=requested_outputs(outputs))
    results: list[Outputs] = [{} for _ in requests]
    for _ in requests:
        index, result, error = done.get(timeout=timeout_s)
        assert error is None, error
        results[index] = {name: result.as_numpy(name) for name in outputs}
    return results


def statistics(client: grpcclient.InferenceServerClient, model: str) -> service_pb2.ModelStatistics:
    """``model``'s inference statistics so far, once no other work is moving them: the stack is shared, and a
    job an earlier test left running (or a request whose statistics land just after its response) would count
    as this test's."""
    deadline = time.monotonic() + 60  # a guard against a hang, not a speed check
    current = client.get_inference_statistics(model).model_stats[0]
    while time.monotonic() < deadline:
        time.sleep(0.5)
        settled, current = current, client.get_inference_statistics(model).model_stats[0]
        if current.inference_count == settled.inference_count:
            break
    return current


def counted_since(client: grpcclient.InferenceServerClient, model: str, before: service_pb2.ModelStatistics,
                  requests: int) -> tuple[int, int]:
    """(inferences, executions) of ``model`` since the ``before`` statistics. Triton records a request's
    statistics just after sending its response, so they are read again until they have caught up."""
    deadline = time.monotonic() + 30  # a guard against a hang, not a speed check
    while True:
        after = client.get_inference_statistics(model).model_stats[0]
        inferences = after.inference_count - before.inference_count
        if inferences >= requests or time.monotonic() > deadline:
            return inferences, after.execution_count - before.execution_count
        time.sleep(0.05)


def assert_batched(client: grpcclient.InferenceServerClient, model: str, before: service_pb2.ModelStatistics,
                   inferences: int, message: str = BATCHED) -> None:
    """Since ``before``, ``model`` made exactly ``inferences`` inferences, in fewer executions."""
    counted, executions = counted_since(client, model, before, inferences)
    assert counted == inferences
    assert executions < inferences, message


def assert_refused(request: Callable[[], object], message: str, status: str | None = INVALID_ARGUMENT) -> None:
    """``request()`` is refused by Triton with ``message`` in its error (and, unless None, ``status``)."""
    with pytest.raises(InferenceServerException) as refused:
        request()
    if status is not None:
        assert refused.value.status() == status
    assert message in refused.value.message()


def text_tensor(texts: Iterable[str | bytes]) -> np.ndarray:
    """A BYTES tensor of one text a row, as the text models take them."""
    return np.array([[t.encode() if isinstance(t, str) else t] for t in texts], dtype=np.object_)
