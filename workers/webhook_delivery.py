"""Webhook deliveries, off the maintenance loop: the loop hands out the due ones each round, and each is POSTed on a
thread of its own (``webhook_concurrency`` at once), signed with its team's secrets, within ``webhook_deadline_s``.
A receiver that answers slowly, or a byte at a time, delays only its own delivery; the loop goes on resending lost
work, sweeping and backing up."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg

from vidsafe import webhooks
from vidsafe.db import deliveries, webhook_secrets
from vidsafe.db.deliveries import Delivery
from vidsafe.settings import Settings

log = logging.getLogger(__name__)


class WebhookSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._threads = ThreadPoolExecutor(settings.webhook_concurrency, thread_name_prefix="webhook")
        self._in_flight = 0
        self._lock = threading.Lock()

    def send_due(self, conn: psycopg.Connection) -> int:
        """Claim as many due deliveries as there are free threads and start them; how many were started."""
        with self._lock:
            free = self.settings.webhook_concurrency - self._in_flight
        if free <= 0:
            return 0
        # Held past the deadline, so that no second loop claims a delivery still under way.
        claimed = deliveries.claim_due_deliveries(conn, hold_s=self.settings.webhook_deadline_s * 2, limit=free)
        for delivery in claimed:
            with self._lock:
                self._in_flight += 1
            self._threads.submit(self._deliver, delivery)
        return len(claimed)

    def close(self) -> None:
        """Wait for the deliveries under way (each ends by its deadline)."""
        self._threads.shutdown(wait=True)

    def _deliver(self, delivery: Delivery) -> None:
        settings = self.settings
        try:
            with psycopg.connect(settings.effective_database_url, autocommit=True, connect_timeout=5) as conn:
                try:
                    webhooks.deliver(delivery.url, delivery.event, event_id=str(delivery.id),
                                     secrets=webhook_secrets.signing_secrets(conn, delivery.team_id),
                                     allow_private=settings.allow_private_urls, timeout_s=settings.outbound_timeout_s,
                                     deadline_s=settings.webhook_deadline_s)
                except webhooks.DeliveryError as error:
                    retry = error.retryable and delivery.attempts < settings.webhook_max_attempts
                    delay = webhooks.backoff_s(delivery.attempts, settings.webhook_backoff_s,
                                               settings.webhook_backoff_max_s)
                    deliveries.record_delivery(conn, delivery.id, str(error), delay if retry else None)
                    log.warning("webhook for job %s, attempt %d: %s%s", delivery.job_id, delivery.attempts, error,
                                f"; next try in {delay:.0f} s" if retry else "; given up")
                else:
                    deliveries.record_delivery(conn, delivery.id, None, None)
        except Exception as error:  # the database gone: the claim runs out and a later round tries again
            log.warning("webhook for job %s: the delivery could not be recorded: %s", delivery.job_id, error)
        finally:
            with self._lock:
                self._in_flight -= 1
