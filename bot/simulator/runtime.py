"""The pieces one running simulator shares between its HTTP endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from bot.simulator.config import SimulatorConfig
from bot.simulator.delivery import BotDelivery
from bot.simulator.state import Clock, Workspace
from bot.simulator.validation import BlockKitValidator


class BadControlRequest(Exception):
    """A control request (`/sim/...`) that cannot be carried out; answered as `{"error": ...}`."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Simulator:
    config: SimulatorConfig
    workspace: Workspace
    validator: BlockKitValidator
    delivery: BotDelivery
    clock: Clock

    def reset(self) -> None:
        """Forget every conversation, view, call and log; keep users and settings."""
        self.workspace = Workspace(self.config, clock=self.clock)


def simulator(request: Request) -> Simulator:
    sim: Simulator = request.app.state.simulator
    return sim
