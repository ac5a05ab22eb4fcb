"""How slowly an upload may come (issue 25): the idle timeout, then an average rate, and a total deadline."""

from __future__ import annotations

import pytest

from vidsafe.gateway.refusals import Refusal
from vidsafe.gateway.uploads import UploadPace

PACE = UploadPace(idle_timeout_s=30.0, min_bytes_per_s=1000.0, deadline_s=600.0)


def _refused(received: int, elapsed_s: float) -> str | None:
    try:
        PACE.check(received, elapsed_s)
    except Refusal as refusal:
        assert refusal.status == 408
        return refusal.code.value
    return None


@pytest.mark.parametrize(("received", "elapsed_s", "code"), [
    (0, 29.0, None),  # within the first idle timeout, no rate is asked for
    (29_000, 31.0, "upload_too_slow"),  # every chunk within the idle timeout, but under the rate on average
    (31_000, 31.0, None),
    (10**9, 600.0, "upload_timeout"),  # fast enough, but past the deadline
])
def test_pace_is_checked_on_rate_and_deadline(received: int, elapsed_s: float, code: str | None) -> None:
    assert _refused(received, elapsed_s) == code


def test_the_wait_for_a_chunk_never_passes_the_deadline() -> None:
    assert PACE.wait_s(0.0) == 30.0
    assert PACE.wait_s(590.0) == 10.0
    assert PACE.wait_s(700.0) == 0.0
