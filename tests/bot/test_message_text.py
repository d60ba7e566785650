"""The words of the product's messages, as a new user reads them: counts agree with their nouns,
lines do not run together, a person is named one way, a message says each thing once and
nothing that is not so."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from bot.blocks.approvals import EditPrefill, edit_modal
from bot.blocks.intake import IntakeFinding, intake_message
from bot.blocks.renewals import renewal_message
from bot.blocks.request_messages import request_message
from bot.blocks.reuse import reuse_message
from bot.payloads import Prefill
from catalog.ports import MessageKind, RenewalCard, ReuseView
from tests.bot.test_blocks import _text, schema, step, summary, validate

__all__ = ["schema"]  # a fixture, used by name

#: A count of one with a plural noun: "1 seats", "1 days", "1 holders".
ONE_AND_PLURAL = re.compile(r"(?<![\d.,])1 (seats|days|holders|renewals)\b")


def _reuse(message: MessageKind, *, seats: int = 1, **view: Any) -> str:
    shown = summary("awaiting_choice", product_name="Figma", seats=seats, reuse=ReuseView(**view))
    text, blocks = reuse_message(message, shown)
    return _text(blocks) + "\n" + text


@pytest.mark.parametrize(
    ("view", "seats", "expected"),
    [
        ({"kind": "spare_seat", "spare": 1}, 1, "We already own *Figma* and 1 of its seats is free."),
        ({"kind": "reclaim", "spare": 1, "reclaimable": 1}, 2, "but only 1 seat is free for the 2 you asked for"),
        ({"kind": "reclaim", "spare": 0, "reclaimable": 1}, 1, "but no seat is free for the 1 you asked for"),
        ({"kind": "alternative", "alternatives": (("canva", "Canva", 1),)}, 1, "• *Canva* — 1 seat free"),
    ],
)
def test_the_reuse_offer_counts_seats_in_words_that_agree(view: dict[str, Any], seats: int, expected: str) -> None:
    text = _reuse(MessageKind.REUSE_OFFER, seats=seats, **view)
    assert expected in text
    assert not ONE_AND_PLURAL.search(text), text


def test_an_idle_holder_is_told_how_many_seats_are_missing_not_that_none_is_free() -> None:
    one_free = _reuse(
        MessageKind.RECLAIM_ASK, seats=2, kind="reclaim", spare=1, holder_idle_days=61, answer_within_days=1
    )
    assert "needs 2 *Figma* seats and only 1 is free." in one_free and "none is free" not in one_free
    assert "You haven't used yours for 61 days." in one_free
    assert "Without an answer within 1 day the seat is released." in one_free
    none_free = _reuse(MessageKind.RECLAIM_ASK, seats=1, kind="reclaim", spare=0, holder_idle_days=1)
    assert "needs a *Figma* seat and none is free." in none_free and "for 1 day." in none_free


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        ("reclaimed", "An idle seat was released and is yours now"),
        ("reclaim_short", "Too few idle seats were released"),
    ],
)
def test_the_reclaim_offer_says_how_reclaiming_ended(chosen: str, expected: str) -> None:
    asking = _reuse(MessageKind.REUSE_OFFER, kind="reclaim", reclaimable=1, chosen="reclaim")
    assert "Asking the idle seat holders" in asking
    ended = _reuse(MessageKind.REUSE_OFFER, kind="reclaim", reclaimable=1, chosen=chosen)
    assert expected in ended and "Asking the idle seat holders" not in ended


@pytest.mark.parametrize(
    ("finding", "expected"),
    [
        (IntakeFinding("spare_seat", product_name="Miro", spare=1), "We already own *Miro* and 1 seat is free"),
        (IntakeFinding("reclaim", product_name="Figma", spare=1), "We own *Figma*, but only 1 seat is free"),
        (IntakeFinding("reclaim", product_name="Figma", spare=0), "We own *Figma*, but no seat is free"),
        (
            IntakeFinding("alternative", product_name="Sketch", alternatives=(("canva", "Canva", 1),)),
            "*Canva* (1 seat free)",
        ),
    ],
)
def test_plain_words_intake_counts_seats_in_words_that_agree(finding: IntakeFinding, expected: str) -> None:
    text, _ = intake_message(finding, Prefill())
    assert expected in text and not ONE_AND_PLURAL.search(text), text


def test_the_edit_intro_keeps_the_approvers_words_on_their_own_line(schema: dict[str, Any]) -> None:
    prefill = EditPrefill(
        request_id="REQ-1",
        product_name="1Password",
        in_catalog=True,
        seats=1,
        estimate=None,
        currency="USD",
        justification="Vault",
        cost_center="CC-IT",
        channel="direct",
        data_classification="internal",
        changes_comment="One seat is enough",
    )
    view = edit_modal(prefill, private_metadata="{}")
    validate(schema, view, "modal_view")
    intro = view["blocks"][0]["text"]["text"]
    assert "*1Password*.\nThe approver asked:\n> One seat is enough\n\nChange what is needed" in intro
    assert ".The approver" not in intro
    no_comment = edit_modal(EditPrefill(**{**prefill.__dict__, "changes_comment": None}), private_metadata="{}")
    assert no_comment["blocks"][0]["text"]["text"].startswith("Request *REQ-1* for *1Password*.\n\nChange what")


def test_an_approvers_dm_says_each_thing_once_and_nothing_untrue(schema: dict[str, Any]) -> None:
    only_manager = ("the requester's manager approves every request",)
    manager = step(1, 1, "manager", "U0MANAGER", approver_name="Max Manager", reasons=only_manager)
    dm = summary(
        "pending_approval",
        product_name="Notion",
        steps=(manager,),
        viewer_seq=1,
        policy_reasons=only_manager,
        alternatives=("Confluence",),
        approver_name="Max Manager",
    )
    _, blocks = request_message(MessageKind.APPROVAL_REQUEST, dm)
    validate(schema, blocks)
    text = _text(blocks)
    assert text.count("the requester's manager approves every request") == 1
    assert "*Route reasons:*" not in text
    assert "<@U0MANAGER>" in text and "(Max Manager)" not in text
    # Confluence is an approved alternative in the catalog; nothing says we own it.
    assert "approved alternatives we already have" not in text and "Confluence" in text
    # A second step with reasons of its own still lists the route's other reasons.
    finance = step(2, 2, "finance", "U0FINANCE", reasons=("annual cost is over 5,000.00 USD",))
    chained = summary(
        "pending_approval",
        steps=(manager, finance),
        viewer_seq=1,
        policy_reasons=(*only_manager, "annual cost is over 5,000.00 USD"),
    )
    text = _text(request_message(MessageKind.APPROVAL_REQUEST, chained)[1])
    assert "*Route reasons:*\n• annual cost is over 5,000.00 USD" in text


def test_a_single_step_status_names_the_approver_once() -> None:
    _, blocks = request_message(MessageKind.REQUESTER_STATUS, summary("pending_approval", approver_name="Max Manager"))
    status = next(b["text"]["text"] for b in blocks if b.get("block_id") == "status")
    assert status == ":hourglass_flowing_sand: Waiting for <@U0MANAGER> to approve."
    _, blocks = request_message(
        MessageKind.REQUESTER_STATUS, summary("pending_approval", approver_slack_id=None, approver_name="Max Manager")
    )
    status = next(b["text"]["text"] for b in blocks if b.get("block_id") == "status")
    assert status == ":hourglass_flowing_sand: Waiting for Max Manager to approve."


def test_a_renewal_card_counts_seats_and_days_in_words_that_agree() -> None:
    card = RenewalCard(
        contract_id=1,
        asset_id=1,
        product_name="Figma",
        vendor="Figma, Inc.",
        owner_email="manager@example.com",
        owner_slack_id="U0MANAGER",
        annual_cost_cents=18_000,
        unit_price_cents=18_000,
        currency="USD",
        seats_bought=1,
        seats_assigned=1,
        seats_active_30d=1,
        renewal_date=date(2027, 2, 1),
        deadline=date(2027, 1, 2),
        cancel_by=date(2027, 1, 2),
        auto_renew=True,
        days_left=1,
        status="renewed",
        decided_by_slack_id="U0MANAGER",
        decided_at="2026-12-04T10:00:00+00:00",
        renew_seats=1,
        renew_unit_price_cents=18_000,
    )
    fallback, blocks = renewal_message(card)
    text = _text(blocks) + "\n" + fallback
    assert "· 1 seat at $180.00 per seat" in text and "(1 day left)" in fallback
    assert not ONE_AND_PLURAL.search(text), text
