"""Small helpers shared by the test packages."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import Engine, text


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], within: float = 15.0, what: str = "condition"
) -> None:
    """Wait for a state another process reaches asynchronously: poll the condition until it
    holds, failing after `within` seconds. Nothing is asserted about how long it took."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {within} s")
        await asyncio.sleep(0.02)


def wait_for_a_lock_wait(engine: Engine, *, what: str) -> None:
    """Until some session of this PostgreSQL database waits on a lock (polls pg_stat_activity):
    the second of two transactions has reached the row the first one holds."""
    deadline = time.monotonic() + 30
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            connection.rollback()
            if waiting:
                return
            time.sleep(0.01)
    pytest.fail(f"{what} never waited for the lock")
