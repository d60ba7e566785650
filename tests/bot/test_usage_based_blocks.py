"""What people read about a usage-based contract (no seat count; docs/decisions.md, 52), against
Slack's Block Kit schema: reuse first's "ask the owner", the DM intake's answer, the payer's DM,
and the renewal reminder and its Renew modal (a yearly value, no seats)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot import ids
from bot.blocks.discovery import payer_message
from bot.blocks.intake import IntakeFinding, intake_message
from bot.blocks.renewals import renew_modal, renewal_message
from bot.blocks.reuse import reuse_message
from bot.payloads import Prefill, RenewalRef
from catalog.ports import MessageKind, RenewalCard, ReuseView
from catalog.rules.discovery_actions import PayerNotice
from tests.bot.test_blocks import HOSTILE, _mrkdwn_texts, summary, validate


@pytest.fixture(scope="module")
def schema(reference_dir: Path) -> dict[str, Any]:
    return json.loads((reference_dir / "blockkit.schema.json").read_text())


def test_the_reuse_offer_names_the_owner_and_offers_withdraw_or_request_anyway(schema: dict[str, Any]) -> None:
    view = ReuseView(kind="ask_owner", choices=("withdraw", "buy"), owner_name=HOSTILE, owner_slack_id="U0ENGINEER")
    _, blocks = reuse_message(MessageKind.REUSE_OFFER, dataclasses.replace(summary("awaiting_choice"), reuse=view))
    validate(schema, blocks)
    text = "\n".join(_mrkdwn_texts(blocks))
    assert "(usage-based)" in text and "ask <@U0ENGINEER>, who owns the contract, for access" in text
    buttons = [(e["text"]["text"], e["action_id"]) for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [("Withdraw request", ids.REUSE_WITHDRAW), ("Request it anyway", ids.REUSE_BUY)]
    # The owner asking is told they own it, not to ask themselves.
    own = dataclasses.replace(view, owner_slack_id="U0EMPLOYEE")
    _, blocks = reuse_message(MessageKind.REUSE_OFFER, dataclasses.replace(summary("awaiting_choice"), reuse=own))
    text = "\n".join(_mrkdwn_texts(blocks))
    assert "you own its contract" in text and "ask <@U0EMPLOYEE>" not in text
    # Without a Slack id the owner is named, escaped, never a broadcast.
    nameless = dataclasses.replace(view, owner_slack_id=None)
    _, blocks = reuse_message(MessageKind.REUSE_OFFER, dataclasses.replace(summary("awaiting_choice"), reuse=nameless))
    validate(schema, blocks)
    assert all("<!channel>" not in t for t in _mrkdwn_texts(blocks))


def test_intake_and_the_payers_dm_say_ask_the_owner_not_get_a_seat(schema: dict[str, Any]) -> None:
    _, blocks = intake_message(IntakeFinding("ask_owner", product_name="Datadog", owner="<@U0ENGINEER>"), Prefill())
    validate(schema, blocks)
    assert "We already own *Datadog* (usage-based): ask <@U0ENGINEER> for access" in json.dumps(blocks)
    notice = PayerNotice("k", "e@example.com", "U1", "DD", None, date(2026, 11, 7), "Datadog", "datadog", 0,
                         owner="<@U0ENGINEER>")  # fmt: skip
    _, blocks = payer_message(notice)
    validate(schema, blocks)
    assert "We already own *Datadog* (usage-based): ask <@U0ENGINEER> for access." in json.dumps(blocks)
    assert [e["action_id"] for e in blocks[-1]["elements"]] == [ids.DISCOVERY_OPEN_REQUEST]  # no "Get a seat"


def _card(**changes: Any) -> RenewalCard:
    base: dict[str, Any] = dict(
        contract_id=3, asset_id=4, product_name="Datadog", vendor=None, owner_email="e@example.com",
        owner_slack_id="U0ENGINEER", annual_cost_cents=6_000_000, unit_price_cents=6_000_000, currency="USD",
        seats_bought=None, seats_assigned=0, seats_active_30d=0, renewal_date=date(2027, 5, 1),
        deadline=date(2027, 4, 1), cancel_by=date(2027, 4, 1), auto_renew=True, days_left=118, status="open",
    )  # fmt: skip
    return RenewalCard(**{**base, **changes})


def test_the_reminder_shows_the_contract_value_and_renew_asks_a_yearly_value(schema: dict[str, Any]) -> None:
    card = _card()
    _, blocks = renewal_message(card)
    validate(schema, blocks)
    text = "\n".join(_mrkdwn_texts(blocks))
    assert "$60,000.00 a year (usage-based: the contract value, no seat count)" in text
    assert "Seats:" not in text and "None" not in text
    view = renew_modal(card, RenewalRef.of(card), private_metadata="{}")
    validate(schema, view, "modal_view")
    inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert inputs == [ids.B_RENEW_PRICE]  # no seats to change
    renewed = _card(status="renewed", decided_by="e@example.com", renew_unit_price_cents=5_400_000)
    assert "at $54,000.00 a year" in "\n".join(_mrkdwn_texts(renewal_message(renewed)[1]))
