"""The real Bolt app, served over HTTP, against the local Slack simulator and a real Temporal
dev server with the real worker: every payload is signed and shaped as Slack sends it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from bot import ids
from bot.app import build_app
from bot.deps import BotDeps
from bot.notifier import SlackNotifier, web_client
from bot.payloads import parse_step_value
from bot.server import build_http_app
from bot.simulator import SimUser
from bot.simulator.serve import bind_socket, serving, socket_url
from catalog import repository
from catalog.db import make_engine, transaction, upgrade
from catalog.seed import seed_if_empty
from catalog.settings import Settings
from tests.bot.slack_session import SlackSession, local_simulator
from tests.helpers import eventually
from workflows.request.activities.procurement import ProcurementActivities
from workflows.request.client import ProcurementClient
from workflows.worker import build_worker

EMPLOYEE, MANAGER, ENGINEER, STRANGER = "U0EMPLOYEE", "U0MANAGER", "U0ENGINEER", "U0STRANGER"


@dataclass
class Slack(SlackSession):
    async def bot_messages(self, user: str) -> list[dict[str, Any]]:
        dm = (await self.state(user))["dm"]
        return [m for m in (dm["messages"] if dm else []) if m["is_bot"]]

    async def modal(self, user: str) -> dict[str, Any] | None:
        modals = (await self.state(user))["modals"]
        return modals[-1] if modals else None


def _users(engine: Engine) -> tuple[SimUser, ...]:
    with transaction(engine) as session:
        people = [
            repository.get_person(session, email=e)
            for e in ("employee@example.com", "manager@example.com", "engineer@example.com", "finance@example.com")
        ]
        users = [SimUser(p.slack_id or "", p.name, p.email) for p in people if p]
        # The engineer's Slack id is unknown to the directory: the bot must find them by email.
        engineer = repository.get_person(session, email="engineer@example.com")
        assert engineer is not None
        engineer.slack_id = None
        session.add(engineer)
    users[2] = SimUser(ENGINEER, "Eli Engineer", "engineer@example.com")
    return (*users, SimUser(STRANGER, "Sam Stranger", "sam@elsewhere.example"))


@pytest.fixture(scope="module")
async def slack(
    dev_server_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory, reference_dir: Path
) -> AsyncIterator[Slack]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('bot') / 'procure.db'}")
    upgrade(engine)
    with transaction(engine) as session:
        seed_if_empty(session)
    users = _users(engine)
    bot_sock, sim_sock = bind_socket(), bind_socket()
    settings = Settings(slack_api_url=socket_url(sim_sock) + "/api/", request_expiry_days=14)
    queue = f"bot-test-{uuid.uuid4().hex}"
    simulator = local_simulator(users, bot_sock, reference_dir)
    deps = BotDeps(
        settings=settings, engine=engine, procurement=ProcurementClient(dev_server_env.client, task_queue=queue)
    )
    notifier = SlackNotifier(web_client(settings.bot_token, settings.api_url()))
    worker = build_worker(dev_server_env.client, task_queue=queue, activities=ProcurementActivities(engine, notifier))
    async with (
        worker,
        serving(simulator, sim_sock) as sim_url,
        serving(build_http_app(build_app(deps), deps), bot_sock),
        httpx.AsyncClient(base_url=sim_url, timeout=30) as client,
    ):
        yield Slack(client, engine)
    engine.dispose()


def _form(
    product: str | None = None,
    *,
    other: str | None = None,
    seats: str = "1",
    estimate: str | None = None,
    justification: str = "For the team",
    needed_by: str | None = None,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        ids.B_SEATS: {ids.A_SEATS: {"type": "number_input", "value": seats}},
        ids.B_JUSTIFICATION: {ids.A_JUSTIFICATION: {"type": "plain_text_input", "value": justification}},
        ids.B_CHANNEL: {
            ids.A_CHANNEL: {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": "Direct"}, "value": "direct"},
            }
        },
    }
    if product:
        values[ids.B_PRODUCT] = {
            ids.A_PRODUCT: {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": product}, "value": product},
            }
        }
    if other is not None:
        values[ids.B_OTHER_PRODUCT] = {ids.A_OTHER_PRODUCT: {"type": "plain_text_input", "value": other}}
    if estimate is not None:
        values[ids.B_ESTIMATE] = {ids.A_ESTIMATE: {"type": "plain_text_input", "value": estimate}}
    if needed_by is not None:
        values[ids.B_NEEDED_BY] = {ids.A_NEEDED_BY: {"type": "datepicker", "selected_date": needed_by}}
    return values


async def _ephemerals_to(slack: Slack, user: str) -> list[str]:
    return [c["args"]["text"] for c in await slack.calls("chat.postEphemeral") if c["args"].get("user") == user]


async def test_someone_outside_the_directory_is_told_who_to_ask(slack: Slack) -> None:
    await slack.do("/sim/command", user=STRANGER, text="/request figma")

    async def told() -> bool:
        return any("company directory" in t for t in await _ephemerals_to(slack, STRANGER))

    await eventually(told, what="the not-in-directory answer")
    assert await slack.modal(STRANGER) is None


async def test_a_blocked_product_is_refused_with_its_alternative(slack: Slack) -> None:
    await slack.do("/sim/command", user=EMPLOYEE, text="/request lastpass for 3 people")

    async def told() -> bool:
        return any("LastPass* is blocked" in t and "1Password" in t for t in await _ephemerals_to(slack, EMPLOYEE))

    await eventually(told, what="the blocked answer")
    assert await slack.modal(EMPLOYEE) is None


async def test_modal_validation_errors_keep_the_modal_open(slack: Slack) -> None:
    await slack.do("/sim/command", user=EMPLOYEE, text="/request lucidchart")
    await eventually(lambda: slack.modal(EMPLOYEE), what="the modal")
    modal = await slack.modal(EMPLOYEE)
    assert modal is not None
    prefilled = {b["block_id"]: b for b in modal["blocks"]}
    assert prefilled[ids.B_PRODUCT]["element"]["initial_option"]["value"] == ids.OTHER_PRODUCT_VALUE
    assert prefilled[ids.B_OTHER_PRODUCT]["element"]["initial_value"].lower() == "lucidchart"

    yesterday = (date.today() - timedelta(days=1)).isoformat()
    answer = await slack.do(
        "/sim/submit",
        user=EMPLOYEE,
        view_id=modal["id"],
        values=_form(
            ids.OTHER_PRODUCT_VALUE, other="Lucidchart", estimate="lots", justification="ok", needed_by=yesterday
        ),
    )
    errors = answer["errors"] if "errors" in answer else (await slack.modal(EMPLOYEE) or {}).get("errors", {})
    assert set(errors) == {ids.B_ESTIMATE, ids.B_JUSTIFICATION, ids.B_NEEDED_BY}, answer
    assert "not an amount" in errors[ids.B_ESTIMATE]
    missing = await slack.do(
        "/sim/submit",
        user=EMPLOYEE,
        view_id=modal["id"],
        values=_form(ids.OTHER_PRODUCT_VALUE, other="Lucidchart", justification="Diagrams for the architecture review"),
    )
    errors = missing["errors"] if "errors" in missing else (await slack.modal(EMPLOYEE) or {}).get("errors", {})
    assert set(errors) == {ids.B_ESTIMATE}
    await slack.do("/sim/close", user=EMPLOYEE, view_id=modal["id"])


async def test_plain_words_in_a_dm_lead_to_a_prefilled_request(slack: Slack) -> None:
    event_id = f"Ev{uuid.uuid4().hex[:10].upper()}"
    await slack.do(
        "/sim/message", user=EMPLOYEE, text="we need miro for the workshop next week, 4 seats", event_id=event_id
    )
    # Slack redelivers the same event (X-Slack-Retry-Num): still one answer.
    await slack.do(
        "/sim/message",
        user=EMPLOYEE,
        text="we need miro for the workshop next week, 4 seats",
        event_id=event_id,
        retry_num=1,
    )

    async def replied() -> bool:
        return any("Miro" in (m["text"] or "") for m in await slack.bot_messages(EMPLOYEE))

    await eventually(replied, what="the intake reply")
    replies = [m for m in await slack.bot_messages(EMPLOYEE) if "Miro" in (m["text"] or "")]
    assert len(replies) == 1
    await slack.do("/sim/action", user=EMPLOYEE, message_ts=replies[0]["ts"], action_id=ids.OPEN_REQUEST)
    await eventually(lambda: slack.modal(EMPLOYEE), what="the modal")
    modal = await slack.modal(EMPLOYEE)
    assert modal is not None
    blocks = {b["block_id"]: b for b in modal["blocks"]}
    assert blocks[ids.B_PRODUCT]["element"]["initial_option"]["value"] == "miro"
    assert blocks[ids.B_SEATS]["element"]["initial_value"] == "4"
    await slack.do("/sim/close", user=EMPLOYEE, view_id=modal["id"])


async def test_app_home_lists_requests_and_approves_from_there(slack: Slack) -> None:
    # The engineer is known to the directory only by email: users.info links them.
    await slack.do("/sim/command", user=ENGINEER, text="/request zoom")
    await eventually(lambda: slack.modal(ENGINEER), what="the modal")
    modal = await slack.modal(ENGINEER)
    assert modal is not None
    await slack.do(
        "/sim/submit", user=ENGINEER, view_id=modal["id"], values=_form("zoom", justification="Customer calls")
    )
    with transaction(slack.engine) as session:
        person = repository.get_person(session, email="engineer@example.com")
        assert person is not None and person.slack_id == ENGINEER

    async def waiting_on_home() -> bool:
        await slack.do("/sim/home", user=MANAGER)
        home = (await slack.state(MANAGER))["home"]
        return bool(home) and "Zoom" in str(home["blocks"])

    await eventually(waiting_on_home, what="the request on the manager's App Home")
    home = (await slack.state(MANAGER))["home"]
    block_id, value = next(
        (b["block_id"], e["value"])
        for b in home["blocks"]
        for e in b.get("elements", [])
        if e.get("action_id") == ids.APPROVE
    )
    request_id, seq = parse_step_value(value)
    assert seq is not None and block_id == f"{ids.B_HOME_DECIDE_PREFIX}{request_id}_{seq}"
    # The requester cannot approve from their own Home either; the refusal arrives as a DM.
    await slack.do("/sim/home", user=ENGINEER)
    await slack.do("/sim/view_action", user=MANAGER, view_id=home["id"], action_id=ids.APPROVE, block_id=block_id)

    async def approved() -> bool:
        return any(
            request_id in (m["text"] or "") and "approved" in (m["text"] or "")
            for m in await slack.bot_messages(ENGINEER)
        )

    await eventually(approved, what="the engineer's approval DM")
    await slack.do("/sim/home", user=ENGINEER)
    engineer_home = (await slack.state(ENGINEER))["home"]
    assert "approved" in str(engineer_home["blocks"])


async def test_rate_limited_web_api_is_retried_and_messages_arrive_once(slack: Slack) -> None:
    await slack.do("/sim/command", user=EMPLOYEE, text="/request docusign 1 seat")
    await eventually(lambda: slack.modal(EMPLOYEE), what="the modal")
    modal = await slack.modal(EMPLOYEE)
    assert modal is not None
    await slack.do("/sim/rate_limit", method="chat.postMessage", count=2, retry_after=1)
    await slack.do(
        "/sim/submit",
        user=EMPLOYEE,
        view_id=modal["id"],
        values=_form("docusign", justification="Contracts with suppliers"),
    )

    async def manager_dm() -> bool:
        return any("DocuSign" in str(m["blocks"]) for m in await slack.bot_messages(MANAGER))

    await eventually(manager_dm, 30, what="the approval DM after the 429s")
    docusign = [m for m in await slack.bot_messages(MANAGER) if "DocuSign" in str(m["blocks"])]
    assert len(docusign) == 1
    limited = [c for c in await slack.calls("chat.postMessage") if c["error"] == "ratelimited"]
    assert len(limited) == 2
