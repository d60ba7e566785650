"""The bot's public port faces Slack, and so the internet: it answers Slack's requests and says
up / ready, nothing more. The request counts and pending approvals of /metrics are served on
BOT_METRICS_PORT, bound to METRICS_HOST; what /readyz found goes to the log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from slack_bolt.async_app import AsyncApp
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from bot.server import build_http_app
from catalog.settings import SIMULATOR_SIGNING_SECRET, Settings
from procure.observability import start_bot_metrics
from procure.testing import free_port


class Temporal:
    def __init__(self) -> None:
        self.up = True

    async def check_health(self, **_: Any) -> bool:
        if not self.up:
            raise RuntimeError("connection refused")
        return True


class Engine:
    """A database that answers, or, once `down`, refuses the connection."""

    def __init__(self) -> None:
        self.down = False
        self._engine = create_engine("sqlite://")

    def connect(self) -> Any:
        if self.down:
            raise OperationalError("SELECT 1", {}, Exception("could not connect to server at db.internal:5432"))
        return self._engine.connect()


@pytest.fixture
async def bot() -> AsyncIterator[tuple[httpx.AsyncClient, SimpleNamespace]]:
    temporal = Temporal()
    deps = SimpleNamespace(
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        engine=Engine(),
        procurement=SimpleNamespace(temporal=SimpleNamespace(service_client=temporal)),
        temporal=temporal,
    )
    app = AsyncApp(signing_secret=SIMULATOR_SIGNING_SECRET, token="xoxb-test")
    transport = httpx.ASGITransport(app=build_http_app(app, deps))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://bot.example") as client:
        yield client, deps


async def test_the_public_port_serves_no_metrics(bot: tuple[httpx.AsyncClient, SimpleNamespace]) -> None:
    client, _ = bot
    answer = await client.get("/metrics")
    assert answer.status_code == 404
    assert "procure_" not in answer.text and "process_" not in answer.text


async def test_readyz_says_ready_or_not_and_logs_why(
    bot: tuple[httpx.AsyncClient, SimpleNamespace], caplog: pytest.LogCaptureFixture
) -> None:
    client, deps = bot
    assert (await client.get("/healthz")).json() == {"ok": True}
    ready = await client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"ok": True})

    deps.engine.down, deps.temporal.up = True, False
    with caplog.at_level(logging.INFO, logger="bot.server"):
        for _ in range(3):  # a probe every few seconds
            answer = await client.get("/readyz")
            assert (answer.status_code, answer.json()) == (503, {"ok": False})
            assert "OperationalError" not in answer.text and "temporal" not in answer.text
    logged = [r for r in caplog.records if r.name == "bot.server"]
    assert len(logged) == 1, "the same finding is logged once, not at every probe"
    assert logged[0].levelno == logging.WARNING
    assert "database" in logged[0].getMessage() and "OperationalError" in logged[0].getMessage()
    assert "temporal" in logged[0].getMessage()


async def test_the_bots_metrics_are_on_their_own_port_on_metrics_host() -> None:
    port = free_port()
    server = start_bot_metrics(Settings(_env_file=None, bot_metrics_port=port, metrics_host="127.0.0.1"))  # type: ignore[call-arg]
    assert server is not None
    try:
        assert server.server_address[:2] == ("127.0.0.1", port)
        async with httpx.AsyncClient(trust_env=False) as client:
            answer = await client.get(f"http://127.0.0.1:{port}/metrics")
        assert answer.status_code == 200 and "procure_slack_api_failed_attempts" in answer.text
    finally:
        server.shutdown()
        server.server_close()
    assert start_bot_metrics(Settings(_env_file=None, bot_metrics_port=0)) is None  # type: ignore[call-arg]


def test_bot_metrics_port_default_and_off() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.bot_metrics_port == 9466 and settings.bot_metrics_port != settings.bot_port
    assert settings.metrics_host == "127.0.0.1"
