"""What is approved is what is charged, through the real Bolt app, the Slack simulator and the
worker on a Temporal dev server (signed payloads both ways):

* issue 19 #2: 1Password costs 24,000 USD a year (no seat pool). An estimate of 1 USD used to
  route it to the manager alone, reserve 1 USD and record a 1 USD asset. The modal now says
  which price counts and why; a higher quote (another tier) is what gets approved, reserved
  and recorded.
* issue 18 §4: "Figma, 2 seats → Buy more seats → approved" recorded a second Figma contract.
  The seats now join the 40-seat one, and the reservation is their prorated cost."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from bot import ids
from bot.payloads import parse_step_value
from catalog import repository
from catalog.db import transaction
from tests.helpers import eventually
from tests.security.stack import Stack, find_button, request_values, seeded_sqlite, serve_stack

EMPLOYEE, MANAGER, FINANCE = "U0EMPLOYEE", "U0MANAGER", "U0FINANCE"


@pytest.fixture(scope="module")
async def stack(
    dev_server_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory, reference_dir: Path
) -> AsyncIterator[Stack]:
    engine = seeded_sqlite(tmp_path_factory.mktemp("price") / "procure.db")
    async with serve_stack(dev_server_env.client, engine, reference_dir) as served:
        yield served
    engine.dispose()


async def _message_with(stack: Stack, user: str, action_id: str, text: str) -> dict[str, Any]:
    """The newest bot message to `user` that has the button and mentions `text`."""
    found: dict[str, Any] = {}

    async def arrived() -> bool:
        for message in reversed(await stack.bot_messages(user)):
            if find_button(message, action_id) and text in json.dumps(message["blocks"]):
                found.clear()
                found.update(message)
                return True
        return False

    await eventually(arrived, 30, f"a message to {user} with {action_id}")
    return found


def _block_text(message: dict[str, Any], block_id: str) -> str:
    texts = [b["text"]["text"] for b in message["blocks"] if b.get("block_id") == block_id]
    assert texts, f"no {block_id!r} block in {[b.get('block_id') for b in message['blocks']]}"
    return str(texts[0])


async def _approve(stack: Stack, user: str, text: str) -> str:
    message = await _message_with(stack, user, ids.APPROVE, text)
    await stack.do("/sim/action", user=user, message_ts=message["ts"], action_id=ids.APPROVE)
    request_id, _ = parse_step_value(find_button(message, ids.APPROVE)["value"])  # type: ignore[index]
    return request_id


async def test_an_estimate_never_lowers_the_catalog_price_and_a_higher_quote_is_charged(stack: Stack) -> None:
    modal = await stack.open_modal(EMPLOYEE, "1password")
    notes = [b["elements"][0]["text"] for b in modal["blocks"] if b["type"] == "context"]
    assert any("*1Password* costs $24,000.00 a year in the catalog" in n for n in notes), notes

    # 1 USD for a 24,000 USD product: the modal stays open and says which price counts, and why.
    values = request_values("1password", justification="Company-wide password manager")
    values[ids.B_ESTIMATE] = {ids.A_ESTIMATE: {"type": "plain_text_input", "value": "1"}}
    answer = await stack.do("/sim/submit", user=EMPLOYEE, view_id=modal["id"], values=values)
    errors = (
        answer.get("errors")
        or next(m for m in (await stack.state(EMPLOYEE))["modals"] if m["id"] == modal["id"])["errors"]
    )
    assert set(errors) == {ids.B_ESTIMATE}, answer
    assert errors[ids.B_ESTIMATE].startswith(
        "Priced at the catalog price, $24,000.00 a year. The estimate ($1.00) is not used"
    )
    assert stack.requests() == 0

    # The vendor quoted a higher tier: that is what the approvers see and what is charged.
    values[ids.B_ESTIMATE][ids.A_ESTIMATE]["value"] = "30,000"
    await stack.do("/sim/submit", user=EMPLOYEE, view_id=modal["id"], values=values)
    manager_dm = await _message_with(stack, MANAGER, ids.APPROVE, "1Password")
    assert "$30,000.00" in _block_text(manager_dm, "price") and "higher tier" in _block_text(manager_dm, "price")
    request_id = await _approve(stack, MANAGER, "1Password")
    # Over the policy's 5,000 USD threshold: finance is asked too (at 1 USD it was not).
    await _approve(stack, FINANCE, request_id)
    await eventually(lambda: "asset_created" in stack.audit_actions(request_id), 30, "the approval")
    with transaction(stack.engine) as session:
        roles = [s.role for s in repository.list_steps(session, request_id=request_id)]
        reservation = repository.get_reservation(session, request_id=request_id)
        asset = repository.get_asset_for_request(session, request_id=request_id)
    assert roles == ["manager", "finance"]
    assert reservation is not None and reservation.amount_cents == 3_000_000
    assert asset is not None and asset.annual_cost_cents == 3_000_000


async def test_more_seats_of_a_product_we_own_join_its_contract_prorated(stack: Stack) -> None:
    with transaction(stack.engine) as session:
        [figma] = repository.product_assets(session, product_id="figma")
        assert figma.id is not None
        figma_id, seats_before = figma.id, figma.seats
        contract = repository.get_contract(session, asset_id=figma_id)
    modal = await stack.open_modal(EMPLOYEE, "figma 2 seats")
    values = request_values("figma", seats="2", justification="Two designers join on Monday")
    await stack.do("/sim/submit", user=EMPLOYEE, view_id=modal["id"], values=values)
    # Every Figma seat is taken (catalog/data/seats.yaml): Emma buys more.
    offer = await _message_with(stack, EMPLOYEE, ids.REUSE_BUY, "Figma")
    await stack.do("/sim/action", user=EMPLOYEE, message_ts=offer["ts"], action_id=ids.REUSE_BUY)

    manager_dm = await _message_with(stack, MANAGER, ids.APPROVE, "Figma")
    line = _block_text(manager_dm, "contract")
    assert f"*Joins the Figma contract we have* (asset #{figma_id}): {seats_before} → {seats_before + 2} seats" in line
    assert "prorated" in line and "That is what the budget reserves." in line
    request_id = await _approve(stack, MANAGER, "Figma")
    await eventually(lambda: "seats_added" in stack.audit_actions(request_id), 30, "the approval")

    with transaction(stack.engine) as session:
        assets = repository.product_assets(session, product_id="figma")
        [added] = repository.list_audit(session, request_id=request_id, actions=["seats_added"])
        reservation = repository.get_reservation(session, request_id=request_id)
        after = repository.get_contract(session, asset_id=figma_id)
    # One Figma contract, two seats more; the budget holds the prorated cost, not a year's.
    assert [(a.id, a.seats) for a in assets] == [(figma_id, seats_before + 2)]
    assert contract is not None and after is not None and after.renewal_date == contract.renewal_date
    assert "asset_created" not in stack.audit_actions(request_id) and stack.assets(request_id) == 0
    assert reservation is not None and reservation.amount_cents == added.detail["prorated_cents"]
    assert 0 < reservation.amount_cents <= 2 * 18000
    assert (added.detail["before"]["seats"], added.detail["after"]["seats"]) == (seats_before, seats_before + 2)

    async def told() -> bool:
        return any(
            f"join the contract of asset #{figma_id}" in (m["text"] or "") for m in await stack.bot_messages(EMPLOYEE)
        )

    await eventually(told, 30, "the requester's approval DM")
