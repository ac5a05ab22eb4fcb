"""Holding a part: the heartbeat that renews its lease while a long step runs (a whole audio track, a download)."""

from __future__ import annotations

import logging
import threading

import psycopg

from vidsafe.db import parts
from vidsafe.db.parts import JobInterrupted, Lease, LeaseLost
from vidsafe.settings import Settings
from vidsafe.workers.jobs import connect

log = logging.getLogger(__name__)


class Heartbeat:
    """Renews the part's lease from a thread of its own, every third of the lease."""

    def __init__(self, settings: Settings, lease: Lease) -> None:
        self._settings, self._lease = settings, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        period = self._settings.part_lease_s / 3
        while not self._stop.wait(period):
            try:
                with connect(self._settings) as conn:
                    parts.renew(conn, self._lease, self._settings.part_lease_s)
            except (LeaseLost, JobInterrupted):
                return  # the part's next write finds out and stops
            except psycopg.Error as error:
                log.warning("cannot renew the lease of part %s %s: %s", self._lease.kind, self._lease.index, error)
