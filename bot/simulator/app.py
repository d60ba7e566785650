"""Wiring: the simulator's routes on one Starlette app, and a way to serve it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.simulator import control, interactions
from bot.simulator.config import SimulatorConfig
from bot.simulator.delivery import BotDelivery
from bot.simulator.guard import LocalOnly
from bot.simulator.oidc import OidcProvider, oidc_routes
from bot.simulator.runtime import BadControlRequest, Simulator
from bot.simulator.state import Clock, Workspace
from bot.simulator.validation import BlockKitValidator
from bot.simulator.webapi import web_api

STATIC = Path(__file__).parent / "static"


async def _page(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


async def _bad_control_request(request: Request, exc: Exception) -> Response:
    status = exc.status if isinstance(exc, BadControlRequest) else 400
    return JSONResponse({"ok": False, "error": str(exc)}, status_code=status)


def create_simulator_app(config: SimulatorConfig, *, clock: Clock | None = None) -> Starlette:
    """The simulated Slack: Web API under `/api/`, control endpoints under `/sim/`, the page at `/`.

    Reachable only from this machine's own tools, never from another site's page (bot/simulator/guard.py).

    `clock` (monotonic seconds) decides trigger expiry and call times; tests pass a fake one.
    """
    tick = clock or time.monotonic
    sim = Simulator(
        config,
        Workspace(config, clock=tick),
        BlockKitValidator(config.schema_path),
        BotDelivery(config),
        tick,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await sim.delivery.aclose()

    routes = [
        Route("/", _page),
        Route("/healthz", control.healthz),
        *oidc_routes(),
        Route("/api/{method}", web_api, methods=["GET", "POST"]),
        Route("/sim/state", control.state),
        Route("/sim/users", control.users),
        Route("/sim/calls", control.calls),
        Route("/sim/calls/clear", control.clear_calls, methods=["POST"]),
        Route("/sim/rate_limit", control.rate_limit, methods=["POST"]),
        Route("/sim/reset", control.reset, methods=["POST"]),
        Route("/sim/channel", control.channel, methods=["POST"]),
        *(Route(f"/sim/{act.__name__}", act, methods=["POST"]) for act in interactions.ACTS),
        Route("/sim/response/{team}/{token}", interactions.response_url, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(LocalOnly)],
        exception_handlers={BadControlRequest: _bad_control_request},
    )
    app.state.simulator = sim
    app.state.oidc = OidcProvider(config.oidc_client_id, config.oidc_client_secret)
    return app


def run_simulator(config: SimulatorConfig, host: str, port: int) -> None:
    """Serve the simulator until interrupted (what `procure simulator` runs)."""
    uvicorn.run(create_simulator_app(config), host=host, port=port, log_level="info")
