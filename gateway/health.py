"""Liveness and readiness: ready means the database, Redis and Triton all answer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from redis import Redis
from redis.exceptions import RedisError

from vidsafe.catalogue import served_entries
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _database_ok(request: Request) -> bool:
    try:
        with request.app.state.pool.connection(timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:
        return False


def _redis_ok(url: str) -> bool:
    try:
        with Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) as client:
            return bool(client.ping())
    except RedisError:
        return False


def _triton_ok(settings: Settings) -> bool:
    models = [entry.triton_model for entry in served_entries(settings.model_repository, settings.models)]
    with TritonClient(settings.effective_triton_url) as client:
        return client.is_ready(models)


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    checks = {
        "database": await run_in_threadpool(_database_ok, request),
        "redis": await run_in_threadpool(_redis_ok, settings.effective_redis_url),
        "triton": await run_in_threadpool(_triton_ok, settings),
    }
    ready = all(checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)
