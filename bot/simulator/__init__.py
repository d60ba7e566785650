"""A local Slack workspace: Web API, signed requests to the app, and a Slack-like page."""

from bot.simulator.app import create_simulator_app, run_simulator
from bot.simulator.config import SimChannel, SimulatorConfig, SimUser
from bot.simulator.signing import slack_signature_headers

__all__ = [
    "SimChannel",
    "SimUser",
    "SimulatorConfig",
    "create_simulator_app",
    "run_simulator",
    "slack_signature_headers",
]
