"""What the tests (and ``benchmarks/fault_injection.py``) share: test stacks' settings and state folders, job
submission and polling, and how two runs' findings and audit trails are compared. Fixtures live in
``conftest.py``; helpers live here, and no test imports from ``conftest.py``."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from pydantic import SecretStr

from vidsafe.apikeys import local_key_path
from vidsafe.catalogue import Module
from vidsafe.deploy.tritonserver import cached_venv
from vidsafe.domain.api import API_KEY_HEADER, TEAM_HEADER
from vidsafe.domain.findings import Finding
from vidsafe.settings import Settings

TEST_MAX_UPLOAD_BYTES = 8 * 1024 * 1024
FINAL_STATUSES = ("succeeded", "failed", "cancelled")
# (module, label, frame_index, box): what makes two findings the same finding.
FindingKey = tuple[str, str, int | None, tuple[float, ...] | None]


@contextmanager
def state_root(prefix: str) -> Iterator[Path]:
    """A folder for a test stack's state, of its own (0700, as mkdtemp makes it): the launcher lets Postgres' own
    system user through it by an ACL entry, and removing it removes everything the stack wrote."""
    root = Path(tempfile.mkdtemp(prefix=f"vidsafe-{prefix}-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def elsewhere(settings: Settings, state_dir: Path, **updates: object) -> Settings:
    """``settings`` with a state folder of their own, still on the same stack's Postgres and Redis (whose generated
    passwords live in the stack's state folder)."""
    return settings.model_copy(update={"database_url": SecretStr(settings.effective_database_url),
                                       "redis_url": SecretStr(settings.effective_redis_url), "state_dir": state_dir,
                                       **updates})


def stack_client(settings: Settings) -> httpx.Client:
    """A client of the stack's gateway with the key `vidsafe up` issued to its CLI."""
    key = local_key_path(settings).read_text().strip()
    return httpx.Client(base_url=settings.gateway_url, timeout=60, headers={API_KEY_HEADER: key})


def wait_until(check: Callable[[], bool], what: str | Callable[[], str], timeout_s: float = 30.0,
               interval_s: float = 0.1) -> None:
    """Poll ``check`` until it holds; AssertionError naming ``what`` (or what it returns then) after ``timeout_s``
    (a hang guard, not a speed check)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what if isinstance(what, str) else what()}: not after {timeout_s:g} s")
        time.sleep(interval_s)


def upload(api: httpx.Client, path: Path, name: str | None = None, options: str | None = None,
           headers: dict[str, str] | None = None, params: dict[str, str] | None = None) -> httpx.Response:
    """POST ``path`` as a new job, with the job ``options`` (JSON), extra ``headers`` and query ``params``
    (batch, priority, callback, start) if given."""
    with path.open("rb") as stream:
        return api.post("/v1/jobs", files={"file": (name or path.name, stream, "video/mp4")},
                        data=None if options is None else {"options": options}, headers=headers, params=params)


def submit(api: httpx.Client, path: Path, options: str | None = None) -> str:
    """Upload ``path`` as a job; its id."""
    created = upload(api, path, options=options)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def wait_for_job(api: httpx.Client, job_id: str, timeout_s: float = 300.0) -> dict:
    """The job once it has ended."""
    jobs: list[dict] = []

    def ended() -> bool:
        jobs.append(api.get(f"/v1/jobs/{job_id}").raise_for_status().json())
        return jobs[-1]["status"] in FINAL_STATUSES

    wait_until(ended, lambda: f"job {job_id} ended (it is {jobs[-1]['status']})", timeout_s, 0.25)
    return jobs[-1]


def run_job(api: httpx.Client, path: Path, options: str | None = None,
            **findings_params: str) -> tuple[dict, list[dict]]:
    """Upload ``path`` as a job (with ``options``), wait until it succeeds; the job and its findings (the
    ``findings_params`` filter them)."""
    job = wait_for_job(api, submit(api, path, options))
    assert job["status"] == "succeeded", job
    return job, api.get(f"/v1/jobs/{job['id']}/findings", params=findings_params).json()["findings"]


def finding_keys(api: httpx.Client, job_id: str, box_decimals: int | None = None) -> Counter[FindingKey]:
    """The job's findings as comparable keys, each counted: boxes exact, or rounded to ``box_decimals``."""
    findings = api.get(f"/v1/jobs/{job_id}/findings").raise_for_status().json()["findings"]
    return Counter((f["module"], f["label"], f["frame_index"],
                    tuple(v if box_decimals is None else round(v, box_decimals) for v in f["box"]) if f["box"]
                    else None) for f in findings)


def transitions(api: httpx.Client, job_id: str) -> list[tuple[str | None, str, str]]:
    """The job's audit trail as (from, to, actor)."""
    events = api.get(f"/v1/jobs/{job_id}/events").raise_for_status().json()
    return [(e["from_status"], e["to_status"], e["actor"]) for e in events]


@dataclass
class TeamKeys:
    """A team made for a test: the secret of each key issued for it, by key name."""

    name: str
    gateway_url: str
    secrets: dict[str, str] = field(default_factory=dict)

    def client(self, key_name: str) -> httpx.Client:
        return httpx.Client(base_url=self.gateway_url, timeout=60, headers={API_KEY_HEADER: self.secrets[key_name]})


def make_team(settings: Settings, operator: httpx.Client, name: str, keys: dict[str, list[str]],
              **limits: float) -> TeamKeys:
    """A new team (the operator's key creates it, with ``limits``) and its keys (name -> scopes)."""
    created = operator.post("/v1/teams", json={"name": name, **limits})
    assert created.status_code == 201, created.text
    team = TeamKeys(name, settings.gateway_url)
    for key_name, scopes in keys.items():
        issued = operator.post("/v1/keys", json={"name": key_name, "scopes": scopes}, headers={TEAM_HEADER: name})
        assert issued.status_code == 201, issued.text
        team.secrets[key_name] = issued.json()["secret"]
    return team


def expire_kept_media(settings: Settings, team: str) -> None:
    """The team's videos kept for review past their retention, as old as it, and swept by a maintenance round (as
    the loop does in time; the stack's own loop may get to some first)."""
    from vidsafe.queue import make_celery
    from vidsafe.workers import maintenance

    with psycopg.connect(settings.effective_database_url, autocommit=True) as conn:
        rows = conn.execute(
            "UPDATE jobs j SET media_kept_until = now() - interval '1 second' FROM teams t WHERE t.id = j.team_id "
            "AND t.name = %s AND j.media_kept_until IS NOT NULL RETURNING j.media_path", (team,)).fetchall()
    old = time.time() - 365 * 86400
    for (path,) in rows:
        if os.path.exists(path):
            os.utime(path, (old, old))
    maintenance.run_once(settings, make_celery(settings))


def tool_venv(settings: Settings, requirement: str) -> Path:
    """The bin folder of a venv holding one pinned tool that cannot share the project's venv (its pins clash), built
    once per requirement in the cache."""
    name = "tool-" + "".join(c if c.isalnum() or c in ".-" else "-" for c in requirement)
    return cached_venv(settings, name, [[requirement]])


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


def finding(module: Module, label: str, t: float, score: float, **fields: object) -> Finding:
    """A finding of ``module`` at ``t`` seconds, on the frame sampled there at 2 fps."""
    return Finding(module=module, label=label, timestamp_s=t, score=score, frame_index=int(t * 2), **fields)


def stored_uploads(settings: Settings) -> list[Path]:
    """Every file in the stack's uploads folder, each team's folder included."""
    return sorted(path for path in settings.uploads_dir.rglob("*") if path.is_file())


def upload_file(settings: Settings, job_id: str) -> Path:
    """Where the upload of ``job_id`` is, in whichever team's folder (a path that exists nowhere when it is gone)."""
    return next(iter(settings.uploads_dir.rglob(job_id)), settings.uploads_dir / "gone" / job_id)
