"""The bot's HTTP server (Starlette + uvicorn): Slack's Request URL and health checks.

With SLACK_APP_TOKEN set, Socket Mode is used instead of the Request URL."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.deps import BotDeps

log = logging.getLogger(__name__)


def build_http_app(app: AsyncApp, deps: BotDeps) -> Starlette:
    handler = AsyncSlackRequestHandler(app)

    async def slack_events(request: Request) -> Response:
        # slack_sdk's verifier raises (a 500 with a stack trace) on a timestamp that is not a
        # number; such a request is simply not signed by Slack.
        if not request.headers.get("x-slack-request-timestamp", "").isdigit():
            return Response("invalid request", status_code=401)
        return await handler.handle(request)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"ok": True})

    async def readyz(_: Request) -> Response:
        problems = {}
        try:
            await asyncio.to_thread(_ping_db, deps)
        except Exception as exc:
            problems["database"] = type(exc).__name__
        try:
            await deps.procurement.temporal.service_client.check_health(timeout=timedelta(seconds=2))
        except Exception as exc:
            problems["temporal"] = type(exc).__name__
        return JSONResponse({"ok": not problems, "problems": problems}, status_code=503 if problems else 200)

    async def metrics(_: Request) -> Response:
        # The default registry: what the entry point registered (Slack API attempts, database
        # gauges) plus the process collectors of prometheus_client.
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ]
    )


def _ping_db(deps: BotDeps) -> None:
    with deps.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


async def serve_http(app: AsyncApp, deps: BotDeps, *, host: str, port: int) -> None:
    config = uvicorn.Config(build_http_app(app, deps), host=host, port=port, log_level="warning", access_log=False)
    await uvicorn.Server(config).serve()


async def serve_socket_mode(app: AsyncApp, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    await AsyncSocketModeHandler(app, app_token).start_async()  # type: ignore[no-untyped-call]
