"""The gateway's database connections (gateway/connections.py): a database that cannot be reached is a 503 whose
message names no host, port, user or password (psycopg's own text once reached unauthenticated callers)."""

from __future__ import annotations

import socket

import pytest
from psycopg_pool import ConnectionPool

from vidsafe.gateway import connections
from vidsafe.gateway.connections import borrowed_connection
from vidsafe.gateway.refusals import Refusal


def test_an_unreachable_database_is_a_503_that_tells_nothing_of_it(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        port = sock.getsockname()[1]
        monkeypatch.setattr(connections, "BORROW_TIMEOUT_S", 0.5)
        url = f"postgresql://vidsafe:pw-4f1c@127.0.0.1:{port}/vidsafe"
        with ConnectionPool(url, min_size=0, max_size=1, open=True, reconnect_timeout=1) as pool, \
                pytest.raises(Refusal) as refused, borrowed_connection(pool):
            pass
    assert refused.value.status == 503 and refused.value.code == "database_unavailable"
    for secret in (str(port), "127.0.0.1", "vidsafe", "pw-4f1c"):
        assert secret not in refused.value.message, refused.value.message
