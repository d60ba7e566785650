"""Reuse first and conversational intake through the real Bolt app, the simulator and a real
Temporal dev server (the fixtures of test_bot_listeners)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot import ids
from bot.blocks.intake import IntakeFinding, intake_message
from bot.blocks.reuse import justification_modal, reuse_message
from bot.payloads import Prefill
from catalog import repository
from catalog.db import transaction
from catalog.ports import MessageKind, ReuseView
from tests.bot.test_blocks import HOSTILE, _ids, _mrkdwn_texts, summary, validate
from tests.bot.test_bot_listeners import EMPLOYEE, MANAGER, Slack, _form
from tests.bot.test_bot_listeners import slack as slack_fixture  # noqa: F401 (registers the `slack` fixture)
from tests.helpers import eventually


@pytest.fixture(scope="module")
def slack(slack_fixture: Slack) -> Slack:  # noqa: F811 (the imported fixture, wrapped)
    """The Bolt app, simulator and worker of test_bot_listeners, shared by this module."""
    return slack_fixture


def _button(message: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    for block in message.get("blocks") or []:
        for element in block.get("elements", []) or []:
            if str(element.get("action_id", "")).startswith(prefix):
                return element
    return None


async def _submit(slack: Slack, user: str, text: str, form: dict[str, Any]) -> None:
    await slack.do("/sim/command", user=user, text=f"/request {text}")
    await eventually(lambda: slack.modal(user), what="the modal")
    modal = await slack.modal(user)
    assert modal is not None
    await slack.do("/sim/submit", user=user, view_id=modal["id"], values=form)


async def _offer(slack: Slack, user: str, product: str, action_prefix: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def offered() -> bool:
        for message in await slack.bot_messages(user):
            if _button(message, action_prefix) and product in json.dumps(message["blocks"]):
                found.update(message)
                return True
        return False

    await eventually(offered, what=f"the reuse offer for {product}")
    return found


async def test_full_product_offers_reclaim_or_buy_and_buying_goes_to_the_manager(slack: Slack) -> None:
    await _submit(slack, EMPLOYEE, "figma 2 seats", _form("figma", seats="2", justification="New designers"))
    offer = await _offer(slack, EMPLOYEE, "Figma", ids.REUSE_BUY)
    assert _button(offer, ids.REUSE_RECLAIM) is not None
    assert "all" in offer["text"] or "Figma" in json.dumps(offer["blocks"])
    await slack.do("/sim/action", user=EMPLOYEE, message_ts=offer["ts"], action_id=ids.REUSE_BUY)

    async def manager_dm() -> bool:
        return any(
            _button(m, ids.APPROVE) and "Figma" in json.dumps(m["blocks"]) for m in await slack.bot_messages(MANAGER)
        )

    await eventually(manager_dm, what="the approval DM")
    answered = next(m for m in await slack.bot_messages(EMPLOYEE) if m["ts"] == offer["ts"])
    assert _button(answered, ids.REUSE_BUY) is None and "Continuing to buy" in json.dumps(answered["blocks"])


async def test_spare_seat_is_taken_in_one_click(slack: Slack) -> None:
    await _submit(slack, EMPLOYEE, "miro", _form("miro", justification="Workshop"))
    offer = await _offer(slack, EMPLOYEE, "Miro", ids.REUSE_TAKE_SEAT)
    await slack.do("/sim/action", user=EMPLOYEE, message_ts=offer["ts"], action_id=ids.REUSE_TAKE_SEAT)

    async def granted() -> bool:
        return any("got a *Miro* seat" in (m["text"] or "") for m in await slack.bot_messages(EMPLOYEE))

    await eventually(granted, what="the seat-granted DM")
    with transaction(slack.engine) as session:
        assert repository.find_product_seat(session, product_id="miro", person_email="employee@example.com")
    answered = next(m for m in await slack.bot_messages(EMPLOYEE) if m["ts"] == offer["ts"])
    assert answered["edited"] and _button(answered, ids.REUSE_TAKE_SEAT) is None


async def test_an_alternative_opens_a_new_request_or_continues_with_a_reason(slack: Slack) -> None:
    sketch = _form(ids.OTHER_PRODUCT_VALUE, other="Sketch", estimate="1,200", justification="Mockups")
    await _submit(slack, EMPLOYEE, "sketch", sketch)
    offer = await _offer(slack, EMPLOYEE, "Sketch", f"{ids.REUSE_ALTERNATIVE}:0")
    assert _button(offer, f"{ids.REUSE_ALTERNATIVE}:0")["text"]["text"] == "Use Canva"  # type: ignore[index]
    await slack.do("/sim/action", user=EMPLOYEE, message_ts=offer["ts"], action_id=f"{ids.REUSE_ALTERNATIVE}:0")

    async def canva_modal() -> bool:
        modal = await slack.modal(EMPLOYEE)
        return bool(modal) and "canva" in json.dumps(modal["blocks"])

    await eventually(canva_modal, what="the modal pre-filled for Canva")
    modal = await slack.modal(EMPLOYEE)
    assert modal is not None
    blocks = {b["block_id"]: b for b in modal["blocks"]}
    assert blocks[ids.B_PRODUCT]["element"]["initial_option"]["value"] == "canva"
    await slack.do("/sim/close", user=EMPLOYEE, view_id=modal["id"])

    await _submit(slack, EMPLOYEE, "sketch", sketch)
    again = await _offer(slack, EMPLOYEE, "Sketch", ids.REUSE_CONTINUE)
    await slack.do("/sim/action", user=EMPLOYEE, message_ts=again["ts"], action_id=ids.REUSE_CONTINUE)

    async def reason_modal() -> bool:
        return ((await slack.modal(EMPLOYEE)) or {}).get("callback_id") == ids.JUSTIFY_MODAL

    await eventually(reason_modal, what="the reason modal")
    modal = await slack.modal(EMPLOYEE)
    assert modal is not None
    reason = {ids.B_JUSTIFY: {ids.A_JUSTIFY: {"type": "plain_text_input", "value": "Agency hands over .sketch files"}}}
    await slack.do("/sim/submit", user=EMPLOYEE, view_id=modal["id"], values=reason)

    async def manager_dm() -> bool:
        return any(
            _button(m, ids.APPROVE) and "Sketch" in json.dumps(m["blocks"]) for m in await slack.bot_messages(MANAGER)
        )

    await eventually(manager_dm, what="the approval DM")


async def _reply_to(slack: Slack, text: str, user: str = EMPLOYEE) -> dict[str, Any]:
    before = {m["ts"] for m in await slack.bot_messages(user)}
    answer = await slack.do("/sim/message", user=user, text=text)
    assert answer.get("error") in (None, ""), answer
    found: dict[str, Any] = {}

    async def replied() -> bool:
        for message in await slack.bot_messages(user):
            # Requests of earlier tests still send their own news (status, notices): skip those.
            about_a_request = "REQ-" in (message["text"] or "") + json.dumps(message["blocks"])
            if message["ts"] not in before and not about_a_request:
                found.update(message)
                return True
        return False

    await eventually(replied, what=f"the reply to {text[:40]!r}")
    return found


def _texts(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


async def test_did_you_mean_offers_one_button_per_candidate_each_opening_the_modal(slack: Slack) -> None:
    reply = await _reply_to(slack, "can I get fgma please")
    assert "Did you mean" in reply["text"]
    candidate = _button(reply, f"{ids.INTAKE_CANDIDATE}:0")
    assert candidate is not None and candidate["text"]["text"] == "Figma"
    await slack.do("/sim/action", user=EMPLOYEE, message_ts=reply["ts"], action_id=f"{ids.INTAKE_CANDIDATE}:0")
    await eventually(lambda: slack.modal(EMPLOYEE), what="the modal")
    modal = await slack.modal(EMPLOYEE)
    assert modal is not None
    blocks = {b["block_id"]: b for b in modal["blocks"]}
    assert blocks[ids.B_PRODUCT]["element"]["initial_option"]["value"] == "figma"
    await slack.do("/sim/close", user=EMPLOYEE, view_id=modal["id"])


async def test_slash_request_did_you_mean_uses_buttons_too(slack: Slack) -> None:
    await slack.do("/sim/command", user=EMPLOYEE, text="/request fgma")

    async def asked() -> bool:
        calls = await slack.calls("chat.postEphemeral")
        return any("Did you mean" in (c["args"].get("text") or "") for c in calls)

    await eventually(asked, what="the did-you-mean buttons")
    call = [c for c in await slack.calls("chat.postEphemeral") if "Did you mean" in (c["args"].get("text") or "")][-1]
    assert "intake_candidate:0" in json.dumps(call["args"]["blocks"])
    assert await slack.modal(EMPLOYEE) is None  # no modal for a guess: the person picks first


async def test_what_intake_finds_owned_full_blocked_and_alternatives(slack: Slack) -> None:
    miro = await _reply_to(slack, "we need miro for the workshop next week")
    assert (
        re.search(r"We already own \*Miro\* and \d+ seats are free", miro["text"])
        and _button(miro, ids.OPEN_REQUEST) is not None
    )
    figma = await _reply_to(slack, "a figma license for the new designer")
    assert "no seat is free" in figma["text"]
    blocked = await _reply_to(slack, "lastpass for my team")
    assert "blocked" in blocked["text"] and "1Password" in _texts(blocked)
    assert _button(blocked, f"{ids.INTAKE_CANDIDATE}:0")["text"]["text"] == "Request 1Password"  # type: ignore[index]
    mural = await _reply_to(slack, "can we buy Mural?")
    assert "Miro" in _texts(mural) and _button(mural, ids.OPEN_REQUEST) is not None
    unknown = await _reply_to(slack, "Datadog competitor xyzzy thing")
    assert unknown["text"]


async def test_a_mention_in_a_channel_gets_the_same_answer_in_a_thread(slack: Slack) -> None:
    await slack.do("/sim/message", user=EMPLOYEE, channel="#general", text="@procure we need miro")

    async def threaded() -> bool:
        calls = await slack.calls("chat.postMessage")
        return any(c["args"].get("thread_ts") and "Miro" in (c["args"].get("text") or "") for c in calls)

    await eventually(threaded, what="the threaded reply")


async def test_bad_input_gets_a_clear_answer_within_block_kit_limits(slack: Slack) -> None:
    long = await _reply_to(slack, "figma " + "x" * 10_000)
    assert all(len(b["text"]["text"]) <= 3000 for b in long["blocks"] if b.get("text"))
    markup = await _reply_to(slack, "<!channel> *bold* <http://evil.example|click> <@U0MANAGER> thing")
    # What Slack renders (section text) is escaped; button values are data, never rendered.
    raw = json.dumps([b.get("text") for b in markup["blocks"]]) + markup["text"]
    assert "<!channel>" not in raw and "<http://evil" not in raw and "<@U0MANAGER>" not in raw
    emoji = await _reply_to(slack, "🎨🎨🎨 🙏")
    assert emoji["text"]
    chinese = await _reply_to(slack, "我们需要 figma 许可证")
    assert "Figma" in chinese["text"]
    spaces = await _reply_to(slack, "@procure")
    assert "Tell me what you need" in spaces["text"]


# --- the blocks themselves: valid Block Kit, hostile text neutralised -----------------------


@pytest.fixture(scope="module")
def schema(reference_dir: Path) -> dict[str, Any]:
    return json.loads((reference_dir / "blockkit.schema.json").read_text())


REUSE_VIEWS = [
    ReuseView(kind="spare_seat", spare=3, choices=("take_seat", "withdraw")),
    ReuseView(kind="reclaim", reclaimable=2, choices=("reclaim", "buy", "withdraw")),
    ReuseView(kind="reclaim", choices=("buy", "withdraw")),
    ReuseView(
        kind="alternative",
        alternatives=tuple((f"p{n}", HOSTILE, n) for n in range(6)),
        choices=("alternative", "buy", "withdraw"),
    ),
    ReuseView(
        kind="alternative", alternatives=(("canva", "Canva", 5),), chosen="alternative", chosen_product_name=HOSTILE
    ),
    ReuseView(kind="reclaim", chosen="expired"),
]


@pytest.mark.parametrize("view", REUSE_VIEWS, ids=lambda v: f"{v.kind}-{v.chosen or 'open'}")
def test_reuse_offers_validate_and_neutralise_markup(schema: dict[str, Any], view: ReuseView) -> None:
    text, blocks = reuse_message(MessageKind.REUSE_OFFER, replace(summary("awaiting_choice"), reuse=view))
    validate(schema, blocks)
    block_ids, action_ids = _ids(blocks)
    assert all(n == 1 for n in block_ids.values()) and all(n == 1 for n in action_ids.values())
    rendered = " ".join(_mrkdwn_texts(blocks)) + text
    assert "<!channel>" not in rendered and "<@U0VP>" not in rendered and "<http://evil" not in rendered
    assert len(text) <= 3000
    assert bool(action_ids) == (view.chosen is None)


def test_a_seat_already_held_is_said_with_its_date_and_no_buttons(schema: dict[str, Any]) -> None:
    view = ReuseView(kind="already_held", held_since=date(2026, 5, 18))
    text, blocks = reuse_message(MessageKind.REUSE_OFFER, replace(summary("already_held", seats=1), reuse=view))
    validate(schema, blocks)
    assert blocks[0]["text"]["text"].startswith("You already have it: ")
    assert "You have had a *" in _mrkdwn_texts(blocks)[0] and "seat since 2026-05-18" in _mrkdwn_texts(blocks)[0]
    assert not _ids(blocks)[1] and "You already have a" in text


@pytest.mark.parametrize("kind", [MessageKind.RECLAIM_ASK, MessageKind.SEAT_GRANTED])
@pytest.mark.parametrize("answer", [None, "keep", "release"])
def test_holder_question_and_grant_validate(schema: dict[str, Any], kind: MessageKind, answer: str | None) -> None:
    view = ReuseView(kind="reclaim", holder_idle_days=90, holder_answer=answer, answer_within_days=3)
    text, blocks = reuse_message(kind, replace(summary("reclaiming"), reuse=view))
    validate(schema, blocks)
    assert "<!channel>" not in " ".join(_mrkdwn_texts(blocks)) + text
    _, action_ids = _ids(blocks)
    assert bool(action_ids) == (kind is MessageKind.RECLAIM_ASK and answer is None)


FINDINGS = [
    IntakeFinding("empty"),
    IntakeFinding("unclear", candidates=tuple((f"p{n}", HOSTILE) for n in range(8)), query=HOSTILE),
    IntakeFinding("unclear", category=HOSTILE, query=HOSTILE),
    IntakeFinding("blocked", product_name=HOSTILE, block_reason=HOSTILE, alternatives=(("a", HOSTILE, 0),)),
    IntakeFinding("spare_seat", product_name=HOSTILE, spare=2),
    IntakeFinding("reclaim", product_name=HOSTILE),
    IntakeFinding("alternative", product_name=HOSTILE, alternatives=tuple((f"p{n}", HOSTILE, n) for n in range(5))),
    IntakeFinding("new_purchase", category="design"),
]


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f.kind)
def test_intake_replies_validate_and_neutralise_markup(schema: dict[str, Any], finding: IntakeFinding) -> None:
    text, blocks = intake_message(finding, Prefill(other_product=HOSTILE[:200], seats=2))
    validate(schema, blocks)
    _, action_ids = _ids(blocks)
    assert all(n == 1 for n in action_ids.values())
    rendered = " ".join(_mrkdwn_texts(blocks)) + text
    assert "<!channel>" not in rendered and "<@U0VP>" not in rendered and len(text) <= 3000


def test_justification_modal_validates(schema: dict[str, Any]) -> None:
    validate(schema, justification_modal("REQ-1", private_metadata="{}"), "modal_view")
