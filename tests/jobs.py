"""Helpers for tests that drive the gateway."""

from __future__ import annotations

import time
from pathlib import Path

import httpx


def upload(api: httpx.Client, path: Path, name: str | None = None) -> httpx.Response:
    with path.open("rb") as stream:
        return api.post("/v1/jobs", files={"file": (name or path.name, stream, "video/mp4")})


def wait_for_job(api: httpx.Client, job_id: str, timeout_s: float = 300.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = api.get(f"/v1/jobs/{job_id}").raise_for_status().json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.25)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout_s} s")
