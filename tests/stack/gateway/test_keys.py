"""API keys and scopes, and idempotent submission, through the real gateway."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.helpers.support import upload, wait_for_job
from vidsafe.apikeys import issue_key
from vidsafe.db import teams
from vidsafe.domain.api import API_KEY_HEADER
from vidsafe.domain.teams import Scope
from vidsafe.settings import Settings


def _client(settings: Settings, key: str | None, scheme: str = "header") -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if scheme == "bearer" else {API_KEY_HEADER: key}
    return httpx.Client(base_url=settings.gateway_url, timeout=60, headers=headers if key else {})


def _key(settings: Settings, name: str, *scopes: Scope) -> str:
    with psycopg.connect(settings.effective_database_url, autocommit=True) as conn:
        return issue_key(conn, teams.OPERATOR_TEAM_ID, name, list(scopes))[1]


@pytest.mark.parametrize("path", ["/v1/jobs", "/v1/modules", "/v1/jobs/00000000-0000-0000-0000-000000000000/findings"])
def test_every_endpoint_but_health_needs_a_key(running_stack: Settings, path: str) -> None:
    with _client(running_stack, None) as anonymous:
        response = anonymous.get(path)
        assert response.status_code == 401 and response.json()["detail"]["code"] == "missing_api_key"
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert anonymous.get("/healthz").status_code == 200
    with _client(running_stack, "vsk_00000000_not-a-real-key") as forged:
        assert forged.get(path).json()["detail"]["code"] == "invalid_api_key"


def test_scopes(running_stack: Settings, sample_video: Path) -> None:
    reviewer = _key(running_stack, "test-reviewer", Scope.review)
    submitter = _key(running_stack, "test-submitter", Scope.submit)
    admin = _key(running_stack, "test-admin", Scope.admin)
    with _client(running_stack, submitter) as client:
        job = upload(client, sample_video).json()
        assert client.get(f"/v1/jobs/{job['id']}").status_code == 200, "a submitter follows its jobs"
        denied = client.get(f"/v1/jobs/{job['id']}/findings")
        assert denied.status_code == 403 and denied.json()["detail"]["code"] == "insufficient_scope"
    with _client(running_stack, reviewer, scheme="bearer") as client:
        assert upload(client, sample_video).status_code == 403
        wait_for_job(client, job["id"])
        assert client.get(f"/v1/jobs/{job['id']}/findings").status_code == 200
    with _client(running_stack, admin) as client:
        assert client.get(f"/v1/jobs/{job['id']}/segments").status_code == 200


def test_keys_are_managed_by_the_cli_and_stored_hashed(running_stack: Settings) -> None:
    env = {"PATH": "/usr/bin:/bin", **running_stack.to_env(), "COLUMNS": "200"}
    cli = [sys.executable, "-m", "vidsafe.cli", "keys"]
    created = subprocess.run([*cli, "create", "cli-made", "--scope", "review"], env=env, capture_output=True,
                             text=True, check=True)
    key = created.stdout.strip()
    assert key.startswith("vsk_")
    with psycopg.connect(running_stack.effective_database_url) as conn:
        stored = conn.execute("SELECT key_sha256, prefix FROM api_keys WHERE name = 'cli-made'").fetchone()
    assert stored[0] != key and key not in stored and key.startswith(f"vsk_{stored[1]}_")
    with _client(running_stack, key) as client:
        assert client.get("/v1/modules").status_code == 200
        listed = subprocess.run([*cli, "list"], env=env, capture_output=True, text=True, check=True).stdout
        assert "cli-made" in listed and key not in listed
        subprocess.run([*cli, "revoke", "cli-made"], env=env, check=True, capture_output=True)
        assert client.get("/v1/modules").json()["detail"]["code"] == "invalid_api_key"
    again = subprocess.run([*cli, "revoke", "cli-made"], env=env, capture_output=True, text=True)
    assert again.returncode == 1 and "no live key" in again.stderr


def test_idempotent_submission_returns_the_same_job(api: httpx.Client, running_stack: Settings,
                                                    sample_video: Path) -> None:
    headers = {"Idempotency-Key": "upload-42"}
    first = upload(api, sample_video, headers=headers)
    second = upload(api, sample_video, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    # Another key's same idempotency key is its own job; another idempotency key is another job.
    other = _key(running_stack, "test-other-submitter", Scope.submit)
    with _client(running_stack, other) as client:
        others = upload(client, sample_video, headers=headers).json()
    another = upload(api, sample_video, headers={"Idempotency-Key": "upload-43"}).json()
    assert first.json()["id"] not in (others["id"], another["id"])
    source = running_stack.ingest_roots[0] / "idempotent.mp4"
    source.write_bytes(sample_video.read_bytes())
    by_path = [api.post("/v1/jobs/from-path", json={"path": str(source)}, headers={"Idempotency-Key": "path-1"})
               for _ in range(2)]
    assert [r.status_code for r in by_path] == [201, 200] and by_path[0].json()["id"] == by_path[1].json()["id"]
    for job_id in (first.json()["id"], others["id"], another["id"], by_path[0].json()["id"]):
        wait_for_job(api, job_id)  # leaves the uploads folder empty for the tests after this one


def test_keys_are_managed_through_the_admin_api(running_stack: Settings, api: httpx.Client) -> None:
    created = api.post("/v1/keys", json={"name": "api-made", "scopes": ["submit"]})
    assert created.status_code == 201, created.text
    secret, record = created.json()["secret"], created.json()["key"]
    assert secret.startswith(f"vsk_{record['prefix']}_") and record["scopes"] == ["submit"]
    listed = api.get("/v1/keys").json()
    assert "api-made" in [k["name"] for k in listed] and secret not in str(listed)
    with _client(running_stack, secret) as submitter:
        denied = submitter.get("/v1/keys")
        assert denied.status_code == 403 and denied.json()["detail"]["code"] == "insufficient_scope"
    assert api.post("/v1/keys/api-made/revoke").json()["revoked_at"] is not None
    # A name stays taken after its key is revoked, so that audit trails name one key each.
    again = api.post("/v1/keys", json={"name": "api-made", "scopes": ["review"]})
    assert again.status_code == 409 and again.json()["detail"]["code"] == "key_name_taken"
    assert "names stay taken after a revoke" in again.json()["detail"]["message"]
    gone = api.post("/v1/keys/api-made/revoke")
    assert gone.status_code == 404 and gone.json()["detail"]["code"] == "key_not_found"


def test_a_keys_last_use_is_written_at_most_once_a_minute(running_stack: Settings) -> None:
    key = _key(running_stack, "test-last-use", Scope.review)
    with psycopg.connect(running_stack.effective_database_url, autocommit=True) as conn, \
            _client(running_stack, key) as client:

        def last_used() -> object:
            return conn.execute("SELECT last_used_at FROM api_keys WHERE name = 'test-last-use'").fetchone()[0]

        assert client.get("/v1/modules").status_code == 200
        first = last_used()
        assert first is not None
        assert client.get("/v1/modules").status_code == 200
        assert last_used() == first, "a second use within the minute writes nothing"
        conn.execute("UPDATE api_keys SET last_used_at = now() - interval '2 minutes' WHERE name = 'test-last-use'")
        stale = last_used()
        assert client.get("/v1/modules").status_code == 200
        assert last_used() > stale, "a use after the minute is recorded"
