"""The whole product as `procure dev` runs it: a real Temporal dev server, the worker, the
bot and the Slack simulator as child processes, driven only by signed HTTP payloads.

Payloads are built from Slack's own recorded samples (../shared/reference/slack/payloads)
and signed as Slack signs them; where Slack would issue a trigger_id, the simulator's own
click or command is used so the bot can open a modal with it."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot import ids
from bot.payloads import parse_step_value
from bot.simulator.signing import slack_signature_headers
from catalog import repository
from catalog.db import make_engine, transaction
from catalog.settings import SIMULATOR_SIGNING_SECRET
from procure.testing import DevStack, dev_stack
from tests.helpers import eventually

pytestmark = pytest.mark.e2e

EMPLOYEE, MANAGER, ENGINEER = "U0EMPLOYEE", "U0MANAGER", "U0ENGINEER"


@dataclass
class Stack:
    dev: DevStack

    @property
    def bot(self) -> str:
        return self.dev.bot_url

    @property
    def sim(self) -> str:
        return self.dev.simulator_url

    def state(self, user: str) -> dict[str, Any]:
        return httpx.get(f"{self.sim}/sim/state", params={"user": user}, timeout=10).json()

    def control(self, path: str, **body: Any) -> dict[str, Any]:
        response = httpx.post(f"{self.sim}{path}", json=body, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        params = {"method": method} if method else {}
        return httpx.get(f"{self.sim}/sim/calls", params=params, timeout=10).json()["calls"]

    def post_signed(
        self, body: str, content_type: str, *, secret: str = SIMULATOR_SIGNING_SECRET, timestamp: int | None = None
    ) -> httpx.Response:
        headers = {"Content-Type": content_type, **slack_signature_headers(body, secret, timestamp)}
        return httpx.post(f"{self.bot}/slack/events", content=body.encode(), headers=headers, timeout=10)

    def post_interaction(self, payload: dict[str, Any]) -> httpx.Response:
        return self.post_signed(
            urllib.parse.urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )

    def database(self) -> Any:
        return make_engine(self.dev.database_url)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, reference_dir: Path) -> Iterator[Stack]:
    # Leaving the block stops procure dev with SIGINT and fails if it exits non-zero or leaves a port open.
    with dev_stack(
        tmp_path_factory.mktemp("procure-dev"), extra_env={"SLACK_REFERENCE_DIR": str(reference_dir)}
    ) as dev:
        yield Stack(dev)


def reference(reference_dir: Path, name: str) -> dict[str, Any]:
    return json.loads((reference_dir / "payloads" / name).read_text())


def bot_messages(stack: Stack, user: str) -> list[dict[str, Any]]:
    dm = stack.state(user)["dm"] or {"messages": []}
    return [m for m in dm["messages"] if m["is_bot"]]


def find_button(message: dict[str, Any], action_id: str) -> dict[str, Any] | None:
    for block in message.get("blocks") or []:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return element
    return None


async def open_request_modal(stack: Stack, user: str, text: str) -> dict[str, Any]:
    stack.control("/sim/command", user=user, text=f"/request {text}")
    modal: dict[str, Any] = {}

    def modal_open() -> bool:
        modals = stack.state(user)["modals"]
        if modals:
            modal.update(modals[-1])
        return bool(modals)

    await eventually(modal_open, 15, "the request modal")
    return modal


async def buy_more_when_offered(stack: Stack, user: str, product_name: str) -> None:
    """Answer reuse first's "no spare seat" offer with "Buy more seats"."""
    offer: dict[str, Any] = {}

    def offered() -> bool:
        for message in bot_messages(stack, user):
            if find_button(message, ids.REUSE_BUY) and product_name in json.dumps(message["blocks"]):
                offer.update(message)
                return True
        return False

    await eventually(offered, 20, f"the reuse offer for {product_name}")
    stack.control("/sim/action", user=user, message_ts=offer["ts"], action_id=ids.REUSE_BUY)


def test_the_stack_was_ready_quickly(stack: Stack) -> None:
    print(f"\nprocure dev ready after {stack.dev.ready_seconds:.1f} s")
    printed = "".join(stack.dev.output)
    assert f"Slack simulator : {stack.sim}/" in printed and "/readyz" in printed
    assert f"Console         : {stack.dev.console_url}/" in printed
    assert httpx.get(f"{stack.dev.console_url}/healthz", timeout=10).json() == {"ok": True}
    assert stack.dev.ready_seconds < 60  # a hang guard, not a speed target (that is in bench/)
    # The page opens as the demo's first requester, not as whoever sorts first by name.
    listing = httpx.get(f"{stack.sim}/sim/users", timeout=10).json()
    assert listing["default_user"] == EMPLOYEE and listing["users"][0]["id"] != EMPLOYEE


def test_forged_stale_and_unsigned_requests_are_refused(stack: Stack, reference_dir: Path) -> None:
    body = (reference_dir / "payloads/slash_command.form.txt").read_text().rstrip("\n")
    ctype = "application/x-www-form-urlencoded"
    assert stack.post_signed(body, ctype, secret="not-the-secret").status_code == 401
    assert stack.post_signed(body, ctype, timestamp=int(time.time()) - 6 * 60).status_code == 401
    unsigned = httpx.post(f"{stack.bot}/slack/events", content=body, headers={"Content-Type": ctype}, timeout=10)
    assert unsigned.status_code == 401
    challenge = reference(reference_dir, "url_verification.json")
    answer = stack.post_signed(json.dumps(challenge), "application/json")
    assert answer.status_code == 200 and challenge["challenge"] in answer.text


async def test_request_to_approval_end_to_end(stack: Stack, reference_dir: Path) -> None:
    modal = await open_request_modal(stack, EMPLOYEE, "figma 2 seats")
    blocks = {b["block_id"]: b for b in modal["blocks"]}
    assert blocks[ids.B_PRODUCT]["element"]["initial_option"]["value"] == "figma"
    assert blocks[ids.B_SEATS]["element"]["initial_value"] == "2"

    # Submit the modal as Slack would: the recorded view_submission, re-targeted at our view.
    submission = reference(reference_dir, "view_submission.json")
    submission["user"].update(id=EMPLOYEE, username="employee", name="employee")
    submission["team"]["id"] = submission["user"]["team_id"] = "T0LOCAL"
    submission["view"].update(
        id=modal["id"],
        callback_id=ids.REQUEST_MODAL,
        blocks=modal["blocks"],
        private_metadata=modal.get("private_metadata", ""),
    )
    submission["view"]["state"] = {
        "values": {
            ids.B_PRODUCT: {
                ids.A_PRODUCT: {
                    "type": "static_select",
                    "selected_option": {"text": {"type": "plain_text", "text": "Figma"}, "value": "figma"},
                }
            },
            ids.B_OTHER_PRODUCT: {ids.A_OTHER_PRODUCT: {"type": "plain_text_input", "value": None}},
            ids.B_SEATS: {ids.A_SEATS: {"type": "number_input", "value": "2"}},
            ids.B_ESTIMATE: {ids.A_ESTIMATE: {"type": "plain_text_input", "value": None}},
            ids.B_CHANNEL: {
                ids.A_CHANNEL: {
                    "type": "static_select",
                    "selected_option": {"text": {"type": "plain_text", "text": "Direct"}, "value": "direct"},
                }
            },
            ids.B_JUSTIFICATION: {
                ids.A_JUSTIFICATION: {"type": "plain_text_input", "value": "Two designers join <!channel> on Monday"}
            },
            ids.B_NEEDED_BY: {ids.A_NEEDED_BY: {"type": "datepicker", "selected_date": None}},
        }
    }
    started = time.monotonic()
    answer = stack.post_interaction(submission)
    assert answer.status_code == 200 and answer.text == ""  # empty ack closes the modal
    # Slack retries a delivery it thinks timed out: the same submission again is the same request.
    assert stack.post_interaction(submission).status_code == 200

    # Reuse first: every Figma seat is taken (catalog/data/seats.yaml), so Emma is offered to
    # reclaim an idle seat or buy more. She buys more: the request goes on to her manager.
    offer: dict[str, Any] = {}

    def reuse_offered() -> bool:
        for message in bot_messages(stack, EMPLOYEE):
            if find_button(message, ids.REUSE_BUY):
                offer.update(message)
                return True
        return False

    await eventually(reuse_offered, 20, "the reuse offer")
    assert find_button(offer, ids.REUSE_RECLAIM) is not None and "Figma" in json.dumps(offer["blocks"])
    stack.control("/sim/action", user=EMPLOYEE, message_ts=offer["ts"], action_id=ids.REUSE_BUY)

    approval: dict[str, Any] = {}

    def manager_has_request() -> bool:
        for message in bot_messages(stack, MANAGER):
            if find_button(message, ids.APPROVE):
                approval.update(message)
                return True
        return False

    await eventually(manager_has_request, 20, "the approval DM")
    latency_ms = (time.monotonic() - started) * 1000
    print(f"\nrequest → manager DM: {latency_ms:.0f} ms")
    request_id = parse_step_value(find_button(approval, ids.APPROVE)["value"])[0]  # type: ignore[index]
    assert "&lt;!channel&gt;" in json.dumps(approval["blocks"])  # escaped, never a mass mention
    assert sum(1 for m in bot_messages(stack, MANAGER) if find_button(m, ids.APPROVE)) == 1

    # A click is the recorded block_actions payload, re-targeted at the manager's message.
    def click(user: str) -> httpx.Response:
        payload = reference(reference_dir, "block_actions_message_button.json")
        payload["user"].update(id=user, username=user.lower(), name=user.lower(), team_id="T0LOCAL")
        payload["team"]["id"] = "T0LOCAL"
        dm_channel = stack.state(MANAGER)["dm"]["id"]
        payload["channel"] = {"id": dm_channel, "name": "directmessage"}
        payload["container"] = {
            "type": "message",
            "message_ts": approval["ts"],
            "channel_id": dm_channel,
            "is_ephemeral": False,
        }
        payload["message"] = {
            "type": "message",
            "ts": approval["ts"],
            "text": approval["text"],
            "blocks": approval["blocks"],
            "user": "U0PROCUREBOT",
            "bot_id": "B0PROCUREBOT",
        }
        payload["actions"] = [
            {
                "action_id": ids.APPROVE,
                "block_id": ids.B_DECISION,
                "type": "button",
                "value": request_id,
                "text": {"type": "plain_text", "text": "Approve"},
                "style": "primary",
                "action_ts": f"{time.time():.6f}",
            }
        ]
        return stack.post_interaction(payload)

    # The requester cannot approve their own request, nor can a colleague.
    for intruder in (EMPLOYEE, ENGINEER):
        assert click(intruder).status_code == 200
    await eventually(lambda: len(stack.calls("chat.postEphemeral")) >= 2, 15, "the refusals")
    refusals = [c["args"] for c in stack.calls("chat.postEphemeral")]
    assert {r["user"] for r in refusals} >= {EMPLOYEE, ENGINEER}
    assert any("own request" in r["text"] for r in refusals)

    approved_at = time.monotonic()
    assert click(MANAGER).status_code == 200

    def requester_told() -> bool:
        return any("was approved" in (m["text"] or "") for m in bot_messages(stack, EMPLOYEE))

    await eventually(requester_told, 20, "the requester's approval DM")
    print(f"approve → requester DM: {(time.monotonic() - approved_at) * 1000:.0f} ms")

    updated = next(m for m in bot_messages(stack, MANAGER) if m["ts"] == approval["ts"])
    assert updated["edited"] and find_button(updated, ids.APPROVE) is None
    assert "Approved" in json.dumps(updated["blocks"]) and f"<@{MANAGER}>" in json.dumps(updated["blocks"])

    # A second click after the decision is harmless and says who decided.
    before = len(stack.calls("chat.postEphemeral"))
    assert click(MANAGER).status_code == 200
    await eventually(lambda: len(stack.calls("chat.postEphemeral")) > before, 15, "the already-decided answer")
    assert "already approved by" in stack.calls("chat.postEphemeral")[-1]["args"]["text"]

    engine = stack.database()
    with transaction(engine) as session:
        # The two seats join the Figma contract we have (40 → 42, co-termed): no second contract.
        assert repository.get_asset_for_request(session, request_id=request_id) is None
        [asset] = repository.product_assets(session, product_id="figma")
        assert asset.id is not None and (asset.seats, asset.annual_cost_cents) == (42, 42 * 18000)
        contract = repository.get_contract(session, asset_id=asset.id)
        assert contract is not None and contract.term_months == 12
        # Refused clicks (the requester, a colleague, the late second click) are audited too.
        events = [a for a in repository.list_audit(session, request_id=request_id) if a.action != "decision_refused"]
        assert [a.action for a in events] == [
            "submitted",
            "reuse_reclaim",
            "reuse_choice",
            "step_opened",
            "step_approved",
            "budget_reserved",
            "approved",
            "seats_added",
        ]
        # The budget holds the prorated cost to the contract's renewal, not a full year.
        reservation = repository.get_reservation(session, request_id=request_id)
        assert reservation is not None and reservation.amount_cents == events[-1].detail["prorated_cents"] <= 36000
    engine.dispose()
    # The offer was updated in place: the answer shown, no buttons left to click.
    answered = next(m for m in bot_messages(stack, EMPLOYEE) if m["ts"] == offer["ts"])
    assert answered["edited"] and find_button(answered, ids.REUSE_BUY) is None

    methods = {c["method"] for c in stack.calls()}
    assert {"views.open", "chat.postMessage", "chat.update", "chat.postEphemeral"} <= methods
    assert all(c["ok"] for c in stack.calls() if c["method"] in {"views.open", "chat.postMessage", "chat.update"})


async def test_request_to_denial_through_the_simulator(stack: Stack) -> None:
    modal = await open_request_modal(stack, EMPLOYEE, "miro for the workshop, 3 seats")

    def miro(seats: str) -> dict[str, Any]:
        return {
            ids.B_PRODUCT: {
                ids.A_PRODUCT: {
                    "type": "static_select",
                    "selected_option": {"text": {"type": "plain_text", "text": "Miro"}, "value": "miro"},
                }
            },
            ids.B_SEATS: {ids.A_SEATS: {"type": "number_input", "value": seats}},
            ids.B_CHANNEL: {
                ids.A_CHANNEL: {
                    "type": "static_select",
                    "selected_option": {"text": {"type": "plain_text", "text": "Direct"}, "value": "direct"},
                }
            },
            ids.B_JUSTIFICATION: {ids.A_JUSTIFICATION: {"type": "plain_text_input", "value": "Workshop"}},
        }

    answer = stack.control("/sim/submit", user=EMPLOYEE, view_id=modal["id"], values=miro("0"))
    assert ids.B_SEATS in json.dumps(answer)  # zero seats: the modal stays open with the error
    # More than the 18 spare Miro seats: reuse first offers to buy more (no idle holders).
    stack.control("/sim/submit", user=EMPLOYEE, view_id=modal["id"], values=miro("25"))
    await buy_more_when_offered(stack, EMPLOYEE, "Miro")
    pending: dict[str, Any] = {}

    def miro_waiting() -> bool:
        for message in bot_messages(stack, MANAGER):
            if find_button(message, ids.DENY) and "Miro" in json.dumps(message["blocks"]):
                pending.update(message)
                return True
        return False

    await eventually(miro_waiting, 20, "the Miro approval DM")
    request_id = parse_step_value(find_button(pending, ids.DENY)["value"])[0]  # type: ignore[index]
    stack.control("/sim/action", user=MANAGER, message_ts=pending["ts"], action_id=ids.DENY)
    deny_modal: dict[str, Any] = {}

    def deny_modal_open() -> bool:
        modals = stack.state(MANAGER)["modals"]
        if modals and modals[-1].get("callback_id") == ids.DENY_MODAL:
            deny_modal.update(modals[-1])
            return True
        return False

    await eventually(deny_modal_open, 15, "the deny-reason modal")
    stack.control(
        "/sim/submit",
        user=MANAGER,
        view_id=deny_modal["id"],
        values={
            ids.B_DENY_REASON: {ids.A_DENY_REASON: {"type": "plain_text_input", "value": "We run workshops in FigJam"}},
        },
    )

    def requester_told() -> bool:
        return any(
            "was denied" in (m["text"] or "") and "FigJam" in (m["text"] or "") for m in bot_messages(stack, EMPLOYEE)
        )

    await eventually(requester_told, 20, "the denial DM")
    engine = stack.database()
    with transaction(engine) as session:
        assert repository.get_asset_for_request(session, request_id=request_id) is None
        stored = repository.get_request(session, request_id=request_id)
        assert stored is not None and stored.status == "denied" and stored.seats == 25
        assert [a.action for a in repository.list_audit(session, request_id=request_id)] == [
            "submitted",
            "reuse_reclaim",
            "reuse_choice",
            "step_opened",
            "step_denied",
            "denied",
        ]
    engine.dispose()
