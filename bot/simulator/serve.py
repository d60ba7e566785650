"""Serving an ASGI app in the background on a socket bound in advance (tests, `procure dev`).

Binding first lets two servers that need each other's URL (the app and the simulator) be
configured before either starts, and avoids racing for a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

STARTUP_DEADLINE = 10.0


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening-ready TCP socket; port 0 lets the OS choose a free port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def socket_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


@contextlib.asynccontextmanager
async def serving(app: Any, sock: socket.socket) -> AsyncIterator[str]:
    """Run `app` with uvicorn on `sock` while the block runs; yields the base URL."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_DEADLINE
    while not server.started:
        if task.done():
            task.result()  # raises what stopped the server
            raise RuntimeError("server stopped before it started")
        if loop.time() > deadline:
            task.cancel()
            raise TimeoutError("server did not start in time")
        await asyncio.sleep(0.005)  # polling a condition with a deadline, not timing
    try:
        yield socket_url(sock)
    finally:
        server.should_exit = True
        await task
