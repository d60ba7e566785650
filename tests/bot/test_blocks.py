"""Every view and message the bot renders validates against the Block Kit JSON Schema, and
hostile user text is escaped and cut to Block Kit's limits."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bot import ids
from bot.blocks import (
    HomeRow,
    Prefill,
    ProductChoice,
    deny_modal,
    home_view,
    intake_reply,
    request_message,
    request_modal,
)
from catalog.summary import MessageKind, RequestSummary

HOSTILE = "<!channel> <@U0VP> <http://evil.example|click> *bold* & ✨ مرحبا " + "x" * 10_000


@pytest.fixture(scope="module")
def schema(reference_dir: Path) -> dict[str, Any]:
    return json.loads((reference_dir / "blockkit.schema.json").read_text())


def validate(schema: dict[str, Any], payload: Any, definition: str | None = None) -> None:
    target = schema if definition is None else {"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    errors = sorted(Draft202012Validator(target).iter_errors(payload), key=lambda e: e.path)
    assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors]


def _ids(blocks: list[dict[str, Any]]) -> tuple[Counter[str], Counter[str]]:
    block_ids = Counter(b["block_id"] for b in blocks if "block_id" in b)
    action_ids: Counter[str] = Counter()
    for block in blocks:
        for element in block.get("elements", []):
            if "action_id" in element:
                action_ids[element["action_id"]] += 1
        if "element" in block:
            action_ids[block["element"]["action_id"]] += 1
    return block_ids, action_ids


def _mrkdwn_texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if node.get("type") == "mrkdwn" else []
        return found + [t for value in node.values() for t in _mrkdwn_texts(value)]
    if isinstance(node, list):
        return [t for item in node for t in _mrkdwn_texts(item)]
    return []


def summary(status: str, **overrides: Any) -> RequestSummary:
    fields: dict[str, Any] = dict(
        request_id="REQ-ABCDEFGH",
        status=status,
        requester_slack_id="U0EMPLOYEE",
        requester_name=HOSTILE,
        product_name=HOSTILE,
        product_id=None,
        vendor=HOSTILE,
        seats=3,
        unit_price_cents=18000,
        annual_cost_cents=54000,
        currency="USD",
        cost_center=HOSTILE,
        channel="aws_marketplace",
        justification=HOSTILE,
        needed_by=date(2026, 12, 1),
        approver_slack_id="U0MANAGER",
        approver_name="Max",
        decided_by_slack_id="U0MANAGER",
        decision_reason=HOSTILE,
        asset_id=7,
        renewal_date=date(2027, 12, 1),
        alternatives=("1Password",),
    )
    fields.update(overrides)
    return RequestSummary(**fields)


@pytest.mark.parametrize("kind", list(MessageKind))
@pytest.mark.parametrize("status", ["submitted", "pending_approval", "approved", "denied", "expired", "rejected"])
def test_request_messages_validate_and_neutralise_markup(
    schema: dict[str, Any], kind: MessageKind, status: str
) -> None:
    text, blocks = request_message(kind, summary(status))
    validate(schema, blocks)
    assert len(blocks) <= 50 and len(text) <= 40_000
    block_ids, action_ids = _ids(blocks)
    assert max(block_ids.values(), default=1) == 1 and max(action_ids.values(), default=1) == 1
    # Slack parses mentions and links in mrkdwn and in the notification text, never in plain_text.
    parsed = [text, *_mrkdwn_texts(blocks)]
    for part in parsed:
        assert "<!channel>" not in part and "<http://evil" not in part and "<@U0VP>" not in part
    assert any("&lt;!channel&gt;" in part for part in parsed)
    has_buttons = any(b["type"] == "actions" for b in blocks)
    assert has_buttons == (kind is MessageKind.APPROVAL_REQUEST and status == "pending_approval")


def test_approval_buttons_carry_the_request_id(schema: dict[str, Any]) -> None:
    _, blocks = request_message(MessageKind.APPROVAL_REQUEST, summary("pending_approval"))
    actions = next(b for b in blocks if b["type"] == "actions")
    assert [(e["action_id"], e["value"], e.get("style")) for e in actions["elements"]] == [
        (ids.APPROVE, "REQ-ABCDEFGH", "primary"),
        (ids.DENY, "REQ-ABCDEFGH", "danger"),
    ]


def test_request_modal_is_prefilled_and_valid(schema: dict[str, Any]) -> None:
    products = [ProductChoice(f"p{i}", f"Product {i} " + "y" * 80, "Vendor") for i in range(150)]
    products.append(ProductChoice("figma", "Figma", "Figma, Inc."))
    view = request_modal(
        products,
        Prefill(product_id="figma", seats=2, channel="gcp_marketplace"),
        private_metadata=json.dumps({"channel_id": "C1"}),
    )
    validate(schema, view, "modal_view")
    blocks = {b["block_id"]: b for b in view["blocks"]}
    select = blocks[ids.B_PRODUCT]["element"]
    assert len(select["options"]) == 100  # Slack's limit, the requested product kept
    assert select["initial_option"]["value"] == "figma"
    assert blocks[ids.B_SEATS]["element"]["initial_value"] == "2"
    assert blocks[ids.B_CHANNEL]["element"]["initial_option"]["value"] == "gcp_marketplace"
    other = request_modal(products[:3], Prefill(other_product=HOSTILE))
    validate(schema, other, "modal_view")
    assert {b["block_id"]: b for b in other["blocks"]}[ids.B_PRODUCT]["element"]["initial_option"][
        "value"
    ] == ids.OTHER_PRODUCT_VALUE


def test_prefill_survives_a_round_trip_and_rejects_garbage() -> None:
    prefill = Prefill(product_id="miro", seats=4, channel="azure_marketplace", justification="workshop")
    assert Prefill.from_value(prefill.to_value()) == prefill
    assert Prefill.from_value("not json") == Prefill()
    assert Prefill.from_value('{"seats": -3, "channel": "ebay"}') == Prefill()


def test_deny_modal_home_and_intake_validate(schema: dict[str, Any]) -> None:
    validate(schema, deny_modal("REQ-1", private_metadata="{}"), "modal_view")
    rows = [HomeRow(f"REQ-{i}", HOSTILE, "pending_approval", 2, "$1.00", "U0EMPLOYEE") for i in range(40)]
    home = home_view(rows, rows)
    validate(schema, home, "home_view")
    block_ids, _ = _ids(home["blocks"])
    assert max(block_ids.values()) == 1
    for found, note in ((None, None), ("Figma", HOSTILE)):
        _, blocks = intake_reply(found, Prefill(), note)
        validate(schema, blocks)
