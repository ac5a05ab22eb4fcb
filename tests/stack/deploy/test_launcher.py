"""The launcher starts services, reports them, and `down` leaves no process behind."""

from __future__ import annotations

import psycopg
import pytest

from tests.helpers.support import isolated_settings, state_root
from vidsafe.deploy import stack
from vidsafe.settings import Settings
from vidsafe.triton import endpoint_for


def test_partial_stack_up_status_down() -> None:
    with state_root("partial") as root:
        _check_partial_stack(isolated_settings(root))


def _check_partial_stack(settings: Settings) -> None:
    try:
        assert stack.up(settings, ["postgres", "redis"]) == ["postgres", "redis"]
        assert stack.up(settings, ["postgres", "redis"]) == [], "a second `up` starts nothing twice"
        states = {row.name: row.state for row in stack.status(settings)}
        assert states == {"postgres": "running", "redis": "running", "triton": "stopped", "worker": "stopped",
                          "maintenance": "stopped", "gateway": "stopped", "ui": "stopped"}
        with psycopg.connect(settings.effective_database_url) as conn:
            assert conn.execute("SELECT extname FROM pg_extension WHERE extname = 'vector'").fetchone()
            assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] >= 1
        assert stack.stack_processes(settings)
    finally:
        stack.down(settings)
    assert stack.stack_processes(settings) == []
    assert {row.state for row in stack.status(settings)} == {"stopped"}


def test_external_services_are_not_managed() -> None:
    settings = Settings(database_url="postgresql://db.example/vidsafe", redis_url="redis://cache.example/0",
                        triton_url="triton.example:8001")
    assert [s.name for s in stack.managed_services(settings)] == ["worker", "maintenance", "gateway", "ui"]
    assert settings.effective_triton_url == "triton.example:8001"


def test_settings_travel_to_child_processes_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Settings(sample_fps=4.0, ingest_roots=["/srv/videos"], database_url="postgresql://x/y")
    for variable, value in original.to_env().items():
        monkeypatch.setenv(variable, value)
    assert Settings() == original


def test_several_triton_endpoints_share_the_parts_and_a_retry_moves_on() -> None:
    settings = Settings(triton_url="gpu-a:8001, gpu-b:8001,gpu-c:8001")
    endpoints = settings.triton_endpoints
    assert endpoints == ["gpu-a:8001", "gpu-b:8001", "gpu-c:8001"]
    assert settings.effective_triton_url == "gpu-a:8001"
    parts = [f"job-{job}:chunk:{index}" for job in range(20) for index in range(5)]
    assert {endpoint_for(endpoints, part, 1) for part in parts} == set(endpoints)
    for part in parts[:10]:
        attempts = [endpoint_for(endpoints, part, attempt) for attempt in range(1, 4)]
        assert sorted(attempts) == endpoints, "each new attempt goes to the next endpoint"
        assert endpoint_for(endpoints, part, 1) == endpoint_for(list(endpoints), part, 1), "stable across processes"
    assert Settings().triton_endpoints == [f"127.0.0.1:{Settings().triton_grpc_port}"]


def test_gateway_base_url_overrides_the_listening_address() -> None:
    assert Settings(gateway_host="0.0.0.0", gateway_port=8080).gateway_url == "http://0.0.0.0:8080"
    assert Settings(gateway_base_url="http://gateway:8080/").gateway_url == "http://gateway:8080"
