"""Build the Bolt AsyncApp: wiring only. Listeners live in bot/listeners/, one module per
Slack surface, each mapping its ids to module-level handlers in `register(app)`."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.deps import CONTEXT_KEY, BotDeps
from bot.listeners import approvals, discovery, home, intake, renewals, request, reuse
from bot.notifier import web_client

log = logging.getLogger(__name__)

#: Every listener module, by surface.
LISTENERS = (request, intake, home, approvals, reuse, renewals, discovery)

#: The console's "Sign in with Slack" credentials. Bolt turns on its OAuth installation flow
#: whenever both are in the environment, even empty, and then refuses every request of a
#: workspace it has no installation for ("AuthorizeResult … was not found").
SIGN_IN_VARIABLES = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")


def single_workspace_app(**kwargs: Any) -> AsyncApp:
    """A Bolt app installed in one workspace with its bot token, built with the console's
    sign-in credentials out of Bolt's sight: they are the console's, never an OAuth install."""
    hidden = {name: os.environ.pop(name) for name in SIGN_IN_VARIABLES if name in os.environ}
    try:
        return AsyncApp(**kwargs)
    finally:
        os.environ.update(hidden)


def build_app(deps: BotDeps, *, session: aiohttp.ClientSession | None = None) -> AsyncApp:
    """The Bolt app; `session` is the process's aiohttp session for the Web API (see `web_client`)."""
    settings = deps.settings
    app = single_workspace_app(
        client=web_client(settings.bot_token, settings.api_url(), session=session),
        signing_secret=settings.signing_secret,
        # Nothing slow runs before ack, so Slack never needs to retry a request we handled.
        process_before_response=False,
    )

    async def provide_deps(context: AsyncBoltContext, next_: Callable[[], Awaitable[None]]) -> None:
        # Handlers are module-level functions: what they need comes with the request's context.
        context[CONTEXT_KEY] = deps
        await next_()

    app.middleware(provide_deps)
    for listeners in LISTENERS:
        listeners.register(app)
    return app
