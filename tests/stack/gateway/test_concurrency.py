"""The gateway never blocks its event loop: while requests wait on a stalled dependency (a Redis that accepts
connections and never answers), health checks and reads are answered at once."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from tests.helpers.support import free_ports, stored_uploads, upload, wait_for_job, wait_until
from vidsafe.domain.api import API_KEY_HEADER
from vidsafe.gateway.app import create_app
from vidsafe.settings import Settings

PROMPT_S = 5.0  # what "at once" allows on a loaded 2-core machine: a hang guard, not a speed check


class StalledServer:
    """A server that accepts connections and never answers; ``release`` closes it and every connection it
    took, freeing who waits on them."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"redis://127.0.0.1:{self._listener.getsockname()[1]}/0"
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                self.connections.append(self._listener.accept()[0])
            except TimeoutError:
                continue

    def release(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()  # no connection is taken after this, so none is left open below
        self._listener.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def stalled_redis() -> Iterator[StalledServer]:
    server = StalledServer()
    try:
        yield server
    finally:
        server.release()


@pytest.fixture
def stalled_gateway(running_stack: Settings, stalled_redis: StalledServer) -> Iterator[str]:
    """A second gateway on the session stack's database, whose queue is the stalled Redis."""
    (port,) = free_ports(1)
    app = create_app(running_stack.model_copy(update={"redis_url": SecretStr(stalled_redis.url), "gateway_port": port}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, "the second gateway started")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_health_and_reads_answer_while_requests_wait_on_a_stalled_queue(
        api: httpx.Client, api_key: str, running_stack: Settings, sample_video: Path, stalled_gateway: str,
        stalled_redis: StalledServer) -> None:
    job = upload(api, sample_video, options='{"modules": ["nudity"]}').json()
    source = running_stack.ingest_roots[0] / "stalled.mp4"
    shutil.copy(sample_video, source)
    with httpx.Client(base_url=stalled_gateway, timeout=120, headers={API_KEY_HEADER: api_key}) as client, \
            ThreadPoolExecutor(2) as pool:
        # A sync route (from-path) and the streaming upload route, each on its way to the stalled queue.
        stuck: list[Future[httpx.Response]] = [
            pool.submit(client.post, "/v1/jobs/from-path", json={"path": str(source)}),
            pool.submit(upload, client, sample_video),
        ]
        try:
            wait_until(lambda: bool(stalled_redis.connections), "a submission waiting on the queue")
            time.sleep(1)  # the other one on its way too
            with httpx.Client(base_url=stalled_gateway, timeout=PROMPT_S, headers={API_KEY_HEADER: api_key}) as prompt:
                assert prompt.get("/healthz").json() == {"status": "ok"}
                assert prompt.get(f"/v1/jobs/{job['id']}").json()["id"] == job["id"]
            assert not any(future.done() for future in stuck), "the submissions were still waiting"
        finally:
            stalled_redis.release()
        # Released, the queue is unreachable: each submission is refused, and its job taken back.
        for future in stuck:
            refused = future.result(timeout=120)
            assert refused.status_code == 503 and refused.json()["detail"]["code"] == "queue_unavailable", refused.text
    assert not [p for p in stored_uploads(running_stack) if p.name != job["id"]], "nothing left on disk"
    wait_for_job(api, job["id"])
    source.unlink()
