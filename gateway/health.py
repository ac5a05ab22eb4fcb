"""Liveness and readiness: ready means the database, Redis and Triton all answer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from vidsafe.readiness import redis_answers, triton_serves_models

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


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, bool] = Field(description="database, redis, triton: whether each answers")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness, "description": "Not ready"}})
async def readyz(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    checks = {
        "database": await run_in_threadpool(_database_ok, request),
        "redis": await run_in_threadpool(redis_answers, settings.effective_redis_url),
        "triton": await run_in_threadpool(triton_serves_models, settings),
    }
    ready = all(checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)
