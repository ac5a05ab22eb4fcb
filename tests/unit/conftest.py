"""The unit tier: no service at all. A unit test asking for the stack is a mistake this says at once."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def running_stack() -> None:
    pytest.fail("a unit test starts no service: a test that needs the stack belongs in tests/stack/")
