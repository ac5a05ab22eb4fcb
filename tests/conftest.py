"""The test tiers and their fixtures.

Tests live in three tiers, a folder and a marker each, given here by the folder: ``tests/unit/`` (no service at
all; it mirrors the packages), ``tests/stack/`` (the real stack: Postgres+pgvector, Redis, Triton, a Celery worker
and the gateway, started once per session by the launcher on free ports in a temporary state folder and stopped at
the end, with a check that nothing is left running; or a Triton or a stack of a test's own), and ``tests/browser/``
(the review UI in Debian's chromium). Fixtures that more than one tier uses are here, or in the helper modules
registered below; what tests share besides is in ``tests/helpers/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.support import TEST_MAX_UPLOAD_BYTES, isolated_settings, state_root
from vidsafe.apikeys import local_key_path
from vidsafe.deploy import stack
from vidsafe.domain.api import API_KEY_HEADER
from vidsafe.export.sample_video import make_sample_video
from vidsafe.settings import Settings

TIERS = ("unit", "stack", "browser")
# Helper modules that define fixtures the tiers share (a served model's reference, a generated video).
pytest_plugins = [f"tests.helpers.{name}" for name in ("clip", "faces", "known_content", "nudity", "ocr", "shots",
                                                       "speech")]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test is marked with its tier, the folder under tests/ it is in."""
    for item in items:
        tier = item.path.relative_to(config.rootpath / "tests").parts[0]
        if tier not in TIERS:
            raise pytest.UsageError(f"{item.nodeid}: a test belongs in one of tests/{{{','.join(TIERS)}}}/")
        item.add_marker(getattr(pytest.mark, tier))


INGEST_TEAMS = ("ingest-a", "ingest-b")  # teams with server-side folders of their own (test_ingest_roots.py)
SUMMARY_REGENERATIONS_PER_HOUR = 3  # few, so that the limit is reached in a test
WEBHOOK_DEADLINE_S = 5.0  # short, so that a receiver answering a byte at a time is cut off in seconds


@pytest.fixture(scope="session")
def stack_root() -> Iterator[Path]:
    with state_root("stack") as root:
        yield root


@pytest.fixture(scope="session")
def stack_settings(stack_root: Path) -> Settings:
    (stack_root / "ingest").mkdir()
    for team in INGEST_TEAMS:
        (stack_root / "ingest" / team).mkdir()
    # Chunks of 4 s: the 12 s sample is analysed in three parts, so every test of findings covers chunking. No video
    # is kept for review by default (the tests of removal hold); the review tests' teams keep theirs. Prometheus
    # scrapes the stack (tests/stack/deploy/test_monitoring.py).
    return isolated_settings(stack_root / "state", max_upload_bytes=TEST_MAX_UPLOAD_BYTES,
                             ingest_roots=[stack_root / "ingest"],
                             team_ingest_roots={team: [stack_root / "ingest" / team] for team in INGEST_TEAMS},
                             chunk_s=4.0, part_lease_s=10.0,
                             maintenance_interval_s=1.0, allow_private_urls=True, webhook_backoff_s=0.5,
                             webhook_deadline_s=WEBHOOK_DEADLINE_S, media_retention_s=0.0, prometheus=True,
                             summary_regenerations_per_hour=SUMMARY_REGENERATIONS_PER_HOUR)


@pytest.fixture(scope="session")
def running_stack(stack_settings: Settings) -> Iterator[Settings]:
    stack.up(stack_settings)
    try:
        yield stack_settings
    finally:
        stack.down(stack_settings)
    leftovers = stack.stack_processes(stack_settings)
    assert not leftovers, f"processes left behind by `down`: {[p.cmdline() for p in leftovers]}"


@pytest.fixture(scope="session")
def triton_url(running_stack: Settings) -> str:
    return running_stack.effective_triton_url


@pytest.fixture(scope="session")
def api_key(running_stack: Settings) -> str:
    """The key `vidsafe up` issued to the CLI of this stack (submit and review scopes)."""
    return local_key_path(running_stack).read_text().strip()


@pytest.fixture(scope="session")
def api(running_stack: Settings, api_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running_stack.gateway_url, timeout=60, headers={API_KEY_HEADER: api_key}) as client:
        yield client


@pytest.fixture
def webhook_secret(api: httpx.Client) -> str:
    """A new webhook secret of the stack's own team (made with the CLI's admin key), the only one valid: callback
    URLs need one. Made for each test, as other tests (the fuzzer) may rotate it."""
    rotated = api.post("/v1/webhook-secret", json={"previous_valid_s": 0})
    assert rotated.status_code == 201, rotated.text
    return rotated.json()["secret"]


@pytest.fixture(scope="session")
def sample_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sample_video(tmp_path_factory.mktemp("sample") / "sample.mp4")
