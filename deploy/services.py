"""The services of the local stack, each as the launcher runs it: how it is prepared and started (its command,
environment and identity), how it is seen to be ready, and where it answers. In start order; ``vidsafe serve``
runs one of them in a container.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from kombu.exceptions import OperationalError as QueueUnreachable
from redis.exceptions import RedisError

from vidsafe.deploy import postgres, tritonserver
from vidsafe.observability import MULTIPROC_ENV, empty_multiprocess_folder
from vidsafe.queue import make_celery
from vidsafe.readiness import redis_answers, triton_serves_models
from vidsafe.serving import files_served, int8_served, other_variant_files, served_entries
from vidsafe.settings import Settings
from vidsafe.settings.services import local_password


class StackError(RuntimeError):
    """A service could not be started; the message says which and shows the end of its log."""


@dataclass(frozen=True)
class Launch:
    command: list[str]
    env: dict[str, str]
    identity: dict = field(default_factory=dict)  # subprocess user/group arguments, when not ours


@dataclass(frozen=True)
class Service:
    name: str
    prepare: Callable[[Settings], Launch]
    ready: Callable[[Settings], bool]
    address: Callable[[Settings], str]
    stop_signal: signal.Signals = signal.SIGTERM
    start_timeout_s: float = 120.0
    switch: str | None = None  # the boolean setting an optional service runs under

    def enabled(self, settings: Settings) -> bool:
        return self.switch is None or bool(getattr(settings, self.switch))


# ---- the services -------------------------------------------------------------------------------

def _child_env(settings: Settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, **settings.to_env(), **(extra or {})}


def _prepare_postgres(settings: Settings) -> Launch:
    postgres.ensure_cluster(settings)
    return Launch(postgres.postgres_command(settings), _child_env(settings), postgres.process_identity())


def _postgres_ready(settings: Settings) -> bool:
    try:
        with psycopg.connect(settings.effective_database_url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


def _prepare_redis(settings: Settings) -> Launch:
    binary = shutil.which("redis-server")
    if binary is None:
        raise StackError("redis-server is not installed: run `vidsafe setup` as root (it runs "
                         "`apt-get install redis-server`), install it yourself, or set REDIS_URL")
    data = settings.state_dir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    # The password goes in a file of the owner's only: on the command line every local user would see it (ps).
    config = data / "redis.conf"
    config.touch(mode=0o600)
    config.chmod(0o600)
    config.write_text(f"requirepass {local_password(settings.state_dir, 'redis')}\n")
    # Append-only file: queued jobs survive a Redis restart.
    command = [binary, str(config), "--port", str(settings.redis_port), "--bind", "127.0.0.1", "--dir", str(data),
               "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--daemonize", "no"]
    return Launch(command, _child_env(settings))


def _prepare_triton(settings: Settings) -> Launch:
    entries = served_entries(settings)
    missing = [path for entry in entries for path in files_served(entry, settings)
               if not (settings.model_repository / path).exists()]
    if missing:
        raise StackError(f"model files missing from {settings.model_repository}: {', '.join(missing)}; "
                         "run `vidsafe setup` (or `vidsafe export`) first")
    for entry in entries:
        if stale := other_variant_files(entry, settings):
            raise StackError(f"{', '.join(stale)}: not the files of {entry.variant_setting} = "
                             f"{getattr(settings, entry.variant_setting)!r} (exported with another); run "
                             f"`vidsafe export {entry.module}`")
    install = tritonserver.ensure_tritonserver(settings)
    model_env = tritonserver.ensure_model_env(settings)
    models = list(dict.fromkeys(model for entry in entries for model in entry.triton_models))
    int8 = [network for entry in entries for network in int8_served(entry, settings)]
    return Launch(tritonserver.tritonserver_command(settings, install, models),
                  tritonserver.tritonserver_env(model_env, int8))


def _worker_name(settings: Settings) -> str:
    return f"vidsafe-{settings.gateway_port}@{os.uname().nodename}"


def _prepare_worker(settings: Settings) -> Launch:
    command = [sys.executable, "-m", "celery", "-A", "vidsafe.workers.celery_app", "worker", "--loglevel=INFO",
               f"--concurrency={settings.worker_concurrency}", "--pool=prefork", "-n", _worker_name(settings)]
    return Launch(command, _child_env(settings))


def _worker_ready(settings: Settings) -> bool:
    try:
        replies = make_celery(settings).control.ping(destination=[_worker_name(settings)], timeout=1.0)
    except (RedisError, QueueUnreachable):  # the first ping after a Redis restart fails: not ready yet
        return False
    return bool(replies)


def _prepare_maintenance(settings: Settings) -> Launch:
    return Launch([sys.executable, "-m", "vidsafe.workers.maintenance"], _child_env(settings))


def _prepare_gateway(settings: Settings) -> Launch:
    command = [sys.executable, "-m", "uvicorn", "--factory", "vidsafe.gateway.app:create_app",
               "--host", settings.gateway_host, "--port", str(settings.gateway_port), "--no-access-log",
               "--workers", str(settings.gateway_workers)]
    env = _child_env(settings)
    if settings.gateway_workers > 1:
        # Each worker process writes its metrics to files there and /metrics serves their sum.
        metrics_dir = settings.state_dir / "metrics" / "gateway"
        empty_multiprocess_folder(metrics_dir)
        env[MULTIPROC_ENV] = str(metrics_dir)
    return Launch(command, env)


def _gateway_ready(settings: Settings) -> bool:
    try:
        return httpx.get(f"{settings.gateway_url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def ui_app_path() -> str:
    """The review UI's entry point, as ``streamlit run`` takes it: a file, found without importing the UI."""
    spec = importlib.util.find_spec("vidsafe.ui.app")
    assert spec is not None and spec.origin is not None
    return spec.origin


def _prepare_ui(settings: Settings) -> Launch:
    command = [sys.executable, "-m", "streamlit", "run", ui_app_path(), "--server.headless", "true",
               "--server.address", settings.ui_host, "--server.port", str(settings.ui_port),
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
               "--client.toolbarMode", "minimal", "--theme.base", "light"]
    return Launch(command, _child_env(settings))


def _ui_ready(settings: Settings) -> bool:
    try:
        return httpx.get(f"{settings.ui_url}/_stcore/health", timeout=2).text == "ok"
    except httpx.HTTPError:
        return False


ALERT_RULES = Path(__file__).resolve().parent / "prometheus" / "alerts.yml"


def prometheus_config(settings: Settings) -> dict:
    """The local Prometheus' configuration: the stack's gateway, worker and (its own) Triton, and the alerts."""
    targets = {"gateway": f"{settings.gateway_host}:{settings.gateway_port}",
               "worker": f"{settings.worker_metrics_host}:{settings.worker_metrics_port}"}
    if settings.triton_url is None:
        targets["triton"] = f"{settings.triton_host}:{settings.triton_metrics_port}"
    return {"global": {"scrape_interval": "5s", "evaluation_interval": "15s"},
            "rule_files": [str(ALERT_RULES)],
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target]}]}
                               for job, target in targets.items()]}


def _prepare_prometheus(settings: Settings) -> Launch:
    binary = shutil.which("prometheus")
    if binary is None:
        raise StackError("prometheus is missing: `vidsafe setup --prometheus` installs Debian's package (or turn "
                         "VIDSAFE_PROMETHEUS off)")
    folder = settings.state_dir / "prometheus"
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "prometheus.yml"
    config.write_text(json.dumps(prometheus_config(settings), indent=2))  # JSON is YAML
    return Launch([binary, f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
                   f"--web.listen-address=127.0.0.1:{settings.prometheus_port}", "--storage.tsdb.retention.time=15d"],
                  _child_env(settings))


def _prometheus_ready(settings: Settings) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{settings.prometheus_port}/-/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def shown(url: str) -> str:
    """A service's URL as `vidsafe status` shows it: any password in it masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


SERVICES = (
    # SIGINT is Postgres' "fast" shutdown; SIGTERM would wait for every client to disconnect.
    Service("postgres", _prepare_postgres, _postgres_ready,
            lambda s: shown(s.effective_database_url), stop_signal=signal.SIGINT),
    Service("redis", _prepare_redis, lambda s: redis_answers(s.effective_redis_url),
            lambda s: shown(s.effective_redis_url)),
    Service("triton", _prepare_triton, triton_serves_models, lambda s: f"grpc://{s.effective_triton_url}",
            start_timeout_s=300.0),
    Service("worker", _prepare_worker, _worker_ready,
            lambda s: f"celery worker {_worker_name(s)}, metrics "
                      f"http://{s.worker_metrics_host}:{s.worker_metrics_port}/metrics"),
    # Resends the work of dead workers, delivers webhooks, sweeps orphan files (workers/maintenance.py).
    Service("maintenance", _prepare_maintenance, lambda s: True,
            lambda s: f"every {s.maintenance_interval_s:g} s"),
    Service("gateway", _prepare_gateway, _gateway_ready, lambda s: s.gateway_url),
    # Optional (VIDSAFE_PROMETHEUS): scrapes the services above, evaluates the alerting rules.
    Service("prometheus", _prepare_prometheus, _prometheus_ready, lambda s: f"http://127.0.0.1:{s.prometheus_port}",
            switch="prometheus"),
    # The review UI talks to the gateway only (vidsafe/client.py).
    Service("ui", _prepare_ui, _ui_ready, lambda s: s.ui_url),
)


# What a container runs on its own (`vidsafe serve`, Docker Compose, Kubernetes): Postgres and Redis come from
# their own images there.
CONTAINER_SERVICES = ("triton", "worker", "maintenance", "gateway", "ui")


def launch_of(settings: Settings, name: str) -> Launch:
    """What the launcher starts for service ``name``: the command and environment a container runs in its place."""
    if name not in CONTAINER_SERVICES:
        raise StackError(f"{name!r} is not a service vidsafe runs in a container: one of "
                         f"{', '.join(CONTAINER_SERVICES)}")
    return next(service for service in SERVICES if service.name == name).prepare(settings)
