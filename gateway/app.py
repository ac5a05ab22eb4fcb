"""The HTTP gateway: ``uvicorn --factory vidsafe.gateway.app:create_app`` (the launcher starts it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from psycopg_pool import ConnectionPool

from vidsafe.db.migrate import apply_migrations
from vidsafe.gateway import (
    admission,
    audit,
    batches,
    decisions,
    findings,
    hash_lists,
    health,
    jobs,
    keys,
    me,
    media,
    metrics,
    modules,
    people,
    policies,
    policy,
    refusals,
    reviews,
    rule_firings,
    search,
    stats,
    summaries,
    teams,
    term_banks,
    webhook_secrets,
)
from vidsafe.observability import setup_logging
from vidsafe.queue import make_celery
from vidsafe.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    setup_logging(settings, "gateway")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        apply_migrations(settings.effective_database_url)
        settings.uploads_dir.mkdir(parents=True, exist_ok=True)
        app.state.settings = settings
        app.state.queue = make_celery(settings)
        # Each connection is checked as it is taken, so that after a Postgres restart no request gets a dead one.
        with ConnectionPool(settings.effective_database_url, min_size=1, max_size=8, open=True,
                            kwargs={"autocommit": True}, check=ConnectionPool.check_connection) as pool:
            app.state.pool = pool
            yield

    app = FastAPI(
        title="vidsafe",
        version="0.1.0",
        description="Video content analysis for trust-and-safety review: submit videos, read findings.",
        lifespan=lifespan,
    )
    app.include_router(health.router)
    for resource in (jobs, batches, decisions, summaries, media, findings, modules, keys, teams, reviews, search,
                     people, me, stats, hash_lists, term_banks, policies, rule_firings, policy,
                     webhook_secrets, audit):
        app.include_router(resource.router, responses=refusals.ERROR_RESPONSES)
    app.include_router(metrics.router)  # open, like /healthz: see gateway/metrics.py
    app.add_middleware(admission.Admission)
    app.add_middleware(metrics.MetricsMiddleware)
    refusals.install(app)
    return app
