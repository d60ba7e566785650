"""Build the Bolt AsyncApp: wiring only. Listeners live in bot/listeners/, grouped by surface."""

from __future__ import annotations

import logging

import aiohttp
from slack_bolt.async_app import AsyncApp

from bot.deps import BotDeps
from bot.listeners import actions, approvals, commands, events, intake, renewals, views
from bot.notifier import web_client

log = logging.getLogger(__name__)


def build_app(deps: BotDeps, *, session: aiohttp.ClientSession | None = None) -> AsyncApp:
    """The Bolt app; `session` is the process's aiohttp session for the Web API (see `web_client`)."""
    settings = deps.settings
    app = AsyncApp(
        client=web_client(settings.bot_token, settings.api_url(), session=session),
        signing_secret=settings.signing_secret,
        # Nothing slow runs before ack, so Slack never needs to retry a request we handled.
        process_before_response=False,
    )
    for listeners in (commands, actions, approvals, views, events, intake, renewals):
        listeners.register(app, deps)
    return app
