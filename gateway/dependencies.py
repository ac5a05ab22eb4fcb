"""What every route needs: settings, a database connection, the queue producer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import psycopg
from celery import Celery
from fastapi import Depends, HTTPException, Request

from vidsafe.settings import Settings


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_conn(request: Request) -> Iterator[psycopg.Connection]:
    try:
        with request.app.state.pool.connection(timeout=5) as conn:
            yield conn
    except psycopg.OperationalError as error:
        raise HTTPException(503, {"code": "database_unavailable", "message": str(error)}) from None


def get_queue(request: Request) -> Celery:
    return request.app.state.queue


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
ConnDep = Annotated[psycopg.Connection, Depends(get_conn)]
QueueDep = Annotated[Celery, Depends(get_queue)]
