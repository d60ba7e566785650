"""The bot's HTTP server (Starlette + uvicorn): Slack's Request URL and health checks.

This port faces Slack, which means the internet: it answers Slack's requests and says
whether the bot is up and ready, nothing more. Metrics are served on BOT_METRICS_PORT
(procure/observability.py). With SLACK_APP_TOKEN set, Socket Mode is used instead of the
Request URL."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.deps import BotDeps

log = logging.getLogger(__name__)


def acks_with_nothing(body: bytes, content_type: str) -> bool:
    """Whether Slack's request is one whose acknowledgement carries nothing: a slash command,
    a button click or selection, an Events API callback. Those are answered 200 at once and
    processed after; a view submission (whose answer may carry `response_action` errors), a
    URL verification (the challenge) and anything else go through Bolt before the answer."""
    if content_type.startswith("application/json"):
        # Events API: an event_callback; never the url_verification challenge.
        return b'"event_callback"' in body[:4096] and b'"url_verification"' not in body
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return False
    if body.startswith(b"payload=") or b"&payload=" in body:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=50)
        try:
            kind = json.loads(fields.get("payload", ["{}"])[0]).get("type")
        except (ValueError, AttributeError):
            return False
        return kind in ("block_actions", "message_action", "shortcut")
    return b"command=" in body


class AckFirst:
    """Work deferred past its ack waits while other acks are being given.

    One event loop both answers Slack and does the work each answer promised. Left alone, the
    loop runs their steps in turn, so a burst of requests makes the last ack wait for the work
    of all the earlier ones. Here the deferred work starts only when no ack is in progress
    (or once it has waited `max_wait` seconds, so a steady stream of requests cannot starve it
    past Slack's 3 s trigger-id lifetime), and at most `slots` pieces of it run at once, which
    bounds how many of its steps an ack can find queued ahead of its own.

    With 12 rounds of 50 signed /request commands back to back (bench_ack) the ack p99 was
    205–233 ms without the gate; with it, 16–22 ms at 4 slots, 22–54 at 8, 36–82 at 16. Fewer
    slots cost throughput when the work waits on Slack (~150 ms a call: 8 slots still open 50
    modals a second), hence the default of 8 (`BOT_DEFERRED_SLOTS`)."""

    def __init__(self, *, slots: int = 8, max_wait: float = 1.0) -> None:
        self._acking = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._slots = asyncio.Semaphore(slots)
        self._max_wait = max_wait

    def begin_ack(self) -> None:
        self._acking += 1
        self._idle.clear()

    def end_ack(self) -> None:
        self._acking -= 1
        if not self._acking:
            self._idle.set()

    async def run(self, work: Coroutine[Any, Any, None]) -> None:
        started = False
        try:
            async with self._slots:
                try:
                    await asyncio.wait_for(self._idle.wait(), self._max_wait)
                except TimeoutError:
                    pass
                started = True
                await work
        finally:
            if not started:
                work.close()  # cancelled (shutdown) before it began: nothing to await


def build_http_app(app: AsyncApp, deps: BotDeps) -> Starlette:
    handler = AsyncSlackRequestHandler(app)
    verifier = SignatureVerifier(deps.settings.signing_secret)
    ack_first = AckFirst(slots=deps.settings.bot_deferred_slots)
    # Requests answered before processing; kept referenced until they finish.
    after_ack: set[asyncio.Task[None]] = set()

    async def process(scope: dict[str, Any], body: bytes) -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            await handler.handle(Request(scope, receive))
        except Exception:
            log.exception("processing a Slack request after its ack failed")

    async def slack_events(request: Request) -> Response:
        # slack_sdk's verifier raises (a 500 with a stack trace) on a timestamp that is not a
        # number; such a request is simply not signed by Slack.
        if not request.headers.get("x-slack-request-timestamp", "").isdecimal():
            return Response("invalid request", status_code=401)
        ack_first.begin_ack()
        try:
            return await answer(request)
        finally:
            ack_first.end_ack()

    async def answer(request: Request) -> Response:
        body = await request.body()
        if acks_with_nothing(body, request.headers.get("content-type", "")):
            # Slack needs only the 200 within 3 s; answering before Bolt runs keeps the ack
            # fast when many requests land together. Forged or stale requests are refused
            # here exactly as Bolt would (and Bolt checks the signature again).
            if not verifier.is_valid_request(body, dict(request.headers)):
                return Response("invalid request", status_code=401)
            task = asyncio.create_task(ack_first.run(process(dict(request.scope), body)))
            after_ack.add(task)
            task.add_done_callback(after_ack.discard)
            return Response(status_code=200)
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

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", ready_or_not(readyz)),
        ]
    )


def ready_or_not(check: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """The public answer of a readiness check: `{"ok": …}` and its status code, nothing else.
    What the check found (which dependency failed, and why) goes to the log instead, once
    each time it changes, so a probe every few seconds does not repeat it."""
    last: list[bytes] = [b""]

    async def public(request: Request) -> Response:
        answer = await check(request)
        ready, found = answer.status_code == 200, bytes(answer.body)
        if found != last[0]:
            last[0] = found
            try:
                details = {k: v for k, v in json.loads(found).items() if k != "ok" and v}
            except (ValueError, AttributeError):
                details = {"answer": found.decode("utf-8", "replace")}
            level = logging.INFO if ready and not details else logging.WARNING
            log.log(level, "readiness: %s %s", "ready" if ready else "NOT ready", json.dumps(details))
        return JSONResponse({"ok": ready}, status_code=answer.status_code)

    return public


def _ping_db(deps: BotDeps) -> None:
    with deps.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


async def serve_http(app: AsyncApp, deps: BotDeps, *, host: str, port: int) -> None:
    config = uvicorn.Config(build_http_app(app, deps), host=host, port=port, log_level="warning", access_log=False)
    await uvicorn.Server(config).serve()


async def serve_socket_mode(app: AsyncApp, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    await AsyncSocketModeHandler(app, app_token).start_async()  # type: ignore[no-untyped-call]
