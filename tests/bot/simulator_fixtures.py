"""Fixtures for the simulator tests: a running simulator and a recording stand-in for the app.

Both run as real uvicorn servers on sockets bound to free ports, because slack_sdk's
AsyncWebClient (aiohttp) needs a real HTTP server.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.simulator import SimulatorConfig, SimUser, create_simulator_app
from bot.simulator.serve import bind_socket, serving
from bot.simulator.state import Workspace

ROOT = Path(__file__).resolve().parents[2]
REF = Path(os.environ.get("SLACK_REFERENCE_DIR", ROOT.parent / "shared/reference/slack"))
SCHEMA = REF / "blockkit.schema.json"

SECRET = "test-signing-secret"
TOKEN = "xoxb-simulator-test"
EMMA = SimUser("U0EMPLOYEE", "Emma Employee", "emma@example.com")
MARK = SimUser("U0MANAGER1", "Mark Manager", "mark@example.com")
USERS = (EMMA, MARK)
# Slack's OpenAPI patterns want team ids of 9+ characters (`^[TE][A-Z0-9]{8,}$`).
TEAM_ID = "T0PROCURE1"


class FakeClock:
    """Monotonic time the test moves by hand (trigger expiry without waiting)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    signature_ok: bool

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def data(self) -> dict[str, Any]:
        """The decoded payload, whichever of Slack's three encodings it came in."""
        if self.content_type.startswith("application/json"):
            return dict(json.loads(self.body))
        fields = dict(urllib.parse.parse_qsl(self.body, keep_blank_values=True))
        return dict(json.loads(fields["payload"])) if "payload" in fields else fields


@dataclass
class Receiver:
    """Stands in for the app: checks every signature, records every request, answers `reply`."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    reply: Callable[[Received], Response] = field(default=lambda r: Response(status_code=200))

    def app(self) -> Starlette:
        verifier = SignatureVerifier(SECRET)

        async def events(request: Request) -> Response:
            body = (await request.body()).decode()
            headers = {k.lower(): v for k, v in request.headers.items()}
            ok = verifier.is_valid(
                body, headers.get("x-slack-request-timestamp", ""), headers.get("x-slack-signature", "")
            )
            entry = Received(headers, body, ok)
            self.received.append(entry)
            if not ok:
                return JSONResponse({"error": "invalid signature"}, status_code=401)
            return self.reply(entry)

        return Starlette(routes=[Route("/slack/events", events, methods=["POST"])])

    @property
    def last(self) -> Received:
        return self.received[-1]


@dataclass
class Sim:
    url: str
    config: SimulatorConfig
    workspace_holder: Any
    http: httpx.AsyncClient
    client: AsyncWebClient
    clock: FakeClock

    @property
    def workspace(self) -> Workspace:
        workspace: Workspace = self.workspace_holder.workspace
        return workspace

    async def control(self, path: str, **body: Any) -> dict[str, Any]:
        response = await self.http.post(path, json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def state(self, user: str = EMMA.id) -> dict[str, Any]:
        response = await self.http.get("/sim/state", params={"user": user})
        assert response.status_code == 200, response.text
        return dict(response.json())


def make_config(bot_events_url: str, *, schema: bool = True) -> SimulatorConfig:
    return SimulatorConfig(
        users=USERS,
        bot_events_url=bot_events_url,
        signing_secret=SECRET,
        bot_token=TOKEN,
        team_id=TEAM_ID,
        schema_path=SCHEMA if schema else None,
    )


@asynccontextmanager
async def running_simulator(bot_events_url: str, *, schema: bool = True) -> AsyncIterator[Sim]:
    clock = FakeClock()
    config = make_config(bot_events_url, schema=schema)
    app = create_simulator_app(config, clock=clock)
    async with serving(app, bind_socket()) as url, httpx.AsyncClient(base_url=url, trust_env=False) as http:
        client = AsyncWebClient(token=TOKEN, base_url=f"{url}/api/")
        yield Sim(url, config, app.state.simulator, http, client, clock)


@pytest.fixture(scope="session")
async def simulator_servers() -> AsyncIterator[tuple[Receiver, Sim]]:
    """One app stand-in and one simulator per test module; each test starts from a reset."""
    recorder = Receiver()
    async with serving(recorder.app(), bind_socket()) as url:
        recorder.url = f"{url}/slack/events"
        async with running_simulator(recorder.url) as running:
            yield recorder, running


def _default_reply(received: Received) -> Response:
    return Response(status_code=200)


@pytest.fixture
def receiver(simulator_servers: tuple[Receiver, Sim]) -> Receiver:
    recorder = simulator_servers[0]
    recorder.received.clear()
    recorder.reply = _default_reply
    return recorder


@pytest.fixture
def sim(simulator_servers: tuple[Receiver, Sim], receiver: Receiver) -> Sim:
    running = simulator_servers[1]
    running.workspace_holder.reset()
    running.clock.now = 1000.0
    return running


def load_reference(name: str) -> dict[str, Any]:
    return dict(json.loads((REF / "payloads" / name).read_text(encoding="utf-8")))


def approval_blocks(request_id: str = "req-42") -> list[dict[str, Any]]:
    return [
        {
            "type": "section",
            "block_id": "summary",
            "text": {"type": "mrkdwn", "text": "*<@U0EMPLOYEE> requests Figma* (3 seats)"},
        },
        {
            "type": "actions",
            "block_id": "decision",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "value": request_id,
                },
                {
                    "type": "button",
                    "action_id": "deny",
                    "style": "danger",
                    "text": {"type": "plain_text", "text": "Deny"},
                    "value": request_id,
                },
            ],
        },
    ]


def request_modal(**extra: Any) -> dict[str, Any]:
    plain = {"type": "plain_text", "text": ""}
    return {
        "type": "modal",
        "callback_id": "procurement_request",
        "title": {**plain, "text": "New SaaS request"},
        "submit": {**plain, "text": "Submit"},
        "close": {**plain, "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "product",
                "label": {**plain, "text": "Product"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            },
            {
                "type": "input",
                "block_id": "seats",
                "label": {**plain, "text": "Seats"},
                "element": {
                    "type": "number_input",
                    "action_id": "value",
                    "is_decimal_allowed": False,
                    "min_value": "1",
                    "max_value": "500",
                },
            },
            {
                "type": "input",
                "block_id": "needed_by",
                "optional": True,
                "label": {**plain, "text": "Needed by"},
                "element": {"type": "datepicker", "action_id": "value"},
            },
        ],
        **extra,
    }


def request_values(product: str = "Figma", seats: str = "2") -> dict[str, Any]:
    return {
        "product": {"value": {"type": "plain_text_input", "value": product}},
        "seats": {"value": {"type": "number_input", "value": seats}},
        "needed_by": {"value": {"type": "datepicker", "selected_date": "2026-12-01"}},
    }
