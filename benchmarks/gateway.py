"""Gateway throughput against its uvicorn worker processes (``VIDSAFE_GATEWAY_WORKERS``): requests per second
and latency at a fixed concurrency, for the health probe and for reads. One run, one results file.

    .venv/bin/python -m benchmarks.gateway [--workers 1 2 4] [--concurrency 32] [--seconds 5]

Starts Postgres, Redis and the gateway of a stack of its own (no Triton, no worker: nothing is analysed), seeds
jobs straight into Postgres as ``benchmarks/review_pages.py`` does, then for each worker count restarts the
gateway with it and keeps ``--concurrency`` keep-alive connections busy on each call for ``--seconds``. The load
comes from one bare asyncio HTTP/1.1 client on the same machine, so on 2 cores it competes with the gateway for
the CPU: the numbers are what this box serves to itself, not a ceiling. Writes ``benchmarks/results/gateway.md``
(linked from the README).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.e2e import machine, publish
from benchmarks.review_pages import seed_jobs
from tests.helpers.support import isolated_settings
from vidsafe.apikeys import local_key_path
from vidsafe.deploy import stack
from vidsafe.domain.api import API_KEY_HEADER

RESULTS = Path(__file__).with_name("results") / "gateway.md"


async def _connection(host: str, port: int, request: bytes, deadline: float, latencies: list[float]) -> None:
    """One keep-alive HTTP/1.1 connection sending ``request`` again as soon as each answer is read."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head.split(b" ", 2)[1]
            assert status == b"200", head
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        writer.close()


async def load(base_url: str, key: str, path: str, concurrency: int, seconds: float) -> tuple[float, float, float]:
    """(requests/s, median ms, p95 ms) of ``path`` with ``concurrency`` connections for ``seconds``. A bare
    asyncio client: httpx's own overhead would cap the rate at what this machine's client can send."""
    url = httpx.URL(base_url)
    request = (f"GET {path} HTTP/1.1\r\nHost: {url.host}\r\n{API_KEY_HEADER}: {key}\r\n\r\n").encode()
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(_connection(url.host, url.port or 80, request, started + seconds, latencies)
                           for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return len(latencies) / elapsed, statistics.median(latencies), latencies[round(0.95 * (len(latencies) - 1))]


async def measure(base_url: str, key: str, paths: dict[str, str], concurrency: int,
                  seconds: float) -> dict[str, tuple[float, float, float]]:
    for path in paths.values():  # warm-up: the gateway's first queries planned, its pools filled
        await load(base_url, key, path, concurrency, 1.0)
    return {name: await load(base_url, key, path, concurrency, seconds) for name, path in paths.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vidsafe-bench-gateway-"))
    settings = isolated_settings(root / "state")
    results = {}
    try:
        stack.up(settings, names=["postgres", "redis", "gateway"])
        job_id = seed_jobs(settings, 50, 200)
        key = local_key_path(settings).read_text().strip()
        paths = {"`GET /healthz`": "/healthz", "`GET /v1/jobs` (first page)": "/v1/jobs",
                 "`GET /v1/jobs/{id}/findings` (200 findings)": f"/v1/jobs/{job_id}/findings"}
        for workers in args.workers:
            gateway = settings.model_copy(update={"gateway_workers": workers})
            stack.down(settings, ["gateway"])
            stack.up(gateway, ["gateway"])
            results[workers] = asyncio.run(measure(settings.gateway_url, key, paths, args.concurrency, args.seconds))
            for name, (rate, median, p95) in results[workers].items():
                print(f"{workers} workers  {name:50s} {rate:7.0f}/s  median {median:6.1f} ms  p95 {p95:6.1f} ms",
                      flush=True)
    finally:
        stack.down(settings)
        shutil.rmtree(root, ignore_errors=True)
    lines = ["# Gateway throughput", "",
             f"Measured by `python -m benchmarks.gateway` on {machine()}, {time.strftime('%Y-%m-%d')}: "
             f"{args.concurrency} connections, one request in flight on each, for {args.seconds:.0f} s on each call, "
             "from one bare asyncio HTTP/1.1 client on the same machine (it shares the cores with the gateway).", "",
             "| call | uvicorn workers | requests/s | median ms | p95 ms |", "|---|---|---|---|---|"]
    for name in paths:
        lines += [f"| {name} | {workers} | {results[workers][name][0]:.0f} | {results[workers][name][1]:.1f} | "
                  f"{results[workers][name][2]:.1f} |" for workers in args.workers]
    publish(RESULTS, lines)


if __name__ == "__main__":
    main()
