"""The App Home tab: published when the person opens it (bot/home.py builds it)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import deps_of
from bot.home import publish_home


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(handle_home_opened)


async def handle_home_opened(event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
    if event.get("tab", "home") != "home":
        return
    await publish_home(deps_of(context), client, event["user"])
