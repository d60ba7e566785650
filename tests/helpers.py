"""Small helpers shared by the test packages."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable


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
