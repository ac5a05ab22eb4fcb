"""Slow clients (issues 4 and 25): an upload that stalls, trickles or drags on is given up with a 408 and its
partial file removed, and while it streams it holds none of the gateway's database connections, so any number
of them leave other callers answered."""

from __future__ import annotations

import contextlib
import select
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.hostile_corpus import tiny_valid
from tests.helpers.raw_uploads import multipart, read_answer, start_upload
from tests.helpers.support import elsewhere, free_ports, state_root, stored_uploads, wait_until
from vidsafe.deploy import stack
from vidsafe.settings import Settings

IMPATIENT_IDLE_TIMEOUT_S = 2.0
TRICKLERS = 20  # more than the gateway's pool has connections (8)
# Below the pool's 5 s wait for a connection: an answer this quick waited for none. A hang guard, not a timing.
ANSWERED_WITHIN_S = 3.0


@pytest.fixture(scope="module")
def good_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_valid(tmp_path_factory.mktemp("good"))


@pytest.fixture(scope="module")
def impatient_gateway(running_stack: Settings) -> Iterator[Settings]:
    """A second gateway on the same database and queue, started by the launcher in a state folder of its
    own, with a short upload idle timeout, so a stall or a trickle is detected in seconds rather than 30."""
    with state_root("impatient") as root:
        impatient = elsewhere(running_stack, root, gateway_port=free_ports(1)[0],
                              upload_idle_timeout_s=IMPATIENT_IDLE_TIMEOUT_S)
        stack.up(impatient, ["gateway"])
        try:
            yield impatient
        finally:
            stack.down(impatient, ["gateway"])


def _partials(settings: Settings) -> int:
    return len(list(settings.uploads_dir.rglob("*.partial")))


def test_trickling_uploads_leave_other_callers_answered(running_stack: Settings, api: httpx.Client, api_key: str,
                                                       good_video: Path) -> None:
    """20 uploads trickling a byte a second (each within the idle timeout) once held every pooled connection, and
    every other request waited 5 s for a 503; now none is held while a body streams."""
    body, content_type = multipart("trickle.mp4", good_video.read_bytes())
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(start_upload(running_stack.gateway_port, api_key, body, content_type))
                   for _ in range(TRICKLERS)]
        wait_until(lambda: _partials(running_stack) == TRICKLERS,
                   lambda: f"{_partials(running_stack)} of {TRICKLERS} uploads streaming", timeout_s=20)
        for offset in range(3):
            for sock in sockets:
                sock.sendall(body[offset:offset + 1])
            started = time.monotonic()
            me = api.get("/v1/me", timeout=ANSWERED_WITHIN_S)
            assert me.status_code == 200, me.text
            assert time.monotonic() - started < ANSWERED_WITHIN_S
            time.sleep(1)
    wait_until(lambda: not stored_uploads(running_stack), "the trickled uploads' partial files removed", timeout_s=20)


def test_slowloris_upload_is_given_up(impatient_gateway: Settings, api_key: str, good_video: Path) -> None:
    """A client that sends its headers and part of the body, a few bytes at a time, then stalls, gets a
    408 upload_timeout and its partial file is removed."""
    body, content_type = multipart("slow.mp4", good_video.read_bytes())
    with start_upload(impatient_gateway.gateway_port, api_key, body, content_type) as sock:
        for offset in range(0, 600, 100):  # trickle, then stall with most of the body unsent
            sock.sendall(body[offset:offset + 100])
            time.sleep(0.2)
        assert _partials(impatient_gateway), "the trickled bytes should be on disk"
        sock.settimeout(IMPATIENT_IDLE_TIMEOUT_S * 15)  # a hang guard: the gateway must answer by itself
        status, answer = read_answer(sock)
    assert status == 408 and b'"upload_timeout"' in answer, answer
    wait_until(lambda: not stored_uploads(impatient_gateway), "the partial upload removed", timeout_s=10)


def test_an_upload_that_never_stalls_but_trickles_is_given_up(impatient_gateway: Settings, api_key: str,
                                                             good_video: Path) -> None:
    """A byte every 0.2 s never trips the idle timeout; once that has passed, the average rate does."""
    body, content_type = multipart("trickle.mp4", good_video.read_bytes())
    with start_upload(impatient_gateway.gateway_port, api_key, body, content_type) as sock:
        for offset in range(int(IMPATIENT_IDLE_TIMEOUT_S * 15 / 0.2)):  # a hang guard, as above
            with contextlib.suppress(OSError):  # the gateway may have answered and closed while this sends
                sock.sendall(body[offset:offset + 1])
            if select.select([sock], [], [], 0.2)[0]:
                break
        status, answer = read_answer(sock)
    assert status == 408 and b'"upload_too_slow"' in answer, answer
    wait_until(lambda: not stored_uploads(impatient_gateway), "the partial upload removed", timeout_s=10)
