"""Discovery's done-when, end to end (issue 22): with the demo data and the shipped sample
exports, `procure discover run --notify` posts the ITAM digest in the simulator; Ian (ITAM)
clicks Adopt, Block and Ignore, each updating the digest in place; Emma, who paid for Miro on
her card, gets a DM offering one of the Miro seats we already own. The real Bolt app,
signed payloads both ways, the CLI as a user runs it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from bot import ids
from bot.simulator.serve import bind_socket, socket_url
from catalog.db import transaction
from catalog.models import Asset, AuditEvent, Contract, Discovery, Product
from catalog.settings import get_settings
from tests.discovery_samples import discover, import_samples
from tests.helpers import eventually
from tests.security.stack import Stack, find_button, seeded_sqlite, serve_stack

ITAM, EMPLOYEE = "U0ITAM", "U0EMPLOYEE"


@pytest.fixture
async def stack(
    dev_server_env: WorkflowEnvironment, tmp_path: Path, reference_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Stack]:
    engine = seeded_sqlite(tmp_path / "procure.db")
    sockets = (bind_socket(), bind_socket())
    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    monkeypatch.setenv("SLACK_API_URL", socket_url(sockets[1]) + "/api/")
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "ITAM_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    async with serve_stack(dev_server_env.client, engine, reference_dir, sockets=sockets) as served:
        yield served
    get_settings.cache_clear()
    engine.dispose()


async def _digest(stack: Stack) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def posted() -> bool:
        channels = (await stack.state(ITAM))["channels"]
        itam = next(c for c in channels if c["name"] == "itam")
        for message in reversed(itam["messages"]):
            if message["is_bot"] and "Discovery" in json.dumps(message["blocks"]):
                found.update(message, channel=itam["id"])
                return True
        return False

    await eventually(posted, 30, "the discovery digest in #itam")
    return found


def _row_buttons(message: dict[str, Any], key: str) -> str:
    """The block id of the buttons of the product `key`."""
    for block in message["blocks"]:
        if block["type"] == "actions" and any(e.get("value") == key for e in block["elements"]):
            return str(block["block_id"])
    raise AssertionError(f"{key} has no buttons in the digest")


async def _click(stack: Stack, digest: dict[str, Any], key: str, action_id: str) -> None:
    block_id = _row_buttons(digest, key)
    await stack.do(
        "/sim/action",
        user=ITAM,
        channel=digest["channel"],
        message_ts=digest["ts"],
        action_id=action_id,
        block_id=block_id,
    )


async def _modal(stack: Stack, callback_id: str) -> dict[str, Any]:
    async def open_() -> bool:
        return any(m["callback_id"] == callback_id for m in (await stack.state(ITAM))["modals"])

    await eventually(open_, 30, f"the {callback_id} modal")
    return next(m for m in (await stack.state(ITAM))["modals"] if m["callback_id"] == callback_id)


def _decision(stack: Stack, key: str) -> Discovery:
    with transaction(stack.engine) as session:
        row = session.exec(select(Discovery).where(Discovery.key == key)).one()
        session.expunge(row)
        return row


async def _decided(stack: Stack, key: str, decision: str) -> None:
    async def done() -> bool:
        return _decision(stack, key).decision == decision

    await eventually(done, 30, f"{key} {decision}")


async def test_discover_run_digest_adopt_block_ignore_and_the_payers_dm(stack: Stack) -> None:
    await asyncio.to_thread(import_samples)
    out = await asyncio.to_thread(discover, "--notify")
    assert "digest posted to #itam" in out, out

    # 1. The digest names what was bought outside the process, each with its three buttons.
    digest = await _digest(stack)
    shown = json.dumps(digest["blocks"])
    for key in ("product:notion", "known:chatgpt", "product:lastpass", "unknown:someapp"):
        assert _row_buttons(digest, key)
    assert "product:figma" not in shown  # in the register: not asked about
    assert "marketplace line" in shown  # FinOps: marketplace spend with no approved request

    # 2. Adopt ChatGPT: an asset and a monthly contract from the card lines, owned by a payer.
    await _click(stack, digest, "known:chatgpt", ids.DISCOVERY_ADOPT)
    await _decided(stack, "known:chatgpt", "adopted")
    adopted = _decision(stack, "known:chatgpt")
    with transaction(stack.engine) as session:
        asset = session.get(Asset, adopted.asset_id)
        assert asset is not None and asset.owner_email in ("engineer@example.com", "vp@example.com")
        assert (asset.seats, asset.channel, asset.cost_center) == (2, "discovered", "CC-ENG")
        contract = session.exec(select(Contract).where(Contract.asset_id == asset.id)).one()
        assert (contract.billing_period, contract.term_months) == ("monthly", 1)
        assert asset.product_id is not None and session.get(Product, asset.product_id) is not None

    # The digest was updated in place: ChatGPT shows who adopted it, no buttons.
    async def updated() -> bool:
        message = await _digest(stack)
        return "Adopted" in json.dumps(message["blocks"]) and message["ts"] == digest["ts"]

    await eventually(updated, 30, "the digest updated in place")
    digest = await _digest(stack)

    # 3. Block Notion: the modal refuses an empty reason, then takes one and an alternative.
    await _click(stack, digest, "product:notion", ids.DISCOVERY_BLOCK)
    modal = await _modal(stack, ids.DISCOVERY_BLOCK_MODAL)
    alternative = {"text": {"type": "plain_text", "text": "Confluence"}, "value": "confluence"}
    chosen = {ids.A_DISCOVERY_ALTERNATIVES: {"type": "multi_static_select", "selected_options": [alternative]}}

    def block_values(reason: str) -> dict[str, Any]:
        return {
            ids.B_DISCOVERY_REASON: {ids.A_DISCOVERY_REASON: {"type": "plain_text_input", "value": reason}},
            ids.B_DISCOVERY_ALTERNATIVES: chosen,
        }

    answer = await stack.do("/sim/submit", user=ITAM, view_id=modal["id"], values=block_values("  "))
    assert answer["errors"] == {ids.B_DISCOVERY_REASON: "Say why."}, answer
    assert _decision(stack, "product:notion").decision is None
    await stack.do("/sim/submit", user=ITAM, view_id=modal["id"], values=block_values("Data <residency> & SSO"))
    await _decided(stack, "product:notion", "blocked")
    with transaction(stack.engine) as session:
        notion = session.get(Product, "notion")
        assert notion is not None and notion.status == "blocked" and notion.block_reason == "Data <residency> & SSO"

    # 4. Ignore the unrecognised Paddle app for 30 days.
    digest = await _digest(stack)
    await _click(stack, digest, "unknown:someapp", ids.DISCOVERY_IGNORE)
    modal = await _modal(stack, ids.DISCOVERY_IGNORE_MODAL)
    await stack.do(
        "/sim/submit",
        user=ITAM,
        view_id=modal["id"],
        values={
            ids.B_DISCOVERY_REASON: {ids.A_DISCOVERY_REASON: {"type": "plain_text_input", "value": "a trial"}},
            ids.B_DISCOVERY_DAYS: {ids.A_DISCOVERY_DAYS: {"type": "number_input", "value": "30"}},
        },
    )
    await _decided(stack, "unknown:someapp", "ignored")
    assert str(_decision(stack, "unknown:someapp").suppressed_until) == "2027-01-03"

    # Every decision is audited; the digest shows all three, escaped.
    with transaction(stack.engine) as session:
        actions = {e.action for e in session.exec(select(AuditEvent).where(AuditEvent.entity == "discovery"))}
    assert {"discovery_adopted", "discovery_blocked", "discovery_ignored"} <= actions

    async def all_shown() -> bool:
        shown = json.dumps((await _digest(stack))["blocks"])
        return all(w in shown for w in ("Adopted", "Blocked", "Ignored")) and "&lt;residency&gt; &amp; SSO" in shown

    await eventually(all_shown, 30, "the three decisions in the digest")

    # 5. Emma paid for Miro on her card: her DM offers one of the Miro seats we already own.
    async def offered() -> bool:
        for message in await stack.bot_messages(EMPLOYEE):
            text = json.dumps(message["blocks"])
            if "You paid for *Miro*" in text and "We already own *Miro* with 18 free seats" in text:
                return find_button(message, ids.DISCOVERY_GET_SEAT) is not None
        return False

    await eventually(offered, 30, "Emma's DM offering a Miro seat")
    # Once per product and term: running it again sends nothing more.
    out = await asyncio.to_thread(discover, "--notify")
    assert "0 payer DM(s) sent" in out and "not posted" in out, out
