"""The local stack: Postgres, Redis, Triton, a Celery worker and the gateway as child processes.

``up`` starts what is not running yet, in dependency order, and waits for each health check; ``down``
stops everything in reverse order. Each service runs in a process group of its own (Triton's python
backend stubs and Postgres' backends included), with its pid recorded under ``state_dir/run`` and its
output in ``state_dir/logs``. Services given as URLs in the settings (DATABASE_URL, REDIS_URL,
VIDSAFE_TRITON_URL) are external: used, never started or stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import psycopg
from kombu.exceptions import OperationalError as QueueUnreachable
from redis.exceptions import RedisError

from vidsafe.apikeys import ensure_local_key
from vidsafe.db.migrate import apply_migrations
from vidsafe.deploy import postgres, tritonserver
from vidsafe.observability import MULTIPROC_ENV, empty_multiprocess_folder
from vidsafe.queue import make_celery
from vidsafe.readiness import redis_answers, triton_serves_models
from vidsafe.serving import files_served, int8_served, other_variant_files, served_entries
from vidsafe.settings import Settings


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
    # Append-only file: queued jobs survive a Redis restart.
    command = [binary, "--port", str(settings.redis_port), "--bind", "127.0.0.1", "--dir", str(data),
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


def _prepare_ui(settings: Settings) -> Launch:
    from vidsafe.ui import APP_PATH

    command = [sys.executable, "-m", "streamlit", "run", str(APP_PATH), "--server.headless", "true",
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


SERVICES = (
    # SIGINT is Postgres' "fast" shutdown; SIGTERM would wait for every client to disconnect.
    Service("postgres", _prepare_postgres, _postgres_ready,
            lambda s: s.effective_database_url, stop_signal=signal.SIGINT),
    Service("redis", _prepare_redis, lambda s: redis_answers(s.effective_redis_url), lambda s: s.effective_redis_url),
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


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def isolated_settings(state_dir: Path, **overrides: object) -> Settings:
    """Settings of a stack of its own, beside any other on this machine: its state folder and a free port for
    every service (the tests' and benchmarks' stacks)."""
    postgres, redis, grpc, http, metrics, gateway, worker_metrics, ui, prometheus = free_ports(9)
    return Settings(
        state_dir=state_dir, postgres_port=postgres, redis_port=redis, triton_grpc_port=grpc,
        triton_http_port=http, triton_metrics_port=metrics, gateway_port=gateway,
        worker_metrics_port=worker_metrics, ui_port=ui, prometheus_port=prometheus, **overrides,
    )


def managed_services(settings: Settings) -> list[Service]:
    """The services this stack runs itself: all but those the settings point elsewhere (or leave off)."""
    external = {
        "postgres": settings.database_url is not None,
        "redis": settings.redis_url is not None,
        "triton": settings.triton_url is not None,
    }
    return [service for service in SERVICES if not external.get(service.name, False) and service.enabled(settings)]


# ---- process records -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ProcessRecord:
    pid: int
    create_time: float

    def process(self) -> psutil.Process | None:
        """The recorded process if it still runs (a reused pid does not count)."""
        try:
            process = psutil.Process(self.pid)
            if abs(process.create_time() - self.create_time) < 0.01 and process.status() != psutil.STATUS_ZOMBIE:
                return process
        except psutil.NoSuchProcess:
            pass
        return None


def _record_path(settings: Settings, name: str) -> Path:
    return settings.state_dir / "run" / f"{name}.json"


def read_record(settings: Settings, name: str) -> ProcessRecord | None:
    path = _record_path(settings, name)
    try:
        return ProcessRecord(**json.loads(path.read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def log_path(settings: Settings, name: str) -> Path:
    return settings.logs_dir / f"{name}.log"


def _log_tail(settings: Settings, name: str, lines: int = 25) -> str:
    try:
        return "\n".join(log_path(settings, name).read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


# ---- up / down / status --------------------------------------------------------------------------

@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: str  # running | stopped | external | unhealthy
    pid: int | None
    address: str
    log: Path | None


def _start(service: Service, settings: Settings) -> None:
    launch = service.prepare(settings)
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    record_path = _record_path(settings, service.name)
    record_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path(settings, service.name).open("ab") as log:
        log.write(f"\n==== vidsafe up {time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(launch.command)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            launch.command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=launch.env,
            start_new_session=True, cwd=settings.state_dir, **launch.identity,
        )
    record_path.write_text(json.dumps({"pid": process.pid, "create_time": psutil.Process(process.pid).create_time()}))
    deadline = time.monotonic() + service.start_timeout_s
    while True:
        if process.poll() is not None:
            _stop(service, settings)
            raise StackError(f"{service.name} exited with code {process.returncode} while starting. "
                             f"End of {log_path(settings, service.name)}:\n{_log_tail(settings, service.name)}")
        if service.ready(settings):
            return
        if time.monotonic() > deadline:
            _stop(service, settings)
            raise StackError(f"{service.name} was not ready after {service.start_timeout_s:.0f} s. "
                             f"End of {log_path(settings, service.name)}:\n{_log_tail(settings, service.name)}")
        time.sleep(0.3)


def _group_members(pgid: int) -> list[psutil.Process]:
    members = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process)
    return members


def _stop(service: Service, settings: Settings, timeout_s: float = 30.0) -> bool:
    """Stop a service and everything in its process group; returns whether it was running."""
    record = read_record(settings, service.name)
    process = record.process() if record else None
    if record is not None:
        # The leader was started with start_new_session, so its pid is also its process-group id.
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, service.stop_signal)
        deadline = time.monotonic() + timeout_s
        while _group_members(record.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while _group_members(record.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(record.pid, os.WNOHANG)
        _record_path(settings, service.name).unlink(missing_ok=True)
    return process is not None


def up(settings: Settings, names: list[str] | None = None,
       on_event: Callable[[str, str], None] = lambda name, event: None) -> list[str]:
    """Start the stack's services that are not running; returns the names started now.

    If one fails, or the caller is interrupted (Ctrl-C), everything started by this call is stopped.
    """
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    selected = [s for s in managed_services(settings) if names is None or s.name in names]
    started: list[Service] = []
    try:
        for service in selected:
            record = read_record(settings, service.name)
            if record and record.process() and service.ready(settings):
                on_event(service.name, "already running")
                continue
            on_event(service.name, "starting")
            started.append(service)  # before it is ready: a failure while waiting stops it too
            _start(service, settings)
            if service.name == "postgres":
                apply_migrations(settings.effective_database_url)
            on_event(service.name, "ready")
        if any(service.name == "gateway" for service in selected):
            # The CLI's own key for this stack's gateway (whose start applied the migrations).
            with psycopg.connect(settings.effective_database_url, autocommit=True) as conn:
                ensure_local_key(conn, settings)
    except BaseException:
        for service in reversed(started):
            _stop(service, settings)
        raise
    return [service.name for service in started]


def down(settings: Settings, names: list[str] | None = None,
         on_event: Callable[[str, str], None] = lambda name, event: None) -> list[str]:
    """Stop the stack's services (all, or those named), in reverse order; returns the names stopped. An optional
    service started before its setting was turned off is stopped too (it has a record)."""
    stopped = []
    optional = [s for s in SERVICES if not s.enabled(settings)]
    for service in reversed(managed_services(settings) + optional):
        if (names is not None and service.name not in names) or read_record(settings, service.name) is None:
            continue
        on_event(service.name, "stopping")
        if _stop(service, settings):
            stopped.append(service.name)
        on_event(service.name, "stopped")
    return stopped


def status(settings: Settings) -> list[ServiceStatus]:
    managed = {service.name for service in managed_services(settings)}
    rows = []
    for service in SERVICES:
        if not service.enabled(settings):
            continue
        if service.name not in managed:
            rows.append(ServiceStatus(service.name, "external", None, service.address(settings), None))
            continue
        record = read_record(settings, service.name)
        process = record.process() if record else None
        state = "stopped" if process is None else ("running" if service.ready(settings) else "unhealthy")
        rows.append(ServiceStatus(service.name, state, process.pid if process else None,
                                  service.address(settings), log_path(settings, service.name)))
    return rows


def stack_processes(settings: Settings) -> list[psutil.Process]:
    """Every live process working inside this stack's state_dir (each service starts there, and
    Postgres moves into its data folder below it): empty after a clean ``down``."""
    root = settings.state_dir.resolve()
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.status() != psutil.STATUS_ZOMBIE and Path(process.cwd()).is_relative_to(root):
                found.append(process)
    return found
