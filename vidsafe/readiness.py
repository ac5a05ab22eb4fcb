"""Whether the services vidsafe depends on answer: the launcher waits on these, and /readyz reports them."""

from __future__ import annotations

from redis import Redis
from redis.exceptions import RedisError

from vidsafe.catalogue import served_entries
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient


def redis_answers(url: str) -> bool:
    try:
        with Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) as client:
            return bool(client.ping())
    except RedisError:
        return False


def triton_serves_models(settings: Settings) -> bool:
    """Triton is up, with every model the workers call loaded."""
    models = [model for entry in served_entries(settings) for model in entry.calls.values()]
    with TritonClient(settings.effective_triton_url) as client:
        return client.is_ready(models)


def queue_depth(url: str, queue: str) -> int | None:
    """Tasks waiting in ``queue`` over its ten priority lists (kombu names them ``queue`` and ``queue:N``); None if
    Redis does not answer."""
    try:
        with Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) as client:
            return sum(client.llen(name) for name in [queue, *(f"{queue}:{step}" for step in range(1, 10))])
    except RedisError:
        return None
