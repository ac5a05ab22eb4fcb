"""The Triton gRPC client the workers, gateway health checks and benchmarks share.

One channel per client; ``infer_pipelined`` keeps several requests in flight on it so Triton's
dynamic batcher sees concurrent work, and hands results back in submission order. Every request's
latency and failure is counted per model (``vidsafe_triton_request_*``, see ``vidsafe.observability``).
An input may lie in a system shared-memory region registered with Triton (``SharedTensor``): it is then sent
by reference, not copied into the request (``workers/shared_frames.py``).
"""

from __future__ import annotations

import time
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

from vidsafe.observability import observe_triton_request

# Triton's admin APIs, closed to a request without the admin key in this header (--http-restricted-api,
# --grpc-restricted-protocol): loading, unloading and listing models, their configs, tracing and logging. Inference,
# health, metadata, statistics and shared memory (what the workers and the gateway use) stay open to the network
# Triton is on, which deploy/ keeps to those services. deploy/gpu/triton.sh repeats the list for NGC's image.
ADMIN_HEADER = "vidsafe-triton-admin"
GRPC_ADMIN_HEADER = f"triton-grpc-protocol-{ADMIN_HEADER}"  # how Triton names it in gRPC metadata
RESTRICTED_APIS = ("model-repository", "model-config", "trace", "logging")


def restricted_api_flags(admin_key: str) -> list[str]:
    restriction = f"{','.join(RESTRICTED_APIS)}:{ADMIN_HEADER}={admin_key}"
    return [f"--http-restricted-api={restriction}", f"--grpc-restricted-protocol={restriction}"]


Tag = TypeVar("Tag")
Tensors = dict[str, np.ndarray]


@dataclass(frozen=True)
class SharedTensor:
    """A tensor in the registered system shared-memory region ``region``, at ``offset`` bytes."""

    region: str
    offset: int
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def byte_size(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize


Inputs = dict[str, np.ndarray | SharedTensor]


class TritonError(RuntimeError):
    """Triton refused or failed a request, or could not be reached (``unavailable``: worth retrying later)."""

    def __init__(self, message: str, unavailable: bool = False) -> None:
        super().__init__(message)
        self.unavailable = unavailable


# What a stopped, restarting or overloaded server answers: the request may succeed once it is back. A model
# that is not (yet) loaded answers like this too while Triton starts.
_UNAVAILABLE = ("StatusCode.UNAVAILABLE", "StatusCode.DEADLINE_EXCEEDED", "StatusCode.CANCELLED")


def _error(model: str, error: InferenceServerException) -> TritonError:
    message = error.message() or ""
    unavailable = str(error.status()) in _UNAVAILABLE or "is not ready" in message or "unknown model" in message
    return TritonError(f"{model}: {message}", unavailable=unavailable)


def endpoint_for(endpoints: list[str], key: str, attempt: int) -> str:
    """The endpoint of one attempt at a piece of work: spread over ``endpoints`` by ``key`` (stable across
    processes, unlike ``hash``), and the next endpoint at each new attempt, so a retry leaves a Triton that is down."""
    return endpoints[(zlib.crc32(key.encode()) + attempt) % len(endpoints)]


class TritonClient:
    def __init__(self, url: str, timeout_s: float = 60.0) -> None:
        self.url = url
        self._timeout_s = timeout_s
        self._client = grpcclient.InferenceServerClient(url)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> TritonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def is_ready(self, models: Iterable[str] = ()) -> bool:
        try:
            return self._client.is_server_ready(client_timeout=2) and all(
                self._client.is_model_ready(model, client_timeout=2) for model in models
            )
        except InferenceServerException:
            return False

    def statistics(self, model: str) -> dict:
        return self._client.get_inference_statistics(model, as_json=True)

    def register_shared_memory(self, region: str, key: str, byte_size: int) -> None:
        """Let Triton read requests' inputs from the system shared memory ``key`` (a /dev/shm name) as ``region``."""
        try:
            self._client.register_system_shared_memory(region, key, byte_size, client_timeout=self._timeout_s)
        except InferenceServerException as error:
            raise _error(region, error) from error

    def unregister_shared_memory(self, region: str) -> None:
        try:
            self._client.unregister_system_shared_memory(region, client_timeout=self._timeout_s)
        except InferenceServerException as error:
            raise _error(region, error) from error

    def shared_memory_regions(self) -> list[str]:
        """The names of the system shared-memory regions registered with Triton."""
        try:
            status = self._client.get_system_shared_memory_status(as_json=True, client_timeout=self._timeout_s)
        except InferenceServerException as error:
            raise _error("shared memory", error) from error
        return list(status.get("regions", {}))

    def infer(self, model: str, inputs: Inputs, outputs: Iterable[str]) -> Tensors:
        return self.result(self.submit(model, inputs, outputs))

    def infer_pipelined(
        self, model: str, requests: Iterable[tuple[Tag, Inputs]], outputs: Iterable[str], max_in_flight: int
    ) -> Iterator[tuple[Tag, Tensors]]:
        """Send each request's tensors, at most ``max_in_flight`` at a time; yield (tag, outputs) in order."""
        output_names = list(outputs)
        pending: deque[tuple[Tag, Future[Tensors]]] = deque()
        for tag, tensors in requests:
            if len(pending) >= max_in_flight:
                tag_done, future = pending.popleft()
                yield tag_done, self.result(future)
            pending.append((tag, self.submit(model, tensors, output_names)))
        while pending:
            tag_done, future = pending.popleft()
            yield tag_done, self.result(future)

    def submit(self, model: str, tensors: Inputs, outputs: Iterable[str]) -> Future[Tensors]:
        """Start one request on the shared channel; the future gives its outputs as numpy arrays."""
        output_names = list(outputs)
        inputs = []
        for name, array in tensors.items():
            tensor = grpcclient.InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
            if isinstance(array, SharedTensor):
                tensor.set_shared_memory(array.region, array.byte_size, array.offset)
            else:
                tensor.set_data_from_numpy(array)
            inputs.append(tensor)
        future: Future[Tensors] = Future()
        started = time.perf_counter()

        # tritonclient calls back with these exact keyword names; others fail silently in its thread.
        def on_done(result: grpcclient.InferResult | None = None,
                    error: InferenceServerException | None = None) -> None:
            observe_triton_request(model, time.perf_counter() - started, failed=error is not None)
            if error is not None:
                future.set_exception(_error(model, error))
            else:
                assert result is not None
                future.set_result({name: result.as_numpy(name) for name in output_names})

        try:
            self._client.async_infer(
                model, inputs, on_done,
                outputs=[grpcclient.InferRequestedOutput(name) for name in output_names],
                client_timeout=self._timeout_s,
            )
        except InferenceServerException as error:
            observe_triton_request(model, time.perf_counter() - started, failed=True)
            raise _error(model, error) from error
        return future

    def result(self, future: Future[Tensors]) -> Tensors:
        try:
            return future.result(timeout=self._timeout_s + 5)
        except TimeoutError:
            raise TritonError("no answer within the request deadline", unavailable=True) from None
