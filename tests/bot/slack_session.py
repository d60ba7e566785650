"""What a test sees of the simulated Slack workspace: each person's view and the Web API log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine


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
