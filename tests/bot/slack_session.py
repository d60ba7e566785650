"""What a test sees of the simulated Slack workspace: each person's view and the Web API log."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine
from starlette.applications import Starlette

from bot.simulator import SimulatorConfig, SimUser, create_simulator_app
from bot.simulator.serve import socket_url
from catalog.settings import SIMULATOR_BOT_TOKEN, SIMULATOR_SIGNING_SECRET


@dataclass
class SlackSession:
    sim: httpx.AsyncClient
    engine: Engine

    async def state(self, user: str) -> dict[str, Any]:
        return (await self.sim.get("/sim/state", params={"user": user})).json()

    async def do(self, path: str, **body: Any) -> dict[str, Any]:
        response = await self.sim.post(path, json=body)
        assert response.status_code == 200, response.text
        return response.json()

    async def calls(self, method: str) -> list[dict[str, Any]]:
        return (await self.sim.get("/sim/calls", params={"method": method})).json()["calls"]


def local_simulator(users: tuple[SimUser, ...], bot_sock: socket.socket, reference_dir: Path) -> Starlette:
    """The Slack simulator for an in-process bot on `bot_sock`, with the simulator's own token
    and signing secret and Block Kit schema checks on."""
    return create_simulator_app(
        SimulatorConfig(
            users=users,
            bot_events_url=socket_url(bot_sock) + "/slack/events",
            signing_secret=SIMULATOR_SIGNING_SECRET,
            bot_token=SIMULATOR_BOT_TOKEN,
            schema_path=reference_dir / "blockkit.schema.json",
        )
    )
