"""Whether the services vidsafe depends on answer: the launcher waits on these, and /readyz reports them."""

from __future__ import annotations

from redis import Redis
from redis.exceptions import RedisError

from vidsafe.serving import served_entries
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient


def redis_answers(url: str) -> bool:
    try:
        with Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) as client:
            return bool(client.ping())
    except RedisError:
        return False


def triton_serves_models(settings: Settings) -> bool:
    """A Triton is up with every model the workers call loaded: of several endpoints, one is enough, since parts move
    off one that does not answer (each Triton's own metrics show which)."""
    models = [model for entry in served_entries(settings) for model in entry.calls.values()]
    for endpoint in settings.triton_endpoints:
        with TritonClient(endpoint) as client:
            if client.is_ready(models):
                return True
    return False
