"""The gateway's database connections: borrowed from the pool for as long as they are used, never while a client
sends (a slow client must not hold one of the few the pool has)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool

from vidsafe.domain.errors import ErrorCode
from vidsafe.gateway.refusals import Refusal

log = logging.getLogger(__name__)
BORROW_TIMEOUT_S = 5


@contextmanager
def borrowed_connection(pool: ConnectionPool) -> Iterator[psycopg.Connection]:
    """One of the pool's connections for the with-block; 503 when the database cannot be reached."""
    try:
        with pool.connection(timeout=BORROW_TIMEOUT_S) as conn:
            yield conn
    except psycopg.OperationalError as error:
        # What psycopg says (hosts, ports, users) is for the logs, not for callers.
        log.warning("the database is unreachable: %s", error)
        raise Refusal(503, ErrorCode.database_unavailable, "the database is unreachable: try again shortly") \
            from None
