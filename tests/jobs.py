"""Helpers for tests that drive the gateway."""

from __future__ import annotations

import time
from pathlib import Path

import httpx


def upload(api: httpx.Client, path: Path, name: str | None = None, options: str | None = None,
           headers: dict[str, str] | None = None, params: dict[str, str] | None = None) -> httpx.Response:
    """POST ``path`` as a new job, with the job ``options`` (JSON), extra ``headers`` and query ``params``
    (batch, priority, callback, start) if given."""
    with path.open("rb") as stream:
        return api.post("/v1/jobs", files={"file": (name or path.name, stream, "video/mp4")},
                        data=None if options is None else {"options": options}, headers=headers, params=params)


def wait_for_job(api: httpx.Client, job_id: str, timeout_s: float = 300.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = api.get(f"/v1/jobs/{job_id}").raise_for_status().json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.25)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout_s} s")


def run_job(api: httpx.Client, path: Path, options: str | None = None,
            **findings_params: str) -> tuple[dict, list[dict]]:
    """Upload ``path`` as a job (with ``options``), wait until it succeeds; the job and its findings (the
    ``findings_params`` filter them)."""
    created = upload(api, path, options=options)
    assert created.status_code == 201, created.text
    job = wait_for_job(api, created.json()["id"])
    assert job["status"] == "succeeded", job
    return job, api.get(f"/v1/jobs/{job['id']}/findings", params=findings_params).json()["findings"]
