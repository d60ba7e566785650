"""The discovery digest, its modals and the payer's DM against Slack's Block Kit schema, with
hostile names, reasons and emails from exports (escaped, cut to Slack's limits)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot import ids
from bot.blocks.discovery import MAX_CARDS, block_modal, digest_message, ignore_modal, payer_message
from catalog.rules.discovery_actions import DigestCard, DigestView, PayerNotice
from tests.bot.test_blocks import HOSTILE, _ids, _mrkdwn_texts, validate


@pytest.fixture(scope="module")
def schema(reference_dir: Path) -> dict[str, Any]:
    return json.loads((reference_dir / "blockkit.schema.json").read_text())


def _card(n: int, **changes: Any) -> DigestCard:
    base: dict[str, Any] = {
        "key": f"unknown:{HOSTILE}"[:200] + str(n),
        "name": HOSTILE,
        "vendor": HOSTILE,
        "status": "unmanaged",
        "spend": "1,234.56 USD",
        "lines": 3,
        "payers": (HOSTILE, "a@example.com"),
        "sso_users": 2,
        "first_seen": date(2026, 1, 1),
        "last_seen": date(2026, 12, 1),
        "unreconciled_lines": 1,
    }
    return DigestCard(**{**base, **changes})


def test_a_digest_of_many_hostile_products_fits_slack(schema: dict[str, Any]) -> None:
    cards = [_card(n) for n in range(40)] + [
        _card(99, decision="ignored", decision_reason=HOSTILE, decided_by=HOSTILE, suppressed_until=date(2027, 1, 1))
    ]
    text, blocks = digest_message(DigestView(date(2026, 12, 4), tuple(cards), unreconciled_lines=7))
    validate(schema, blocks)
    assert len(blocks) <= 50 and text
    block_ids, action_ids = _ids(blocks)
    assert max(block_ids.values()) == 1 and max(action_ids.values()) == 1
    assert sum(1 for b in blocks if b["type"] == "actions") == MAX_CARDS
    assert all("<!channel>" not in t and "<@U0VP>" not in t for t in _mrkdwn_texts(blocks))


def test_the_modals_and_the_dms_fit_slack(schema: dict[str, Any]) -> None:
    for view in (
        block_modal("k", HOSTILE, tuple((f"p{n}", HOSTILE) for n in range(150)), metadata="{}"),
        ignore_modal("k", HOSTILE, metadata="{}"),
    ):
        validate(schema, view, "modal_view")
        assert all("<!channel>" not in t for t in _mrkdwn_texts(view))
    seat = PayerNotice("k", HOSTILE, "U1", HOSTILE, None, date(2026, 11, 7), "Miro", "miro", 18)
    blocked = PayerNotice(
        "k", "e", "U1", "LastPass", "lastpass", date(2026, 11, 2), blocked_reason=HOSTILE, alternatives=("1Password",)
    )
    for notice in (seat, blocked):
        _, blocks = payer_message(notice)
        validate(schema, blocks)
        assert all("<!channel>" not in t for t in _mrkdwn_texts(blocks))
    _, blocks = payer_message(seat)
    assert "We already own *Miro* with 18 free seats" in json.dumps(blocks)
    assert [e["action_id"] for e in blocks[-1]["elements"]] == [ids.DISCOVERY_GET_SEAT, ids.DISCOVERY_OPEN_REQUEST]
