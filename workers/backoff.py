"""Waiting out a dependency that went away (Triton, Postgres): a part starts over with backoff until
``dependency_retry_deadline_s``, then its job fails, retryable."""

from __future__ import annotations

import logging
import random
import time

import psycopg

from vidsafe.domain.errors import ErrorCode
from vidsafe.settings import Settings
from vidsafe.workers.jobs import connect

log = logging.getLogger(__name__)


class DependencyDown(Exception):
    """Triton or Postgres does not answer: the part starts over once it does, until the deadline."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class Backoff:
    """The pauses between a part's attempts while a dependency is down, and the deadline they run to."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._deadline: float | None = None
        self._attempt = 0

    def expired(self) -> bool:
        """Whether the deadline passed (it starts at the first outage)."""
        self._deadline = self._deadline or time.monotonic() + self._settings.dependency_retry_deadline_s
        return time.monotonic() >= self._deadline

    def pause(self, what: str, down: DependencyDown) -> None:
        # No heartbeat runs during the pause: shorter than half the lease, so that the part is not presumed
        # dead, handed on, and its deadline started afresh by the next worker (forever).
        self._attempt += 1
        seconds = min(30.0, self._settings.part_lease_s / 2, 0.5 * 2 ** self._attempt) * random.uniform(0.5, 1.0)
        log.warning("%s: %s; starting it over in %.1f s", what, down, seconds)
        time.sleep(seconds)


def reconnect(conn: psycopg.Connection, settings: Settings) -> psycopg.Connection:
    """``conn``, or a new connection once Postgres answers again."""
    if not conn.closed and not conn.broken:
        return conn
    conn.close()
    while True:  # a database that stays down: the task's time limit ends this, and the lease hands the part on
        try:
            return connect(settings)
        except psycopg.OperationalError as error:
            log.warning("Postgres is still down (%s); trying again in 5 s", error)
            time.sleep(5)
