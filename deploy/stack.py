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
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg

from vidsafe.apikeys import ensure_local_key
from vidsafe.db.migrate import apply_migrations
from vidsafe.deploy.access import keep_private
from vidsafe.deploy.services import SERVICES, Service, StackError
from vidsafe.settings import Settings


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


def _owner_only(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def _start(service: Service, settings: Settings) -> None:
    launch = service.prepare(settings)
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    record_path = _record_path(settings, service.name)
    record_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path(settings, service.name), "ab", opener=_owner_only) as log:
        log.write(f"\n==== vidsafe up {time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(launch.command)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            launch.command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=launch.env,
            start_new_session=True, cwd=settings.state_dir, umask=0o077, **launch.identity,
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
    keep_private(settings.state_dir)  # the database, passwords, keys, uploads and logs: the owner's alone
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
