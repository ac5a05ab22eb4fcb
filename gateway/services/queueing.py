"""Sending work to the queue from a request: an unreachable queue (Redis) is the one 503 ``queue_unavailable``, after
undoing what the request had changed for work that will now not run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from kombu.exceptions import OperationalError as QueueUnreachable

from vidsafe.domain.errors import ErrorCode
from vidsafe.gateway.refusals import Refusal


@contextmanager
def sending(consequence: str = "", undo: Callable[[], object] | None = None) -> Iterator[None]:
    """Send tasks inside; if the queue is unreachable, ``undo`` runs and the request is refused, saying what it means
    (``consequence``: ", so ...")."""
    try:
        yield
    except QueueUnreachable as error:
        if undo is not None:
            undo()
        raise Refusal(503, ErrorCode.queue_unavailable,
                      f"the job queue (Redis) is unreachable{consequence}: {error}") from None
