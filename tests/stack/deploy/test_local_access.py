"""The local stack trusts no local user (issue 25): its Postgres and Redis ask for generated passwords, kept with
everything else in a state folder only its owner can enter; no folder above it is opened to others; Triton's admin
APIs want a key no part of vidsafe needs."""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path

import httpx
import psycopg
import pytest
import redis
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from tests.helpers.support import isolated_settings, state_root
from vidsafe.db.binaries import PG_BIN
from vidsafe.deploy import postgres, stack
from vidsafe.deploy.access import keep_private
from vidsafe.settings import Settings
from vidsafe.triton import ADMIN_HEADER, GRPC_ADMIN_HEADER


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _passwordless(settings: Settings) -> tuple[str, redis.Redis]:
    return (f"postgresql://postgres@127.0.0.1:{settings.postgres_port}/postgres",
            redis.Redis(port=settings.redis_port, socket_timeout=5))


def test_postgres_and_redis_ask_for_passwords_and_the_state_is_the_owners() -> None:
    with state_root("access") as root:
        settings = isolated_settings(root / "state")
        try:
            stack.up(settings, ["postgres", "redis"])
            database, cache = _passwordless(settings)
            with pytest.raises(psycopg.OperationalError, match="password"):
                psycopg.connect(database, connect_timeout=5)
            with pytest.raises(redis.AuthenticationError):
                cache.ping()
            with psycopg.connect(settings.effective_database_url) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
            assert redis.Redis.from_url(settings.effective_redis_url).ping()
            # The passwords are on no command line and in no status line.
            shown = " ".join(row.address for row in stack.status(settings))
            listed = " ".join(" ".join(p.cmdline()) for p in stack.stack_processes(settings))
            for password in (root / "state" / "secrets").iterdir():
                assert password.read_text() not in shown + listed and _mode(password) == 0o600
        finally:
            stack.down(settings)
        state = settings.state_dir
        assert _mode(state) & 0o007 == 0 and _mode(state) & 0o060 == 0, oct(_mode(state))
        assert all(_mode(log) == 0o600 for log in settings.logs_dir.iterdir())
        assert _mode(state / "redis" / "redis.conf") == 0o600
        assert not _mode(root) & stat.S_IXOTH, "a folder above the state was opened to every user"


def test_a_cluster_made_with_trust_is_switched_to_the_password() -> None:
    """As the launcher made clusters before: trust for every local connection, no password set."""
    with state_root("trusting") as root:
        settings = isolated_settings(root / "state")
        keep_private(settings.state_dir)
        postgres.ensure_cluster(settings)
        pgdata = postgres.data_dir(settings)
        subprocess.run([str(PG_BIN / "postgres"), "--single", "-D", str(pgdata), "postgres"],
                       input="ALTER USER postgres PASSWORD NULL;\n", text=True, check=True, capture_output=True,
                       **postgres.process_identity())
        hba = pgdata / "pg_hba.conf"
        hba.write_text(re.sub(r"scram-sha-256\s*$", "trust", hba.read_text(), flags=re.MULTILINE))
        try:
            stack.up(settings, ["postgres"])
            with pytest.raises(psycopg.OperationalError, match="password"):
                psycopg.connect(_passwordless(settings)[0], connect_timeout=5)
            with psycopg.connect(settings.effective_database_url) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
        finally:
            stack.down(settings)
        assert "trust" not in re.sub(r"#.*", "", hba.read_text())


def test_tritons_admin_apis_need_the_admin_key_and_inference_does_not(running_stack: Settings) -> None:
    """Once, POST /v2/repository/index answered anyone; load and unload too."""
    base = f"http://{running_stack.triton_host}:{running_stack.triton_http_port}/v2"
    admin = {ADMIN_HEADER: running_stack.effective_triton_admin_key}
    for path in ("repository/index", "repository/models/nudity_detector/unload", "logging"):
        refused = httpx.post(f"{base}/{path}", json={}, timeout=10)
        assert refused.status_code == 403, (path, refused.status_code, refused.text)
    assert httpx.post(f"{base}/repository/index", headers=admin, timeout=10).status_code == 200
    with grpcclient.InferenceServerClient(running_stack.effective_triton_url) as client:
        with pytest.raises(InferenceServerException):
            client.get_model_repository_index()
        key = {GRPC_ADMIN_HEADER: running_stack.effective_triton_admin_key}
        assert client.get_model_repository_index(headers=key) is not None
        assert client.is_server_ready() and client.is_model_ready("nudity_detector")
