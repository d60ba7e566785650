"""An in-process stack for the security and fault tests: the real Bolt app served over HTTP,
the local Slack simulator, and a Temporal dev server. Payloads are Slack's recorded samples,
re-targeted and signed as Slack signs them; everything else goes through the simulator."""

from __future__ import annotations

import contextlib
import json
import socket
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func
from sqlmodel import select
from temporalio.client import Client

from bot import ids
from bot.app import build_app
from bot.deps import BotDeps
from bot.notifier import SlackNotifier, web_client
from bot.payloads import parse_step_value
from bot.server import build_http_app
from bot.simulator import SimUser
from bot.simulator.serve import bind_socket, serving, socket_url
from bot.simulator.signing import slack_signature_headers
from catalog import repository
from catalog.db import make_engine, transaction, upgrade
from catalog.models import Asset, AuditEvent, PurchaseRequest
from catalog.seed import seed_if_empty
from catalog.settings import SIMULATOR_SIGNING_SECRET, Settings
from tests.bot.slack_session import local_simulator
from tests.helpers import eventually
from workflows.request.activities.procurement import ProcurementActivities
from workflows.request.client import ProcurementClient
from workflows.worker import build_worker

EMPLOYEE, MANAGER, ENGINEER, FINANCE, VP = "U0EMPLOYEE", "U0MANAGER", "U0ENGINEER", "U0FINANCE", "U0VP"
FORM = "application/x-www-form-urlencoded"


def reference(reference_dir: Path, name: str) -> dict[str, Any]:
    return dict(json.loads((reference_dir / "payloads" / name).read_text()))


def request_values(
    product: str = "figma", *, seats: str = "1", justification: str = "For the team", other: str | None = None
) -> dict[str, Any]:
    """A filled request modal's `state.values`."""
    values: dict[str, Any] = {
        ids.B_PRODUCT: {
            ids.A_PRODUCT: {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": product}, "value": product},
            }
        },
        ids.B_SEATS: {ids.A_SEATS: {"type": "number_input", "value": seats}},
        ids.B_CHANNEL: {
            ids.A_CHANNEL: {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": "Direct"}, "value": "direct"},
            }
        },
        ids.B_JUSTIFICATION: {ids.A_JUSTIFICATION: {"type": "plain_text_input", "value": justification}},
    }
    if other is not None:
        values[ids.B_OTHER_PRODUCT] = {ids.A_OTHER_PRODUCT: {"type": "plain_text_input", "value": other}}
    return values


def find_button(message: dict[str, Any], action_id: str) -> dict[str, Any] | None:
    for block in message.get("blocks") or []:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return dict(element)
    return None


@dataclass
class Stack:
    sim: httpx.AsyncClient
    bot_url: str
    engine: Engine
    temporal: Client
    task_queue: str
    reference_dir: Path

    # --- the simulator ---------------------------------------------------------------

    async def state(self, user: str) -> dict[str, Any]:
        return dict((await self.sim.get("/sim/state", params={"user": user})).json())

    async def do(self, path: str, **body: Any) -> dict[str, Any]:
        response = await self.sim.post(path, json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        params = {"method": method} if method else {}
        return list((await self.sim.get("/sim/calls", params=params)).json()["calls"])

    async def bot_messages(self, user: str) -> list[dict[str, Any]]:
        dm = (await self.state(user))["dm"]
        return [m for m in (dm["messages"] if dm else []) if m["is_bot"]]

    async def ephemerals_to(self, user: str) -> list[str]:
        return [c["args"]["text"] for c in await self.calls("chat.postEphemeral") if c["args"].get("user") == user]

    # --- signed requests straight to the bot -----------------------------------------

    async def post_signed(
        self,
        body: str,
        content_type: str = FORM,
        *,
        secret: str = SIMULATOR_SIGNING_SECRET,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        signed = {"Content-Type": content_type, **slack_signature_headers(body, secret, timestamp), **(headers or {})}
        async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
            return await client.post(f"{self.bot_url}/slack/events", content=body.encode(), headers=signed)

    @staticmethod
    def interaction_body(payload: dict[str, Any]) -> str:
        return urllib.parse.urlencode({"payload": json.dumps(payload)})

    def view_submission(self, user: str, view_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """The recorded view_submission, re-targeted at a request modal with these values."""
        submission = reference(self.reference_dir, "view_submission.json")
        submission["user"].update(id=user, username=user.lower(), name=user.lower(), team_id="T0LOCAL")
        submission["team"]["id"] = "T0LOCAL"
        submission["view"].update(
            id=view_id, callback_id=ids.REQUEST_MODAL, private_metadata="{}", state={"values": values}
        )
        return submission

    async def click(self, user: str, message: dict[str, Any], action_id: str, value: str) -> httpx.Response:
        """The recorded block_actions payload: `user` clicks `action_id` on the manager's
        message, with whatever button value the caller puts in (tampered or not)."""
        payload = reference(self.reference_dir, "block_actions_message_button.json")
        payload["user"].update(id=user, username=user.lower(), name=user.lower(), team_id="T0LOCAL")
        payload["team"]["id"] = "T0LOCAL"
        dm_channel = (await self.state(MANAGER))["dm"]["id"]
        payload["channel"] = {"id": dm_channel, "name": "directmessage"}
        payload["container"] = {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": dm_channel,
            "is_ephemeral": False,
        }
        payload["message"] = {"type": "message", "ts": message["ts"], "text": message["text"], "blocks": []}
        payload["actions"] = [
            {
                "action_id": action_id,
                "block_id": ids.B_DECISION,
                "type": "button",
                "value": value,
                "text": {"type": "plain_text", "text": "Approve"},
                "action_ts": f"{time.time():.6f}",
            }
        ]
        return await self.post_signed(self.interaction_body(payload))

    # --- flows -----------------------------------------------------------------------

    async def open_modal(self, user: str, text: str) -> dict[str, Any]:
        before = {m["id"] for m in (await self.state(user))["modals"]}
        await self.do("/sim/command", user=user, text=f"/request {text}")
        opened: dict[str, Any] = {}

        async def modal_open() -> bool:
            for modal in (await self.state(user))["modals"]:
                if modal["id"] not in before:
                    opened.update(modal)
                    return True
            return False

        await eventually(modal_open, what="the request modal")
        return opened

    async def approval_buttons(self, approver: str = MANAGER) -> set[str]:
        """The request ids on the approver's Approve buttons (a button's value is `id|step`)."""
        buttons = (find_button(m, ids.APPROVE) for m in await self.bot_messages(approver))
        return {parse_step_value(b["value"])[0] for b in buttons if b}

    async def pending_approval(
        self,
        product: str = "zoom",
        *,
        justification: str = "For the team",
        requester: str = EMPLOYEE,
        approver: str = MANAGER,
    ) -> tuple[str, dict[str, Any]]:
        """Submit a request; return (request id, the approver's approval DM)."""
        seen = await self.approval_buttons(approver)
        modal = await self.open_modal(requester, product)
        values = request_values(product, justification=justification)
        await self.do("/sim/submit", user=requester, view_id=modal["id"], values=values)
        found: dict[str, Any] = {}

        async def dm_arrived() -> bool:
            for message in await self.bot_messages(approver):
                button = find_button(message, ids.APPROVE)
                if button and parse_step_value(button["value"])[0] not in seen:
                    found.update(message)
                    return True
            return False

        await eventually(dm_arrived, 30, "the approval DM")
        button = find_button(found, ids.APPROVE)
        assert button is not None
        return parse_step_value(button["value"])[0], found

    # --- what was recorded -----------------------------------------------------------

    async def workflow_ids(self) -> list[str]:
        return [w.id async for w in self.temporal.list_workflows(f"TaskQueue = '{self.task_queue}'")]

    def count(self, model: type, **where: Any) -> int:
        with transaction(self.engine) as session:
            query = select(func.count()).select_from(model)
            for name, value in where.items():
                query = query.where(getattr(model, name) == value)
            return int(session.exec(query).one())

    def message_saved(self, key: str) -> bool:
        with transaction(self.engine) as session:
            row = repository.get_message(session, key=key)
            return row is not None and bool(row.ts)  # posted, not only noted as about to be

    def requests(self) -> int:
        return self.count(PurchaseRequest)

    def assets(self, request_id: str) -> int:
        return self.count(Asset, request_id=request_id)

    def audit_actions(self, request_id: str) -> list[str]:
        with transaction(self.engine) as session:
            return [row.action for row in repository.list_audit(session, request_id=request_id)]

    def refusals(self, actor: str) -> list[AuditEvent]:
        with transaction(self.engine) as session:
            query = select(AuditEvent).where(AuditEvent.action == "decision_refused", AuditEvent.actor == actor)
            return list(session.exec(query).all())


def simulator_users(engine: Engine) -> tuple[SimUser, ...]:
    """Everyone in the directory with a Slack id, as `procure dev` gives the simulator."""
    with transaction(engine) as session:
        people = repository.list_people(session)
    return tuple(SimUser(p.slack_id, p.name, p.email) for p in people if p.slack_id)


@contextlib.asynccontextmanager
async def serve_stack(
    temporal: Client,
    engine: Engine,
    reference_dir: Path,
    *,
    with_worker: bool = True,
    task_queue: str | None = None,
    sockets: tuple[socket.socket, socket.socket] | None = None,
    bot_engine: Engine | None = None,
) -> AsyncIterator[Stack]:
    """Simulator and bot served on local sockets (and, unless the caller runs its own, an
    in-process worker) on a task queue of their own."""
    bot_sock, sim_sock = sockets or (bind_socket(), bind_socket())
    settings = Settings(slack_api_url=socket_url(sim_sock) + "/api/", request_expiry_days=14)
    queue = task_queue or f"stack-{uuid.uuid4().hex}"
    simulator = local_simulator(simulator_users(engine), bot_sock, reference_dir)
    deps = BotDeps(
        settings=settings, engine=bot_engine or engine, procurement=ProcurementClient(temporal, task_queue=queue)
    )
    async with contextlib.AsyncExitStack() as stack:
        if with_worker:
            notifier = SlackNotifier(web_client(settings.bot_token, settings.api_url()))
            await stack.enter_async_context(
                build_worker(temporal, task_queue=queue, activities=ProcurementActivities(engine, notifier))
            )
        sim_url = await stack.enter_async_context(serving(simulator, sim_sock))
        bot_url = await stack.enter_async_context(serving(build_http_app(build_app(deps), deps), bot_sock))
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=sim_url, timeout=30, trust_env=False))
        yield Stack(client, bot_url, engine, temporal, queue, reference_dir)


def seeded_sqlite(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with transaction(engine) as session:
        seed_if_empty(session)
    return engine
