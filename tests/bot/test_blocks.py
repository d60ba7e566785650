"""Every view and message the bot renders validates against the Block Kit JSON Schema, and
hostile user text is escaped and cut to Block Kit's limits."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bot import ids
from bot.blocks.approvals import EditPrefill, changes_modal, delegate_modal, deny_modal, edit_modal
from bot.blocks.home import MyRequestRow, WaitingRow, home_view
from bot.blocks.intake import IntakeFinding, intake_message
from bot.blocks.request import CLASSIFICATION_LABELS, ProductChoice, catalog_price_note, request_modal
from bot.blocks.request_messages import request_message
from bot.payloads import Prefill
from catalog.ports import (
    BudgetView,
    DrawdownView,
    ExpansionView,
    MessageKind,
    PriceView,
    RenewalRequestView,
    RequestSummary,
    StepView,
)
from catalog.rules.policy import CLASSIFICATIONS
from catalog.rules.requests import CatalogPrice

HOSTILE = "<!channel> <@U0VP> <http://evil.example|click> *bold* & ✨ مرحبا " + "x" * 10_000
OPENED = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def schema(reference_dir: Path) -> dict[str, Any]:
    return json.loads((reference_dir / "blockkit.schema.json").read_text())


def validate(schema: dict[str, Any], payload: Any, definition: str | None = None) -> None:
    target = schema if definition is None else {"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    errors = sorted(Draft202012Validator(target).iter_errors(payload), key=lambda e: e.path)
    assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors]


def _ids(blocks: list[dict[str, Any]]) -> tuple[Counter[str], Counter[str]]:
    """Block ids over the whole surface; action ids counted per block (Slack's rule)."""
    block_ids = Counter(b["block_id"] for b in blocks if "block_id" in b)
    action_ids: Counter[str] = Counter()
    for block in blocks:
        in_block: Counter[str] = Counter()
        for element in [*block.get("elements", []), block.get("element"), block.get("accessory")]:
            if isinstance(element, dict) and "action_id" in element:
                in_block[element["action_id"]] += 1
        action_ids |= in_block
    return block_ids, action_ids


def _mrkdwn_texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if node.get("type") == "mrkdwn" else []
        return found + [t for value in node.values() for t in _mrkdwn_texts(value)]
    if isinstance(node, list):
        return [t for item in node for t in _mrkdwn_texts(item)]
    return []


def _buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for block in blocks:
        found += [e for e in block.get("elements", []) if e.get("type") == "button"]
        if isinstance(block.get("accessory"), dict) and block["accessory"].get("type") == "button":
            found.append(block["accessory"])
    return found


def _text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(_mrkdwn_texts(blocks))


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


def step(seq: int, stage: int, role: str, approver: str, status: str = "pending", **more: Any) -> StepView:
    return StepView(
        seq=seq,
        stage=stage,
        role=role,
        approver_slack_id=approver,
        approver_name=more.pop("approver_name", HOSTILE),
        status=status,
        reasons=more.pop("reasons", (HOSTILE, "annual cost 6,000.00 USD is over 5,000.00 USD")),
        opened_at=more.pop("opened_at", OPENED),
        **more,
    )


#: A route mid-way: the manager approved; finance (via a delegate) and security wait in stage 2;
#: FinOps comes after them.
ROUTE = (
    step(1, 1, "manager", "U0MANAGER", "approved", decided_by_slack_id="U0MANAGER"),
    step(2, 2, "finance", "U0FINANCE", assigned_because=HOSTILE),
    step(3, 2, "security", "U0SECURITY", delegate_slack_id="U0DELEGATE"),
    step(4, 3, "finops", "U0FINOPS", opened_at=None),
)
BUDGET = BudgetView("CC-DESIGN", 2026, "USD", 5_000_000, 1_000_000, 200_000, 3_800_000, -150_000)
DRAWDOWN = DrawdownView("AWS EDP 2026", "aws", "USD", 500_000, 0, 100_000, date(2026, 12, 31))


def chain(status: str, viewer_seq: int | None = 2, steps: tuple[StepView, ...] = ROUTE, **more: Any) -> RequestSummary:
    return summary(
        status,
        steps=steps,
        viewer_seq=viewer_seq,
        policy_reasons=(HOSTILE, "bought through AWS Marketplace"),
        policy_version="0123456789abcdef",
        budget=BUDGET,
        drawdown=DRAWDOWN,
        data_classification="confidential",
        **more,
    )


STATUSES = ["submitted", "pending_approval", "changes_requested", "approved", "denied", "expired", "rejected"]


def _expected_buttons(kind: MessageKind, status: str) -> set[str]:
    if kind in (MessageKind.APPROVAL_REQUEST, MessageKind.APPROVAL_REMINDER) and status == "pending_approval":
        return {ids.APPROVE, ids.DENY, ids.REQUEST_CHANGES, ids.DELEGATE}
    if kind in (MessageKind.REQUESTER_STATUS, MessageKind.CHANGES_REQUESTED):
        return {
            *([ids.WITHDRAW] if status in ("pending_approval", "changes_requested") else []),
            *([ids.EDIT_REQUEST] if status == "changes_requested" else []),
        }
    return set()


REQUEST_KINDS = [
    k for k in MessageKind if k not in (MessageKind.REUSE_OFFER, MessageKind.RECLAIM_ASK, MessageKind.SEAT_GRANTED)
]


@pytest.mark.parametrize("chained", [False, True], ids=["single-step", "chain"])
@pytest.mark.parametrize("kind", REQUEST_KINDS)
@pytest.mark.parametrize("status", STATUSES)
def test_request_messages_validate_and_neutralise_markup(
    schema: dict[str, Any], kind: MessageKind, status: str, chained: bool
) -> None:
    extra = {"event": HOSTILE, "changes_comment": HOSTILE, "changes_by_slack_id": "U0FINANCE"}
    text, blocks = request_message(kind, chain(status, **extra) if chained else summary(status, **extra))
    validate(schema, blocks)
    assert len(blocks) <= 50 and len(text) <= 40_000
    block_ids, action_ids = _ids(blocks)
    assert max(block_ids.values(), default=1) == 1 and max(action_ids.values(), default=1) == 1
    # Slack parses mentions and links in mrkdwn and in the notification text, never in plain_text.
    parsed = [text, *_mrkdwn_texts(blocks)]
    for part in parsed:
        assert "<!channel>" not in part and "<http://evil" not in part and "<@U0VP>" not in part
    assert any("&lt;!channel&gt;" in part for part in parsed)
    assert {b["action_id"] for b in _buttons(blocks)} == _expected_buttons(kind, status)


RENEWAL = RenewalRequestView(12, date(2027, 2, 2), 5, 18_000, 90_000, 8, 18_000, 144_000, 54_000, "USD")


@pytest.mark.parametrize("kind", REQUEST_KINDS)
@pytest.mark.parametrize("status", STATUSES)
def test_renewal_request_messages_say_what_is_renewed_and_validate(
    schema: dict[str, Any], kind: MessageKind, status: str
) -> None:
    """Issue 19 #7: an approver of a renewal request sees the contract, its current term beside
    the new one, and the increase that approval reserves (not a purchase of "8 seats")."""
    text, blocks = request_message(kind, chain(status, renewal=RENEWAL, event=HOSTILE))
    validate(schema, blocks)
    parsed = [text, *_mrkdwn_texts(blocks)]
    assert not any("<!channel>" in part or "<@U0VP>" in part for part in parsed)
    if kind is MessageKind.OUTCOME_NOTICE:
        if status == "approved":
            assert "your renewal REQ-ABCDEFGH" in text and "(contract #12)" in text
            assert "from 2027-02-02, 8 seats at $180.00 per seat" in text and "$540.00 more a year is reserved" in text
        return
    if kind is MessageKind.REQUESTER_NOTICE:
        return
    assert blocks[0]["type"] == "header" and ": renewal of " in blocks[0]["text"]["text"]
    facts = next(b["text"]["text"] for b in blocks if b["type"] == "section" and "asks to renew" in b["text"]["text"])
    assert "(contract #12) from 2027-02-02" in facts
    assert "*Current term:* 5 seats at $180.00 per seat = $900.00 a year" in facts
    assert "*New term:* 8 seats at $180.00 per seat = $1,440.00 a year" in facts
    assert "*$540.00 more a year*, which approval reserves" in facts
    assert "renewal of" in text


def test_an_approver_sees_who_what_budget_reasons_findings_drawdown_and_the_route(schema: dict[str, Any]) -> None:
    _, blocks = request_message(MessageKind.APPROVAL_REQUEST, chain("pending_approval"))
    by_id = {b.get("block_id"): b["text"]["text"] for b in blocks if b["type"] == "section"}
    facts = _text(blocks[1:2])
    assert "<@U0EMPLOYEE> asks for" in facts and "$540.00" in facts and "$180.00 per seat" in facts
    assert "*Data:* Confidential" in facts and "AWS Marketplace" in facts
    assert by_id["budget"].startswith(":warning: *Budget CC-DESIGN FY2026:* $38,000.00 available → -$1,500.00")
    assert "over by $1,500.00" in by_id["budget"]
    assert "committed $10,000.00" in by_id["budget"] and "actual $2,000.00" in by_id["budget"]
    assert "draws $6,000.00: $5,000.00 → $0.00 left" in by_id["drawdown"]
    assert "Exceeds the commitment by $1,000.00" in by_id["drawdown"]
    reasons = by_id["reasons"]
    assert reasons.startswith("*Why you are asked (Finance):*")
    assert "• annual cost 6,000.00 USD is over 5,000.00 USD" in reasons
    assert "• bought through AWS Marketplace" in reasons and "1Password" in reasons
    route = by_id["route"].splitlines()
    assert route[0] == (
        "*Approval route:* :white_check_mark: Manager → :hourglass_flowing_sand: Finance + "
        ":hourglass_flowing_sand: Security → :white_small_square: FinOps"
    )
    assert route[1].startswith(":white_check_mark: *Manager*: <@U0MANAGER>") and route[1].endswith(": approved")
    assert (
        "<@U0FINANCE>" in route[2]
        and "waiting since <!date^1772528400^" in route[2]
        and "_&lt;!channel&gt;" in route[2]
    )
    assert "delegate <@U0DELEGATE>" in route[3]
    assert route[4].endswith(": up next")
    assert "policy 0123456789ab" in blocks[-1]["elements"][0]["text"]


@pytest.mark.parametrize("kind", [MessageKind.APPROVAL_REQUEST, MessageKind.APPROVAL_REMINDER])
def test_an_approver_cannot_miss_that_the_request_is_over_budget(schema: dict[str, Any], kind: MessageKind) -> None:
    text, blocks = request_message(kind, chain("pending_approval"))
    validate(schema, blocks)
    warning = next(b for b in blocks if b.get("block_id") == "over_budget")
    assert warning["type"] == "rich_text"
    leaves = warning["elements"][0]["elements"]
    assert leaves[0] == {"type": "emoji", "name": "warning"}
    # The amount over in red: Slack shows code-styled rich text in red.
    assert {"type": "text", "text": "$1,500.00", "style": {"bold": True, "code": True}} in leaves
    assert "has $38,000.00 available before this request" in leaves[-1]["text"]
    if kind is MessageKind.APPROVAL_REQUEST:
        assert text.startswith("Approval needed, over budget by $1,500.00: ")
    within = replace(BUDGET, after_cents=0)
    _, fine = request_message(kind, replace(chain("pending_approval"), budget=within))
    assert not [b for b in fine if b.get("block_id") == "over_budget"]
    # The requester's own message has the budget line, not the approvers' warning.
    _, mine = request_message(MessageKind.REQUESTER_STATUS, chain("pending_approval", viewer_seq=None))
    assert not [b for b in mine if b.get("block_id") == "over_budget"]


def test_the_home_card_of_a_step_over_budget_carries_the_warning(schema: dict[str, Any]) -> None:
    over = WaitingRow("REQ-9", 2, "Zoom", 100_000, "$15,000,000.00", "U0EMPLOYEE", "finance", "U0ME", budget=BUDGET)
    fine = WaitingRow(
        "REQ-8", 1, "Figma", 1, "$180.00", "U0EMPLOYEE", "manager", "U0ME", budget=replace(BUDGET, after_cents=5)
    )
    home = home_view([], [over, fine])
    validate(schema, home, "home_view")
    warnings = [b for b in home["blocks"] if b["type"] == "rich_text"]
    assert [w["block_id"] for w in warnings] == [f"{ids.B_HOME_OVER_BUDGET_PREFIX}REQ-9_2"]
    assert "$1,500.00" in json.dumps(warnings[0])


def test_the_reason_for_not_using_an_approved_alternative_is_shown_escaped(schema: dict[str, Any]) -> None:
    asked = replace(chain("pending_approval"), alternative_reason=HOSTILE, declined_alternatives=("Canva",))
    _, blocks = request_message(MessageKind.APPROVAL_REQUEST, asked)
    validate(schema, blocks)
    shown = next(b for b in blocks if b.get("block_id") == "alternative_reason")["text"]["text"]
    assert shown.startswith("*Why not Canva*, an approved alternative we own? <@U0EMPLOYEE> answered:\n> ")
    assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown and len(shown) < 1200
    _, without = request_message(MessageKind.APPROVAL_REQUEST, chain("pending_approval"))
    assert not [b for b in without if b.get("block_id") == "alternative_reason"]


def test_step_buttons_carry_the_request_and_the_step(schema: dict[str, Any]) -> None:
    _, blocks = request_message(MessageKind.APPROVAL_REQUEST, chain("pending_approval", viewer_seq=3))
    actions = next(b for b in blocks if b["type"] == "actions")
    assert actions["block_id"] == ids.B_DECISION
    assert [(e["action_id"], e["value"], e.get("style")) for e in actions["elements"]] == [
        (ids.APPROVE, "REQ-ABCDEFGH|3", "primary"),
        (ids.DENY, "REQ-ABCDEFGH|3", "danger"),
        (ids.REQUEST_CHANGES, "REQ-ABCDEFGH|3", None),
        (ids.DELEGATE, "REQ-ABCDEFGH|3", None),
    ]
    # A summary from before the approval chain (no steps) keeps the plain request id.
    _, single = request_message(MessageKind.APPROVAL_REQUEST, summary("pending_approval"))
    assert {e["value"] for e in _buttons(single)} == {"REQ-ABCDEFGH"}


@pytest.mark.parametrize(
    ("viewer_seq", "words"),
    [
        (1, "Your step (Manager) is approved."),  # decided: the status line instead of buttons
        (4, "Your step (FinOps) opens when the earlier steps are approved."),  # a later stage
        (None, None),  # the step was delegated away from this person
    ],
)
def test_no_buttons_unless_the_viewers_step_is_open(
    schema: dict[str, Any], viewer_seq: int | None, words: str | None
) -> None:
    _, blocks = request_message(MessageKind.APPROVAL_REQUEST, chain("pending_approval", viewer_seq=viewer_seq))
    validate(schema, blocks)
    assert not _buttons(blocks)
    by_id = {b.get("block_id"): b["text"]["text"] for b in blocks if b["type"] == "section"}
    assert by_id.get("your_step", "").endswith(words or "") and (words is not None) == ("your_step" in by_id)
    assert by_id["status"].startswith(":hourglass_flowing_sand: Waiting for <@U0FINANCE> (Finance) since <!date^")


def test_a_reminder_says_why_and_keeps_the_buttons(schema: dict[str, Any]) -> None:
    text, blocks = request_message(
        MessageKind.APPROVAL_REMINDER, chain("pending_approval", event="Waiting 2 business days <@U0VP>")
    )
    assert text.startswith("Reminder: approval needed for")
    assert blocks[0]["text"]["text"].startswith("Reminder: approval needed:")
    assert blocks[1]["text"]["text"] == ":bell: Waiting 2 business days &lt;@U0VP&gt;"
    assert len(_buttons(blocks)) == 4


def test_the_requester_sees_progress_and_can_withdraw_while_pending(schema: dict[str, Any]) -> None:
    _, blocks = request_message(MessageKind.REQUESTER_STATUS, chain("pending_approval", viewer_seq=None))
    by_id = {b.get("block_id"): b["text"]["text"] for b in blocks if b["type"] == "section"}
    assert "→ :hourglass_flowing_sand: Finance + :hourglass_flowing_sand: Security →" in by_id["route"]
    assert by_id["status"].count("since <!date^1772528400^{date_short_pretty} {time}|2026-03-03 09:00 UTC>") == 2
    (withdraw,) = _buttons(blocks)
    assert withdraw["action_id"] == ids.WITHDRAW and withdraw["value"] == "REQ-ABCDEFGH"
    assert withdraw["confirm"]["confirm"]["text"] == "Withdraw" and withdraw["confirm"]["style"] == "danger"
    approved = tuple(
        StepView(s.seq, s.stage, s.role, s.approver_slack_id, "A", "approved", decided_by_slack_id="U0OTHER")
        for s in ROUTE
    )
    _, done = request_message(MessageKind.REQUESTER_STATUS, chain("approved", viewer_seq=None, steps=approved))
    assert not _buttons(done)
    assert "approved by <@U0OTHER>" in _text(done)


def test_changes_requested_shows_the_comment_and_an_edit_button(schema: dict[str, Any]) -> None:
    asked = chain(
        "changes_requested", viewer_seq=None, changes_comment="Use 2 seats <!here>", changes_by_slack_id="U0FINANCE"
    )
    text, blocks = request_message(MessageKind.CHANGES_REQUESTED, asked)
    validate(schema, blocks)
    assert text.startswith("Changes requested on")
    changes = next(b for b in blocks if b.get("block_id") == "changes")["text"]["text"]
    assert changes.startswith(":pencil2: <@U0FINANCE> asks you to change your request")
    assert "> Use 2 seats &lt;!here&gt;" in changes
    actions = next(b for b in blocks if b.get("block_id") == ids.B_REQUESTER_ACTIONS)
    assert [e["action_id"] for e in actions["elements"]] == [ids.EDIT_REQUEST, ids.WITHDRAW]
    assert actions["elements"][0]["value"] == "REQ-ABCDEFGH"
    # Once edited the same message loses the Edit button.
    _, edited = request_message(MessageKind.CHANGES_REQUESTED, chain("pending_approval", viewer_seq=None))
    assert ids.EDIT_REQUEST not in {b["action_id"] for b in _buttons(edited)}


@pytest.mark.parametrize("kind", [MessageKind.REQUESTER_STATUS, MessageKind.CHANGES_REQUESTED])
def test_the_requesters_message_is_titled_by_the_state_and_says_when_it_waits_for_them(
    schema: dict[str, Any], kind: MessageKind
) -> None:
    asked = chain("changes_requested", viewer_seq=None, changes_comment="Fewer seats", changes_by_slack_id="U0FINANCE")
    _, blocks = request_message(kind, asked)
    validate(schema, blocks)
    assert blocks[0]["text"]["text"].startswith("Changes requested: ")
    status = next(b for b in blocks if b.get("block_id") == "status")["text"]["text"]
    assert "by <@U0FINANCE>: waiting for you to edit the request" in status and "Waiting for" not in status
    # Resubmitted: the same message is titled by its new state, without the comment.
    _, again = request_message(kind, chain("pending_approval", viewer_seq=None, changes_comment=None))
    assert blocks[0]["text"]["text"] != again[0]["text"]["text"]
    assert again[0]["text"]["text"].startswith("Waiting for approval: ") and "Changes requested" not in _text(again)
    _, done = request_message(kind, chain("approved", viewer_seq=None))
    assert done[0]["text"]["text"].startswith("Approved: ")


def test_steps_not_opened_yet_show_in_the_route_as_up_next(schema: dict[str, Any]) -> None:
    planned = (*ROUTE[:3], step(4, 3, "finops", "U0FINOPS", "waiting", approver_name="Felix", opened_at=None))
    _, blocks = request_message(MessageKind.REQUESTER_STATUS, chain("pending_approval", viewer_seq=None, steps=planned))
    validate(schema, blocks)
    route = next(b for b in blocks if b.get("block_id") == "route")["text"]["text"]
    assert route.splitlines()[0].endswith("→ :white_small_square: FinOps")
    assert ":white_small_square: *FinOps*: <@U0FINOPS>: up next" in route


def test_a_notice_is_the_event_in_plain_words_then_the_route(schema: dict[str, Any]) -> None:
    text, blocks = request_message(
        MessageKind.REQUESTER_NOTICE, chain("pending_approval", viewer_seq=None, event="Escalated to Vera <!channel>")
    )
    validate(schema, blocks)
    assert blocks[0]["text"]["text"] == ":bell: Escalated to Vera &lt;!channel&gt;"
    assert blocks[1]["block_id"] == "route" and not _buttons(blocks)
    assert "Escalated to Vera &lt;!channel&gt;" in text


EXPANSION = ExpansionView(1, 40, 42, 36000, "USD", date(2026, 12, 4), date(2027, 2, 1), 59, 365, 5819)


def test_the_approver_sees_which_contract_the_seats_join_and_their_prorated_cost(schema: dict[str, Any]) -> None:
    """Issue 18 §4: the DM shows the contract the seats join and the prorated amount."""
    pending = chain("pending_approval", seats=2, product_name="Figma", expansion=EXPANSION)
    _, blocks = request_message(MessageKind.APPROVAL_REQUEST, pending)
    validate(schema, blocks)
    [line] = [b["text"]["text"] for b in blocks if b.get("block_id") == "contract"]
    assert line == (
        ":heavy_plus_sign: *Joins the Figma contract we have* (asset #1): 40 → 42 seats, co-termed to renew with "
        "it on 2027-02-01.\nUntil then the 2 added seats cost *$58.19*, prorated: 59 of 365 days at $360.00 a "
        "year (as of 2026-12-04). That is what the budget reserves."
    )
    own = chain("pending_approval", own_contract_reason="the requester asked for a separate contract")
    _, blocks = request_message(MessageKind.REQUESTER_STATUS, own)
    validate(schema, blocks)
    assert [b["text"]["text"] for b in blocks if b.get("block_id") == "contract"] == [
        ":page_facing_up: *On a contract of its own:* the requester asked for a separate contract."
    ]
    text, _ = request_message(
        MessageKind.OUTCOME_NOTICE,
        summary("approved", seats=2, product_name="Figma", asset_id=1, expansion=EXPANSION, decision_reason=None),
    )
    assert text == (
        "Good news: your request REQ-ABCDEFGH for *Figma* was approved by <@U0MANAGER>. The 2 seats join the "
        "contract of asset #1 (40 → 42 seats), renewing with it on 2027-02-01."
    )


def test_everyone_sees_which_price_was_used_when_an_estimate_was_typed(schema: dict[str, Any]) -> None:
    """Issue 19 #2 / 18 §6b: a higher quote is a higher tier; a lower estimate is not used."""
    higher = chain("pending_approval", annual_cost_cents=50_000, price=PriceView("higher_quote", 36000, 50_000))
    _, blocks = request_message(MessageKind.APPROVAL_REQUEST, higher)
    validate(schema, blocks)
    assert [b["text"]["text"] for b in blocks if b.get("block_id") == "price"] == [
        ":information_source: Priced at the quoted $500.00 a year: it is above the catalog price ($360.00), "
        "so it is taken as a higher tier."
    ]
    plain = chain("pending_approval", price=PriceView("catalog", 54000, None))
    assert not [b for b in request_message(MessageKind.APPROVAL_REQUEST, plain)[1] if b.get("block_id") == "price"]


def test_withdrawn_outcome_says_nothing_was_bought() -> None:
    text, _ = request_message(
        MessageKind.OUTCOME_NOTICE, summary("withdrawn", decision_reason=None, product_name="Zoom")
    )
    assert text == "Your request REQ-ABCDEFGH for *Zoom* was withdrawn. Nothing was bought."


def test_a_long_route_stays_within_block_kit_limits(schema: dict[str, Any]) -> None:
    many = tuple(step(n, n, "finance", f"U0{n:04d}", assigned_because=HOSTILE) for n in range(1, 200))
    for kind in REQUEST_KINDS:
        _, blocks = request_message(kind, chain("pending_approval", viewer_seq=1, steps=many, event=HOSTILE))
        validate(schema, blocks)
        assert len(blocks) <= 50 and all(len(t) <= 3000 for t in _mrkdwn_texts(blocks))


def test_request_modal_is_prefilled_and_valid(schema: dict[str, Any]) -> None:
    products = [ProductChoice(f"p{i}", f"Product {i} " + "y" * 80, "Vendor") for i in range(150)]
    products.append(ProductChoice("figma", "Figma", "Figma, Inc."))
    view = request_modal(
        products,
        Prefill(product_id="figma", seats=2, channel="gcp_marketplace"),
        cost_center="CC-DESIGN",
        private_metadata=json.dumps({"channel_id": "C1"}),
    )
    validate(schema, view, "modal_view")
    blocks = {b["block_id"]: b for b in view["blocks"]}
    select = blocks[ids.B_PRODUCT]["element"]
    assert len(select["options"]) == 100  # Slack's limit, the requested product kept
    assert select["initial_option"]["value"] == "figma"
    assert blocks[ids.B_SEATS]["element"]["initial_value"] == "2"
    assert blocks[ids.B_CHANNEL]["element"]["initial_option"]["value"] == "gcp_marketplace"
    assert (
        blocks[ids.B_COST_CENTER]["element"]["initial_value"] == "CC-DESIGN" and blocks[ids.B_COST_CENTER]["optional"]
    )
    classification = blocks[ids.B_CLASSIFICATION]["element"]
    assert classification["initial_option"]["value"] == "internal"
    assert [o["value"] for o in classification["options"]] == list(CLASSIFICATIONS)
    # For a product we own, the seats may go on a contract of their own.
    separate = blocks[ids.B_SEPARATE_CONTRACT]
    assert separate["optional"] and separate["element"]["type"] == "checkboxes"
    assert [o["value"] for o in separate["element"]["options"]] == [ids.SEPARATE_CONTRACT_VALUE]
    # The pre-filled product's catalog price, and why it is the price used.
    note_text = catalog_price_note("Fig<ma>", CatalogPrice(18000, "USD", per_seat=True))
    priced = request_modal(products, Prefill(product_id="figma"), price_note=note_text)
    validate(schema, priced, "modal_view")
    [note] = [b for b in priced["blocks"] if b["type"] == "context"]
    assert note["elements"][0]["text"].startswith(":moneybag: *Fig&lt;ma&gt;* costs $180.00 per seat a year")
    assert "an estimate only counts when it is higher" in note["elements"][0]["text"]
    other = request_modal(products[:3], Prefill(other_product=HOSTILE))
    validate(schema, other, "modal_view")
    other_blocks = {b["block_id"]: b for b in other["blocks"]}
    assert other_blocks[ids.B_PRODUCT]["element"]["initial_option"]["value"] == ids.OTHER_PRODUCT_VALUE
    assert "initial_value" not in other_blocks[ids.B_COST_CENTER]["element"]


def test_classification_labels_cover_the_policy_vocabulary() -> None:
    assert tuple(CLASSIFICATION_LABELS) == CLASSIFICATIONS


def test_prefill_survives_a_round_trip_and_rejects_garbage() -> None:
    prefill = Prefill(product_id="miro", seats=4, channel="azure_marketplace", justification="workshop")
    assert Prefill.from_value(prefill.to_value()) == prefill
    assert Prefill.from_value("not json") == Prefill()
    assert Prefill.from_value('{"seats": -3, "channel": "ebay"}') == Prefill()
    # A value rendered before this release (and one with keys we don't know) still reads.
    assert Prefill.from_value('{"product_id":"zoom","seats":2,"channel":"direct","x":1}') == Prefill("zoom", seats=2)


def test_chain_modals_validate(schema: dict[str, Any]) -> None:
    metadata = json.dumps({"request_id": "REQ-1", "seq": 2})
    validate(schema, deny_modal(HOSTILE[:40], private_metadata=metadata), "modal_view")
    changes = changes_modal(HOSTILE, private_metadata=metadata)
    validate(schema, changes, "modal_view")
    assert changes["callback_id"] == ids.CHANGES_MODAL and changes["private_metadata"] == metadata
    comment = {b.get("block_id"): b for b in changes["blocks"]}[ids.B_CHANGES_COMMENT]["element"]
    assert comment["min_length"] == 3 and not {b.get("block_id"): b for b in changes["blocks"]}[
        ids.B_CHANGES_COMMENT
    ].get("optional")
    delegate = delegate_modal("REQ-1", private_metadata=metadata)
    validate(schema, delegate, "modal_view")
    blocks = {b.get("block_id"): b for b in delegate["blocks"]}
    assert blocks[ids.B_DELEGATE_TO]["element"]["type"] == "users_select"
    assert blocks[ids.B_DELEGATE_NOTE]["optional"] is True


@pytest.mark.parametrize("in_catalog", [True, False])
def test_edit_modal_is_prefilled_from_the_request(schema: dict[str, Any], in_catalog: bool) -> None:
    prefill = EditPrefill(
        request_id="REQ-1",
        product_name=HOSTILE,
        in_catalog=in_catalog,
        seats=4,
        estimate=None if in_catalog else "1200.00",
        currency="EUR",
        justification=HOSTILE,
        cost_center="CC-DESIGN",
        channel="azure_marketplace",
        data_classification="restricted",
        changes_comment=HOSTILE,
    )
    view = edit_modal(prefill, private_metadata="{}")
    validate(schema, view, "modal_view")
    assert view["callback_id"] == ids.EDIT_MODAL
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks[ids.B_SEATS]["element"]["initial_value"] == "4"
    assert blocks[ids.B_CHANNEL]["element"]["initial_option"]["value"] == "azure_marketplace"
    assert blocks[ids.B_COST_CENTER]["element"]["initial_value"] == "CC-DESIGN"
    assert blocks[ids.B_CLASSIFICATION]["element"]["initial_option"]["value"] == "restricted"
    assert blocks[ids.B_JUSTIFICATION]["element"]["initial_value"] == HOSTILE[:3000]
    if in_catalog:
        assert ids.B_ESTIMATE not in blocks
    else:
        assert blocks[ids.B_ESTIMATE]["element"]["initial_value"] == "1200.00"
        assert blocks[ids.B_ESTIMATE]["label"]["text"] == "Estimated annual cost (EUR)"
    intro = view["blocks"][0]["text"]["text"]
    assert "&lt;!channel&gt;" in intro and "<!channel>" not in intro


def test_home_validates_with_the_four_buttons_per_step_and_withdraw_per_request(schema: dict[str, Any]) -> None:
    waiting = [
        WaitingRow(f"REQ-{i}", i % 3 + 1, HOSTILE, 2, "$1.00", "U0EMPLOYEE", "finance", "U0BOSS", i % 2 == 0, OPENED)
        for i in range(40)
    ]
    # The same request twice (two of its steps wait for this person): still unique block ids.
    waiting.append(WaitingRow("REQ-0", 9, "Zoom", 1, "$1.00", None, "security", "U0ME"))
    mine = [
        MyRequestRow(f"REQ-{i}", HOSTILE, 2, "$1.00", s, "finops" if s == "pending_approval" else None, "U0F", OPENED)
        for i, s in enumerate(["pending_approval", "approved", "changes_requested", "denied"] * 10)
    ]
    home = home_view(mine, [waiting[0], waiting[-1], *waiting[1:]], extra=[{"type": "divider"}] * 60)
    validate(schema, home, "home_view")
    assert len(home["blocks"]) == 100
    block_ids, action_ids = _ids(home["blocks"])
    assert max(block_ids.values()) == 1 and max(action_ids.values()) == 1
    first = next(b for b in home["blocks"] if b.get("block_id") == f"{ids.B_HOME_DECIDE_PREFIX}REQ-0_1")
    assert [(e["action_id"], e["value"]) for e in first["elements"]] == [
        (ids.APPROVE, "REQ-0|1"),
        (ids.DENY, "REQ-0|1"),
        (ids.REQUEST_CHANGES, "REQ-0|1"),
        (ids.DELEGATE, "REQ-0|1"),
    ]
    texts = _text(home["blocks"])
    assert "As Finance (delegate of <@U0BOSS>)  ·  waiting since <!date^" in texts
    assert "Now with <@U0F> (FinOps), waiting since <!date^" in texts
    rows = [b for b in home["blocks"] if str(b.get("block_id", "")).startswith(ids.B_HOME_MINE_PREFIX)]
    withdrawable = [b["block_id"] for b in rows if "accessory" in b]
    assert withdrawable and all(b["accessory"]["action_id"] == ids.WITHDRAW for b in rows if "accessory" in b)
    assert f"{ids.B_HOME_MINE_PREFIX}REQ-1" not in withdrawable and f"{ids.B_HOME_MINE_PREFIX}REQ-2" in withdrawable
    assert "<!channel>" not in texts


def test_empty_home_and_intake_validate(schema: dict[str, Any]) -> None:
    home = home_view([], [])
    validate(schema, home, "home_view")
    assert "Nothing waiting for you." in _text(home["blocks"])
    for finding in (IntakeFinding("empty"), IntakeFinding("new_purchase", product_name=HOSTILE, query=HOSTILE)):
        _, blocks = intake_message(finding, Prefill())
        validate(schema, blocks)


def test_the_app_home_renewals_say_how_many_more_from_the_totals_given() -> None:
    """The App Home reads only the first rows of each list (renewals_home) with the totals."""
    from bot.blocks.renewals import HOME_RENEWAL_ROWS, upcoming_renewals_blocks
    from catalog.ports import UpcomingRenewal

    rows = [
        UpcomingRenewal(i, "Figma", "o@example.com", 100, "USD", date(2027, 1, 5), date(2026, 12, 4), 3, "open")
        for i in range(HOME_RENEWAL_ROWS)
    ]
    blocks = upcoming_renewals_blocks(rows, horizon_days=90, ending=rows[:2], upcoming_total=1_234, ending_total=2)
    text = json.dumps(blocks, ensure_ascii=False)
    assert f"…and {1_234 - HOME_RENEWAL_ROWS} more in the weekly digest." in text
    assert text.count(" more") == 1  # all the contracts ending are shown
